package filters

import "sync/atomic"

// Downstream is the connection a session serves, as filters see it: codecs
// and flow filters get it from their session (Session.Downstream) and never
// touch the socket. Whatever a filter wants the peer to receive (an error
// answer, say) it outputs through its session (Session.Output), so it is
// written in order with everything else the pipeline outputs. All methods
// run inside the loop.
type Downstream interface {
	// Limits returns the limits of the listener that accepted the
	// connection (listen options), or the defaults.
	Limits() Limits
	// ClaimHeadTimer gives the connection's request-head timer (the
	// listener's readTimeout) to h and starts it, unless there is none or
	// another filter holds it: then it returns nil. The first head of a
	// connection is timed from its accept.
	ClaimHeadTimer(h HeadTimeoutHandler) HeadTimer
	// PauseReading stops reading from the connection until a matching
	// ResumeReading (tap throttles this way).
	PauseReading()
	// ResumeReading undoes one PauseReading.
	ResumeReading()
	// CloseLingering closes the connection after an error answer without
	// losing that answer to a reset (RFC 9112 §9.6): what was output before
	// is written, the write side is shut down, later output is dropped, and
	// the socket closes once the peer closes its side or after LingerTime.
	CloseLingering()
	// State returns the value a filter family keeps for this connection
	// under key, made by create on first use. Filters of one family share
	// per-connection state this way (the HTTP codecs their keep-alive
	// bookkeeping) without the engine knowing its type.
	State(key any, create func() any) any
	// Protocol returns the application protocol the client chose by ALPN
	// on a TLS listener ("h2", "http/1.1"), or "".
	Protocol() string
}

// HeadTimer times the request heads a codec reads from a connection. Its
// methods run inside the loop.
type HeadTimer interface {
	// Start times a head from now unless one is being timed already.
	Start()
	// Restart times a head from now.
	Restart()
	// Stop ends timing the current head (it is complete).
	Stop()
	// Release gives the timer up for good.
	Release()
}

// HeadTimeoutHandler is told when the head being timed took too long.
type HeadTimeoutHandler interface {
	// HeadTimeout runs inside the loop when the head deadline passed. It
	// returns true to have the connection closed (after what was output
	// before), or false after calling Restart or Release on its timer.
	HeadTimeout() bool
}

// Inbound is an accepted connection: what scripts see as __inbound, and the
// Downstream of every session serving it.
type Inbound struct {
	ID         uint64
	RemoteAddr string
	RemotePort int
	LocalAddr  string
	LocalPort  int
	// ALPN is the protocol negotiated by ALPN on a TLS listener, or "".
	ALPN string

	conn   *Conn   // nil in tests
	limits *Limits // nil: the defaults
	states []inboundState
	inline [2]inboundState // room for the usual states (HTTP, __inbound) without an allocation
}

type inboundState struct {
	key, value any
}

var inboundIDs atomic.Uint64

// NewInbound describes connection c (nil in tests) accepted by a listener
// with limits lim (nil: the defaults), with a new process-wide ID.
func NewInbound(c *Conn, lim *Limits) *Inbound {
	return &Inbound{ID: inboundIDs.Add(1), conn: c, limits: lim}
}

// Limits implements Downstream.
func (in *Inbound) Limits() Limits {
	if in.limits == nil {
		return DefaultLimits()
	}
	return *in.limits
}

// ClaimHeadTimer implements Downstream.
func (in *Inbound) ClaimHeadTimer(h HeadTimeoutHandler) HeadTimer {
	if in.conn == nil {
		return nil
	}
	return in.conn.claimHead(h)
}

// PauseReading implements Downstream.
func (in *Inbound) PauseReading() {
	if in.conn != nil {
		in.conn.Pause()
	}
}

// ResumeReading implements Downstream.
func (in *Inbound) ResumeReading() {
	if in.conn != nil {
		in.conn.Resume()
	}
}

// CloseLingering implements Downstream.
func (in *Inbound) CloseLingering() {
	if in.conn != nil {
		in.conn.CloseLinger()
	}
}

// Protocol implements Downstream.
func (in *Inbound) Protocol() string { return in.ALPN }

// State implements Downstream.
func (in *Inbound) State(key any, create func() any) any {
	for _, s := range in.states {
		if s.key == key {
			return s.value
		}
	}
	v := create()
	if in.states == nil {
		in.states = in.inline[:0]
	}
	in.states = append(in.states, inboundState{key, v})
	return v
}
