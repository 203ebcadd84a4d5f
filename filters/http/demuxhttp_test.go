package http_test

// Tests of demuxHttp (demuxhttp.go): requests over HTTP/2 and HTTP/1.x on
// one filter, what scripts see of them, how answers are encoded, options,
// trailers, maxStreams, GOAWAY on retire. The HTTP/2 client is in
// h2conn_test.go.

import (
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
	"github.com/pipy-go/pipy/filters/http/h2"
)

// serverJS is the program the tests serve: pipeline p is demuxHttp with
// the options put in place of %OPTS%; each request goes to pipeline req,
// which records what it sees in _g and answers by path:
//
//	/hold      no answer (the stream stays open)
//	/none      the sub-session ends without an answer
//	/cut       an answer cut off by a SessionEnd
//	/trailers  an answer with trailers
//	/empty     a head without body
//	/echo      the request's body back
//	/big?n=N   N bytes of 'a'
//	other      "path=<path>"
const serverJS = `
function answer(m) {
  var p = m.head.path;
  if (p === '/hold') return null;
  if (p === '/none') return new SessionEnd();
  if (p === '/cut') return [new MessageStart({status: 200}), new Data('par'), new SessionEnd()];
  if (p === '/trailers') return [new MessageStart({status: 200, headers: {'content-type': 'application/grpc'}}), new Data('body'), new MessageEnd({'grpc-status': '0', 'grpc-message': 'ok'})];
  if (p === '/empty') return new Message({status: 200, headers: {'x-empty': 'yes'}});
  if (p === '/echo') return new Message({status: 200, headers: {'content-type': 'text/plain'}}, m.body);
  if (p.startsWith('/big?n=')) return new Message({status: 200}, 'a'.repeat(Number(p.substring(7))));
  return new Message({status: 200, headers: {'content-type': 'text/plain'}}, 'path=' + p);
}
pipy({_g: {seen: [], chunks: [], tails: [], ends: [], starts: 0}})
.pipeline('p').demuxHttp('req'%OPTS%)
.pipeline('req')
  .onMessageStart(e => { _g.starts++; _g.seen.push({method: e.head.method, path: e.head.path, protocol: e.head.protocol, headers: e.head.headers}) })
  .onData(d => { _g.chunks.push(d.toString()) })
  .onMessageEnd(e => { _g.tails.push(e.tail) })
  .onSessionEnd(e => { _g.ends.push(e.error) })
  .replaceMessage(m => answer(m))
`

// loadServer loads serverJS with demuxHttp's options (a script object
// literal, or "" for none).
func loadServer(t *testing.T, opts string) *filtertest.World {
	t.Helper()
	if opts != "" {
		opts = ", " + opts
	}
	return filtertest.Load(t, strings.Replace(serverJS, "%OPTS%", opts, 1))
}

// activeReq counts the live sessions of pipeline req.
func activeReq(c *h2Client) int64 {
	var n int64
	c.r.Run(func() { n = c.w.Pipeline("req").ActiveN.Load() })
	return n
}

func TestDemuxHttpH2ServerPreface(t *testing.T) {
	w := loadServer(t, "{maxStreams: 7}")
	c := newH2Client(t, w, "p")
	fs := c.all()
	if len(fs) < 2 {
		t.Fatalf("frames: %s", framesString(fs))
	}
	// SETTINGS first (§3.4), then the connection window opened.
	if fs[0].Type != h2.FrameSettings || fs[0].Flags != 0 {
		t.Fatalf("first frame %s, want SETTINGS", fs[0])
	}
	got := map[h2.SettingID]uint32{}
	for _, s := range fs[0].Settings {
		got[s.ID] = s.Val
	}
	if got[h2.SettingMaxConcurrentStreams] != 7 {
		t.Errorf("MAX_CONCURRENT_STREAMS %d, want 7 (settings %v)", got[h2.SettingMaxConcurrentStreams], fs[0].Settings)
	}
	if _, ok := got[h2.SettingEnablePush]; ok {
		t.Errorf("a server sent ENABLE_PUSH: %v", fs[0].Settings)
	}
	ack := false
	for _, f := range fs[1:] {
		if f.Type == h2.FrameSettings && f.Flags.Has(h2.FlagAck) {
			ack = true
		}
	}
	if !ack {
		t.Errorf("client SETTINGS not acknowledged: %s", framesString(fs))
	}
	if c.ended() {
		t.Errorf("connection ended")
	}
}

