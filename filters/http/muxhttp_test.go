package http_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
	"github.com/pipy-go/pipy/filters/http"
)

// upstream is a loopback HTTP/1.1 server for muxHttp's tests: it records
// the bytes each connection brings and answers each request by calling the
// test's handler, which writes the response bytes itself.
type upstream struct {
	t       *testing.T
	ln      net.Listener
	handler func(c *upConn, req *nethttp.Request, body string)

	mu    sync.Mutex
	conns []*upConn
}

// upConn is one connection the upstream accepted.
type upConn struct {
	nc net.Conn
	br *bufio.Reader
	u  *upstream
	// Under u.mu:
	raw  bytes.Buffer // every byte read
	reqs []string     // "METHOD path body" of each request read
	eof  bool         // the peer closed (or the handler did)
}

// newUpstream starts a server; handler nil answers "ans:<path>".
func newUpstream(t *testing.T, handler func(c *upConn, req *nethttp.Request, body string)) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if handler == nil {
		handler = func(c *upConn, req *nethttp.Request, body string) { c.answer(req, "ans:"+req.URL.Path) }
	}
	u := &upstream{t: t, ln: ln, handler: handler}
	t.Cleanup(func() {
		ln.Close()
		u.mu.Lock()
		defer u.mu.Unlock()
		for _, c := range u.conns {
			c.nc.Close()
		}
	})
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c := &upConn{nc: nc, u: u}
			u.mu.Lock()
			u.conns = append(u.conns, c)
			u.mu.Unlock()
			go c.serve()
		}
	}()
	return u
}

func (u *upstream) addr() string { return u.ln.Addr().String() }

// recorder appends what the connection reads to its record.
type recorder struct{ c *upConn }

func (r recorder) Write(p []byte) (int, error) {
	r.c.u.mu.Lock()
	r.c.raw.Write(p)
	r.c.u.mu.Unlock()
	return len(p), nil
}

func (c *upConn) serve() {
	c.br = bufio.NewReader(io.TeeReader(c.nc, recorder{c}))
	br := c.br
	defer func() {
		c.u.mu.Lock()
		c.eof = true
		c.u.mu.Unlock()
		c.nc.Close()
	}()
	for {
		req, err := nethttp.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		c.u.mu.Lock()
		c.reqs = append(c.reqs, req.Method+" "+req.URL.Path+" "+string(body))
		c.u.mu.Unlock()
		c.u.handler(c, req, string(body))
	}
}

// answer writes a 200 response with body (none for HEAD).
func (c *upConn) answer(req *nethttp.Request, body string) {
	if req.Method == "HEAD" {
		body = ""
	}
	c.write(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
}

func (c *upConn) write(s string) { c.nc.Write([]byte(s)) }

// awaitClose reads (and records) until the peer closes, from a handler.
func (c *upConn) awaitClose() {
	io.Copy(io.Discard, c.br)
	c.u.mu.Lock()
	c.eof = true
	c.u.mu.Unlock()
}

// requests returns how many requests connection i has read.
func (c *upConn) requests() int {
	c.u.mu.Lock()
	defer c.u.mu.Unlock()
	return len(c.reqs)
}

func (u *upstream) numConns() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.conns)
}

// conn returns connection i, nil when there is none (yet).
func (u *upstream) conn(i int) *upConn {
	u.mu.Lock()
	defer u.mu.Unlock()
	if i >= len(u.conns) {
		return nil
	}
	return u.conns[i]
}

// raw returns the bytes connection i has read so far.
func (u *upstream) raw(i int) string {
	c := u.conn(i)
	if c == nil {
		return ""
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return c.raw.String()
}

// reqs returns the requests connection i has read.
func (u *upstream) reqs(i int) []string {
	c := u.conn(i)
	if c == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), c.reqs...)
}

// closed reports whether connection i was closed.
func (u *upstream) closed(i int) bool {
	c := u.conn(i)
	if c == nil {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return c.eof
}

// totalRequests counts the requests of every connection.
func (u *upstream) totalRequests() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, c := range u.conns {
		n += len(c.reqs)
	}
	return n
}

// muxWorld loads pipeline p, muxHttp('up', () => _key<opts>), whose
// upstream sessions connect to addr, and pipeline nosel without selector.
func muxWorld(t *testing.T, addr, opts string) *filtertest.World {
	return filtertest.Load(t, `pipy({_key: ''})
.pipeline('p').muxHttp('up', () => _key`+opts+`)
.pipeline('nosel').muxHTTP('up'`+opts+`)
.pipeline('up').connect('`+addr+`')
`)
}

func reqHead(method, path string) *filters.MessageStart {
	return &filters.MessageStart{Head: &http.RequestHead{Method: method, Path: path, Protocol: "HTTP/1.1",
		Headers: []http.HeaderField{{Name: "host", Value: "up"}}}}
}

// request returns the events of a request with an optional body.
func request(method, path string, body ...string) []filters.Event {
	evts := []filters.Event{reqHead(method, path)}
	for _, b := range body {
		evts = append(evts, filtertest.Data(b))
	}
	return append(evts, filters.TheMessageEnd)
}

