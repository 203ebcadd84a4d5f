package filters

import (
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Loop serialises all pipeline and script work of a worker: every entry into
// the pipelines (a socket read, a timer, a dial completion) happens between
// Enter and Leave. Leave flushes the connections written to in between, after
// the lock is released, so no goroutine ever blocks on the network while
// holding it.
type Loop struct {
	mu    sync.Mutex
	dirty []*Conn
	hooks []LeaveHook // told before the loop is left (AtLeave)
	heads headArena   // inside the loop

	// Counters of the traffic through this loop, for stats.
	Counters Counters

	// OnPanic is told about a Go panic recovered inside the loop, with its
	// stack; nil writes it to the standard error. Set it before use.
	OnPanic func(v any, stack []byte)
}

// Counters are the traffic totals of one loop (one worker), updated
// atomically so that stats can be read from outside the loop.
type Counters struct {
	BytesIn, BytesOut atomic.Int64 // socket bytes read and written
	Requests          atomic.Int64 // HTTP requests decoded
	Errors            atomic.Int64 // sessions aborted by script errors
	Accepted          atomic.Int64 // inbound connections accepted
	Open              atomic.Int64 // inbound connections open
}

// NewLoop returns a new loop.
func NewLoop() *Loop { return &Loop{} }

// Enter takes the loop.
func (l *Loop) Enter() { l.mu.Lock() }

// Leave releases the loop, then writes out what was queued on connections
// while it was held. Writing may block when a peer reads slowly: that stalls
// the goroutine that produced the data, which is the backpressure the design
// wants (a reader that stalls stops reading its own source).
func (l *Loop) Leave() {
	l.runHooks()
	switch len(l.dirty) {
	case 0:
		l.mu.Unlock()
	case 1:
		c := l.dirty[0]
		l.dirty[0] = nil
		l.dirty = l.dirty[:0]
		c.dirty = false
		l.mu.Unlock()
		c.flush()
	default:
		d := make([]*Conn, len(l.dirty))
		copy(d, l.dirty)
		for i, c := range l.dirty {
			c.dirty = false
			l.dirty[i] = nil
		}
		l.dirty = l.dirty[:0]
		l.mu.Unlock()
		for _, c := range d {
			c.flush()
		}
	}
}

// LeaveHook is something that gathers output while the loop is held and
// writes it out once, when the loop is about to be left (AtLeave).
type LeaveHook interface {
	// BeforeLeave runs inside the loop, before the connections written to
	// are flushed.
	BeforeLeave()
}

// AtLeave has h told once, before the loop is next left: a codec that
// gathers what one turn of the loop produces (an HTTP/2 connection: all
// the frames of the answers a read completed) writes it in one piece.
// Inside the loop.
func (l *Loop) AtLeave(h LeaveHook) { l.hooks = append(l.hooks, h) }

// runHooks tells the hooks registered by AtLeave, including those they
// register themselves. A panic in one is recovered and reported like any
// panic inside the loop.
func (l *Loop) runHooks() {
	for i := 0; i < len(l.hooks); i++ {
		h := l.hooks[i]
		l.hooks[i] = nil
		l.runHook(h)
	}
	l.hooks = l.hooks[:0]
}

func (l *Loop) runHook(h LeaveHook) {
	defer l.recoverPanic()
	h.BeforeLeave()
}

// Run runs f inside the loop. A Go panic in f is recovered, reported to
// OnPanic and counted as an error; the loop is left as usual, so a bug hit
// by one connection never takes the worker down. (Sessions recover panics
// of their own filters first, see Session.Input; this is the last line.)
func (l *Loop) Run(f func()) {
	l.Enter()
	defer l.Leave()
	defer l.recoverPanic()
	f()
}

// recoverPanic is deferred by the loop's entry points.
func (l *Loop) recoverPanic() {
	if v := recover(); v != nil {
		l.Counters.Errors.Add(1)
		stack := debug.Stack()
		if l.OnPanic != nil {
			l.OnPanic(v, stack)
		} else {
			fmt.Fprintf(os.Stderr, "panic inside the loop: %v\n%s", v, stack)
		}
	}
}

func (l *Loop) markDirty(c *Conn) {
	if !c.dirty {
		c.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

// Timer is a one-shot timer whose callback runs inside the loop.
type Timer struct {
	t         *time.Timer
	cancelled bool
}

// AfterFunc runs f inside the loop after d. Call it inside the loop.
func (l *Loop) AfterFunc(d time.Duration, f func()) *Timer {
	tm := &Timer{}
	tm.t = time.AfterFunc(d, func() {
		l.Enter()
		defer l.Leave()
		defer l.recoverPanic()
		if !tm.cancelled {
			tm.cancelled = true
			f()
		}
	})
	return tm
}

// Stop cancels the timer. Call it inside the loop; after it returns the
// callback will not run.
func (t *Timer) Stop() {
	if t == nil {
		return
	}
	t.cancelled = true
	t.t.Stop()
}

// headArena hands out small pieces of pooled buffers for what encoders
// build per message (an HTTP head and a small body), so that encoding
// allocates no byte slice: the bytes are built in a scratch slice reused
// from message to message, then copied into the current arena buffer. A
// piece holds a reference on its buffer like any pooled chunk, so a buffer
// returns to the pool once the arena has moved on and every piece has been
// written out.
type headArena struct {
	buf     *Buffer
	off     int
	scratch []byte
}

// maxArenaPiece is the largest piece taken from the arena; larger ones get
// their own slice.
const maxArenaPiece = 4096

// EncodeScratch returns an empty slice to build one message's bytes in,
// to be passed to EncodeDone. Inside the loop.
func (l *Loop) EncodeScratch() []byte { return l.heads.scratch[:0] }

// EncodeDone returns a Data holding a copy of b, built in the slice from
// EncodeScratch, which may be reused from then on. Inside the loop.
func (l *Loop) EncodeDone(b []byte) *Data {
	a := &l.heads
	if cap(b) <= 4*maxArenaPiece {
		a.scratch = b[:0] // keep what append grew
	}
	return l.CopyData(b)
}

// CopyData returns a Data holding a copy of b, taken from the arena that
// EncodeDone uses (no allocation of its own for pieces up to 4 KiB): for an
// encoder that builds its bytes in a slice of its own and reuses it.
// Inside the loop.
func (l *Loop) CopyData(b []byte) *Data {
	a := &l.heads
	n := len(b)
	if n > maxArenaPiece {
		return NewDataBytes(append([]byte(nil), b...))
	}
	if n == 0 {
		return NewData()
	}
	if a.buf == nil || a.off+n > len(a.buf.B) {
		if a.buf != nil {
			a.buf.Release()
		}
		a.buf, a.off = GetBuffer(), 0
	}
	copy(a.buf.B[a.off:], b)
	d := NewDataBuffer(a.buf, a.off, n)
	a.off += n
	return d
}