func TestDemuxHttpH2Get(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	c.get(1, "/index.html?q=1", "cookie", "a=1", "accept", "text/html", "cookie", "b=2", "accept", "*/*", "user-agent", "t")
	a := c.stream(1)
	if a.status != "200" || a.body != "path=/index.html?q=1" || !a.complete || strings.Join(a.frames, " ") != "H D*(20)" {
		t.Fatalf("answer %+v", a)
	}
	if a.field("content-type") != "text/plain" {
		t.Errorf("content-type %q (fields %v)", a.field("content-type"), a.fields)
	}
	want := `{"chunks":[],"ends":[""],"seen":[{"headers":{"accept":"text/html, */*","cookie":"a=1; b=2","host":"example.com","user-agent":"t"},"method":"GET","path":"/index.html?q=1","protocol":"HTTP/2.0"}],"starts":1,"tails":[null]}`
	if got := gData(c.r); got != want {
		t.Errorf("script saw\n%s\nwant\n%s", got, want)
	}
	if n := activeReq(c); n != 0 {
		t.Errorf("%d request sessions alive after the answer", n)
	}
	// The connection serves the next stream, with the HPACK state kept.
	c.get(3, "/two")
	if a := c.stream(3); a.status != "200" || a.body != "path=/two" || !a.complete {
		t.Fatalf("second answer %+v", a)
	}
	if c.ended() {
		t.Errorf("connection ended")
	}
}

func TestDemuxHttpH2NoBody(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	c.get(1, "/empty")
	a := c.stream(1)
	if a.status != "200" || a.field("x-empty") != "yes" || strings.Join(a.frames, " ") != "H*" {
		t.Fatalf("answer %+v, want one HEADERS with END_STREAM", a)
	}
}

func TestDemuxHttpH2PostInPieces(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	c.request(1, false, "POST", "/echo", "content-type", "text/plain")
	c.data(1, false, "hel")
	c.data(1, false, "lo ")
	if a := c.stream(1); len(a.frames) != 0 {
		t.Fatalf("answered before the body ended: %+v", a)
	}
	c.data(1, true, "world")
	a := c.stream(1)
	if a.status != "200" || a.body != "hello world" || !a.complete {
		t.Fatalf("answer %+v", a)
	}
	if got := gData(c.r); !strings.Contains(got, `"chunks":["hel","lo ","world"]`) {
		t.Errorf("script saw %s, want the body in its three pieces", got)
	}
}

func TestDemuxHttpH2ContentLength(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	c.request(1, false, "POST", "/echo", "content-length", "5")
	c.data(1, true, "12345")
	if a := c.stream(1); a.status != "200" || a.body != "12345" {
		t.Fatalf("answer %+v", a)
	}
	// More DATA than content-length: a stream error (§8.1.1).
	c.request(3, false, "POST", "/echo", "content-length", "2")
	c.data(3, true, "123")
	if a := c.stream(3); !a.wasReset || a.reset != h2.ErrCodeProtocol || a.status != "" {
		t.Fatalf("stream 3: %+v, want RST_STREAM PROTOCOL_ERROR", a)
	}
	// Less.
	c.request(5, false, "POST", "/echo", "content-length", "4")
	c.data(5, true, "123")
	if a := c.stream(5); !a.wasReset || a.reset != h2.ErrCodeProtocol || a.status != "" {
		t.Fatalf("stream 5: %+v, want RST_STREAM PROTOCOL_ERROR", a)
	}
	c.get(7, "/after")
	if a := c.stream(7); a.status != "200" || c.ended() {
		t.Fatalf("stream 7 after stream errors: %+v", a)
	}
	if n := activeReq(c); n != 0 {
		t.Errorf("%d request sessions alive", n)
	}
}

func TestDemuxHttpH2Head(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	c.request(1, true, "HEAD", "/page")
	a := c.stream(1)
	if a.status != "200" || a.body != "" || !a.complete || strings.Join(a.frames, " ") != "H*" {
		t.Fatalf("HEAD answer %+v, want HEADERS with END_STREAM and no DATA", a)
	}
	c.get(3, "/page")
	if a := c.stream(3); a.body != "path=/page" {
		t.Fatalf("GET after HEAD: %+v", a)
	}
}

