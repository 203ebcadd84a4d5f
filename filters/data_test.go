package filters

import (
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"
)

// dataOf builds a Data from several chunks (each one a separate chunk).
func dataOf(parts ...string) *Data {
	d := NewData()
	for _, p := range parts {
		d.PushString(p)
	}
	return d
}

func nchunks(d *Data) int { return len(d.chunks) }

// sameMem reports whether a and b start at the same address.
func sameMem(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 && unsafe.SliceData(a) == unsafe.SliceData(b)
}

func TestDataEmpty(t *testing.T) {
	d := NewData()
	if !d.Empty() || d.Size() != 0 || d.Bytes() != nil || d.String() != "" {
		t.Fatalf("empty Data: size=%d bytes=%v", d.Size(), d.Bytes())
	}
	if d.Kind() != KindData {
		t.Fatalf("Kind = %v", d.Kind())
	}
	if n := NewDataBytes(nil); !n.Empty() || nchunks(n) != 0 {
		t.Fatalf("NewDataBytes(nil) holds %d chunks", nchunks(n))
	}
	d.PushString("")
	d.PushBytes(nil)
	if nchunks(d) != 0 {
		t.Fatalf("empty pushes added chunks")
	}
}

func TestDataPushShift(t *testing.T) {
	d := dataOf("hello", " ", "world")
	if d.Size() != 11 || d.String() != "hello world" || nchunks(d) != 3 {
		t.Fatalf("got %q size %d chunks %d", d.String(), d.Size(), nchunks(d))
	}
	for n := -1; n <= 12; n++ {
		d := dataOf("hello", " ", "world")
		head := d.Shift(n)
		want := max(0, min(n, 11))
		if head.Size() != want || head.String() != "hello world"[:want] {
			t.Errorf("Shift(%d) = %q", n, head.String())
		}
		if d.Size() != 11-want || d.String() != "hello world"[want:] {
			t.Errorf("after Shift(%d) rest = %q (size %d)", n, d.String(), d.Size())
		}
		// the rest is still usable
		d.PushString("!")
		if d.String() != "hello world"[want:]+"!" {
			t.Errorf("push after Shift(%d) = %q", n, d.String())
		}
	}
}

func TestDataShiftTo(t *testing.T) {
	for n := 0; n <= 12; n++ {
		d := dataOf("hel", "lo w", "orld")
		d.ShiftTo(n)
		want := "hello world"[min(n, 11):]
		if d.String() != want || d.Size() != len(want) {
			t.Errorf("ShiftTo(%d) = %q size %d", n, d.String(), d.Size())
		}
		d.PushString("?")
		if d.String() != want+"?" {
			t.Errorf("push after ShiftTo(%d) = %q", n, d.String())
		}
	}
}

func TestDataCloneIndependent(t *testing.T) {
	d := dataOf("abc", "def")
	c := d.Clone()
	d.Shift(4)
	d.PushString("X")
	if c.String() != "abcdef" || c.Size() != 6 {
		t.Fatalf("clone changed with original: %q", c.String())
	}
	c.ShiftTo(2)
	if d.String() != "efX" {
		t.Fatalf("original changed with clone: %q", d.String())
	}
}

func TestDataBytesAndAppendTo(t *testing.T) {
	d := dataOf("ab", "cd", "ef")
	if got := string(d.Bytes()); got != "abcdef" {
		t.Fatalf("Bytes = %q", got)
	}
	if got := string(d.AppendTo([]byte("x"))); got != "xabcdef" {
		t.Fatalf("AppendTo = %q", got)
	}
	var seen []string
	d.Chunks(func(b []byte) { seen = append(seen, string(b)) })
	if strings.Join(seen, "|") != "ab|cd|ef" {
		t.Fatalf("Chunks = %v", seen)
	}
	var bufs int
	d.Each(func(b []byte, buf *Buffer) {
		if buf != nil {
			bufs++
		}
	})
	if bufs != 0 {
		t.Fatalf("unpooled Data reports %d pooled chunks", bufs)
	}
}

