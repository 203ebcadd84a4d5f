package filters

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// High- and low-water marks of a connection's write queue. A goroutine that
// finds the queue above HighWater while another goroutine is writing waits
// until it falls below LowWater, so whoever feeds a slow peer stops reading.
const (
	HighWater = 1 << 20
	LowWater  = 256 << 10
)

// Conn is a socket driven by the loop: a reader goroutine turns reads into
// Data events inside the loop; writes are queued inside the loop and written
// out after Leave.
type Conn struct {
	nc   net.Conn
	loop *Loop

	dirty bool // on the loop's dirty list (loop lock)

	wmu       sync.Mutex
	wcond     sync.Cond
	queue     []*Data
	spare     []*Data
	bufs      net.Buffers
	queued    int
	writing   bool
	closing   bool // close once the queue is written
	halfClose bool // shut down the write side once the queue is written
	linger    bool // CloseLinger: drop later writes, close when reading ends
	closed    bool
	werr      error

	pmu     sync.Mutex
	paused  int
	resumed chan struct{}

	// BytesIn and BytesOut count traffic (loop lock for BytesIn, wmu for out).
	BytesIn, BytesOut int64

	// timers enforce the listener's timeouts; nil for other connections.
	timers *connTimers

	// ReadAfterWriteError keeps the read side open when a write fails (a
	// child process that exits without reading its input still has output
	// to be read); the write side is shut down and later writes dropped.
	ReadAfterWriteError bool
}

// NewConn wraps nc for use with loop l.
func NewConn(nc net.Conn, l *Loop) *Conn {
	c := &Conn{nc: nc, loop: l}
	c.wcond.L = &c.wmu
	return c
}

// NetConn returns the socket.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Write queues d (taking ownership). Call inside the loop. Data written after
// the connection failed or was closed is dropped.
func (c *Conn) Write(d *Data) {
	if d.size == 0 {
		d.Release()
		return
	}
	c.wmu.Lock()
	if c.closed || c.closing || c.linger || c.werr != nil {
		c.wmu.Unlock()
		d.Release()
		return
	}
	c.queue = append(c.queue, d)
	c.queued += d.size
	c.wmu.Unlock()
	c.loop.markDirty(c)
}

// Close closes the connection once everything queued has been written
// (after CloseLinger, the lingering decides). Call inside the loop.
func (c *Conn) Close() {
	c.wmu.Lock()
	if !c.linger {
		c.closing = true
	}
	c.wmu.Unlock()
	c.loop.markDirty(c)
}

// CloseWrite shuts down the write side once everything queued has been
// written, leaving the read side open. Call inside the loop.
func (c *Conn) CloseWrite() {
	c.wmu.Lock()
	c.halfClose = true
	c.wmu.Unlock()
	c.loop.markDirty(c)
}

// Abort closes the socket now, dropping what is queued. Safe anywhere.
func (c *Conn) Abort() {
	c.wmu.Lock()
	c.closeLocked()
	c.wmu.Unlock()
}

func (c *Conn) closeLocked() {
	if !c.closed {
		c.closed = true
		c.nc.Close()
		for _, d := range c.queue {
			d.Release()
		}
		c.queue = c.queue[:0]
		c.queued = 0
		c.wcond.Broadcast()
	}
}

// Queued returns the number of bytes waiting to be written.
func (c *Conn) Queued() int {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.queued
}

type closeWriter interface{ CloseWrite() error }

// flush writes the queue out. It runs outside the loop.
func (c *Conn) flush() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for {
		if c.writing {
			// Someone else is writing: wait while the queue is above the
			// high-water mark, so the producer is slowed down to the peer.
			if c.queued > HighWater {
				for c.writing && !c.closed && c.queued > LowWater {
					c.wcond.Wait()
				}
			}
			return
		}
		if c.closed {
			return
		}
		if len(c.queue) == 0 {
			if c.closing {
				c.closeLocked()
			} else if c.halfClose {
				c.halfClose = false
				if cw, ok := c.nc.(closeWriter); ok {
					cw.CloseWrite()
				} else {
					c.closeLocked()
				}
			}
			return
		}
		q := c.queue
		c.queue = c.spare[:0]
		c.writing = true
		c.wmu.Unlock()

		n, err := c.writeOut(q)

		c.wmu.Lock()
		for i, d := range q {
			d.Release()
			q[i] = nil
		}
		c.spare = q[:0]
		c.writing = false
		c.queued -= n
		c.BytesOut += int64(n)
		c.loop.Counters.BytesOut.Add(int64(n))
		c.wcond.Broadcast()
		if err != nil {
			c.werr = err
			if c.ReadAfterWriteError {
				for _, d := range c.queue {
					d.Release()
				}
				c.queue, c.queued = c.queue[:0], 0
				if cw, ok := c.nc.(closeWriter); ok {
					cw.CloseWrite()
				}
				c.wcond.Broadcast()
				return
			}
			c.closeLocked()
			return
		}
	}
}

