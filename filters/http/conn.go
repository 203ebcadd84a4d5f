package http

import "github.com/pipy-go/pipy/filters"

// connState is the HTTP/1 bookkeeping of one connection that its request
// decoder and response encoder share (through Downstream.State): how many
// requests were decoded and responses encoded, and whether the last request
// asked to keep the connection alive. The encoder answers "Connection:
// close" to the last request that asked for it; the decoder only answers
// errors itself when no response is pending.
type connState struct {
	requests      int
	responses     int
	lastKeepAlive bool
}

// connStateKey keys connState in Downstream.State.
type connStateKey struct{}

// connStateOf returns the HTTP state of the connection ds.
func connStateOf(ds filters.Downstream) *connState {
	return ds.State(connStateKey{}, func() any { return &connState{} }).(*connState)
}

// pending reports whether a decoded request still waits for its response.
func (c *connState) pending() bool { return c.responses < c.requests }