func get(path string) []filters.Event { return request("GET", path) }

// send starts a session of pipeline name (with _key set to key when not
// empty) and feeds it evts.
func send(w *filtertest.World, name, key string, evts ...filters.Event) *filtertest.Rec {
	r := w.Session(name)
	if key != "" {
		r.Set("_key", key)
	}
	r.Feed(evts...)
	return r
}

const waitLimit = 10 * time.Second

// waitFor polls cond (inside the loop) until it holds.
func waitFor(t *testing.T, r *filtertest.Rec, what string, cond func() bool) {
	t.Helper()
	filtertest.WaitOut(t, r, time.Now(), waitLimit, what, cond)
}

// answered waits until r has output a MessageEnd or a SessionEnd and
// returns its summary.
func answered(t *testing.T, r *filtertest.Rec) string {
	t.Helper()
	waitFor(t, r, "answer", func() bool {
		for _, e := range r.Evts {
			if k := e.Kind(); k == filters.KindMessageEnd || k == filters.KindSessionEnd {
				return true
			}
		}
		return false
	})
	return summaryNow(r)
}

func summaryNow(r *filtertest.Rec) string {
	var s string
	r.Run(func() {
		s = r.Summary()
		if err := r.WellFormed(); err != nil {
			s += "ILL-FORMED: " + err.Error()
		}
	})
	return s
}

// bytesNow is r.BytesOut(), read inside the loop.
func bytesNow(r *filtertest.Rec) string {
	var s string
	r.Run(func() { s = r.BytesOut() })
	return s
}

// mergedKinds is Kinds with runs of Data merged (however the bytes were
// split on the way).
func mergedKinds(r *filtertest.Rec) string {
	var out []string
	n, data := 0, false
	flush := func() {
		if data {
			out = append(out, fmt.Sprintf("D(%d)", n))
		}
		n, data = 0, false
	}
	r.Run(func() {
		for i, e := range r.Evts {
			if e.Kind() == filters.KindData {
				n += len(r.DataAt(i))
				data = true
				continue
			}
			flush()
			k := map[filters.EventKind]string{filters.KindMessageStart: "MS", filters.KindMessageEnd: "ME"}[e.Kind()]
			if se, ok := e.(*filters.SessionEnd); ok {
				k = "SE" + filtertest.ErrSuffix(se.Err)
			}
			out = append(out, k)
		}
		flush()
	})
	return strings.Join(out, " ")
}

func okAnswer(body string) string {
	if body == "" {
		return "start HTTP/1.1 200 \"OK\" {}\nend\n"
	}
	return fmt.Sprintf("start HTTP/1.1 200 \"OK\" {}\nbody %q\nend\n", body)
}

// Two sessions one after the other share one connection: the upstream reads
// both requests, encoded by muxHttp, from the same socket.
func TestMuxHttpSharesConnectionSequentially(t *testing.T) {
	u := newUpstream(t, nil)
	w := muxWorld(t, u.addr(), "")
	a := send(w, "p", "", get("/a")...)
	if got := answered(t, a); got != okAnswer("ans:/a") {
		t.Fatalf("a got:\n%s", got)
	}
	b := send(w, "p", "", request("POST", "/b", "hel", "lo")...)
	if got := answered(t, b); got != okAnswer("ans:/b") {
		t.Fatalf("b got:\n%s", got)
	}
	if n := u.numConns(); n != 1 {
		t.Fatalf("%d upstream connections, want 1", n)
	}
	want := "GET /a HTTP/1.1\r\nhost: up\r\n\r\n" +
		"POST /b HTTP/1.1\r\nhost: up\r\nContent-Length: 5\r\n\r\nhello"
	if got := u.raw(0); got != want {
		t.Fatalf("upstream read %q, want %q", got, want)
	}
	// The sessions end as soon as their input does: nothing is pending.
	a.Feed(&filters.SessionEnd{})
	if got := filtertest.KindsNow(a); !strings.HasSuffix(got, "ME SE") {
		t.Fatalf("a after its end: %s", got)
	}
}

// Two requests at once open a second connection; each answer goes to its
// own session.
func TestMuxHttpConcurrentRequestsOpenSecondConnection(t *testing.T) {
	hold := make(chan struct{})
	u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
		if req.URL.Path == "/slow" {
			<-hold
		}
		c.answer(req, "ans:"+req.URL.Path)
	})
	w := muxWorld(t, u.addr(), "")
	a := send(w, "p", "", get("/slow")...)
	waitFor(t, a, "the first request upstream", func() bool { return u.totalRequests() == 1 })
	b := send(w, "p", "", get("/b")...)
	if got := answered(t, b); got != okAnswer("ans:/b") {
		t.Fatalf("b got:\n%s", got)
	}
	if n := u.numConns(); n != 2 {
		t.Fatalf("%d upstream connections, want 2", n)
	}
	close(hold)
	if got := answered(t, a); got != okAnswer("ans:/slow") {
		t.Fatalf("a got:\n%s", got)
	}
}

