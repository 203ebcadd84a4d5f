package h2

import (
	"bytes"
	"strings"
	"testing"
)

// The writers' frames read back as what they were asked to write.
func TestWritersRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"data", AppendData(nil, 1, false, []byte("hi")), `DATA s=1 fl=0x0 data="hi"`},
		{"data end", AppendData(nil, 3, true, nil), `DATA s=3 fl=0x1 data=""`},
		{"headers", AppendHeaders(nil, 5, false, []byte{0x82}, 0), `HEADERS s=5 fl=0x4 data="\x82"`},
		{"headers end stream", AppendHeaders(nil, 5, true, []byte{0x82}, 0), `HEADERS s=5 fl=0x5 data="\x82"`},
		{"settings", AppendSettings(nil, Setting{SettingMaxFrameSize, 1 << 20}, Setting{SettingInitialWindowSize, 0}),
			"SETTINGS s=0 fl=0x0 MAX_FRAME_SIZE=1048576 INITIAL_WINDOW_SIZE=0"},
		{"settings none", AppendSettings(nil), "SETTINGS s=0 fl=0x0"},
		{"settings ack", AppendSettingsAck(nil), "SETTINGS s=0 fl=0x1"},
		{"ping", AppendPing(nil, false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}), "PING s=0 fl=0x0 ping=0102030405060708"},
		{"ping ack", AppendPing(nil, true, [8]byte{8}), "PING s=0 fl=0x1 ping=0800000000000000"},
		{"goaway", AppendGoAway(nil, 7, ErrCodeProtocol, []byte("bad")), `GOAWAY s=0 fl=0x0 last=7 code=PROTOCOL_ERROR debug="bad"`},
		{"goaway reserved bit", AppendGoAway(nil, 1<<31|9, ErrCodeNo, nil), `GOAWAY s=0 fl=0x0 last=9 code=NO_ERROR debug=""`},
		{"rst", AppendRSTStream(nil, 9, ErrCodeRefusedStream), "RST_STREAM s=9 fl=0x0 code=REFUSED_STREAM"},
		{"window update", AppendWindowUpdate(nil, 0, MaxWindowSize), "WINDOW_UPDATE s=0 fl=0x0 incr=2147483647"},
		{"window update stream", AppendWindowUpdate(nil, 11, 1), "WINDOW_UPDATE s=11 fl=0x0 incr=1"},
		{"frame header", AppendFrameHeader(nil, FrameHeader{Type: 0xee, Flags: 0x3, StreamID: 1<<31 | 4}), `UNKNOWN_FRAME_TYPE_238 s=4 fl=0x3 data=""`},
	}
	for _, c := range cases {
		if got := readParts(PrefaceNone, c.b); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
		h := ParseFrameHeader(c.b)
		if int(h.Length)+FrameHeaderLen != len(c.b) {
			t.Errorf("%s: length %d for %d bytes", c.name, h.Length, len(c.b))
		}
	}
	if got := AppendSettingsAck([]byte("x")); !bytes.Equal(got, append([]byte("x"), 0, 0, 0, 4, 1, 0, 0, 0, 0)) {
		t.Errorf("append to a prefix: %q", got)
	}
}

func TestWritersDoNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 1<<16)
	data := make([]byte, 1000)
	block := make([]byte, 40000)
	n := testing.AllocsPerRun(100, func() {
		b := AppendData(buf[:0], 1, true, data)
		b = AppendHeaders(b, 1, false, block, 0)
		b = AppendSettings(b, Setting{SettingEnablePush, 0}, Setting{SettingMaxConcurrentStreams, 100})
		b = AppendSettingsAck(b)
		b = AppendPing(b, true, [8]byte{})
		b = AppendGoAway(b, 1, ErrCodeNo, nil)
		b = AppendRSTStream(b, 1, ErrCodeCancel)
		_ = AppendWindowUpdate(b, 1, 100)
	})
	if n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// A header block larger than the peer's frame size goes out as HEADERS and
// CONTINUATION frames, END_HEADERS on the last, END_STREAM on the first.
func TestAppendHeadersContinuation(t *testing.T) {
	cases := []struct {
		size, max int
		want      string // type:length:flags of each frame
	}{
		{0, 0, "HEADERS:0:0x5"},
		{100, 0, "HEADERS:100:0x5"},
		{16384, 16384, "HEADERS:16384:0x5"},
		{16385, 16384, "HEADERS:16384:0x1 CONTINUATION:1:0x4"},
		{40000, 100, "HEADERS:16384:0x1 CONTINUATION:16384:0x0 CONTINUATION:7232:0x4"},
		{32768, 16384, "HEADERS:16384:0x1 CONTINUATION:16384:0x4"},
		{40000, 20000, "HEADERS:20000:0x1 CONTINUATION:20000:0x4"},
		{40000, 1 << 20, "HEADERS:40000:0x5"},
	}
	for _, c := range cases {
		block := make([]byte, c.size)
		for i := range block {
			block[i] = byte(i)
		}
		b := AppendHeaders(nil, 7, true, block, uint32(c.max))
		r := NewReader(PrefaceNone)
		r.SetMaxFrameSize(1 << 20)
		r.Feed(b)
		var got []string
		var body []byte
		for {
			f, err := r.Next()
			if err != nil {
				t.Fatalf("%d/%d: %v", c.size, c.max, err)
			}
			if f == nil {
				break
			}
			if f.StreamID != 7 {
				t.Errorf("stream %d", f.StreamID)
			}
			got = append(got, f.Type.String()+":"+itoa(len(f.Data))+":"+hexFlags(f.Flags))
			body = append(body, f.Data...)
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%d/%d: got %s, want %s", c.size, c.max, g, c.want)
		}
		if !bytes.Equal(body, block) {
			t.Errorf("%d/%d: block not reassembled", c.size, c.max)
		}
	}
}
