package filters_test

import (
	"testing"

	"github.com/pipy-go/pipy/filters"
)

func BenchmarkDataPushShift(b *testing.B) {
	c1, c2, c3 := []byte("GET / HTTP/1.1\r\n"), []byte("Host: example.com\r\n"), []byte("\r\nbody bytes")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d := filters.NewDataBytes(c1)
		d.PushBytes(c2)
		d.PushBytes(c3)
		head := d.Shift(len(c1) + 5) // across a chunk boundary
		d.ShiftTo(len(c2) - 5 + 2)
		if head.Size() != len(c1)+5 || d.Size() != len(c3)-2 {
			b.Fatal("sizes")
		}
		head.Release()
		d.Release()
	}
}

func BenchmarkDataPushShiftPooled(b *testing.B) {
	buf := filters.GetBuffer()
	copy(buf.B, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\nbody bytes")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d := filters.NewDataBuffer(buf, 0, 16)
		tmp := filters.NewDataBuffer(buf, 16, 19)
		d.Push(tmp)
		tmp.Release()
		c := d.Clone()
		head := d.Shift(21)
		d.ShiftTo(100)
		head.Release()
		c.Release()
	}
	b.StopTimer()
	if buf.Shared() {
		b.Fatal("references leaked")
	}
}
