package h2

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// raw builds a frame byte by byte, payload as given (lengths may lie on
// purpose only through rawLen).
func raw(t FrameType, fl Flags, id uint32, payload ...byte) []byte {
	return rawLen(uint32(len(payload)), t, fl, id, payload...)
}

func rawLen(n uint32, t FrameType, fl Flags, id uint32, payload ...byte) []byte {
	b := []byte{byte(n >> 16), byte(n >> 8), byte(n), byte(t), byte(fl), 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[5:], id)
	return append(b, payload...)
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func setting(id SettingID, v uint32) []byte {
	return append([]byte{byte(id >> 8), byte(id)}, u32(v)...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// describe prints a frame's fields that matter for its type.
func describe(f *Frame) string {
	s := fmt.Sprintf("%v s=%d fl=%#x", f.Type, f.StreamID, uint8(f.Flags))
	switch f.Type {
	case FrameData, FrameContinuation:
		s += fmt.Sprintf(" data=%q", f.Data)
	case FrameHeaders:
		if f.HasPriority {
			s += fmt.Sprintf(" prio=%d/%v/%d", f.Priority.StreamDep, f.Priority.Exclusive, f.Priority.Weight)
		}
		s += fmt.Sprintf(" data=%q", f.Data)
	case FramePriority:
		s += fmt.Sprintf(" prio=%d/%v/%d", f.Priority.StreamDep, f.Priority.Exclusive, f.Priority.Weight)
	case FrameRSTStream:
		s += " code=" + f.ErrCode.String()
	case FrameSettings:
		for i := range f.NumSettings() {
			st := f.Setting(i)
			s += fmt.Sprintf(" %v=%d", st.ID, st.Val)
		}
	case FramePushPromise:
		s += fmt.Sprintf(" promised=%d data=%q", f.PromisedStreamID, f.Data)
	case FramePing:
		s += fmt.Sprintf(" ping=%x", f.PingData())
	case FrameGoAway:
		s += fmt.Sprintf(" last=%d code=%v debug=%q", f.LastStreamID, f.ErrCode, f.Data)
	case FrameWindowUpdate:
		s += fmt.Sprintf(" incr=%d", f.Increment)
	default:
		s += fmt.Sprintf(" data=%q", f.Data)
	}
	return s
}

func describeErr(err error) string {
	e := err.(*Error)
	if e.Stream {
		return fmt.Sprintf("stream %d %v", e.StreamID, e.Code)
	}
	return "conn " + e.Code.String()
}

// drain reads every frame available, describing frames and errors; it
// stops at a connection error.
func drain(r *Reader, out []string) ([]string, bool) {
	for {
		f, err := r.Next()
		if err != nil {
			out = append(out, describeErr(err))
			if !err.(*Error).Stream {
				if _, again := r.Next(); again != err {
					out = append(out, "error not sticky")
				}
				return out, true
			}
			continue
		}
		if f == nil {
			return out, false
		}
		out = append(out, describe(f))
	}
}

func readParts(p Preface, parts ...[]byte) string {
	r := NewReader(p)
	var out []string
	for _, part := range parts {
		r.Feed(part)
		var stop bool
		if out, stop = drain(r, out); stop {
			break
		}
	}
	return strings.Join(out, "; ")
}

// splits gives the input whole, cut at every boundary, and byte by byte.
func splits(in []byte) map[string][][]byte {
	m := map[string][][]byte{"whole": {in}}
	for i := 1; i < len(in); i++ {
		m[fmt.Sprintf("split@%d", i)] = [][]byte{in[:i], in[i:]}
	}
	var bytewise [][]byte
	for i := range in {
		bytewise = append(bytewise, in[i:i+1])
	}
	m["bytewise"] = bytewise
	return m
}

var ping8 = []byte{1, 2, 3, 4, 5, 6, 7, 8}

type readCase struct {
	name string
	in   []byte
	want string
}

var readCases = []readCase{
	// DATA
	{"data", raw(FrameData, 0, 1, []byte("hello")...), `DATA s=1 fl=0x0 data="hello"`},
	{"data end stream", raw(FrameData, FlagEndStream, 1), `DATA s=1 fl=0x1 data=""`},
	{"data padded", raw(FrameData, FlagPadded, 1, 2, 'h', 'i', 0, 0), `DATA s=1 fl=0x8 data="hi"`},
	{"data all padding", raw(FrameData, FlagPadded, 1, 3, 0, 0, 0), `DATA s=1 fl=0x8 data=""`},
	{"data pad too long", raw(FrameData, FlagPadded, 1, 3, 0, 0), "conn PROTOCOL_ERROR"},
	{"data pad = payload", raw(FrameData, FlagPadded, 1, 1), "conn PROTOCOL_ERROR"},
	{"data padded no pad length", raw(FrameData, FlagPadded, 1), "conn FRAME_SIZE_ERROR"},
	{"data stream 0", raw(FrameData, 0, 0, 'x'), "conn PROTOCOL_ERROR"},
	{"data reserved bit", raw(FrameData, 0, 1<<31|7, 'x'), `DATA s=7 fl=0x0 data="x"`},
	// HEADERS
	{"headers", raw(FrameHeaders, FlagEndHeaders, 3, 0x82), `HEADERS s=3 fl=0x4 data="\x82"`},
	{"headers priority", raw(FrameHeaders, FlagPriority|FlagEndHeaders, 3, 0x80, 0, 0, 1, 15, 'x'), `HEADERS s=3 fl=0x24 prio=1/true/15 data="x"`},
	{"headers padded priority", raw(FrameHeaders, FlagPadded|FlagPriority, 3, 1, 0, 0, 0, 1, 15, 'x', 0), `HEADERS s=3 fl=0x28 prio=1/false/15 data="x"`},
	{"headers padded priority pad too long", raw(FrameHeaders, FlagPadded|FlagPriority, 3, 2, 0, 0, 0, 1, 15, 'x'), "conn PROTOCOL_ERROR"},
	{"headers priority short", raw(FrameHeaders, FlagPriority, 3, 0, 0, 0, 1), "conn FRAME_SIZE_ERROR"},
	{"headers depends on itself", raw(FrameHeaders, FlagPriority, 3, 0, 0, 0, 3, 0), "stream 3 PROTOCOL_ERROR"},
	{"headers stream 0", raw(FrameHeaders, FlagEndHeaders, 0, 0x82), "conn PROTOCOL_ERROR"},
	// PRIORITY
	{"priority", raw(FramePriority, 0, 5, 0, 0, 0, 3, 200), "PRIORITY s=5 fl=0x0 prio=3/false/200"},
	{"priority length 4", raw(FramePriority, 0, 5, 0, 0, 0, 3), "stream 5 FRAME_SIZE_ERROR"},
	{"priority length 6", raw(FramePriority, 0, 5, 0, 0, 0, 3, 0, 0), "stream 5 FRAME_SIZE_ERROR"},
	{"priority stream 0", raw(FramePriority, 0, 0, 0, 0, 0, 3, 0), "conn PROTOCOL_ERROR"},
	{"priority on itself", raw(FramePriority, 0, 5, 0, 0, 0, 5, 0), "stream 5 PROTOCOL_ERROR"},
	// RST_STREAM
	{"rst", raw(FrameRSTStream, 0, 1, u32(8)...), "RST_STREAM s=1 fl=0x0 code=CANCEL"},
	{"rst unknown code", raw(FrameRSTStream, 0, 1, u32(0x99)...), "RST_STREAM s=1 fl=0x0 code=UNKNOWN_ERROR_0x99"},
	{"rst length 3", raw(FrameRSTStream, 0, 1, 0, 0, 8), "conn FRAME_SIZE_ERROR"},
	{"rst stream 0", raw(FrameRSTStream, 0, 0, u32(8)...), "conn PROTOCOL_ERROR"},
	// SETTINGS
	{"settings empty", raw(FrameSettings, 0, 0), "SETTINGS s=0 fl=0x0"},
	{"settings", raw(FrameSettings, 0, 0, cat(setting(SettingEnablePush, 0), setting(SettingMaxConcurrentStreams, 100), setting(SettingInitialWindowSize, MaxWindowSize), setting(SettingMaxFrameSize, MaxFrameSizeLimit), setting(0x77, 9))...),
		"SETTINGS s=0 fl=0x0 ENABLE_PUSH=0 MAX_CONCURRENT_STREAMS=100 INITIAL_WINDOW_SIZE=2147483647 MAX_FRAME_SIZE=16777215 UNKNOWN_SETTING_119=9"},
	{"settings ack", raw(FrameSettings, FlagAck, 0), "SETTINGS s=0 fl=0x1"},
	{"settings ack with payload", raw(FrameSettings, FlagAck, 0, setting(SettingEnablePush, 0)...), "conn FRAME_SIZE_ERROR"},
	{"settings length 5", raw(FrameSettings, 0, 0, 0, 2, 0, 0, 0), "conn FRAME_SIZE_ERROR"},
	{"settings length 7", raw(FrameSettings, 0, 0, 0, 2, 0, 0, 0, 0, 0), "conn FRAME_SIZE_ERROR"},
	{"settings stream 1", raw(FrameSettings, 0, 1), "conn PROTOCOL_ERROR"},
	{"settings enable push 2", raw(FrameSettings, 0, 0, setting(SettingEnablePush, 2)...), "conn PROTOCOL_ERROR"},
	{"settings enable push 1", raw(FrameSettings, 0, 0, setting(SettingEnablePush, 1)...), "SETTINGS s=0 fl=0x0 ENABLE_PUSH=1"},
	{"settings connect protocol 2", raw(FrameSettings, 0, 0, setting(SettingEnableConnectProtocol, 2)...), "conn PROTOCOL_ERROR"},
	{"settings window 2^31", raw(FrameSettings, 0, 0, setting(SettingInitialWindowSize, 1<<31)...), "conn FLOW_CONTROL_ERROR"},
	{"settings frame size 16383", raw(FrameSettings, 0, 0, setting(SettingMaxFrameSize, 16383)...), "conn PROTOCOL_ERROR"},
	{"settings frame size 16384", raw(FrameSettings, 0, 0, setting(SettingMaxFrameSize, 16384)...), "SETTINGS s=0 fl=0x0 MAX_FRAME_SIZE=16384"},
	{"settings frame size 2^24", raw(FrameSettings, 0, 0, setting(SettingMaxFrameSize, 1<<24)...), "conn PROTOCOL_ERROR"},
	// PUSH_PROMISE (allowed to a client)
	{"push promise", raw(FramePushPromise, FlagEndHeaders, 1, cat(u32(2), []byte{0x82})...), `PUSH_PROMISE s=1 fl=0x4 promised=2 data="\x82"`},
	{"push promise padded", raw(FramePushPromise, FlagPadded, 1, cat([]byte{1}, u32(2), []byte{0x82, 0})...), `PUSH_PROMISE s=1 fl=0x8 promised=2 data="\x82"`},
	{"push promise short", raw(FramePushPromise, 0, 1, 0, 0, 2), "conn FRAME_SIZE_ERROR"},
	{"push promise stream 0", raw(FramePushPromise, 0, 0, u32(2)...), "conn PROTOCOL_ERROR"},
	{"push promise promising 0", raw(FramePushPromise, 0, 1, u32(0)...), "conn PROTOCOL_ERROR"},
	// PING
	{"ping", raw(FramePing, 0, 0, ping8...), "PING s=0 fl=0x0 ping=0102030405060708"},
	{"ping ack", raw(FramePing, FlagAck, 0, ping8...), "PING s=0 fl=0x1 ping=0102030405060708"},
	{"ping length 7", raw(FramePing, 0, 0, ping8[:7]...), "conn FRAME_SIZE_ERROR"},
	{"ping length 9", raw(FramePing, 0, 0, append(ping8, 9)...), "conn FRAME_SIZE_ERROR"},
	{"ping stream 1", raw(FramePing, 0, 1, ping8...), "conn PROTOCOL_ERROR"},
	// GOAWAY
	{"goaway", raw(FrameGoAway, 0, 0, cat(u32(1<<31|7), u32(11), []byte("calm"))...), `GOAWAY s=0 fl=0x0 last=7 code=ENHANCE_YOUR_CALM debug="calm"`},
	{"goaway length 7", raw(FrameGoAway, 0, 0, 0, 0, 0, 7, 0, 0, 0), "conn FRAME_SIZE_ERROR"},
	{"goaway stream 1", raw(FrameGoAway, 0, 1, cat(u32(7), u32(0))...), "conn PROTOCOL_ERROR"},
	// WINDOW_UPDATE
	{"window update conn", raw(FrameWindowUpdate, 0, 0, u32(1000)...), "WINDOW_UPDATE s=0 fl=0x0 incr=1000"},
	{"window update stream reserved bit", raw(FrameWindowUpdate, 0, 5, u32(1<<31|1)...), "WINDOW_UPDATE s=5 fl=0x0 incr=1"},
	{"window update length 3", raw(FrameWindowUpdate, 0, 5, 0, 0, 1), "conn FRAME_SIZE_ERROR"},
	{"window update 0 conn", raw(FrameWindowUpdate, 0, 0, u32(0)...), "conn PROTOCOL_ERROR"},
	{"window update 0 stream", cat(raw(FrameWindowUpdate, 0, 5, u32(1<<31)...), raw(FramePing, 0, 0, ping8...)), "stream 5 PROTOCOL_ERROR; PING s=0 fl=0x0 ping=0102030405060708"},
	// CONTINUATION, unknown types
	{"continuation", raw(FrameContinuation, FlagEndHeaders, 3, 0x82), `CONTINUATION s=3 fl=0x4 data="\x82"`},
	{"continuation stream 0", raw(FrameContinuation, 0, 0, 0x82), "conn PROTOCOL_ERROR"},
	{"unknown type", raw(0xfa, 0xff, 0, 'x', 'y'), `UNKNOWN_FRAME_TYPE_250 s=0 fl=0xff data="xy"`},
	// sizes; errors: a stream error skips its frame, a connection error stops
	{"max size", raw(FrameData, 0, 1, make([]byte, DefaultMaxFrameSize)...), `DATA s=1 fl=0x0 data="` + strings.Repeat(`\x00`, DefaultMaxFrameSize) + `"`},
	{"too large", rawLen(DefaultMaxFrameSize+1, FrameData, 0, 1), "conn FRAME_SIZE_ERROR"},
	{"too large unknown", rawLen(1<<24-1, 0xfa, 0, 0), "conn FRAME_SIZE_ERROR"},
	{"stream error then frames", cat(raw(FramePriority, 0, 5, 0, 0, 0), raw(FrameData, FlagEndStream, 1, 'a')), `stream 5 FRAME_SIZE_ERROR; DATA s=1 fl=0x1 data="a"`},
	{"connection error stops", cat(raw(FramePing, 0, 1, ping8...), raw(FrameData, 0, 1, 'a')), "conn PROTOCOL_ERROR"},
	{"sequence", cat(raw(FrameSettings, 0, 0), raw(FrameHeaders, FlagEndHeaders, 1, 0x82), raw(FrameData, 0, 1, 'a'), raw(FrameData, FlagEndStream, 1, 'b')),
		`SETTINGS s=0 fl=0x0; HEADERS s=1 fl=0x4 data="\x82"; DATA s=1 fl=0x0 data="a"; DATA s=1 fl=0x1 data="b"`},
}

func TestReaderFrames(t *testing.T) {
	for _, c := range readCases {
		t.Run(c.name, func(t *testing.T) {
			if got := readParts(PrefaceNone, c.in); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// Every case gives the same frames however its bytes arrive.
func TestReaderSplits(t *testing.T) {
	for _, c := range readCases {
		if len(c.in) > 200 {
			continue
		}
		for mode, parts := range splits(c.in) {
			if got := readParts(PrefaceNone, parts...); got != c.want {
				t.Errorf("%s, %s: got %s, want %s", c.name, mode, got, c.want)
			}
		}
	}
}

func TestReaderPreface(t *testing.T) {
	settings := raw(FrameSettings, 0, 0, setting(SettingMaxConcurrentStreams, 10)...)
	ping := raw(FramePing, 0, 0, ping8...)
	cases := []struct {
		name string
		p    Preface
		in   []byte
		want string
	}{
		{"server", PrefaceServer, cat([]byte(ClientPreface), settings, ping), "SETTINGS s=0 fl=0x0 MAX_CONCURRENT_STREAMS=10; PING s=0 fl=0x0 ping=0102030405060708"},
		{"server preface only", PrefaceServer, []byte(ClientPreface), ""},
		{"server HTTP/1", PrefaceServer, []byte("GET / HTTP/1.1\r\n\r\n"), "conn PROTOCOL_ERROR"},
		{"server preface typo", PrefaceServer, []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\n\r"), "conn PROTOCOL_ERROR"},
		{"server no settings", PrefaceServer, cat([]byte(ClientPreface), ping), "conn PROTOCOL_ERROR"},
		{"server settings ack first", PrefaceServer, cat([]byte(ClientPreface), raw(FrameSettings, FlagAck, 0)), "conn PROTOCOL_ERROR"},
		{"server push promise", PrefaceServer, cat([]byte(ClientPreface), settings, raw(FramePushPromise, 0, 1, u32(2)...)), "SETTINGS s=0 fl=0x0 MAX_CONCURRENT_STREAMS=10; conn PROTOCOL_ERROR"},
		{"client", PrefaceClient, cat(settings, ping), "SETTINGS s=0 fl=0x0 MAX_CONCURRENT_STREAMS=10; PING s=0 fl=0x0 ping=0102030405060708"},
		{"client magic", PrefaceClient, []byte(ClientPreface), "conn PROTOCOL_ERROR"},
		{"client no settings", PrefaceClient, ping, "conn PROTOCOL_ERROR"},
	}
	for _, c := range cases {
		for mode, parts := range splits(c.in) {
			if got := readParts(c.p, parts...); got != c.want {
				t.Errorf("%s, %s: got %s, want %s", c.name, mode, got, c.want)
			}
		}
	}
	// A wrong preface is seen at its first wrong byte.
	r := NewReader(PrefaceServer)
	r.Feed([]byte("G"))
	if _, err := r.Next(); err == nil {
		t.Error("no error at the first byte of GET")
	}
	// A too-large frame is refused once its header is in.
	r = NewReader(PrefaceNone)
	r.Feed(rawLen(1<<20, FrameData, 0, 1))
	if _, err := r.Next(); err == nil || err.(*Error).Code != ErrCodeFrameSize {
		t.Errorf("too large: %v", err)
	}
}

func TestReaderMaxFrameSize(t *testing.T) {
	r := NewReader(PrefaceNone)
	r.SetMaxFrameSize(1 << 20)
	r.Feed(raw(FrameData, 0, 1, make([]byte, 1<<20)...))
	if f, err := r.Next(); err != nil || len(f.Data) != 1<<20 {
		t.Fatalf("1 MiB frame: %v", err)
	}
	r.Feed(raw(FramePing, 0, 0, ping8...))
	if cap(r.buf) > keepBuffer {
		t.Errorf("kept a buffer of %d bytes", cap(r.buf))
	}
	if f, err := r.Next(); err != nil || f.Type != FramePing {
		t.Fatalf("after the large frame: %v %v", f, err)
	}
	r.SetMaxFrameSize(1) // clamped to the minimum
	if r.MaxFrameSize() != DefaultMaxFrameSize {
		t.Errorf("clamped to %d", r.MaxFrameSize())
	}
	r.SetMaxFrameSize(1 << 30)
	if r.MaxFrameSize() != MaxFrameSizeLimit {
		t.Errorf("clamped to %d", r.MaxFrameSize())
	}
	if r.Buffered() != 0 {
		t.Errorf("buffered %d", r.Buffered())
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{FrameWindowUpdate.String(), "WINDOW_UPDATE"},
		{FrameType(10).String(), "UNKNOWN_FRAME_TYPE_10"},
		{ErrCodeHTTP11Required.String(), "HTTP_1_1_REQUIRED"},
		{ErrCode(14).String(), "UNKNOWN_ERROR_0xe"},
		{SettingNoRFC7540Priorities.String(), "NO_RFC7540_PRIORITIES"},
		{streamError(3, ErrCodeCancel, "x").Error(), "http2: stream error on stream 3: CANCEL: x"},
		{connError(ErrCodeProtocol, "y").Error(), "http2: connection error: PROTOCOL_ERROR: y"},
		{FrameHeader{Length: 3, Type: FrameData, Flags: 1, StreamID: 9}.String(), "DATA flags=0x1 stream=9 len=3"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func itoa(n int) string { return fmt.Sprint(n) }

func hexFlags(f Flags) string { return fmt.Sprintf("%#x", uint8(f)) }

// Err and Setting.Valid give a nil error interface when all is well.
func TestNilErrors(t *testing.T) {
	r := NewReader(PrefaceNone)
	if r.Err() != nil {
		t.Error("Err of a fresh reader")
	}
	if err := (Setting{SettingEnablePush, 1}).Valid(); err != nil {
		t.Error(err)
	}
	if err := (Setting{SettingEnablePush, 3}).Valid(); err == nil || err.(*Error).Code != ErrCodeProtocol {
		t.Error(err)
	}
	r.Feed(raw(FramePing, 0, 1, ping8...))
	r.Next()
	if err := r.Err(); err == nil || err.(*Error).Stream {
		t.Errorf("Err after a connection error: %v", err)
	}
}