// With maxConnections reached a request waits for a connection to free and
// then takes it.
func TestMuxHttpMaxConnectionsQueues(t *testing.T) {
	hold := make(chan struct{})
	u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
		if req.URL.Path == "/slow" {
			<-hold
		}
		c.answer(req, "ans:"+req.URL.Path+":"+body)
	})
	w := muxWorld(t, u.addr(), ", {maxConnections: 1}")
	a := send(w, "p", "", get("/slow")...)
	waitFor(t, a, "the first request upstream", func() bool { return u.totalRequests() == 1 })
	b := send(w, "p", "", request("POST", "/b", "queued")...)
	c := send(w, "p", "", get("/c")...)
	if got := filtertest.KindsNow(b) + filtertest.KindsNow(c); got != "" {
		t.Fatalf("queued requests answered early: %q", got)
	}
	close(hold)
	if got := answered(t, c); got != okAnswer("ans:/c:") {
		t.Fatalf("c got:\n%s", got)
	}
	if got := summaryNow(a) + summaryNow(b); got != okAnswer("ans:/slow:")+okAnswer("ans:/b:queued") {
		t.Fatalf("a, b got:\n%s", got)
	}
	if n := u.numConns(); n != 1 {
		t.Fatalf("%d upstream connections, want 1", n)
	}
	if got := strings.Join(u.reqs(0), "|"); got != "GET /slow |POST /b queued|GET /c " {
		t.Fatalf("upstream order: %s", got)
	}
}

// The queue of a key is bounded: one request past MuxHttpMaxQueue ends its
// session with BufferOverflow; the queued ones are all answered in order.
func TestMuxHttpQueueOverflow(t *testing.T) {
	hold := make(chan struct{})
	u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
		if req.URL.Path == "/slow" {
			<-hold
		}
		c.answer(req, "ans")
	})
	w := muxWorld(t, u.addr(), ", {maxConnections: 1}")
	a := send(w, "p", "", get("/slow")...)
	waitFor(t, a, "the first request upstream", func() bool { return u.totalRequests() == 1 })
	queued := make([]*filtertest.Rec, http.MuxHttpMaxQueue)
	for i := range queued {
		queued[i] = send(w, "p", "", get(fmt.Sprintf("/q%d", i))...)
	}
	over := send(w, "p", "", get("/over")...)
	if got := filtertest.KindsNow(over); got != "SE(BufferOverflow)" {
		t.Fatalf("request past the queue: %s", got)
	}
	if n := strings.Count(w.LogText(), "too many requests waiting"); n != 1 {
		t.Fatalf("overflow logged %d times", n)
	}
	close(hold)
	if got := answered(t, queued[len(queued)-1]); got != okAnswer("ans") {
		t.Fatalf("last queued got:\n%s", got)
	}
	reqs := u.reqs(0)
	for i, r := range reqs[1:] {
		if want := fmt.Sprintf("GET /q%d ", i); r != want {
			t.Fatalf("request #%d upstream: %q, want %q", i+1, r, want)
		}
	}
}

// A response saying Connection: close, or an HTTP/1.0 one without
// keep-alive, is the last on its connection even when the server leaves
// it open.
func TestMuxHttpConnectionCloseNotReused(t *testing.T) {
	for name, head := range map[string]string{
		"close":    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.0": "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
				if req.URL.Path == "/a" {
					c.write(head + "ok")
					return
				}
				c.answer(req, "ans:"+req.URL.Path)
			})
			w := muxWorld(t, u.addr(), "")
			a := send(w, "p", "", get("/a")...)
			if got := answered(t, a); !strings.Contains(got, "body \"ok\"\nend\n") {
				t.Fatalf("a got:\n%s", got)
			}
			waitFor(t, a, "the connection closed", func() bool { return u.closed(0) })
			b := send(w, "p", "", get("/b")...)
			if got := answered(t, b); got != okAnswer("ans:/b") {
				t.Fatalf("b got:\n%s", got)
			}
			if n := u.numConns(); n != 2 {
				t.Fatalf("%d upstream connections, want 2", n)
			}
		})
	}
	// HTTP/1.0 with keep-alive is reused.
	u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
		c.write("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok")
	})
	w := muxWorld(t, u.addr(), "")
	answered(t, send(w, "p", "", get("/a")...))
	answered(t, send(w, "p", "", get("/b")...))
	if n := u.numConns(); n != 1 {
		t.Fatalf("HTTP/1.0 keep-alive: %d upstream connections, want 1", n)
	}
}

// A request saying Connection: close is the last on its connection.
func TestMuxHttpRequestConnectionCloseNotReused(t *testing.T) {
	u := newUpstream(t, nil)
	w := filtertest.Load(t, `pipy()
.pipeline('p')
  .replaceMessage(() => new Message({method: 'PUT', path: '/s', headers: {'x-a': '1', connection: 'close'}}, 'hi'))
  .muxHttp('up')
.pipeline('up').connect('`+u.addr()+`')
`)
	a := send(w, "p", "", filtertest.Msg("x")...)
	if got := answered(t, a); got != okAnswer("ans:/s") {
		t.Fatalf("a got:\n%s", got)
	}
	if got, want := u.raw(0), "PUT /s HTTP/1.1\r\nx-a: 1\r\nconnection: close\r\nContent-Length: 2\r\n\r\nhi"; got != want {
		t.Fatalf("upstream read %q, want %q", got, want)
	}
	waitFor(t, a, "the connection closed", func() bool { return u.closed(0) })
}

