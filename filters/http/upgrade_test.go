package http_test

import (
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
	"github.com/pipy-go/pipy/filters/http"
)

// upgradeScript is the 2021 server pattern with a sub-pipeline that answers
// each request when the test says so: it waits until globalThis.status is
// set, then turns the request into its answer (replaceMessageStart), so the
// request's Data and MessageEnd become the answer's (an echo). A 101 gets
// Upgrade: websocket. Requests for /now are answered 200 at once.
const upgradeScript = `
globalThis.status = 0
pipy({ _path: '' })
.pipeline('p')
  .decodeHttpRequest()
  .demux('answer')
  .encodeHttpResponse()
.pipeline('answer')
  .onMessageStart(evt => {
    _path = evt.head.path
    globalThis.seen = JSON.stringify(evt.head.headers)
  })
  .wait(() => _path === '/now' || globalThis.status > 0)
  .replaceMessageStart(() => new MessageStart(
    _path === '/now' ? { status: 200, headers: { 'x-path': _path } } :
    globalThis.status === 101 ?
      { status: 101, headers: { upgrade: 'websocket' } } :
      { status: globalThis.status }
  ))
`

// upgradeWorld loads upgradeScript.
func upgradeWorld(t *testing.T) *filtertest.World {
	return filtertest.Load(t, upgradeScript)
}

// setStatus sets the status the answer pipeline gives (0: none yet) and
// wakes the waiting sub-sessions of r.
func setStatus(r *filtertest.Rec, status int) {
	r.Run(func() {
		r.W.RT().GlobalObject().Set("status", status)
		r.Ctx.Group.Notify()
	})
}

// feedParts feeds each part as a Data and a flush marker.
func feedParts(r *filtertest.Rec, parts []string) {
	for _, p := range parts {
		r.Feed(filtertest.Data(p), filters.NewData())
	}
}

const (
	wsHandshake = "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	ws101       = "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nConnection: upgrade\r\n\r\n"
	// Two masked client frames ("Hi" text, 3 bytes binary) with every byte
	// value a parser might trip on (CR, LF, NUL, 0xff).
	wsFrames = "\x81\x82\x01\x02\x03\x04\x49\x6b" + "\x82\x83\x0d\x0a\x00\xff\x0a\x0d\xff"
)

