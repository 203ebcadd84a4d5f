package filters

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// Limits are the protections of one listener, set by the options of
// listen(port, options). The zero value of a size or count means its
// default; a zero duration disables that timeout.
type Limits struct {
	// MaxHeadSize bounds the bytes of an HTTP request head (request line,
	// header fields and the empty line): a larger head gets 431.
	MaxHeadSize int
	// MaxHeaders bounds the header fields of an HTTP request head: more
	// get 431.
	MaxHeaders int
	// ReadTimeout is the time a client has to send a whole HTTP request
	// head, counted from the connection's accept for the first request and
	// from the first byte of the head for later ones. It applies only while
	// decodeHttpRequest reads a head, never to bodies or responses.
	ReadTimeout time.Duration
	// IdleTimeout closes a connection when no byte has been read from it
	// or written to it for that long (a write making progress, however
	// slowly, counts as activity). On HTTP connections it is also the
	// keep-alive timeout.
	IdleTimeout time.Duration
	// MaxConnections bounds the open connections of the listener: when it
	// is reached the listener stops accepting and new connections wait in
	// the kernel's backlog. 0 means no limit.
	MaxConnections int
}

// Defaults of the listen() options.
const (
	// DefaultMaxHeadSize is 32 KiB: the total nginx allows by default
	// (large_client_header_buffers 4 8k), enough for large cookies and JWTs,
	// half of what decodeHttpResponse accepts from upstreams.
	DefaultMaxHeadSize = 32 << 10
	// DefaultMaxHeaders is Go's and Apache's limit of 100 fields.
	DefaultMaxHeaders = 100
	// DefaultReadTimeout is 10 s: a real client sends its head in one or
	// two segments, so this only hits slowloris-style trickles (Apache's
	// mod_reqtimeout starts at 20 s, with a minimum rate).
	DefaultReadTimeout = 10 * time.Second
	// DefaultIdleTimeout is 60 s, nginx's keepalive/send/proxy-read order of
	// magnitude: dead peers, stalled readers and forgotten keep-alive
	// connections are reaped, while transfers that move bytes are not.
	// Long-lived quiet tunnels should raise it or set 0.
	DefaultIdleTimeout = 60 * time.Second
)

// Bounds of the listen() options, checked when a script is loaded.
const (
	MinHeadSizeLimit = 256
	MaxHeadSizeLimit = 64 << 20
	MaxHeadersLimit  = 65535
	MaxTimeoutLimit  = 24 * time.Hour
)

// DefaultLimits returns the limits of a listen() without options.
func DefaultLimits() Limits {
	return Limits{
		MaxHeadSize: DefaultMaxHeadSize,
		MaxHeaders:  DefaultMaxHeaders,
		ReadTimeout: DefaultReadTimeout,
		IdleTimeout: DefaultIdleTimeout,
	}
}

// ListenOption documents one option of listen(), for the generated docs.
type ListenOption struct {
	Name, Type, Default, Doc string
}

// ListenOptions are the options of listen(port, options).
var ListenOptions = []ListenOption{
	{"reuse", "boolean", "`--reuse-port`", "SO_REUSEPORT, so that several processes can listen on the port."},
	{"tls", "{cert, key}", "none", "PEM certificate chain and private key: the listener is a TLS server (TLS 1.2+); a handshake must finish within readTimeout (10 s when 0)."},
	{"maxHeadSize", "number | size string", "`'32k'`", "bytes of an HTTP request head decoded by decodeHttpRequest (request line, fields, empty line; also bounds trailers). A larger head is answered with 431 (414 while still in the request line) and the connection closed. 256 bytes to 64 MiB."},
	{"maxHeaders", "number", "`100`", "header fields of an HTTP request head; more get 431 and the connection closed. 1 to 65535."},
	{"readTimeout", "seconds | duration string", "`'10s'`", "time a client has to send a whole HTTP request head: for the first request from the accept (from the first byte when the decoder sits in a pipeline started later by link, fork or use), for the next ones from the head's first byte, so a trickling slowloris client is cut off. On expiry a partial head is answered with 408, an untouched connection is just closed. Bodies and responses are not timed, and a head waiting behind a pending response is not cut. The first decodeHttpRequest reading the connection's stream applies it. 0 disables."},
	{"idleTimeout", "seconds | duration string", "`'60s'`", "closes the connection when no byte was read from or written to it for that long; a write that makes progress, however slow, counts. For HTTP this is the keep-alive timeout, and also bounds a silent upstream. Raw TCP tunnels that stay quiet for long (databases, SSH) should raise it. 0 disables."},
	{"maxConnections", "number", "`0` (no limit)", "open connections of this listener. When reached, the listener stops accepting: new connections wait in the kernel backlog (their handshake completes, they are served when a slot frees) and a warning is logged once per burst."},
}

// Errors a connection's read loop ends with when a timeout closes it.
var (
	ErrIdleTimeout = errors.New("idle timeout")
	ErrHeadTimeout = errors.New("request head timeout")
)

// monoBase anchors mono: time.Since uses the monotonic clock.
var monoBase = time.Now()

// mono returns monotonic nanoseconds since the process started.
func mono() int64 { return int64(time.Since(monoBase)) }

// monoTime turns a mono value into a deadline (0: none).
func monoTime(t int64) time.Time {
	if t == 0 {
		return time.Time{}
	}
	return monoBase.Add(time.Duration(t))
}

// LingerTime bounds how long CloseLinger keeps reading before it closes.
const LingerTime = 2 * time.Second