// An idle connection is closed after idleTimeout (the option, or the
// environment's mux idle timeout); the next request opens a new one.
func TestMuxHttpIdleTimeout(t *testing.T) {
	for name, opts := range map[string]string{
		"string": ", {idleTimeout: '100ms'}",
		"number": ", {idleTimeout: 0.1}",
		"env":    "",
	} {
		t.Run(name, func(t *testing.T) {
			u := newUpstream(t, nil)
			w := muxWorld(t, u.addr(), opts)
			w.Env.MuxIdleTimeout = 100 * time.Millisecond
			if name != "env" {
				w.Env.MuxIdleTimeout = time.Hour
			}
			a := send(w, "p", "", get("/a")...)
			answered(t, a)
			waitFor(t, a, "the idle connection closed", func() bool { return u.closed(0) })
			b := send(w, "p", "", get("/b")...)
			if got := answered(t, b); got != okAnswer("ans:/b") {
				t.Fatalf("b got:\n%s", got)
			}
			if n := u.numConns(); n != 2 {
				t.Fatalf("%d upstream connections, want 2", n)
			}
		})
	}
}

// The answer to HEAD has no body whatever its Content-Length says, and the
// connection goes on with the next request.
func TestMuxHttpHeadBodiless(t *testing.T) {
	u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
		if req.Method == "HEAD" {
			c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
			return
		}
		c.answer(req, "ans:"+req.URL.Path)
	})
	w := muxWorld(t, u.addr(), "")
	a := send(w, "p", "", request("HEAD", "/h")...)
	if got := answered(t, a); got != okAnswer("") {
		t.Fatalf("HEAD got:\n%s", got)
	}
	b := send(w, "p", "", get("/b")...)
	if got := answered(t, b); got != okAnswer("ans:/b") {
		t.Fatalf("b got:\n%s", got)
	}
	if n := u.numConns(); n != 1 {
		t.Fatalf("%d upstream connections, want 1", n)
	}
}

// Chunked answers (with trailers) and answers delimited by the close of
// the connection are decoded; 1xx interim answers are dropped.
func TestMuxHttpResponseFraming(t *testing.T) {
	for name, tc := range map[string]struct {
		resp  string
		close bool
		want  string
		conns int // connections after a second request
	}{
		"chunked": {
			resp:  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
			want:  okAnswer("hello world"),
			conns: 1,
		},
		"until close": {
			resp: "HTTP/1.1 200 OK\r\n\r\nall of it", close: true,
			want:  okAnswer("all of it"),
			conns: 2,
		},
		"100 continue": {
			resp:  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			want:  okAnswer("ok"),
			conns: 1,
		},
		"204": {
			resp:  "HTTP/1.1 204 No Content\r\n\r\n",
			want:  "start HTTP/1.1 204 \"No Content\" {}\nend\n",
			conns: 1,
		},
		// More than the Content-Length: the connection is not reused.
		"excess bytes": {
			resp:  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200",
			want:  okAnswer("ok"),
			conns: 2,
		},
	} {
		t.Run(name, func(t *testing.T) {
			u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
				if req.URL.Path != "/a" {
					c.answer(req, "ans:"+req.URL.Path)
					return
				}
				c.write(tc.resp)
				if tc.close {
					c.nc.Close()
				}
			})
			w := muxWorld(t, u.addr(), "")
			a := send(w, "p", "", get("/a")...)
			if got := answered(t, a); got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			if tc.conns == 2 {
				waitFor(t, a, "the connection closed", func() bool { return u.closed(0) })
			}
			b := send(w, "p", "", get("/b")...)
			if got := answered(t, b); got != okAnswer("ans:/b") {
				t.Fatalf("b got:\n%s", got)
			}
			if n := u.numConns(); n != tc.conns {
				t.Fatalf("%d upstream connections, want %d", n, tc.conns)
			}
		})
	}
}