// The answer is given after the request: the bytes that came after the
// head are held, and a 101 releases them, in order, as Data of the
// still-open request, followed by everything later; the request ends when
// the client's side does, and the response encoder ends the session after
// the tunnel.
func TestUpgradeHeldBytesReleasedOn101(t *testing.T) {
	w := upgradeWorld(t)
	in := wsHandshake + wsFrames
	for mode, parts := range filtertest.ByteSplits(in) {
		for _, early := range []bool{false, true} {
			r := w.SessionIn("p", &filters.Inbound{})
			setStatus(r, 0)
			if early {
				setStatus(r, 101) // answered at once: nothing is held
			}
			feedParts(r, parts)
			if !early {
				if got := r.BytesOut(); got != "" {
					t.Fatalf("%s: output before the answer: %q", mode, got)
				}
				setStatus(r, 101)
			}
			r.FeedString("late")
			if got, want := r.BytesOut(), ws101+wsFrames+"late"; got != want {
				t.Fatalf("%s early=%v: got %q, want %q", mode, early, got, want)
			}
			if _, ok := r.Last().(*filters.SessionEnd); ok {
				t.Fatalf("%s: the tunnel ended early: %s", mode, r.Kinds())
			}
			r.Feed(&filters.SessionEnd{})
			if k := r.Kinds(); !strings.HasSuffix(k, "ME SE") {
				t.Fatalf("%s: the tunnel does not end with the client: %s", mode, k)
			}
			if err := r.WellFormed(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The request the script saw keeps "connection: upgrade", so that a
	// proxy can pass it on (the other Connection options are the hop's).
	r := w.SessionIn("p", &filters.Inbound{})
	setStatus(r, 101)
	r.FeedString(wsHandshake)
	var seen string
	r.Run(func() { seen = r.W.RT().GlobalObject().Get("seen").String() })
	if want := `{"host":"h","upgrade":"websocket","sec-websocket-key":"dGhlIHNhbXBsZSBub25jZQ==","connection":"upgrade"}`; seen != want {
		t.Errorf("request headers %s, want %s", seen, want)
	}
}

// Requests pipelined before the Upgrade are answered first, in order; the
// bytes after the Upgrade wait for its answer.
func TestUpgradeAfterPipelinedRequests(t *testing.T) {
	w := upgradeWorld(t)
	now := "HTTP/1.1 200 OK\r\nx-path: /now\r\nConnection: keep-alive\r\nContent-Length: "
	in := "GET /now HTTP/1.1\r\n\r\n" + "POST /now HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc" + wsHandshake + wsFrames
	for mode, parts := range filtertest.ByteSplits(in) {
		r := w.SessionIn("p", &filters.Inbound{})
		setStatus(r, 0)
		feedParts(r, parts)
		if got, want := r.BytesOut(), now+"0\r\n\r\n"+now+"3\r\n\r\nabc"; got != want {
			t.Fatalf("%s: before the answer: got %q, want %q", mode, got, want)
		}
		setStatus(r, 101)
		if got, want := r.BytesOut(), now+"0\r\n\r\n"+now+"3\r\n\r\nabc"+ws101+wsFrames; got != want {
			t.Fatalf("%s: got %q, want %q", mode, got, want)
		}
	}
}

// Any other answer ends the held request; the held bytes are the next
// request, under the usual keep-alive rules.
func TestUpgradeHeldBytesParsedOnOtherAnswer(t *testing.T) {
	w := upgradeWorld(t)
	in := wsHandshake + "GET /next HTTP/1.1\r\nHost: h\r\n\r\n"
	answer := "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
	for mode, parts := range filtertest.SplitModes(in) {
		r := w.SessionIn("p", &filters.Inbound{})
		setStatus(r, 0)
		feedParts(r, parts)
		setStatus(r, 200)
		if got := r.BytesOut(); got != answer+answer {
			t.Fatalf("%s: got %q", mode, got)
		}
		if _, ok := r.Last().(*filters.SessionEnd); ok {
			t.Fatalf("%s: session ended: %s", mode, r.Kinds())
		}
	}
	// A held request that asked to close gets Connection: close.
	r := w.SessionIn("p", &filters.Inbound{})
	setStatus(r, 0)
	r.FeedString(strings.Replace(wsHandshake, "keep-alive, Upgrade", "Upgrade, close", 1) + "GET /dropped HTTP/1.1\r\n\r\n")
	setStatus(r, 426)
	if got, want := r.BytesOut(), "HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"; got != want {
		t.Fatalf("close: got %q, want %q", got, want)
	}
	if _, ok := r.Last().(*filters.SessionEnd); !ok {
		t.Fatalf("close: session not ended: %s", r.Kinds())
	}
}

// CONNECT: a 2xx answer opens the tunnel (no framing headers in its head),
// anything else is a plain response and the held bytes the next request.
func TestUpgradeConnect(t *testing.T) {
	w := upgradeWorld(t)
	const connect = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
	tls := "\x16\x03\x01\x00\x05hello"
	for mode, parts := range filtertest.ByteSplits(connect + tls) {
		r := w.SessionIn("p", &filters.Inbound{})
		setStatus(r, 0)
		feedParts(r, parts)
		setStatus(r, 200)
		r.FeedString("more")
		if got, want := r.BytesOut(), "HTTP/1.1 200 OK\r\n\r\n"+tls+"more"; got != want {
			t.Fatalf("%s: 200: got %q, want %q", mode, got, want)
		}
		r.Feed(&filters.SessionEnd{})
		if k := r.Kinds(); !strings.HasSuffix(k, "ME SE") {
			t.Fatalf("%s: %s", mode, k)
		}
	}
	r := w.SessionIn("p", &filters.Inbound{})
	setStatus(r, 0)
	r.FeedString(connect + "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	setStatus(r, 403)
	answer := "HTTP/1.1 403 Forbidden\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
	if got := r.BytesOut(); got != answer+answer {
		t.Fatalf("403: got %q", got)
	}
	// A CONNECT with content is refused (RFC 9110 §9.3.6: it has none;
	// the next hop would read the bytes as tunnel data, not as a body).
	for _, framing := range []string{"Content-Length: 2\r\n\r\nab", "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"} {
		r = w.SessionIn("p", &filters.Inbound{})
		setStatus(r, 200)
		r.FeedString("CONNECT example.com:443 HTTP/1.1\r\n" + framing)
		if got := r.BytesOut(); !strings.HasPrefix(got, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n") {
			t.Fatalf("CONNECT with content: got %q", got)
		}
	}
}

// Bytes held while waiting for the answer are bounded by the head size
// limit: past it the request is ended and the decoder stops (no error
// answer of its own: the request's answer is pending); the connection
// closes after that answer.
func TestUpgradeHeldBytesBounded(t *testing.T) {
	w := filtertest.Load(t, upgradeScript+`
.pipeline('dec').decodeHttpRequest()
.pipeline('enc').encodeHttpResponse()`)
	for _, status := range []int{101, 200} {
		r := w.SessionIn("p", &filters.Inbound{})
		setStatus(r, 0)
		r.FeedString(wsHandshake, strings.Repeat("x", filters.DefaultMaxHeadSize))
		r.FeedString("y", "z")
		if got := r.BytesOut(); got != "" {
			t.Fatalf("answered %q before the script", got)
		}
		setStatus(r, status)
		want := ws101
		if status == 200 {
			want = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
		}
		if got := r.BytesOut(); got != want {
			t.Fatalf("%d: got %q, want %q", status, got, want)
		}
		if _, ok := r.Last().(*filters.SessionEnd); !ok {
			t.Fatalf("%d: not closed: %s", status, r.Kinds())
		}
	}
	// The decoder's own events: the held request ends, then the session
	// with ReadError. (A response encoder on the same connection, in
	// another session, makes the decoder hold.)
	in := &filters.Inbound{}
	w.SessionIn("enc", in)
	r := w.SessionIn("dec", in)
	r.FeedString(wsHandshake, strings.Repeat("x", filters.DefaultMaxHeadSize))
	if got := r.Kinds(); got != "MS" {
		t.Fatalf("held: %s", got)
	}
	r.FeedString("y")
	if got := r.Kinds(); got != "MS ME SE(ReadError)" {
		t.Fatalf("past the limit: %s", got)
	}
}

// Requests that do not ask for a tunnel, or that no encoder would answer,
// are plain requests: the message ends at once.
func TestUpgradeNotHeld(t *testing.T) {
	w := filtertest.Load(t, `pipy()
.pipeline('dec').decodeHttpRequest()
.pipeline('enc').decodeHttpRequest().replaceMessage(new Message('ok')).encodeHttpResponse()`)
	// No response encoder on the connection: nobody would ever answer.
	r := w.SessionIn("dec", &filters.Inbound{})
	r.FeedString(wsHandshake)
	if got, want := r.Summary(), "start GET /chat HTTP/1.1 {host: h, upgrade: websocket, sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==}\nend\n"; got != want {
		t.Errorf("without an encoder: got\n%s", got)
	}
	// No connection at all.
	r = w.Session("dec")
	r.FeedString("CONNECT a:1 HTTP/1.1\r\n\r\n")
	if got := r.Kinds(); got != "MS ME" {
		t.Errorf("without a connection: %s", got)
	}
	ok := "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"
	for name, in := range map[string]string{
		"HTTP/1.0 upgrade":                   "GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade, keep-alive\r\n\r\n",
		"upgrade without token":              "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
		"token without upgrade":              "GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n",
		"upgrade with a body":                "POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\nContent-Length: 1\r\n\r\nx",
		"h2c upgrade (curl --http2 http://)": "GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n",
	} {
		r := w.SessionIn("enc", &filters.Inbound{})
		r.FeedString(in)
		if got := r.BytesOut(); got != ok {
			t.Errorf("%s: got %q", name, got)
		}
	}
}

// A 101 the script gives on its own (no request held) still switches the
// response encoder to a tunnel: head at once, Data raw, end of session.
func TestEncodeHttpResponse101(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').encodeHttpResponse()`)
	r := w.Session("p")
	r.Feed(&filters.MessageStart{Head: &http.ResponseHead{Status: 101, Headers: []http.HeaderField{
		{Name: "upgrade", Value: "websocket"}, {Name: "connection", Value: "Upgrade"},
		{Name: "content-length", Value: "9"}, {Name: "sec-websocket-accept", Value: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
	}}})
	want := "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	if got := r.BytesOut(); got != want {
		t.Fatalf("head: got %q, want %q", got, want)
	}
	r.Feed(filtertest.Data("\x81\x02hi"), filters.NewData(), filtertest.Data("\x88\x00"))
	if got := r.BytesOut(); got != want+"\x81\x02hi\x88\x00" {
		t.Fatalf("data: got %q", got)
	}
	r.Feed(filters.TheMessageEnd, &filters.MessageStart{}, filters.TheMessageEnd)
	if k := r.Kinds(); !strings.HasSuffix(k, "ME SE") {
		t.Fatalf("events %s, want the session ended after the tunnel", k)
	}
}

// fakeUpstream is a stand-in for connect in a client pipeline: it records what
// the request encoder sends and lets the test inject what the upstream
// answers into the response decoder behind it.
type fakeUpstream struct {
	sent  strings.Builder
	ended bool
	out   filters.Sink
}

func (u *fakeUpstream) New(s *filters.Session, out filters.Sink) filters.Sink {
	u.out = out
	return u
}

func (u *fakeUpstream) Input(evt filters.Event) {
	switch e := evt.(type) {
	case *filters.Data:
		u.sent.Write(e.Bytes())
		e.Release()
	case *filters.SessionEnd:
		u.ended = true
	}
}

// clientSession makes encodeHttpRequest → upstream → decodeHttpResponse.
func clientSession(t *testing.T) (*filtertest.Rec, *fakeUpstream, func(evts ...filters.Event)) {
	t.Helper()
	u := &fakeUpstream{}
	w := filtertest.Load(t, `pipy().pipeline('p').encodeHttpRequest().dummy().decodeHttpResponse()`)
	p := w.Pipeline("p")
	p.Filters[1].Template = u
	r := w.Session("p")
	answer := func(evts ...filters.Event) {
		r.Run(func() {
			for _, e := range evts {
				u.out.Input(e)
			}
		})
	}
	return r, u, answer
}

func requestHead(method, path string, headers ...string) *filters.MessageStart {
	h := &http.RequestHead{Method: method, Path: path, Protocol: "HTTP/1.1"}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Headers = append(h.Headers, http.HeaderField{Name: headers[i], Value: headers[i+1]})
	}
	return &filters.MessageStart{Head: h}
}

// Client side: an Upgrade request's head goes out at once, without
// framing; a 101 answer is followed by raw Data until the upstream ends;
// the end of the request then ends the upstream session.
func TestUpgradeClientSide(t *testing.T) {
	const in = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" + "\x81\x02hi" + "HTTP/1.1 200 OK\r\n\r\n"
	for mode, parts := range filtertest.ByteSplits(in) {
		r, u, answer := clientSession(t)
		r.Feed(requestHead("GET", "/ws", "host", "h", "upgrade", "websocket", "connection", "upgrade"))
		if got, want := u.sent.String(), "GET /ws HTTP/1.1\r\nhost: h\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"; got != want {
			t.Fatalf("request head: got %q, want %q", got, want)
		}
		for _, p := range parts {
			answer(filtertest.Data(p), filters.NewData())
		}
		want := "start HTTP/1.1 101 \"Switching Protocols\" {upgrade: websocket, connection: Upgrade}\nbody \"\\x81\\x02hiHTTP/1.1 200 OK\\r\\n\\r\\n\"\n"
		if got := r.Summary(); got != want {
			t.Fatalf("%s: got\n%s\nwant\n%s", mode, got, want)
		}
		r.Feed(filtertest.Data(wsFrames))
		if got := u.sent.String(); !strings.HasSuffix(got, "\r\n\r\n"+wsFrames) {
			t.Fatalf("request data: got %q", got)
		}
		r.Feed(filters.TheMessageEnd)
		if !u.ended {
			t.Fatalf("%s: the end of the tunnel request did not end the upstream session", mode)
		}
		answer(&filters.SessionEnd{})
		if k := r.Kinds(); !strings.HasSuffix(k, "ME SE") {
			t.Fatalf("%s: %s", mode, k)
		}
	}
}

// Client side: a non-101 answer to an Upgrade request is a plain response,
// and the request's end leaves the upstream session alone.
func TestUpgradeClientSideRefused(t *testing.T) {
	r, u, answer := clientSession(t)
	r.Feed(requestHead("GET", "/ws", "upgrade", "websocket", "connection", "Upgrade"))
	answer(filtertest.Data("HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nnoHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	r.Feed(filters.TheMessageEnd)
	if u.ended {
		t.Fatal("upstream session ended after a refused upgrade")
	}
	want := "start HTTP/1.1 403 \"Forbidden\" {}\nbody \"no\"\nend\nstart HTTP/1.1 200 \"OK\" {}\nend\n"
	if got := r.Summary(); got != want {
		t.Fatalf("got\n%s", got)
	}
	// The next request is encoded as usual.
	r.Feed(requestHead("GET", "/x"), filters.TheMessageEnd)
	if got := u.sent.String(); !strings.HasSuffix(got, "GET /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n") {
		t.Fatalf("next request: %q", got)
	}
}

// Client side CONNECT: the head goes out at once; a 2xx answer is the start
// of a tunnel whatever framing it announces (RFC 9110 §9.3.6), a 407 is a
// plain response.
func TestUpgradeClientSideConnect(t *testing.T) {
	r, u, answer := clientSession(t)
	r.Feed(requestHead("CONNECT", "example.com:443", "host", "example.com:443"))
	if got, want := u.sent.String(), "CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n"; got != want {
		t.Fatalf("request head: got %q, want %q", got, want)
	}
	answer(filtertest.Data("HTTP/1.1 200 Connection Established\r\nContent-Length: 0\r\n\r\n\x16\x03\x03"))
	if got, want := r.Summary(), "start HTTP/1.1 200 \"Connection Established\" {}\nbody \"\\x16\\x03\\x03\"\n"; got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	r.Feed(filtertest.Data("client"), filters.TheMessageEnd)
	if !strings.HasSuffix(u.sent.String(), "\r\n\r\nclient") || !u.ended {
		t.Fatalf("sent %q, ended %v", u.sent.String(), u.ended)
	}

	// Data before the answer (which a client must not send) would be read
	// as the next request by the upstream: dropped.
	r, u, answer = clientSession(t)
	r.Feed(requestHead("CONNECT", "example.com:443"), filtertest.Data("GET /smuggled HTTP/1.1\r\n\r\n"))
	if got, want := u.sent.String(), "CONNECT example.com:443 HTTP/1.1\r\n\r\n"; got != want {
		t.Fatalf("data before the answer: sent %q, want %q", got, want)
	}
	answer(filtertest.Data("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"))
	r.Feed(filters.TheMessageEnd)
	if got := r.Summary(); got != "start HTTP/1.1 407 \"Proxy Authentication Required\" {}\nend\n" || u.ended {
		t.Fatalf("407: got\n%s(ended %v)", got, u.ended)
	}
	// Without a CONNECT, a 2xx with Content-Length: 0 is a plain response.
	r, _, answer = clientSession(t)
	r.Feed(requestHead("GET", "/"), filters.TheMessageEnd)
	answer(filtertest.Data("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	if got := r.Kinds(); got != "MS ME" {
		t.Fatalf("plain 200: %s", got)
	}
}

// A script-built Upgrade request is recognised too.
func TestUpgradeScriptRequest(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').replaceMessageStart(() => new MessageStart({
  method: 'GET', path: '/ws', headers: { Upgrade: 'websocket', Connection: 'Upgrade' } })).encodeHttpRequest()`)
	r := w.Session("p")
	r.Feed(&filters.MessageStart{})
	if got, want := r.BytesOut(), "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// The answer to a held request may wait behind an earlier one (demux keeps
// answers in order). When its turn comes, its start reaches the encoder,
// which tells the decoder, which ends the held request, whose sub-session
// ends the answer: that end must not overtake the body the answer had
// produced before (here "denied").
func TestUpgradeAnswerQueuedBehindAnother(t *testing.T) {
	w := filtertest.Load(t, `
globalThis.go = false
pipy({ _path: '' })
.pipeline('p')
  .decodeHttpRequest()
  .demux('answer')
  .encodeHttpResponse()
.pipeline('answer')
  .onMessageStart(evt => { _path = evt.head.path })
  .link('slow', () => _path === '/slow', 'deny')
.pipeline('slow')
  .wait(() => globalThis.go)
  .replaceMessage(new Message('slow'))
.pipeline('deny')
  .replaceMessageStart(() => [new MessageStart({status: 403}), new Data('denied')])
`)
	for mode, parts := range filtertest.SplitModes("GET /slow HTTP/1.1\r\n\r\n" + wsHandshake + "GET /next HTTP/1.1\r\n\r\n") {
		r := w.SessionIn("p", &filters.Inbound{})
		r.Run(func() { r.W.RT().GlobalObject().Set("go", false) })
		feedParts(r, parts)
		r.Run(func() {
			r.W.RT().GlobalObject().Set("go", true)
			r.Ctx.Group.Notify()
		})
		denied := "HTTP/1.1 403 Forbidden\r\nConnection: keep-alive\r\nContent-Length: 6\r\n\r\ndenied"
		want := "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\nslow" + denied + denied
		if got := r.BytesOut(); got != want {
			t.Fatalf("%s: got %q, want %q", mode, got, want)
		}
	}
}

// demuxHttp's HTTP/1 half is the same decoder and encoder around the same
// ordered demux: WebSocket and CONNECT tunnels work there too.
func TestUpgradeDemuxHttp(t *testing.T) {
	w := filtertest.Load(t, strings.Replace(upgradeScript, `
  .decodeHttpRequest()
  .demux('answer')
  .encodeHttpResponse()`, `
  .demuxHttp('answer')`, 1))
	for mode, parts := range filtertest.ByteSplits(wsHandshake + wsFrames) {
		r := w.SessionIn("p", &filters.Inbound{})
		setStatus(r, 0)
		feedParts(r, parts)
		setStatus(r, 101)
		r.FeedString("late")
		if got, want := r.BytesOut(), ws101+wsFrames+"late"; got != want {
			t.Fatalf("%s: got %q, want %q", mode, got, want)
		}
		r.Feed(&filters.SessionEnd{})
		if k := r.Kinds(); !strings.HasSuffix(k, "ME SE") {
			t.Fatalf("%s: %s", mode, k)
		}
	}
	r := w.SessionIn("p", &filters.Inbound{})
	setStatus(r, 0)
	r.FeedString("CONNECT example.com:443 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n")
	setStatus(r, 403)
	answer := "HTTP/1.1 403 Forbidden\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
	if got := r.BytesOut(); got != answer+answer {
		t.Fatalf("CONNECT 403: got %q", got)
	}
}