// CloseLinger closes the connection after an error response without losing
// that response to a reset (RFC 9112 §9.6): once the queue is written the
// write side is shut down, later writes are dropped, and the socket closes
// when the peer closes its side or after LingerTime; what the peer sends
// meanwhile is still read (and dropped by the dead session). Inside the
// loop.
func (c *Conn) CloseLinger() {
	c.wmu.Lock()
	c.halfClose = true
	c.linger = true
	c.wmu.Unlock()
	if t := c.timers; t != nil {
		t.closed = true
	}
	c.nc.SetReadDeadline(time.Now().Add(LingerTime))
	c.loop.markDirty(c)
}

// lingering reports whether CloseLinger was called.
func (c *Conn) lingering() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.linger
}

// writePiece bounds one write when a timeout must see progress on a
// connection whose writes cannot be resumed after a deadline (TLS).
const writePiece = 64 << 10

// connTimers enforces the idle and request-head timeouts of an inbound
// connection with socket deadlines, moved only when the state changes or
// when a deadline fires (never per read or per write): a read deadline that
// fires early is re-armed from the recorded activity.
type connTimers struct {
	idle     int64 // ns; 0: none
	headTime int64 // ReadTimeout in ns; 0: none

	// Inside the loop.
	owner  headOwner // the HTTP decoder reading heads on this connection
	head   int64     // deadline of the head being read; 0: none
	armed  int64     // read deadline currently set; 0: none
	closed bool      // a timeout closed the connection

	lastRead  atomic.Int64 // mono of the last read (or of the end of a pause)
	lastWrite atomic.Int64 // mono of the last write progress

	// Writer only (Conn.writing).
	wdl       int64 // write deadline set
	writeFrom int64 // start of the current write or its last progress
}

// headOwner is the HTTP request decoder that owns a connection's head
// timer.
type headOwner interface {
	// headTimeout is called inside the loop when the head deadline passed;
	// it returns true to close the connection, or false after re-arming
	// (startHead) or releasing (releaseHead) the timer.
	headTimeout() bool
}

// SetLimits makes c enforce the idle timeout of lim and, once an HTTP
// request decoder claims it, its read (head) timeout. Call before the
// session of c is made and before ReadLoop.
func (c *Conn) SetLimits(lim *Limits) {
	if lim == nil || (lim.IdleTimeout <= 0 && lim.ReadTimeout <= 0) {
		return
	}
	t := &connTimers{idle: int64(lim.IdleTimeout), headTime: int64(lim.ReadTimeout)}
	now := mono()
	t.lastRead.Store(now)
	t.lastWrite.Store(now)
	c.timers = t
	if t.idle > 0 {
		t.setRead(c, now+t.idle)
	}
}

// setRead sets the read deadline (0: none). Inside the loop.
func (t *connTimers) setRead(c *Conn, d int64) {
	t.armed = d
	c.nc.SetReadDeadline(monoTime(d))
}

// claimHead gives the head timer of c to o unless another decoder has it.
// The first head is timed from now. Inside the loop.
func (c *Conn) claimHead(o headOwner) *connTimers {
	t := c.timers
	if t == nil || t.headTime == 0 || t.owner != nil || t.closed {
		return nil
	}
	t.owner = o
	t.startHead(c)
	return t
}

// releaseHead drops o's claim. Inside the loop.
func (t *connTimers) releaseHead(o headOwner) {
	if t.owner == o {
		t.owner = nil
		t.head = 0
	}
}

// startHead starts timing a request head, from now. Inside the loop.
func (t *connTimers) startHead(c *Conn) {
	t.head = mono() + t.headTime
	if t.armed == 0 || t.head < t.armed {
		t.setRead(c, t.head)
	}
}

// expired is called inside the loop by the reader when its read deadline
// fired. It returns the reason to close the connection, or nil after
// setting the next deadline.
func (t *connTimers) expired(c *Conn) error {
	now := mono()
	if t.head != 0 && now >= t.head {
		if t.owner == nil || t.owner.headTimeout() {
			t.closed = true
			return ErrHeadTimeout
		}
	}
	next := int64(0)
	if t.idle > 0 {
		last := max(t.lastRead.Load(), t.lastWrite.Load())
		if c.busyWriting() {
			last = now // a write has its own deadline
		}
		if now-last >= t.idle {
			t.closed = true
			return ErrIdleTimeout
		}
		next = last + t.idle
	}
	if t.head != 0 && (next == 0 || t.head < next) {
		next = t.head
	}
	t.setRead(c, next)
	return nil
}

// busyWriting reports whether output is queued or being written.
func (c *Conn) busyWriting() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writing || c.queued > 0
}

// beginWrite arms the write deadline for a write starting now. On TCP the
// deadline moves only when less than half the idle time is left (a timeout
// with progress is resumed, see writeTimedOut); elsewhere each write gets
// the whole idle time.
func (t *connTimers) beginWrite(nc net.Conn, resumable bool) {
	now := mono()
	t.writeFrom = now
	if resumable && t.wdl-now >= t.idle/2 {
		return
	}
	t.wdl = now + t.idle
	nc.SetWriteDeadline(monoTime(t.wdl))
}

// wrote records write progress.
func (t *connTimers) wrote() {
	now := mono()
	t.writeFrom = now
	t.lastWrite.Store(now)
}

// writeTimedOut decides about a write that failed with err after writing n
// bytes: it returns true, with the deadline moved, when the write should go
// on (it was a deadline and the peer took bytes less than the idle time
// ago).
func (t *connTimers) writeTimedOut(nc net.Conn, n int, err error) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	if n > 0 {
		t.wrote()
	}
	now := mono()
	if now-t.writeFrom >= t.idle {
		return false
	}
	t.wdl = t.writeFrom + t.idle
	nc.SetWriteDeadline(monoTime(t.wdl))
	return true
}