// Upstream failures end the waiting request's session with the error's
// name, so that a server side can answer 502/503.
func TestMuxHttpUpstreamErrors(t *testing.T) {
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()
	for name, tc := range map[string]struct {
		addr  string // instead of the server's
		resp  string // written, then the connection closed
		kinds string
	}{
		"refused":         {addr: refusedAddr, kinds: "SE(ConnectionRefused)"},
		"invalid target":  {addr: "nohost", kinds: "SE(CannotResolve)"},
		"closed unasked":  {resp: "", kinds: "SE(ReadError)"},
		"cut in the head": {resp: "HTTP/1.1 200 OK\r\nContent-Le", kinds: "SE(ReadError)"},
		"cut in the body": {resp: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", kinds: "MS D(5) SE(ReadError)"},
		"cut in a chunk":  {resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nwo", kinds: "MS D(7) SE(ReadError)"},
		"malformed head":  {resp: "garbage\r\n\r\n", kinds: "SE(ReadError)"},
		"malformed chunk": {resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", kinds: "MS SE(ReadError)"},
	} {
		t.Run(name, func(t *testing.T) {
			u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
				c.write(tc.resp)
				c.nc.Close()
			})
			addr := u.addr()
			if tc.addr != "" {
				addr = tc.addr
			}
			w := muxWorld(t, addr, "")
			a := send(w, "p", "", get("/a")...)
			waitFor(t, a, "SessionEnd", func() bool {
				_, ok := a.Last().(*filters.SessionEnd)
				return ok
			})
			if got := mergedKinds(a); got != tc.kinds {
				t.Fatalf("got %s, want %s", got, tc.kinds)
			}
			// The key's next request starts afresh.
			if tc.addr == "" {
				b := send(w, "p", "", get("/b")...)
				waitFor(t, b, "SessionEnd", func() bool { return b.Last() != nil && b.Last().Kind() == filters.KindSessionEnd })
			}
		})
	}
}

// A session that goes away while its answer arrives releases the
// connection: it is closed (the rest of the answer is of no use), and the
// next request gets a new one.
func TestMuxHttpClientLeavesMidResponse(t *testing.T) {
	u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
		if req.URL.Path == "/slow" {
			c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
			c.awaitClose()
			return
		}
		c.answer(req, "ans:"+req.URL.Path)
	})
	w := muxWorld(t, u.addr(), "")
	a := send(w, "p", "", get("/slow")...)
	waitFor(t, a, "the first half", func() bool { return a.BytesOut() == "hello" })
	a.Run(func() { a.S.End(filters.NoError) })
	waitFor(t, a, "the connection closed", func() bool { return u.closed(0) })
	b := send(w, "p", "", get("/b")...)
	if got := answered(t, b); got != okAnswer("ans:/b") {
		t.Fatalf("b got:\n%s", got)
	}
	if n := u.numConns(); n != 2 {
		t.Fatalf("%d upstream connections, want 2", n)
	}
}

// A session that goes away while its request waits for a connection
// leaves the queue.
func TestMuxHttpClientLeavesWhileQueued(t *testing.T) {
	hold := make(chan struct{})
	u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
		if req.URL.Path == "/slow" {
			<-hold
		}
		c.answer(req, "ans:"+req.URL.Path)
	})
	w := muxWorld(t, u.addr(), ", {maxConnections: 1}")
	a := send(w, "p", "", get("/slow")...)
	waitFor(t, a, "the first request upstream", func() bool { return u.totalRequests() == 1 })
	b := send(w, "p", "", get("/gone")...)
	c := send(w, "p", "", get("/c")...)
	b.Run(func() { b.S.End(filters.NoError) })
	close(hold)
	answered(t, c)
	if got := strings.Join(u.reqs(0), "|"); got != "GET /slow |GET /c " {
		t.Fatalf("upstream got %s", got)
	}
}

// A session's requests are answered in order, one at a time: the second is
// held until the first is answered and then takes the same connection.
func TestMuxHttpOneSessionInOrder(t *testing.T) {
	u := newUpstream(t, nil)
	w := muxWorld(t, u.addr(), "")
	evts := append(get("/1"), request("POST", "/2", "x")...)
	evts = append(evts, &filters.SessionEnd{})
	a := send(w, "p", "", evts...)
	waitFor(t, a, "SessionEnd", func() bool { return a.Last() != nil && a.Last().Kind() == filters.KindSessionEnd })
	if got := summaryNow(a); got != okAnswer("ans:/1")+okAnswer("ans:/2")+"sessionend \"\"\n" {
		t.Fatalf("got:\n%s", got)
	}
	if n := u.numConns(); n != 1 {
		t.Fatalf("%d upstream connections, want 1", n)
	}
}

// The selector keys the connections; without one, all sessions share them.
func TestMuxHttpKeys(t *testing.T) {
	u := newUpstream(t, nil)
	w := muxWorld(t, u.addr(), "")
	answered(t, send(w, "p", "k1", get("/a")...))
	answered(t, send(w, "p", "k2", get("/b")...))
	answered(t, send(w, "p", "k1", get("/c")...))
	if n := u.numConns(); n != 2 {
		t.Fatalf("%d upstream connections, want 2", n)
	}
	answered(t, send(w, "nosel", "k3", get("/d")...))
	answered(t, send(w, "nosel", "k4", get("/e")...))
	if n := u.numConns(); n != 3 {
		t.Fatalf("%d upstream connections, want 3", n)
	}
}

