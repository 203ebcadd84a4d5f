package h2

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// encode HPACK-encodes name/value pairs with a fresh encoder.
func encode(kv ...string) []byte {
	var buf bytes.Buffer
	e := hpack.NewEncoder(&buf)
	for i := 0; i < len(kv); i += 2 {
		e.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return buf.Bytes()
}

// feedFrames reads frames from b and passes each to d, returning the
// blocks (as text) and errors met.
func feedFrames(t *testing.T, d *HeaderDecoder, b []byte) string {
	t.Helper()
	r := NewReader(PrefaceNone)
	r.Feed(b)
	var out []string
	for {
		f, err := r.Next()
		if err != nil {
			t.Fatalf("reader: %v", err)
		}
		if f == nil {
			return strings.Join(out, "; ")
		}
		blk, err := d.Add(f)
		switch {
		case err != nil:
			out = append(out, describeErr(err))
		case blk != nil:
			out = append(out, describeBlock(blk))
		}
	}
}

func describeBlock(b *Block) string {
	s := fmt.Sprintf("%v s=%d", b.Type, b.StreamID)
	if b.EndStream {
		s += " end"
	}
	if b.TooLarge {
		s += " too-large"
	}
	for _, f := range b.Fields {
		s += " " + f.Name + "=" + f.Value
	}
	return s
}

var request = []string{":method", "GET", ":scheme", "https", ":path", "/", ":authority", "example.com", "accept", "*/*"}

func TestHeaderDecoderAssembly(t *testing.T) {
	block := encode(request...)
	n := len(block)
	// HEADERS + two CONTINUATIONs, cut inside fields.
	split := cat(raw(FrameHeaders, FlagEndStream, 1, block[:3]...), raw(FrameContinuation, 0, 1, block[3:n-4]...), raw(FrameContinuation, FlagEndHeaders, 1, block[n-4:]...))
	const want = "HEADERS s=1 end :method=GET :scheme=https :path=/ :authority=example.com accept=*/*"
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"one frame", raw(FrameHeaders, FlagEndHeaders|FlagEndStream, 1, block...), want},
		{"continuations", split, want},
		{"empty continuations", cat(raw(FrameHeaders, FlagEndStream, 1, block...), raw(FrameContinuation, 0, 1), raw(FrameContinuation, FlagEndHeaders, 1)), want},
		{"push promise", raw(FramePushPromise, FlagEndHeaders, 1, cat(u32(2), block)...), "PUSH_PROMISE s=1 :method=GET :scheme=https :path=/ :authority=example.com accept=*/*"},
		{"other frames pass", cat(raw(FrameData, 0, 1, 'x'), raw(FramePing, 0, 0, ping8...)), ""},
		{"data inside", cat(raw(FrameHeaders, 0, 1, block[:3]...), raw(FrameData, 0, 1, 'x')), "conn PROTOCOL_ERROR"},
		{"ping inside", cat(raw(FrameHeaders, 0, 1, block[:3]...), raw(FramePing, 0, 0, ping8...)), "conn PROTOCOL_ERROR"},
		{"unknown inside", cat(raw(FrameHeaders, 0, 1, block[:3]...), raw(0xfa, 0, 0)), "conn PROTOCOL_ERROR"},
		{"headers inside", cat(raw(FrameHeaders, 0, 1, block[:3]...), raw(FrameHeaders, FlagEndHeaders, 3, block...)), "conn PROTOCOL_ERROR"},
		{"continuation other stream", cat(raw(FrameHeaders, 0, 1, block[:3]...), raw(FrameContinuation, FlagEndHeaders, 3, block[3:]...)), "conn PROTOCOL_ERROR"},
		{"continuation alone", raw(FrameContinuation, FlagEndHeaders, 1, block...), "conn PROTOCOL_ERROR"},
		{"continuation after end", cat(raw(FrameHeaders, FlagEndHeaders, 1, block...), raw(FrameContinuation, FlagEndHeaders, 1)), "HEADERS s=1 :method=GET :scheme=https :path=/ :authority=example.com accept=*/*; conn PROTOCOL_ERROR"},
		{"hpack garbage", raw(FrameHeaders, FlagEndHeaders, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), "conn COMPRESSION_ERROR"},
		{"bad index", raw(FrameHeaders, FlagEndHeaders, 1, 0xfe), "conn COMPRESSION_ERROR"},
		{"truncated block", raw(FrameHeaders, FlagEndHeaders, 1, block[:n-1]...), "conn COMPRESSION_ERROR"},
		{"sticky error", cat(raw(FrameHeaders, 0, 1, 0xfe), raw(FrameContinuation, FlagEndHeaders, 1, block...), raw(FrameHeaders, FlagEndHeaders, 3, block...)), "conn COMPRESSION_ERROR; conn COMPRESSION_ERROR; conn COMPRESSION_ERROR"},
	}
	for _, c := range cases {
		d := NewHeaderDecoder(0, 0, 0)
		if got := feedFrames(t, d, c.in); got != c.want {
			t.Errorf("%s:\ngot  %s\nwant %s", c.name, got, c.want)
		}
	}

	d := NewHeaderDecoder(0, 0, 0)
	r := NewReader(PrefaceNone)
	r.Feed(raw(FrameHeaders, 0, 9, block[:3]...))
	f, _ := r.Next()
	if blk, err := d.Add(f); blk != nil || err != nil {
		t.Fatal(blk, err)
	}
	if id, open := d.Pending(); id != 9 || !open {
		t.Errorf("pending %d %v", id, open)
	}
}

