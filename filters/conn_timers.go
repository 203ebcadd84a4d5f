package filters

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"time"
)

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
	owner  HeadTimeoutHandler // the codec reading heads on this connection
	head   int64              // deadline of the head being read; 0: none
	armed  int64              // read deadline currently set; 0: none
	closed bool               // a timeout closed the connection

	lastRead  atomic.Int64 // mono of the last read (or of the end of a pause)
	lastWrite atomic.Int64 // mono of the last write progress

	// Writer only (Conn.writing).
	wdl       int64 // write deadline set
	writeFrom int64 // start of the current write or its last progress
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

// claimHead gives the head timer of c to o unless another codec has it.
// The first head is timed from now. Inside the loop.
func (c *Conn) claimHead(o HeadTimeoutHandler) HeadTimer {
	t := c.timers
	if t == nil || t.headTime == 0 || t.owner != nil || t.closed {
		return nil
	}
	t.owner = o
	t.startHead(c)
	return &headTimer{t: t, c: c, owner: o}
}

// headTimer is the HeadTimer of one claim on a connection's head timer.
type headTimer struct {
	t     *connTimers
	c     *Conn
	owner HeadTimeoutHandler
}

// Start implements HeadTimer.
func (h *headTimer) Start() {
	if h.t.owner == h.owner && h.t.head == 0 {
		h.t.startHead(h.c)
	}
}

// Restart implements HeadTimer.
func (h *headTimer) Restart() {
	if h.t.owner == h.owner {
		h.t.startHead(h.c)
	}
}

// Stop implements HeadTimer. The read deadline moves when it fires.
func (h *headTimer) Stop() {
	if h.t.owner == h.owner {
		h.t.head = 0
	}
}

// Release implements HeadTimer.
func (h *headTimer) Release() { h.t.releaseHead(h.owner) }

// releaseHead drops o's claim. Inside the loop.
func (t *connTimers) releaseHead(o HeadTimeoutHandler) {
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
		if t.owner == nil || t.owner.HeadTimeout() {
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