// Request bodies stream: a long one goes out chunked before its end, and
// the answer's body streams back before its end.
func TestMuxHttpStreaming(t *testing.T) {
	hold := make(chan struct{})
	u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
		c.write(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\nfirst:", len("first:")+len(body)))
		<-hold
		c.write(body)
	})
	w := muxWorld(t, u.addr(), "")
	part := strings.Repeat("x", http.MuxHttpBufferSize)
	a := send(w, "p", "", reqHead("POST", "/up"), filtertest.Data(part), filtertest.Data("y"))
	waitFor(t, a, "the body streaming upstream", func() bool {
		return strings.Contains(u.raw(0), "\r\nTransfer-Encoding: chunked\r\n") && strings.HasSuffix(u.raw(0), "y\r\n")
	})
	a.Feed(filtertest.Data("z"), &filters.MessageEnd{Tail: &http.Trailers{Fields: []http.HeaderField{{Name: "x-sum", Value: "42"}}}})
	waitFor(t, a, "the head and a part of the answer", func() bool { return a.BytesOut() == "first:" })
	close(hold)
	answered(t, a)
	if got, want := bytesNow(a), "first:"+part+"yz"; got != want {
		t.Fatalf("answer body of %d bytes, want %d", len(got), len(want))
	}
	if got := u.raw(0); !strings.HasSuffix(got, "1\r\nz\r\n0\r\nx-sum: 42\r\n\r\n") {
		t.Fatalf("upstream read ...%q", got[len(got)-40:])
	}
}

// Heads of other protocols (an HTTP/2 request from demuxHttp) go out as
// HTTP/1.1, without pseudo-headers or framing fields.
func TestMuxHttpRequestHeadEncoding(t *testing.T) {
	u := newUpstream(t, nil)
	w := muxWorld(t, u.addr(), "")
	h := &http.RequestHead{Method: "DELETE", Path: "/x?y=1", Protocol: "HTTP/2.0", Headers: []http.HeaderField{
		{Name: "host", Value: "up"}, {Name: ":authority", Value: "up"}, {Name: "content-length", Value: "99"},
		{Name: "transfer-encoding", Value: "gzip"}, {Name: "te", Value: "trailers"}}}
	answered(t, send(w, "p", "", &filters.MessageStart{Head: h}, filters.TheMessageEnd))
	if got, want := u.raw(0), "DELETE /x?y=1 HTTP/1.1\r\nhost: up\r\nte: trailers\r\n\r\n"; got != want {
		t.Fatalf("upstream read %q, want %q", got, want)
	}
}

// A reused connection that the server closed meanwhile (it read the
// request, then closed without answering) is retried once on a new
// connection for an idempotent request; other requests fail.
func TestMuxHttpRetryOnStaleConnection(t *testing.T) {
	u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
		if c.requests() == 2 {
			c.nc.Close()
			return
		}
		c.answer(req, "ans:"+req.URL.Path)
	})
	w := muxWorld(t, u.addr(), "")
	answered(t, send(w, "p", "", get("/a")...))
	b := send(w, "p", "", get("/b")...)
	if got := answered(t, b); got != okAnswer("ans:/b") {
		t.Fatalf("b got:\n%s", got)
	}
	if n := u.numConns(); n != 2 {
		t.Fatalf("%d upstream connections, want 2", n)
	}
	c := send(w, "p", "", request("POST", "/c", "once")...)
	if got := answered(t, c); got != "sessionend \"ReadError\"\n" {
		t.Fatalf("POST on a stale connection got:\n%s", got)
	}
}

// Retiring the program ends idle connections at once and busy ones after
// their answer.
func TestMuxHttpRetire(t *testing.T) {
	hold := make(chan struct{})
	u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
		if req.URL.Path == "/slow" {
			<-hold
		}
		c.answer(req, "ans:"+req.URL.Path)
	})
	w := muxWorld(t, u.addr(), "")
	w.Env.MuxIdleTimeout = time.Hour
	b := send(w, "p", "", get("/slow")...)
	waitFor(t, b, "the first request upstream", func() bool { return u.totalRequests() == 1 })
	answered(t, send(w, "p", "", get("/a")...))
	b.Run(func() { w.Pipeline("p").Filters[0].Template.(filters.Retirer).Retire() })
	waitFor(t, b, "the idle connection closed", func() bool { return u.closed(1) })
	if u.closed(0) {
		t.Fatal("the busy connection closed")
	}
	close(hold)
	if got := answered(t, b); got != okAnswer("ans:/slow") {
		t.Fatalf("b got:\n%s", got)
	}
	waitFor(t, b, "the busy connection closed after its answer", func() bool { return u.closed(0) })
	// Requests after the retirement still work, on connections closed
	// after each answer.
	c := send(w, "p", "", get("/c")...)
	if got := answered(t, c); got != okAnswer("ans:/c") {
		t.Fatalf("c got:\n%s", got)
	}
	waitFor(t, c, "the connection closed after its answer", func() bool { return u.closed(2) })
}