func TestDemuxHttpH2NoAnswer502(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	c.get(1, "/none")
	a := c.stream(1)
	if a.status != "502" || a.body != "502 Bad Gateway\n" || !a.complete {
		t.Fatalf("answer %+v, want 502", a)
	}
	if c.ended() {
		t.Errorf("connection ended")
	}
}

func TestDemuxHttpH2CutAnswerReset(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	c.get(1, "/cut")
	a := c.stream(1)
	if got := strings.Join(a.frames, " "); got != "H D(3) R(INTERNAL_ERROR)" || a.complete {
		t.Fatalf("frames %s (%+v), want the head, the part and RST_STREAM(INTERNAL_ERROR)", got, a)
	}
	c.get(3, "/ok")
	if a := c.stream(3); a.status != "200" || c.ended() {
		t.Fatalf("next stream %+v", a)
	}
	if n := activeReq(c); n != 0 {
		t.Errorf("%d request sessions alive", n)
	}
}

func TestDemuxHttpH2ClientReset(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	c.request(1, false, "POST", "/echo")
	c.data(1, false, "part")
	if n := activeReq(c); n != 1 {
		t.Fatalf("%d request sessions, want 1", n)
	}
	c.rst(1, h2.ErrCodeCancel)
	if got := gData(c.r); !strings.Contains(got, `"ends":["ReadError"]`) {
		t.Errorf("script saw %s, want the reset as a SessionEnd with ReadError", got)
	}
	if n := activeReq(c); n != 0 {
		t.Errorf("%d request sessions alive after RST_STREAM", n)
	}
	if fs := c.take(); len(c.stream(1).frames) != 0 {
		t.Errorf("server answered a reset stream: %s", framesString(fs))
	}
	// DATA on the reset stream is a stream error STREAM_CLOSED (§5.1), not
	// a connection error.
	c.data(1, true, "late")
	if a := c.stream(1); !a.wasReset || a.reset != h2.ErrCodeStreamClosed {
		t.Errorf("DATA after reset: %+v, want RST_STREAM(STREAM_CLOSED)", a)
	}
	c.get(3, "/next")
	if a := c.stream(3); a.status != "200" || c.ended() {
		t.Fatalf("next stream %+v", a)
	}
}

func TestDemuxHttpH2Trailers(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	// Request trailers reach the script as MessageEnd.tail.
	c.request(1, false, "POST", "/echo", "te", "trailers")
	c.data(1, false, "x")
	c.send(c.headersFrame(1, true, "x-checksum", "abc", "x-more", "1"))
	a := c.stream(1)
	if a.status != "200" || a.body != "x" || !a.complete {
		t.Fatalf("answer %+v", a)
	}
	if got := gData(c.r); !strings.Contains(got, `"tails":[{"x-checksum":"abc","x-more":"1"}]`) {
		t.Errorf("script saw %s, want the trailers as the MessageEnd's tail", got)
	}
	// Response trailers: HEADERS with END_STREAM after the DATA.
	c.get(3, "/trailers")
	a = c.stream(3)
	if got := strings.Join(a.frames, " "); got != "H D(4) T*" {
		t.Fatalf("frames %s, want HEADERS, DATA, trailing HEADERS with END_STREAM (%+v)", got, a)
	}
	if a.status != "200" || a.body != "body" || a.field("content-type") != "application/grpc" {
		t.Errorf("answer %+v", a)
	}
	if got := fieldsString(a.trailers); got != "{grpc-status: 0, grpc-message: ok}" {
		t.Errorf("trailers %s", got)
	}
	// Trailers with a pseudo-header field are malformed: a stream error.
	c.request(5, false, "POST", "/echo")
	c.send(c.headersFrame(5, true, ":path", "/x"))
	if a := c.stream(5); !a.wasReset || a.reset != h2.ErrCodeProtocol {
		t.Errorf("pseudo-header in trailers: %+v, want RST_STREAM(PROTOCOL_ERROR)", a)
	}
	if c.ended() {
		t.Errorf("connection ended")
	}
}