// A CONTINUATION flood ends at the block limit, before the decoder holds
// more than that (CVE-2024-27316).
func TestHeaderDecoderContinuationFlood(t *testing.T) {
	d := NewHeaderDecoder(0, 0, 1000)
	r := NewReader(PrefaceNone)
	r.Feed(raw(FrameHeaders, 0, 1, encode("a", "b")...))
	frames := 1
	for {
		f, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if f == nil {
			// a literal field, never ending: 0x00, then an ever-longer name
			r.Feed(raw(FrameContinuation, 0, 1, bytes.Repeat([]byte{0x40}, 100)...))
			frames++
			if frames > 100 {
				t.Fatal("flood not stopped")
			}
			continue
		}
		if _, err := d.Add(f); err != nil {
			if e := err.(*Error); e.Stream || e.Code != ErrCodeEnhanceYourCalm {
				t.Fatal(err)
			}
			if frames != 11 {
				t.Errorf("stopped after %d frames", frames)
			}
			return
		}
	}
}

// A header list beyond the limit marks the block TooLarge and keeps the
// HPACK state: the next block, which refers to the table, decodes.
func TestHeaderDecoderListSize(t *testing.T) {
	var buf bytes.Buffer
	e := hpack.NewEncoder(&buf)
	big := strings.Repeat("v", 100)
	for i := range 5 {
		e.WriteField(hpack.HeaderField{Name: fmt.Sprint("x", i), Value: big})
	}
	first := bytes.Clone(buf.Bytes())
	buf.Reset()
	for i := range 5 {
		e.WriteField(hpack.HeaderField{Name: fmt.Sprint("x", i), Value: big}) // indexed now
	}
	second := bytes.Clone(buf.Bytes())
	if len(second) >= 10 {
		t.Fatalf("second block not indexed: %d bytes", len(second))
	}
	// Each field counts 2+100+32 = 134 bytes; allow 3.
	d := NewHeaderDecoder(0, 3*134, 0)
	got := feedFrames(t, d, cat(raw(FrameHeaders, FlagEndHeaders, 1, first...), raw(FrameHeaders, FlagEndHeaders, 3, second[:3]...)))
	want := "HEADERS s=1 too-large x0=" + big + " x1=" + big + " x2=" + big + "; HEADERS s=3 x0=" + big + " x1=" + big + " x2=" + big
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// An HPACK bomb: one field whose value is longer than the whole list.
	d = NewHeaderDecoder(0, 100, 0)
	got = feedFrames(t, d, raw(FrameHeaders, FlagEndHeaders, 1, encode("a", strings.Repeat("b", 200))...))
	if got != "conn COMPRESSION_ERROR" {
		t.Errorf("long string: %s", got)
	}
}