func TestDataString(t *testing.T) {
	cases := []struct {
		in   []byte
		want string
	}{
		{[]byte("plain"), "plain"},
		{[]byte("héllo"), "héllo"},
		{[]byte{'a', 0xff, 'b'}, "a\uFFFDb"},
		{[]byte{0xc3}, "\uFFFD"},                         // truncated sequence
		{[]byte{0xe2, 0x82}, "\uFFFD\uFFFD"},             // each bad byte on its own
		{[]byte{0xed, 0xa0, 0x80}, "\uFFFD\uFFFD\uFFFD"}, // surrogate
	}
	for _, c := range cases {
		got := NewDataBytes(c.in).String()
		if got != c.want {
			t.Errorf("String(% x) = %q, want %q", c.in, got, c.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("String(% x) is not valid UTF-8", c.in)
		}
	}
	// a multi-byte character split across chunks is still decoded
	d := NewDataBytes([]byte{0xc3})
	d.PushBytes([]byte{0xa9})
	if d.String() != "é" {
		t.Errorf("split character = %q", d.String())
	}
}

func TestDataChunksShared(t *testing.T) {
	src := []byte("0123456789")
	d := NewDataBytes(src)
	if !sameMem(d.Bytes(), src) {
		t.Fatal("NewDataBytes copied its input")
	}
	c := d.Clone()
	if !sameMem(c.Bytes(), src) {
		t.Fatal("Clone copied the bytes")
	}
	var p Data
	p.PushString("x")
	p.Push(d)
	var second []byte
	i := 0
	p.Chunks(func(b []byte) {
		if i == 1 {
			second = b
		}
		i++
	})
	if !sameMem(second, src) {
		t.Fatal("Push copied the bytes")
	}
	head := d.Shift(4)
	if !sameMem(head.Bytes(), src) || !sameMem(d.Bytes(), src[4:]) {
		t.Fatal("Shift copied the bytes")
	}
	d.ShiftTo(2)
	if !sameMem(d.Bytes(), src[6:]) {
		t.Fatal("ShiftTo copied the bytes")
	}
	// shifting across chunk boundaries moves whole chunks without copies
	e := NewDataBytes(src[:3])
	e.PushBytes(src[3:])
	h := e.Shift(5)
	var hs [][]byte
	h.Chunks(func(b []byte) { hs = append(hs, b) })
	if len(hs) != 2 || !sameMem(hs[0], src) || !sameMem(hs[1], src[3:]) || !sameMem(e.Bytes(), src[5:]) {
		t.Fatal("cross-chunk Shift copied the bytes")
	}
	// a shifted-out head cannot grow into the rest's bytes
	h2 := NewDataBytes(src).Shift(3)
	b := h2.Bytes()
	if cap(b) != 3 {
		t.Fatalf("shifted chunk has cap %d, want 3 (full slice expression)", cap(b))
	}
}

func TestDataInlineChunksNoAlloc(t *testing.T) {
	a, b := []byte("abc"), []byte("def")
	allocs := testing.AllocsPerRun(100, func() {
		d := NewData()
		d.PushBytes(a)
		d.PushBytes(b)
		_ = d.Size()
	})
	if allocs > 1 {
		t.Fatalf("a Data with two chunks took %v allocations, want 1 (inline chunk array)", allocs)
	}
}

func refs(b *Buffer) int32 { return b.refs.Load() }

func TestBufferRefCounting(t *testing.T) {
	buf := GetBuffer()
	if refs(buf) != 1 || buf.Shared() {
		t.Fatalf("GetBuffer refs = %d", refs(buf))
	}
	copy(buf.B, "hello world")
	d := NewDataBuffer(buf, 0, 11)
	if refs(buf) != 2 || !buf.Shared() {
		t.Fatalf("NewDataBuffer did not retain: refs = %d", refs(buf))
	}
	if d.String() != "hello world" {
		t.Fatalf("data = %q", d.String())
	}
	if e := NewDataBuffer(buf, 0, 0); !e.Empty() || refs(buf) != 2 {
		t.Fatalf("empty NewDataBuffer took a reference: refs = %d", refs(buf))
	}
	// chunks know their buffer
	var got *Buffer
	d.Each(func(b []byte, bb *Buffer) { got = bb })
	if got != buf {
		t.Fatal("Each does not report the pooled buffer")
	}
	c := d.Clone()
	if refs(buf) != 3 {
		t.Fatalf("Clone refs = %d, want 3", refs(buf))
	}
	h := c.Shift(5) // split: both halves hold a reference
	if refs(buf) != 4 {
		t.Fatalf("split Shift refs = %d, want 4", refs(buf))
	}
	var p Data
	p.Push(h)
	if refs(buf) != 5 {
		t.Fatalf("Push refs = %d, want 5", refs(buf))
	}
	whole := p.Shift(100) // whole move: ownership moves, no new reference
	if refs(buf) != 5 || !p.Empty() {
		t.Fatalf("whole Shift refs = %d, want 5", refs(buf))
	}
	whole.Release()
	h.Release()
	c.ShiftTo(100)
	if refs(buf) != 2 {
		t.Fatalf("after releases refs = %d, want 2", refs(buf))
	}
	d.Release()
	if refs(buf) != 1 || buf.Shared() || !d.Empty() {
		t.Fatalf("Data.Release: refs = %d, empty = %v", refs(buf), d.Empty())
	}
	d.Release() // releasing an emptied Data does nothing more
	if refs(buf) != 1 {
		t.Fatalf("double Data.Release dropped a reference: refs = %d", refs(buf))
	}
	buf.Release()
	if refs(buf) != 0 {
		t.Fatalf("final refs = %d", refs(buf))
	}
}

func TestBufferShiftToReleasesConsumedChunks(t *testing.T) {
	b1, b2 := GetBuffer(), GetBuffer()
	d := NewDataBuffer(b1, 0, 4)
	d.Push(NewDataBuffer(b2, 0, 4)) // b2: 1 (ours) + 1 (temp) + 1 (d)
	if refs(b1) != 2 || refs(b2) != 3 {
		t.Fatalf("refs = %d, %d", refs(b1), refs(b2))
	}
	d.ShiftTo(2) // partial: keeps b1
	if refs(b1) != 2 {
		t.Fatalf("partial ShiftTo released: refs = %d", refs(b1))
	}
	d.ShiftTo(3) // drops the rest of b1's chunk
	if refs(b1) != 1 || refs(b2) != 3 {
		t.Fatalf("ShiftTo across chunk: refs = %d, %d", refs(b1), refs(b2))
	}
	d.ShiftTo(10)
	if refs(b2) != 2 || !d.Empty() {
		t.Fatalf("ShiftTo all: refs = %d", refs(b2))
	}
}

// pooledAgain reports whether the pool hands buf out again (it normally does
// right after a Put on the same P; a miss is not a failure of the code under
// test, so callers only use a hit as evidence).
func pooledAgain(buf *Buffer) bool {
	var taken []*Buffer
	defer func() {
		for _, b := range taken {
			b.Release()
		}
	}()
	for i := 0; i < 8; i++ {
		b := GetBuffer()
		taken = append(taken, b)
		if b == buf {
			return true
		}
	}
	return false
}

func TestBufferReturnsToPoolOnlyAtZero(t *testing.T) {
	buf := GetBuffer()
	d := NewDataBuffer(buf, 0, 10)
	buf.Release() // refs 1: the Data still holds it
	if pooledAgain(buf) {
		t.Fatal("buffer went back to the pool while a Data still referenced it")
	}
	if refs(buf) != 1 {
		t.Fatalf("refs = %d, want 1", refs(buf))
	}
	d.Release()
	if refs(buf) != 0 {
		t.Fatalf("refs = %d, want 0", refs(buf))
	}
	// after the last release the buffer is reusable (best effort check)
	if !pooledAgain(buf) {
		t.Log("pool did not hand the buffer out again (allowed by sync.Pool)")
	}
}

func TestDataEscape(t *testing.T) {
	buf := GetBuffer()
	d := NewDataBuffer(buf, 0, 8)
	d.Escape()
	d.Release()
	if refs(buf) != 2 || d.Size() != 8 {
		t.Fatalf("Release of an escaped Data did something: refs = %d size = %d", refs(buf), d.Size())
	}
	d.ShiftTo(3)
	d.ShiftTo(100)
	if refs(buf) != 2 || !d.Empty() {
		t.Fatalf("ShiftTo of an escaped Data released a reference: refs = %d", refs(buf))
	}
	buf.Release()
	if refs(buf) != 1 {
		t.Fatalf("refs = %d, want 1 (the escaped Data's)", refs(buf))
	}
	// the escaped reference keeps the buffer out of the pool forever
	if pooledAgain(buf) {
		t.Fatal("buffer referenced by an escaped Data was pooled")
	}
	// a clone of an escaped Data is an ordinary owner again
	b2 := GetBuffer()
	e := NewDataBuffer(b2, 0, 4)
	e.Escape()
	c := e.Clone()
	c.Release()
	if refs(b2) != 2 {
		t.Fatalf("clone of escaped Data: refs = %d, want 2", refs(b2))
	}
}

func TestParseDuration(t *testing.T) {
	good := []struct {
		in   string
		want time.Duration
	}{
		{"1s", time.Second},
		{"30s", 30 * time.Second},
		{"500ms", 500 * time.Millisecond},
		{"5m", 5 * time.Minute},
		{"2h", 2 * time.Hour},
		{"1d", 24 * time.Hour},
		{"1.5", 1500 * time.Millisecond},
		{"2", 2 * time.Second},
		{"0", 0},
		{" 10S ", 10 * time.Second},
		{"0.5m", 30 * time.Second},
	}
	for _, c := range good {
		got, err := ParseDuration(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "s", "ms", "abc", "1x", "-1s", "1 2s", "1sm", "--1"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseDurationNonFinite(t *testing.T) {
	for _, in := range []string{"inf", "nan", "1e300s", "Infinity"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseSize(t *testing.T) {
	good := []struct {
		in   string
		want int64
	}{
		{"100", 100},
		{"100k", 100 << 10},
		{"100K", 100 << 10},
		{"1M", 1 << 20},
		{"1m", 1 << 20},
		{"2g", 2 << 30},
		{"1t", 1 << 40},
		{"1.5k", 1536},
		{" 4k ", 4096},
	}
	for _, c := range good {
		got, err := ParseSize(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "k", "abc", "1x", "-1k", "1kb", "k1"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseSizeNonFinite(t *testing.T) {
	for _, in := range []string{"inf", "nan", "1e30t"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %v, want an error", in, got)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	names := []string{"", "UnknownError", "RuntimeError", "ReadError", "CannotResolve", "ConnectionRefused", "Unauthorized", "BufferOverflow"}
	for i, n := range names {
		if ErrorCode(i).String() != n {
			t.Errorf("ErrorCode(%d) = %q, want %q", i, ErrorCode(i).String(), n)
		}
		code, ok := ParseErrorCode(n)
		if !ok || code != ErrorCode(i) {
			t.Errorf("ParseErrorCode(%q) = %v, %v", n, code, ok)
		}
	}
	if code, ok := ParseErrorCode("Nope"); ok || code != UnknownError {
		t.Errorf("ParseErrorCode(Nope) = %v, %v", code, ok)
	}
	if ErrorCode(200).String() != "UnknownError" {
		t.Errorf("out of range code = %q", ErrorCode(200).String())
	}
	for k, n := range map[EventKind]string{KindData: "Data", KindMessageStart: "MessageStart", KindMessageEnd: "MessageEnd", KindSessionEnd: "SessionEnd"} {
		if k.String() != n {
			t.Errorf("EventKind %d = %q", k, k.String())
		}
	}
}

func TestItoa(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10, 11, 99, 100, 12345} {
		if got := itoa(n); got != strconv.Itoa(n) {
			t.Errorf("itoa(%d) = %q", n, got)
		}
	}
}