func TestDemuxHttpMaxStreams(t *testing.T) {
	w := loadServer(t, "{maxStreams: 2}")
	c := newH2Client(t, w, "p")
	c.request(1, false, "POST", "/echo")
	c.request(3, false, "POST", "/echo")
	c.request(5, false, "POST", "/echo")
	if a := c.stream(5); !a.wasReset || a.reset != h2.ErrCodeRefusedStream || a.status != "" {
		t.Fatalf("third stream: %+v, want RST_STREAM(REFUSED_STREAM)", a)
	}
	if n := activeReq(c); n != 2 {
		t.Errorf("%d request sessions, want 2 (the refused one gets none)", n)
	}
	c.data(1, true, "one")
	c.data(3, true, "three")
	if a := c.stream(1); a.body != "one" || !a.complete || a.wasReset {
		t.Errorf("stream 1: %+v", a)
	}
	if a := c.stream(3); a.body != "three" || !a.complete || a.wasReset {
		t.Errorf("stream 3: %+v", a)
	}
	// Room again.
	c.get(7, "/seven")
	if a := c.stream(7); a.body != "path=/seven" {
		t.Errorf("stream 7: %+v", a)
	}
	if c.ended() {
		t.Errorf("connection ended")
	}
}

func TestDemuxHttpOptionErrors(t *testing.T) {
	for _, opts := range []string{
		"{foo: 1}",
		"{maxStreams: 0}",
		"{maxStreams: -1}",
		"{maxStreams: 2147483648}",
		"{maxStreams: 'ten'}",
		"{http2: 'yes'}",
	} {
		err := filtertest.LoadErr(t, `pipy().pipeline('p').demuxHttp('req', `+opts+`).pipeline('req').dummy()`)
		if err == nil {
			t.Errorf("%s: loaded", opts)
		}
	}
	if err := filtertest.LoadErr(t, `pipy().pipeline('p').demuxHttp('').pipeline('req').dummy()`); err == nil {
		t.Errorf("empty target: loaded")
	}
	if err := filtertest.LoadErr(t, `pipy().pipeline('p').demuxHttp('nowhere')`); err == nil {
		t.Errorf("unknown target: loaded")
	}
	if err := filtertest.LoadErr(t, `pipy().pipeline('p').demuxHTTP('req', {maxStreams: 1, http2: false}).pipeline('req').dummy()`); err != nil {
		t.Errorf("good options: %v", err)
	}
}

func TestDemuxHttpHTTP1Pipelined(t *testing.T) {
	w := loadServer(t, "")
	r := w.Session("p")
	r.FeedString("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n")
	out := r.BytesOut()
	ia, ib := strings.Index(out, "path=/a"), strings.Index(out, "path=/b")
	if strings.Count(out, "HTTP/1.1 200 OK\r\n") != 2 || ia < 0 || ib < ia {
		t.Fatalf("output %q, want two answers in order", out)
	}
	if got := gData(r); !strings.Contains(got, `"protocol":"HTTP/1.1"`) {
		t.Errorf("script saw %s", got)
	}
	r.FeedString("GET /none HTTP/1.1\r\nHost: h\r\n\r\n")
	if out := r.BytesOut(); !strings.Contains(out, "HTTP/1.1 502 Bad Gateway\r\n") {
		t.Fatalf("no 502 for a pipeline without answer: %q", out)
	}
	if _, ok := r.Last().(*filters.SessionEnd); ok {
		t.Errorf("connection ended")
	}
}