func TestValidate(t *testing.T) {
	ok := ""
	bad := "stream 1 PROTOCOL_ERROR"
	req := func(extra ...string) []string { return append(append([]string{}, request...), extra...) }
	cases := []struct {
		name   string
		kind   string // request, response, trailers
		end    bool
		fields []string
		want   string
	}{
		{"request", "request", false, request, ok},
		{"request with te trailers", "request", false, req("te", "trailers"), ok},
		{"request te gzip", "request", false, req("te", "gzip"), bad},
		{"request connection", "request", false, req("connection", "close"), bad},
		{"request keep-alive", "request", false, req("keep-alive", "5"), bad},
		{"request proxy-connection", "request", false, req("proxy-connection", "x"), bad},
		{"request transfer-encoding", "request", false, req("transfer-encoding", "chunked"), bad},
		{"request upgrade", "request", false, req("upgrade", "h2c"), bad},
		{"request uppercase", "request", false, req("Accept", "x"), bad},
		{"request bad name", "request", false, req("a b", "x"), bad},
		{"request value CR", "request", false, req("a", "x\ry"), bad},
		{"request value NUL", "request", false, req("a", "x\x00y"), bad},
		{"request value leading space", "request", false, req("a", " x"), bad},
		{"request value trailing tab", "request", false, req("a", "x\t"), bad},
		{"request empty value", "request", false, req("a", ""), ok},
		{"request pseudo after regular", "request", false, []string{":method", "GET", "accept", "x", ":scheme", "https", ":path", "/", ":authority", "a"}, bad},
		{"request duplicate path", "request", false, []string{":method", "GET", ":scheme", "https", ":path", "/", ":path", "/x", ":authority", "a"}, bad},
		{"request unknown pseudo", "request", false, []string{":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", ":foo", "x"}, bad},
		{"request status", "request", false, []string{":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", ":status", "200"}, bad},
		{"request no method", "request", false, []string{":scheme", "https", ":path", "/", ":authority", "a"}, bad},
		{"request no scheme", "request", false, []string{":method", "GET", ":path", "/", ":authority", "a"}, bad},
		{"request no path", "request", false, []string{":method", "GET", ":scheme", "https", ":authority", "a"}, bad},
		{"request empty path", "request", false, []string{":method", "GET", ":scheme", "https", ":path", "", ":authority", "a"}, bad},
		{"request relative path", "request", false, []string{":method", "GET", ":scheme", "https", ":path", "x", ":authority", "a"}, bad},
		{"request asterisk", "request", false, []string{":method", "OPTIONS", ":scheme", "https", ":path", "*", ":authority", "a"}, ok},
		{"request asterisk GET", "request", false, []string{":method", "GET", ":scheme", "https", ":path", "*", ":authority", "a"}, bad},
		{"request other scheme path", "request", false, []string{":method", "GET", ":scheme", "foo", ":path", "x"}, ok},
		{"request host only", "request", false, []string{":method", "GET", ":scheme", "http", ":path", "/", "host", "a"}, ok},
		{"request no authority", "request", false, []string{":method", "GET", ":scheme", "http", ":path", "/"}, bad},
		{"request userinfo", "request", false, []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "u@a"}, bad},
		{"request host differs", "request", false, req("host", "other"), bad},
		{"request host same", "request", false, req("host", "example.com"), ok},
		{"connect", "request", false, []string{":method", "CONNECT", ":authority", "a:443"}, ok},
		{"connect path", "request", false, []string{":method", "CONNECT", ":authority", "a:443", ":path", "/"}, bad},
		{"connect scheme", "request", false, []string{":method", "CONNECT", ":authority", "a:443", ":scheme", "https"}, bad},
		{"connect no authority", "request", false, []string{":method", "CONNECT"}, bad},
		{"extended connect", "request", false, []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":path", "/chat", ":authority", "a"}, ok},
		{"extended connect no path", "request", false, []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":authority", "a"}, bad},
		{"protocol on GET", "request", false, []string{":method", "GET", ":protocol", "websocket", ":scheme", "https", ":path", "/", ":authority", "a"}, bad},
		{"response", "response", false, []string{":status", "200", "content-type", "text/plain"}, ok},
		{"response 3 digits", "response", false, []string{":status", "20"}, bad},
		{"response letters", "response", false, []string{":status", "2x0"}, bad},
		{"response 099", "response", false, []string{":status", "099"}, bad},
		{"response no status", "response", false, []string{"a", "b"}, bad},
		{"response method", "response", false, []string{":status", "200", ":method", "GET"}, bad},
		{"response duplicate status", "response", false, []string{":status", "200", ":status", "204"}, bad},
		{"response connection", "response", false, []string{":status", "200", "connection", "close"}, bad},
		{"trailers", "trailers", true, []string{"grpc-status", "0"}, ok},
		{"trailers empty", "trailers", true, nil, ok},
		{"trailers no end stream", "trailers", false, []string{"grpc-status", "0"}, bad},
		{"trailers pseudo", "trailers", true, []string{":status", "200"}, bad},
	}
	for _, c := range cases {
		fl := FlagEndHeaders
		if c.end {
			fl |= FlagEndStream
		}
		d := NewHeaderDecoder(0, 0, 0)
		r := NewReader(PrefaceNone)
		r.Feed(raw(FrameHeaders, fl, 1, encode(c.fields...)...))
		f, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		blk, err := d.Add(f)
		if err != nil || blk == nil {
			t.Fatalf("%s: %v %v", c.name, blk, err)
		}
		switch c.kind {
		case "request":
			err = blk.ValidateRequest()
		case "response":
			err = blk.ValidateResponse()
		default:
			err = blk.ValidateTrailers()
		}
		got := ""
		if err != nil {
			got = describeErr(err)
		}
		if got != c.want {
			t.Errorf("%s: got %q (%v), want %q", c.name, got, err, c.want)
		}
	}
}
