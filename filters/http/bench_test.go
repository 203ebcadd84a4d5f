package http_test

import (
	"bytes"
	"testing"

	"golang.org/x/net/http2/hpack"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
	"github.com/pipy-go/pipy/filters/http"
	"github.com/pipy-go/pipy/filters/http/h2"
)

// A typical browser-ish GET with five headers.
const benchRequest = "GET /index.html?lang=en HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/126.0\r\n" +
	"Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Connection: keep-alive\r\n\r\n"

// reader mimics a connection's read loop: one pooled buffer, reused when
// nobody else holds it, each read input as Data plus a flush marker.
type reader struct {
	buf *filters.Buffer
	off int
}

func (r *reader) read(s *filters.Session, p string) {
	if r.buf == nil || len(r.buf.B)-r.off < len(p) {
		if r.buf != nil {
			r.buf.Release()
		}
		r.buf, r.off = filters.GetBuffer(), 0
	}
	n := copy(r.buf.B[r.off:], p)
	s.Input(filters.NewDataBuffer(r.buf, r.off, n))
	s.Input(filters.NewData())
	r.off += n
	if !r.buf.Shared() {
		r.off = 0
	}
}

// releaser is a sink that drops events, releasing Data as a socket writer
// would after writing it.
var releaser = filters.SinkFunc(func(evt filters.Event) {
	if d, ok := evt.(*filters.Data); ok {
		d.Release()
	}
})

func benchSession(b *testing.B, src string, in *filters.Inbound) (*filtertest.World, *filters.Session) {
	w := filtertest.Load(b, src)
	w.Env.Loop.Enter()
	s := w.Pipeline("p").NewSession(w.Prog.NewContext(in), releaser)
	w.Env.Loop.Leave()
	return w, s
}

func BenchmarkDecodeHttpRequest(b *testing.B) {
	w, s := benchSession(b, "pipy().pipeline('p').decodeHttpRequest()", nil)
	var r reader
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRequest)))
	w.Env.Loop.Enter()
	defer w.Env.Loop.Leave()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.read(s, benchRequest)
	}
}

func BenchmarkDecodeHttpResponseChunked(b *testing.B) {
	const res = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"7\r\nHello, \r\n6\r\nworld!\r\n0\r\n\r\n"
	w, s := benchSession(b, "pipy().pipeline('p').decodeHttpResponse()", nil)
	var r reader
	b.ReportAllocs()
	b.SetBytes(int64(len(res)))
	w.Env.Loop.Enter()
	defer w.Env.Loop.Leave()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.read(s, res)
	}
}

func BenchmarkEncodeHttpResponse(b *testing.B) {
	w, s := benchSession(b, "pipy().pipeline('p').encodeHttpResponse()", nil)
	body := []byte("Hello!\n")
	head := &http.ResponseHead{Protocol: "HTTP/1.1", Status: 200, StatusText: "OK",
		Headers: []http.HeaderField{{Name: "content-type", Value: "text/plain"}, {Name: "server", Value: "pipy"}}}
	b.ReportAllocs()
	w.Env.Loop.Enter()
	defer w.Env.Loop.Leave()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Input(&filters.MessageStart{Head: head})
		s.Input(filters.NewDataBytes(body))
		s.Input(filters.TheMessageEnd)
	}
}

func BenchmarkEncodeHttpResponseScriptHead(b *testing.B) {
	w, s := benchSession(b, `pipy().pipeline('p')
  .replaceMessage(new Message({status: 200, headers: {'content-type': 'text/plain', server: 'pipy'}}, 'Hello!\n'))
  .encodeHttpResponse()`, nil)
	b.ReportAllocs()
	w.Env.Loop.Enter()
	defer w.Env.Loop.Leave()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Input(&filters.MessageStart{})
		s.Input(filters.TheMessageEnd)
	}
}

// One request per iteration through the hello-world pipeline of example
// 002, entering and leaving the loop for each read as a connection does.
func BenchmarkHelloPipeline(b *testing.B) {
	w, s := benchSession(b, `pipy().pipeline('p')
  .decodeHttpRequest()
  .replaceMessage(new Message('Hello!\n'))
  .encodeHttpResponse()`, &filters.Inbound{})
	var r reader
	var out int
	s.SetOutput(filters.SinkFunc(func(evt filters.Event) {
		if d, ok := evt.(*filters.Data); ok {
			out += d.Size()
			d.Release()
		}
	}))
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRequest)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.Env.Loop.Enter()
		r.read(s, benchRequest)
		w.Env.Loop.Leave()
	}
	b.StopTimer()
	if want := b.N * len("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 7\r\n\r\nHello!\n"); out != want {
		b.Fatalf("output %d bytes, want %d", out, want)
	}
}

// BenchmarkDemuxHttpH2Hello is one HTTP/2 request per op on an open h2c
// connection: a HEADERS frame (END_STREAM) in, the script's answer out as
// HEADERS + DATA (END_STREAM), as h2load drives demuxHttp.
func BenchmarkDemuxHttpH2Hello(b *testing.B) {
	w, s := benchSession(b, `pipy().pipeline('p').demuxHttp('serve').pipeline('serve').replaceMessage(new Message('Hello!\n'))`, nil)
	var r reader
	// The client opens its connection window all the way: answers never
	// wait for it.
	setup := h2.ClientPreface + string(h2.AppendSettings(nil)) + string(h2.AppendWindowUpdate(nil, 0, h2.MaxWindowSize-65535))
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	var out int
	count := filters.SinkFunc(func(evt filters.Event) {
		if d, ok := evt.(*filters.Data); ok {
			out += d.Size()
			d.Release()
		}
	})
	frames := make([]string, 0, 1<<16)
	id := uint32(1)
	header := func() string {
		hbuf.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "bench"}, {":path", "/"}, {"user-agent", "h2load"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		fr := string(h2.AppendHeaders(nil, id, true, hbuf.Bytes(), h2.DefaultMaxFrameSize))
		id += 2
		return fr
	}
	for range cap(frames) {
		frames = append(frames, header())
	}
	// Each read is a turn of the loop, as in a connection's read loop:
	// HTTP/2 output is written when the loop is left.
	read := func(p string) {
		w.Env.Loop.Enter()
		r.read(s, p)
		w.Env.Loop.Leave()
	}
	w.Env.Loop.Enter()
	s.SetOutput(count)
	w.Env.Loop.Leave()
	read(setup)
	defer func() {
		// Every answer is 26 bytes at least: a failing connection is
		// cheap and must not pass for a fast one.
		if b.N > 1 && out < 26*b.N {
			b.Fatalf("%d bytes out for %d requests", out, b.N)
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%len(frames) == 0 {
			// Stream ids must rise: start a fresh connection.
			b.StopTimer()
			w.Env.Loop.Enter()
			s.End(filters.NoError)
			s = w.Pipeline("p").NewSession(w.Prog.NewContext(nil), count)
			w.Env.Loop.Leave()
			id = 1
			enc = hpack.NewEncoder(&hbuf) // a new connection's HPACK state
			frames = frames[:0]
			for range cap(frames) {
				frames = append(frames, header())
			}
			read(setup)
			b.StartTimer()
		}
		read(frames[i%len(frames)])
	}
}