func TestDemuxHttpHTTP2Off(t *testing.T) {
	w := loadServer(t, "{http2: false}")
	c := newH2Client(t, w, "p")
	out := c.r.BytesOut()
	if strings.Contains(out, "\x00\x00\x00\x04") || !strings.HasPrefix(out, "HTTP/1.1 ") && out != "" {
		t.Fatalf("http2: false answered the preface with %q", out)
	}
	// HTTP/1 still served.
	r := w.Session("p")
	r.FeedString("GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
	if out := r.BytesOut(); !strings.Contains(out, "path=/a") {
		t.Fatalf("output %q", out)
	}
}

func TestDemuxHttpNotHTTP(t *testing.T) {
	w := loadServer(t, "")
	r := w.Session("p")
	r.FeedString("\x16\x03\x01\x02\x00\x01")
	if _, ok := r.Last().(*filters.SessionEnd); !ok || r.BytesOut() != "" {
		t.Fatalf("garbage: output %q, %s; want the connection closed without answer", r.BytesOut(), r.Kinds())
	}
}

// retirer returns the demuxHttp template of pipeline p.
func retirer(t *testing.T, w *filtertest.World) filters.Retirer {
	t.Helper()
	rt, ok := w.Pipeline("p").Filters[0].Template.(filters.Retirer)
	if !ok {
		t.Fatal("demuxHttp's template does not implement filters.Retirer")
	}
	return rt
}

func TestDemuxHttpRetireGoAway(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	c.get(1, "/done")
	c.request(3, false, "POST", "/echo")
	c.take()
	c.r.Run(retirer(t, w).Retire)
	fs := c.take()
	if len(fs) != 1 || fs[0].Type != h2.FrameGoAway || fs[0].ErrCode != h2.ErrCodeNo || fs[0].LastID != 3 {
		t.Fatalf("after Retire: %s, want GOAWAY(last 3, NO_ERROR)", framesString(fs))
	}
	if c.ended() {
		t.Fatal("connection ended with a stream in flight")
	}
	// A new stream is refused; the one in flight completes.
	c.get(5, "/new")
	if a := c.stream(5); !a.wasReset || a.reset != h2.ErrCodeRefusedStream {
		t.Errorf("stream after GOAWAY: %+v, want RST_STREAM(REFUSED_STREAM)", a)
	}
	c.data(3, true, "last")
	if a := c.stream(3); a.body != "last" || !a.complete || a.wasReset {
		t.Errorf("stream in flight: %+v", a)
	}
	if !c.ended() {
		t.Errorf("connection did not end after its last stream")
	}
	if len(c.goAways()) != 1 {
		t.Errorf("GOAWAYs: %s", framesString(c.goAways()))
	}
	// A connection that starts after the retire gets a GOAWAY at once.
	c2 := newH2Client(t, w, "p")
	if gs := c2.goAways(); len(gs) != 1 || gs[0].ErrCode != h2.ErrCodeNo || !c2.ended() {
		t.Errorf("new connection after retire: %s", framesString(c2.all()))
	}
	// HTTP/1 is still answered (its connections end on their own).
	r := w.Session("p")
	r.FeedString("GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
	if !strings.Contains(r.BytesOut(), "path=/a") {
		t.Errorf("HTTP/1 after retire: %q", r.BytesOut())
	}
}

func TestDemuxHttpH2EveryByteSplit(t *testing.T) {
	w := loadServer(t, "")
	c := dialH2(t, w, "p", nil)
	var in []byte
	in = append(in, h2.ClientPreface...)
	in = h2.AppendSettings(in, h2.Setting{ID: h2.SettingInitialWindowSize, Val: 20})
	in = append(in, c.headersFrame(1, true, ":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/big?n=30")...)
	in = append(in, c.headersFrame(3, false, ":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/echo")...)
	in = h2.AppendData(in, 3, false, []byte("ab"))
	in = append(in, c.headersFrame(3, true, "x-t", "1")...)
	in = h2.AppendWindowUpdate(in, 1, 100)
	in = h2.AppendPing(in, false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	whole := filtertest.RunParts(w, []string{string(in)}, false).BytesOut()
	cw := dialH2(t, w, "p", nil)
	cw.send(in)
	if cw.r.BytesOut() != whole {
		t.Fatalf("whole input answered differently twice")
	}
	if cw.ended() {
		t.Fatalf("connection ended: %s", framesString(cw.all()))
	}
	a1, a3 := cw.stream(1), cw.stream(3)
	if a1.body != strings.Repeat("a", 30) || strings.Join(a1.frames, " ") != "H D(20) D*(10)" || a3.body != "ab" || !a3.complete {
		t.Fatalf("answers %+v %+v", a1, a3)
	}
	for mode, parts := range filtertest.ByteSplits(string(in)) {
		r := filtertest.RunParts(w, parts, false)
		if out := r.BytesOut(); out != whole {
			t.Errorf("%s: output differs from the whole input's:\n%q\n%q", mode, out, whole)
		}
	}
	// HTTP/1 on the same filter, every split too.
	h1 := "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /x HTTP/1.1\r\nHost: h\r\n\r\n"
	want := ""
	for mode, parts := range filtertest.ByteSplits(h1) {
		out := filtertest.RunParts(w, parts, false).BytesOut()
		if want == "" {
			want = out
		}
		if out != want || !strings.Contains(out, "abc") || !strings.Contains(out, "path=/x") {
			t.Errorf("HTTP/1 %s: %q (want %q)", mode, out, want)
		}
	}
}
