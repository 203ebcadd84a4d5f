package h2

import (
	"testing"
)

// BenchmarkReadData: feeding and reading one 16 KiB DATA frame.
func BenchmarkReadData(b *testing.B) {
	frame := AppendData(nil, 1, false, make([]byte, DefaultMaxFrameSize))
	r := NewReader(PrefaceNone)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		r.Feed(frame)
		if f, err := r.Next(); f == nil || err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadDataPieces: the same frame arriving in 1400-byte pieces.
func BenchmarkReadDataPieces(b *testing.B) {
	frame := AppendData(nil, 1, false, make([]byte, DefaultMaxFrameSize))
	r := NewReader(PrefaceNone)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for p := frame; len(p) > 0; {
			k := min(len(p), 1400)
			r.Feed(p[:k])
			p = p[k:]
			for {
				f, err := r.Next()
				if err != nil {
					b.Fatal(err)
				}
				if f == nil {
					break
				}
				n++
			}
		}
		if n != 1 {
			b.Fatal(n)
		}
	}
}

// BenchmarkAppendHeaders: writing a typical response's header block.
func BenchmarkAppendHeaders(b *testing.B) {
	block := encode(":status", "200", "content-type", "text/html; charset=utf-8", "content-length", "1234", "date", "Thu, 03 Dec 2026 09:49:04 GMT", "server", "pipy")
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendHeaders(buf[:0], 1, false, block, DefaultMaxFrameSize)
	}
}

// BenchmarkDecodeHeaders: assembling and decoding a request's header block.
func BenchmarkDecodeHeaders(b *testing.B) {
	frame := AppendHeaders(nil, 1, true, encode(request...), 0)
	r := NewReader(PrefaceNone)
	d := NewHeaderDecoder(0, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		r.Feed(frame)
		f, _ := r.Next()
		blk, err := d.Add(f)
		if err != nil || blk.ValidateRequest() != nil {
			b.Fatal(err)
		}
	}
}