// Bad arguments and options fail the load, naming them.
func TestMuxHttpOptionErrors(t *testing.T) {
	for src, want := range map[string]string{
		`muxHttp()`:                                   "muxHttp: requires 1 or more arguments",
		`muxHttp(42)`:                                 "muxHttp: argument #1 expects a string",
		`muxHttp('up', 'k')`:                          "muxHttp: argument #2 expects a function (the selector)",
		`muxHttp('up', () => 1, 7)`:                   "muxHttp: argument #3 expects an object",
		`muxHttp('up', {version: 3})`:                 "muxHttp: option version must be 1 or 2, got 3",
		`muxHttp('up', {maxConnections: 0})`:          "muxHttp: option maxConnections expects a positive integer, got 0",
		`muxHttp('up', {maxConnections: 1.5})`:        "muxHttp: option maxConnections expects a positive integer, got 1.5",
		`muxHttp('up', {idleTimeout: 'soon'})`:        `muxHttp: option idleTimeout: invalid duration: "soon"`,
		`muxHttp('up', {idleTimeout: -1})`:            "muxHttp: option idleTimeout: expects seconds or a duration string",
		`muxHttp('up', {maxConnection: 1})`:           `muxHttp: unknown option "maxConnection"`,
		`muxHttp('nowhere')`:                          "nowhere",
		`muxHttp('up', () => 1, {version: 1}, 'x')`:   "",
		`muxHttp('up', () => 1, {maxConnections: 2})`: "",
		`muxHttp('up', {idleTimeout: '1s'})`:          "",
		`muxHttp('up', undefined, {version: 1})`:      "",
	} {
		err := filtertest.LoadErr(t, "pipy().pipeline('p')."+src+".pipeline('up').dummy()")
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", src, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}

// pipedSession starts a session of pipeline p served by a connection (one
// end of a net.Pipe, whose reads it is, so that muxHttp can pause them) and
// returns it with the client's end.
func pipedSession(t *testing.T, w *filtertest.World) (*filtertest.Rec, net.Conn) {
	srv, cli := net.Pipe()
	t.Cleanup(func() { cli.Close(); srv.Close() })
	conn := filters.NewConn(srv, w.Env.Loop)
	r := w.SessionIn("p", filters.NewInbound(conn, nil))
	go conn.ReadLoop(func(d *filters.Data) { r.S.Input(d) }, func(error) { r.S.Input(&filters.SessionEnd{}) })
	return r, cli
}

// countEnds counts the MessageEnds r output (inside the loop).
func countEnds(r *filtertest.Rec) int {
	n := 0
	for _, e := range r.Evts {
		if e.Kind() == filters.KindMessageEnd {
			n++
		}
	}
	return n
}

// A long body that has to wait (for a connection, or behind the session's
// previous request) pauses the reading of its client's connection, which
// resumes once it can go: the client's later requests are answered too.
func TestMuxHttpLongBodyWaitingPausesClient(t *testing.T) {
	long := strings.Repeat("x", 3*http.MuxHttpBufferSize)
	raw := "GET /slow HTTP/1.1\r\nHost: up\r\n\r\n" +
		fmt.Sprintf("POST /long HTTP/1.1\r\nHost: up\r\nContent-Length: %d\r\n\r\n%s", len(long), long) +
		"GET /next HTTP/1.1\r\nHost: up\r\n\r\n"
	for name, pipelined := range map[string]bool{"queued for a connection": false, "behind the previous request": true} {
		t.Run(name, func(t *testing.T) {
			hold := make(chan struct{})
			u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
				if req.URL.Path == "/slow" {
					<-hold
				}
				c.answer(req, fmt.Sprintf("%s:%d", req.URL.Path, len(body)))
			})
			w := filtertest.Load(t, `pipy()
.pipeline('p').decodeHttpRequest().muxHttp('up', {maxConnections: 1})
.pipeline('up').connect('`+u.addr()+`')
`)
			in := raw
			var a *filtertest.Rec
			if !pipelined {
				// Another session holds the one connection.
				a = w.Session("p")
				a.FeedString(raw[:strings.Index(raw, "POST")])
				in = raw[strings.Index(raw, "POST"):]
			}
			b, cli := pipedSession(t, w)
			wrote := make(chan error, 1)
			go func() { _, err := cli.Write([]byte(in)); wrote <- err }()
			waitFor(t, b, "the slow request upstream", func() bool { return u.totalRequests() == 1 })
			close(hold)
			want := 3
			if !pipelined {
				want = 2
				answered(t, a)
			}
			waitFor(t, b, "every answer", func() bool { return countEnds(b) == want })
			if err := <-wrote; err != nil {
				t.Fatal(err)
			}
			got := bytesNow(b)
			if !strings.HasSuffix(got, fmt.Sprintf("/long:%d/next:0", len(long))) {
				t.Fatalf("answers %q", got)
			}
		})
	}
}

