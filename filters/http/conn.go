package http

import "github.com/pipy-go/pipy/filters"

// connState is the HTTP/1 bookkeeping of one connection that its request
// decoder and response encoder share (through Downstream.State): how many
// requests were decoded and responses encoded, and whether the last request
// asked to keep the connection alive. The encoder answers "Connection:
// close" to the last request that asked for it; the decoder only answers
// errors itself when no response is pending.
//
// It also carries the answer to a request that may open a tunnel (an
// Upgrade or a CONNECT): the request decoder holds such a request open and
// waits (waiters), and the response encoder tells it the status of the
// answer as soon as the answer starts (answer), so that the decoder knows
// whether what follows the request is a tunnel or the next request.
type connState struct {
	requests      int
	responses     int
	lastKeepAlive bool
	lastHTTP10    bool // the last request was HTTP/1.0 (it cannot take a chunked answer)

	// encoders counts the response encoders serving the connection. A
	// request decoder waits for the answer to an Upgrade or CONNECT only
	// when there is one: without it nobody would ever tell it.
	encoders int
	// waiters are the request decoders holding a request open until its
	// answer starts (usually one; a decoder in a fork sees the same
	// requests and waits for the same answer).
	waiters []*httpDecoder
}

// connStateKey keys connState in Downstream.State.
type connStateKey struct{}

// connStateOf returns the HTTP state of the connection ds.
func connStateOf(ds filters.Downstream) *connState {
	return ds.State(connStateKey{}, func() any { return &connState{} }).(*connState)
}

// pending reports whether a decoded request still waits for its response.
func (c *connState) pending() bool { return c.responses < c.requests }

// waitingFor returns what the request whose answer is the n-th response
// of the connection asks for, when a decoder holds it open.
func (c *connState) waitingFor(n int) tunnelKind {
	for _, w := range c.waiters {
		if w.waitN == n {
			return w.tunnel
		}
	}
	return noTunnel
}

// answer tells the decoders holding request n open that its answer has
// started with status.
func (c *connState) answer(n, status int) {
	for i := 0; i < len(c.waiters); {
		if w := c.waiters[i]; w.waitN == n {
			c.removeWaiter(w)
			w.answered(status)
			continue
		}
		i++
	}
}

// removeWaiter forgets the waiting decoder w.
func (c *connState) removeWaiter(w *httpDecoder) {
	for i, x := range c.waiters {
		if x == w {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			return
		}
	}
}

// tunnelKind says whether a request may turn its connection into a tunnel,
// and which answer does it.
type tunnelKind uint8

const (
	noTunnel      tunnelKind = iota
	upgradeTunnel            // Upgrade + Connection: upgrade; a 101 opens it
	connectTunnel            // CONNECT; a 2xx opens it
)

// opens reports whether an answer with status opens the tunnel.
func (k tunnelKind) opens(status int) bool {
	switch k {
	case upgradeTunnel:
		return status == 101
	case connectTunnel:
		return status >= 200 && status < 300
	}
	return false
}

// clientState is what the request encoder and the response decoder of one
// client session (encodeHttpRequest → connect → decodeHttpResponse) share:
// how many requests went out, which of them may open a tunnel, and whether
// its answer did. The decoder needs it to know that a 2xx answers a CONNECT
// (the start of a tunnel, not a response with a body); the encoder to know
// that the end of the tunnel request is the end of the tunnel (it then ends
// the upstream session too).
//
// The response decoder owns it; the request encoder of the same session
// finds it through the encoder template (see httpDecoderTemplate.New):
// filters of a session are made last first, so the decoder is made just
// before the encoder in front of it.
type clientState struct {
	sent    int        // requests encoded
	tunnelN int        // the request that may open a tunnel (1-based); 0: none
	kind    tunnelKind // what it asks for
	open    bool       // its answer opened the tunnel
}

// pairing hands a response decoder's clientState to the request encoder of
// the same session.
type pairing struct {
	s *filters.Session
	c *clientState
}
