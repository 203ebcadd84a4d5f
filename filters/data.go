package filters

import (
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Data is a byte buffer made of a chain of immutable chunks: slicing,
// shifting, cloning and concatenating never copy bytes, and the chunks can be
// handed to the socket writer as they are (writev). A Data value itself is
// mutable (push and shift change which chunks it holds); the bytes of a chunk
// never change once written.
//
// An empty Data event is a flush marker.
type Data struct {
	chunks  []chunk
	size    int
	escaped bool
	inline  [2]chunk
}

// Kind implements Event.
func (*Data) Kind() EventKind { return KindData }

type chunk struct {
	b   []byte
	buf *Buffer // nil when the bytes are not pooled
}

// Buffer is a pooled, reference-counted block of bytes that chunks point
// into. A Buffer goes back to the pool when its last reference is released;
// references that are never released are simply garbage collected.
type Buffer struct {
	B    []byte
	refs atomic.Int32
}

// BufferSize is the size of pooled read buffers.
const BufferSize = 16 * 1024

var bufferPool = sync.Pool{New: func() any { return &Buffer{B: make([]byte, BufferSize)} }}

// GetBuffer takes a buffer from the pool holding one reference (the caller's).
func GetBuffer() *Buffer {
	b := bufferPool.Get().(*Buffer)
	b.refs.Store(1)
	return b
}

// Retain adds a reference.
func (b *Buffer) Retain() { b.refs.Add(1) }

// Release drops a reference, returning the buffer to the pool at zero.
func (b *Buffer) Release() {
	if b.refs.Add(-1) == 0 {
		bufferPool.Put(b)
	}
}

// Refs returns the number of references held (for tests and debugging).
func (b *Buffer) Refs() int32 { return b.refs.Load() }

// Shared reports whether anyone besides the caller holds a reference.
func (b *Buffer) Shared() bool { return b.refs.Load() > 1 }

// NewData returns an empty Data.
func NewData() *Data { return &Data{} }

// NewDataBytes returns a Data holding b. The caller must not modify b later.
func NewDataBytes(b []byte) *Data {
	d := &Data{}
	if len(b) > 0 {
		d.appendChunk(chunk{b: b})
	}
	return d
}

// NewDataString returns a Data holding the UTF-8 bytes of s.
func NewDataString(s string) *Data { return NewDataBytes([]byte(s)) }

// NewDataBuffer returns a Data viewing b[off:off+n] of a pooled buffer; it
// takes a new reference on buf.
func NewDataBuffer(buf *Buffer, off, n int) *Data {
	d := &Data{}
	if n > 0 {
		buf.Retain()
		d.appendChunk(chunk{b: buf.B[off : off+n : off+n], buf: buf})
	}
	return d
}

func (d *Data) appendChunk(c chunk) {
	if d.chunks == nil {
		d.chunks = d.inline[:0]
	}
	d.chunks = append(d.chunks, c)
	d.size += len(c.b)
}

// Size returns the number of bytes.
func (d *Data) Size() int { return d.size }

// Empty reports whether the Data holds no bytes (a flush marker as an event).
func (d *Data) Empty() bool { return d.size == 0 }

// Chunks calls f for each chunk in order; f must not keep or modify the slice
// beyond the call unless it copies it.
func (d *Data) Chunks(f func(b []byte)) {
	for _, c := range d.chunks {
		f(c.b)
	}
}

// NumChunks returns the number of chunks d holds.
func (d *Data) NumChunks() int { return len(d.chunks) }

// Chunk returns chunk i (0 <= i < NumChunks()). The caller must not modify
// or keep the slice beyond its use of d unless it copies it.
func (d *Data) Chunk(i int) []byte { return d.chunks[i].b }

// Peek copies the first bytes of d into dst (as many as fit) and returns
// how many it copied; d is unchanged.
func (d *Data) Peek(dst []byte) int {
	n := 0
	for _, c := range d.chunks {
		if n == len(dst) {
			break
		}
		n += copy(dst[n:], c.b)
	}
	return n
}

// AppendTo appends the bytes of d to dst and returns it.
func (d *Data) AppendTo(dst []byte) []byte {
	for _, c := range d.chunks {
		dst = append(dst, c.b...)
	}
	return dst
}

// Bytes returns the content as one slice. With a single chunk no copy is
// made: the caller must not modify the result.
func (d *Data) Bytes() []byte {
	switch len(d.chunks) {
	case 0:
		return nil
	case 1:
		return d.chunks[0].b
	}
	return d.AppendTo(make([]byte, 0, d.size))
}

// String returns the content decoded as UTF-8 (invalid sequences become
// U+FFFD).
func (d *Data) String() string {
	b := d.Bytes()
	if utf8.Valid(b) {
		return string(b)
	}
	return string([]rune(string(b)))
}

// Clone returns a new Data sharing the same chunks.
func (d *Data) Clone() *Data {
	n := &Data{}
	for _, c := range d.chunks {
		if c.buf != nil {
			c.buf.Retain()
		}
		n.appendChunk(c)
	}
	return n
}

// Push appends the chunks of o (shared, not copied).
func (d *Data) Push(o *Data) {
	for _, c := range o.chunks {
		if c.buf != nil {
			c.buf.Retain()
		}
		d.appendChunk(c)
	}
}

// PushBytes appends b; the caller must not modify b later.
func (d *Data) PushBytes(b []byte) {
	if len(b) > 0 {
		d.appendChunk(chunk{b: b})
	}
}

// PushString appends the UTF-8 bytes of s.
func (d *Data) PushString(s string) {
	if s != "" {
		d.appendChunk(chunk{b: []byte(s)})
	}
}

// Shift removes the first n bytes (all when n >= Size) and returns them as a
// new Data.
func (d *Data) Shift(n int) *Data {
	out := &Data{}
	if n <= 0 {
		return out
	}
	if n >= d.size {
		for _, c := range d.chunks {
			out.appendChunk(c)
		}
		d.clear()
		return out
	}
	i := 0
	for n > 0 {
		c := d.chunks[i]
		if len(c.b) <= n {
			out.appendChunk(c)
			n -= len(c.b)
			i++
			continue
		}
		if c.buf != nil {
			c.buf.Retain()
		}
		out.appendChunk(chunk{b: c.b[:n:n], buf: c.buf})
		d.chunks[i].b = c.b[n:]
		n = 0
	}
	rest := d.chunks[i:]
	d.size -= out.size
	d.chunks = d.chunks[:0]
	d.chunks = append(d.chunks, rest...)
	return out
}

// ShiftTo removes the first n bytes and discards them.
func (d *Data) ShiftTo(n int) {
	if n >= d.size {
		d.Release()
		d.clear()
		return
	}
	for n > 0 {
		c := &d.chunks[0]
		if len(c.b) <= n {
			n -= len(c.b)
			d.size -= len(c.b)
			if c.buf != nil && !d.escaped {
				c.buf.Release()
			}
			d.chunks = d.chunks[1:]
			continue
		}
		c.b = c.b[n:]
		d.size -= n
		n = 0
	}
}

func (d *Data) clear() {
	d.chunks = nil
	d.size = 0
	d.inline = [2]chunk{}
}

// Release drops the references this Data holds on pooled buffers and empties
// it. Call it only when the Data is owned by the caller and goes nowhere else.
func (d *Data) Release() {
	if d.escaped {
		return
	}
	for _, c := range d.chunks {
		if c.buf != nil {
			c.buf.Release()
		}
	}
	d.clear()
}

// Escape marks d as reachable from scripts, whose lifetime nobody tracks:
// from then on Release does nothing and its buffers are left to the garbage
// collector.
func (d *Data) Escape() { d.escaped = true }

// Each calls f with each byte chunk; used by writers building net.Buffers.
func (d *Data) Each(f func(b []byte, buf *Buffer)) {
	for _, c := range d.chunks {
		f(c.b, c.buf)
	}
}