// A requester whose input fails, or ends inside a request, gives its
// exchange up: the connection carrying half a request or answer is closed,
// and the session ends (with the input's error, or ReadError for a request
// that can never be complete).
func TestMuxHttpRequesterFails(t *testing.T) {
	for name, tc := range map[string]struct {
		evts  []filters.Event
		kinds string
	}{
		"error while answered": {
			evts:  append(get("/slow"), &filters.SessionEnd{Err: filters.ReadError}),
			kinds: "MS D(5) SE(ReadError)",
		},
		"end inside a long request": {
			evts:  []filters.Event{reqHead("POST", "/slow"), filtertest.Data(strings.Repeat("x", http.MuxHttpBufferSize+1)), &filters.SessionEnd{}},
			kinds: "SE(ReadError)",
		},
	} {
		t.Run(name, func(t *testing.T) {
			u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
				c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
				c.awaitClose()
			})
			w := muxWorld(t, u.addr(), "")
			a := send(w, "p", "", tc.evts[:len(tc.evts)-1]...)
			waitFor(t, a, "the request upstream", func() bool {
				return len(u.raw(0)) > 0 && (name != "error while answered" || len(a.Evts) == 2)
			})
			a.Feed(tc.evts[len(tc.evts)-1])
			if got := filtertest.KindsNow(a); got != tc.kinds {
				t.Fatalf("got %s, want %s", got, tc.kinds)
			}
			waitFor(t, a, "the connection closed", func() bool { return u.closed(0) })
		})
	}
	// A request that never began to go out costs no connection.
	u := newUpstream(t, nil)
	w := muxWorld(t, u.addr(), "")
	a := send(w, "p", "", reqHead("POST", "/short"), filtertest.Data("x"), &filters.SessionEnd{})
	if got := filtertest.KindsNow(a); got != "SE(ReadError)" {
		t.Fatalf("got %s", got)
	}
	answered(t, send(w, "p", "", get("/b")...))
	if got := strings.Join(u.reqs(0), "|"); got != "GET /b " {
		t.Fatalf("upstream got %s", got)
	}
}

// A selector that throws aborts its session.
func TestMuxHttpSelectorThrows(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').muxHttp('up', () => { throw new Error('no key') }).pipeline('up').dummy()`)
	a := send(w, "p", "", get("/a")...)
	if got := filtertest.KindsNow(a); got != "SE(RuntimeError)" {
		t.Fatalf("got %s", got)
	}
	if !strings.Contains(w.LogText(), "no key") {
		t.Fatalf("log:\n%s", w.LogText())
	}
}

// While the requester's context is paused (its client takes the answer too
// slowly), the connection the answer comes from is not read; once resumed
// the answer arrives, and the connection serves the next request.
func TestMuxHttpRequesterPausePausesConnection(t *testing.T) {
	u := newUpstream(t, nil)
	w := muxWorld(t, u.addr(), "")
	a := w.Session("p")
	a.Run(func() { a.Ctx.Pause() })
	a.Feed(get("/a")...)
	waitFor(t, a, "the request upstream", func() bool { return u.totalRequests() == 1 })
	// Another key's exchange, after the first answer was written out: it
	// gets through while the first stays unread.
	b := send(w, "p", "other", get("/b")...)
	answered(t, b)
	if got := filtertest.KindsNow(a); got != "" {
		t.Fatalf("answer read while its requester is paused: %s", got)
	}
	a.Run(func() { a.Ctx.Resume() })
	if got := answered(t, a); got != okAnswer("ans:/a") {
		t.Fatalf("a got:\n%s", got)
	}
	c := send(w, "p", "", get("/c")...)
	if got := answered(t, c); got != okAnswer("ans:/c") {
		t.Fatalf("c got:\n%s", got)
	}
	if got := strings.Join(u.reqs(0), "|"); got != "GET /a |GET /c " {
		t.Fatalf("first connection got %s", got)
	}
}

// countingValve counts the pauses and resumes of a context's sources.
type countingValve struct{ paused, resumed int }

func (v *countingValve) Pause()  { v.paused++ }
func (v *countingValve) Resume() { v.resumed++ }

// A long HTTP/2 request (from demuxHttp) waiting for a connection pauses
// its own context, not its client's connection (whose other streams may
// be what holds the connections), until it can go.
func TestMuxHttpQueuedHTTP2RequestPausesItsContext(t *testing.T) {
	hold := make(chan struct{})
	u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
		if req.URL.Path == "/slow" {
			<-hold
		}
		c.answer(req, fmt.Sprintf("%s:%d", req.URL.Path, len(body)))
	})
	w := muxWorld(t, u.addr(), ", {maxConnections: 1}")
	a := send(w, "p", "", get("/slow")...)
	waitFor(t, a, "the first request upstream", func() bool { return u.totalRequests() == 1 })
	b := w.Session("p")
	v := &countingValve{}
	b.Run(func() { b.Ctx.AddValve(v) })
	h := &http.RequestHead{Method: "POST", Path: "/h2", Protocol: "HTTP/2.0", Headers: []http.HeaderField{{Name: "host", Value: "up"}}}
	long := strings.Repeat("x", http.MuxHttpBufferSize)
	b.Feed(&filters.MessageStart{Head: h}, filtertest.Data(long))
	if *v != (countingValve{}) {
		t.Fatalf("paused within the buffer: %+v", *v)
	}
	b.Feed(filtertest.Data("y"))
	if *v != (countingValve{paused: 1}) {
		t.Fatalf("past the buffer: %+v, want one pause", *v)
	}
	b.Feed(filtertest.Data("z"), filters.TheMessageEnd)
	close(hold)
	if got := answered(t, b); got != okAnswer(fmt.Sprintf("/h2:%d", len(long)+2)) {
		t.Fatalf("b got:\n%s", got)
	}
	b.Run(func() {
		if *v != (countingValve{paused: 1, resumed: 1}) {
			t.Fatalf("after the request went: %+v, want paused and resumed once", *v)
		}
	})
}