func (c *Conn) writeOut(q []*Data) (int, error) {
	total := 0
	for _, d := range q {
		total += d.size
	}
	_, isTCP := c.nc.(*net.TCPConn)
	t := c.timers
	if t != nil && t.idle > 0 {
		if !isTCP {
			return total, c.writePieces(q, total)
		}
		t.beginWrite(c.nc, true)
	} else {
		t = nil
	}
	if len(q) == 1 && len(q[0].chunks) == 1 {
		// One buffer: a plain write is cheaper than writev.
		b := q[0].chunks[0].b
		for {
			n, err := c.nc.Write(b)
			if err != nil && t != nil && t.writeTimedOut(c.nc, n, err) {
				b = b[n:]
				continue
			}
			if t != nil && err == nil {
				t.wrote()
			}
			return total, err
		}
	}
	if isTCP {
		bufs := c.bufs[:0]
		for _, d := range q {
			for _, ch := range d.chunks {
				bufs = append(bufs, ch.b)
			}
		}
		c.bufs = bufs[:0]
		w := bufs
		var err error
		for {
			var n int64
			n, err = w.WriteTo(c.nc) // consumes w as it writes
			if err != nil && t != nil && t.writeTimedOut(c.nc, int(n), err) {
				continue
			}
			break
		}
		for i := range bufs {
			bufs[i] = nil
		}
		if err != nil {
			return total, err
		}
		if t != nil {
			t.wrote()
		}
		return total, nil
	}
	// TLS and other conns: one write per flush, so one record.
	_, err := c.nc.Write(c.joined(q, total))
	return total, err
}

// joined returns the bytes of q in one slice.
func (c *Conn) joined(q []*Data, total int) []byte {
	if len(q) == 1 && len(q[0].chunks) == 1 {
		return q[0].chunks[0].b
	}
	b := make([]byte, 0, total)
	for _, d := range q {
		b = d.AppendTo(b)
	}
	return b
}

// writePieces writes q to a connection that cannot resume a write after a
// deadline (TLS) under the idle timeout: in pieces, each given the whole
// idle time, so a slow but steady reader is not cut off.
func (c *Conn) writePieces(q []*Data, total int) error {
	t := c.timers
	b := c.joined(q, total)
	for len(b) > 0 {
		n := min(len(b), writePiece)
		t.beginWrite(c.nc, false)
		if _, err := c.nc.Write(b[:n]); err != nil {
			return err
		}
		t.wrote()
		b = b[n:]
	}
	return nil
}

// Pause stops the reader from reading until a matching Resume.
func (c *Conn) Pause() {
	c.pmu.Lock()
	if c.paused == 0 {
		c.resumed = make(chan struct{})
	}
	c.paused++
	c.pmu.Unlock()
}

// Resume undoes one Pause.
func (c *Conn) Resume() {
	c.pmu.Lock()
	if c.paused > 0 {
		c.paused--
		if c.paused == 0 {
			close(c.resumed)
		}
	}
	c.pmu.Unlock()
}

// waitResumed waits while reading is paused and reports whether it did.
func (c *Conn) waitResumed() bool {
	c.pmu.Lock()
	ch := c.resumed
	p := c.paused
	c.pmu.Unlock()
	if p > 0 {
		<-ch
		return true
	}
	return false
}

// ReadLoop reads until EOF or error. Each read is passed to onData inside the
// loop; at the end onEnd is called inside the loop with nil for EOF, or with
// ErrIdleTimeout or ErrHeadTimeout when a timeout of SetLimits closes the
// connection. Run it in its own goroutine.
func (c *Conn) ReadLoop(onData func(d *Data), onEnd func(err error)) {
	buf := GetBuffer()
	off := 0
	t := c.timers
	for {
		if c.waitResumed() && t != nil {
			// A pause is ours, not the peer's idleness.
			t.lastRead.Store(mono())
		}
		n, err := c.nc.Read(buf.B[off:])
		if n > 0 {
			d := NewDataBuffer(buf, off, n)
			c.loop.Counters.BytesIn.Add(int64(n))
			c.loop.Run(func() {
				c.BytesIn += int64(n)
				onData(d)
			})
			if t != nil {
				// After Leave: time spent pushing the data on (backpressure)
				// is not idleness either.
				t.lastRead.Store(mono())
			}
			off += n
			if !buf.Shared() {
				off = 0
			} else if len(buf.B)-off < 2048 {
				buf.Release()
				buf = GetBuffer()
				off = 0
			}
		}
		if err != nil {
			if c.lingering() {
				// After CloseLinger, whatever ends the reading (the peer's
				// FIN, the linger deadline) closes the socket.
				c.Abort()
				if errors.Is(err, os.ErrDeadlineExceeded) {
					err = nil
				}
			} else if t != nil && errors.Is(err, os.ErrDeadlineExceeded) {
				var why error
				c.loop.Run(func() { why = t.expired(c) })
				if why == nil {
					continue
				}
				err = why
			}
			buf.Release()
			if errors.Is(err, io.EOF) {
				err = nil
			}
			c.loop.Run(func() { onEnd(err) })
			return
		}
	}
}

// SetDeadline is a convenience for handshakes.
func (c *Conn) SetDeadline(t time.Time) error { return c.nc.SetDeadline(t) }

// ConnOutput returns the sink that writes a session's output to c: Data is
// queued, SessionEnd closes the connection once everything is written.
func ConnOutput(c *Conn) Sink { return connOutput{c} }

type connOutput struct{ c *Conn }

func (o connOutput) Input(evt Event) {
	switch e := evt.(type) {
	case *Data:
		o.c.Write(e)
	case *SessionEnd:
		o.c.Close()
	}
}
