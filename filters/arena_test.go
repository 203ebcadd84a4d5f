package filters

import (
	"bytes"
	"fmt"
	"testing"
)

// Pieces from EncodeDone keep their bytes while the scratch slice is reused
// and the arena moves on to new buffers, and large pieces get slices of
// their own.
func TestEncodeArena(t *testing.T) {
	l := NewLoop()
	var got []*Data
	var want [][]byte
	for i := 0; i < 2000; i++ { // ~60 KiB: several arena buffers
		b := l.EncodeScratch()
		b = fmt.Appendf(b, "HTTP/1.1 200 OK\r\nX-N: %d\r\n\r\n", i)
		want = append(want, append([]byte(nil), b...))
		got = append(got, l.EncodeDone(b))
	}
	big := bytes.Repeat([]byte("x"), maxArenaPiece+1)
	b := append(l.EncodeScratch(), big...)
	bigData := l.EncodeDone(b)
	_ = append(l.EncodeScratch(), "overwrite"...)
	for i, d := range got {
		if !bytes.Equal(d.Bytes(), want[i]) {
			t.Fatalf("piece %d = %q, want %q", i, d.Bytes(), want[i])
		}
		d.Release()
	}
	if !bytes.Equal(bigData.Bytes(), big) {
		t.Fatalf("large piece corrupted")
	}
	if d := l.EncodeDone(l.EncodeScratch()); d.Size() != 0 {
		t.Fatalf("empty piece has %d bytes", d.Size())
	}
}
