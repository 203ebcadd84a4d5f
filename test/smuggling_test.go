package test

// HTTP/1.1 hygiene (RFC 9112), end to end: a proxy made of
// decodeHttpRequest → encodeHttpRequest → connect → decodeHttpResponse →
// encodeHttpResponse must refuse every request whose framing is ambiguous
// or malformed with the fitting status (400, 414, 431, 501, 505), close the
// connection, and never forward anything to the upstream: a request that
// two HTTP implementations could frame differently is how requests get
// smuggled past a proxy.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// recBackend is an HTTP/1.1 upstream on 127.0.0.1 that records every byte
// it receives and answers each request with "<method> <target> <body>".
type recBackend struct {
	ln    net.Listener
	port  int
	mu    sync.Mutex
	conns int
	got   bytes.Buffer
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func startRecBackend(t *testing.T) *recBackend {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("backend listen: %v", err)
	}
	b := &recBackend{ln: ln, port: ln.Addr().(*net.TCPAddr).Port}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns++
			b.mu.Unlock()
			go b.serve(c)
		}
	}()
	return b
}

func (b *recBackend) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(io.TeeReader(c, lockedWriter{&b.mu, &b.got}))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		msg := fmt.Sprintf("%s %s %s", req.Method, req.RequestURI, body)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
	}
}

// received returns what the backend got so far and forgets it.
func (b *recBackend) received() (conns int, data string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	conns, data = b.conns, b.got.String()
	b.conns = 0
	b.got.Reset()
	return conns, data
}

const smugglingProxy = `pipy()

.listen(PORT_P)
  .decodeHttpRequest()
  .encodeHttpRequest()
  .connect('127.0.0.1:PORT_B')
  .decodeHttpResponse()
  .encodeHttpResponse()
`

func startSmugglingProxy(t *testing.T) (*pipyProc, int, *recBackend) {
	t.Helper()
	b := startRecBackend(t)
	port := freePort(t)
	script := writeScript(t, "smuggling.js", substPorts(smugglingProxy, map[string]int{"PORT_P": port, "PORT_B": b.port}), 0)
	return startScript(t, script, port), port, b
}

// clientHello returns the first TLS record a Go TLS client sends.
func clientHello(t *testing.T) []byte {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		tls.Client(c1, &tls.Config{ServerName: "example.com"}).HandshakeContext(ctx)
	}()
	c2.SetReadDeadline(time.Now().Add(ioTimeout))
	head := make([]byte, 5)
	if _, err := io.ReadFull(c2, head); err != nil {
		t.Fatalf("ClientHello: %v", err)
	}
	body := make([]byte, int(head[3])<<8|int(head[4]))
	if _, err := io.ReadFull(c2, body); err != nil {
		t.Fatalf("ClientHello: %v", err)
	}
	return append(head, body...)
}

type smugglingCase struct {
	name   string
	raw    string
	status int
}

func smugglingCases(hello []byte) []smugglingCase {
	const post = "POST / HTTP/1.1\r\nHost: x\r\n"
	const chunked = post + "Transfer-Encoding: chunked\r\n\r\n"
	return []smugglingCase{
		// Content-Length and Transfer-Encoding
		{"CL.TE", post + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", 400},
		{"TE.CL", post + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", 400},
		{"two differing Content-Length", post + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
		{"Content-Length list", post + "Content-Length: 1, 2\r\n\r\nab", 400},
		{"negative Content-Length", post + "Content-Length: -1\r\n\r\n", 400},
		{"non-numeric Content-Length", post + "Content-Length: 12abc\r\n\r\n", 400},
		{"signed Content-Length", post + "Content-Length: +3\r\n\r\nabc", 400},
		{"overflowing Content-Length", post + "Content-Length: 99999999999999999999\r\n\r\n", 400},
		{"empty Content-Length", post + "Content-Length:\r\n\r\n", 400},
		// chunk framing
		{"non-hex chunk size", chunked + "zz\r\nhello\r\n0\r\n\r\n", 400},
		{"negative chunk size", chunked + "-5\r\nhello\r\n0\r\n\r\n", 400},
		{"overflowing chunk size", chunked + "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400},
		{"chunk size with 0x prefix", chunked + "0x5\r\nhello\r\n0\r\n\r\n", 400},
		{"chunk data longer than its size", chunked + "3\r\nhello\r\n0\r\n\r\n", 400},
		{"chunk without CRLF after data", chunked + "5\r\nhello0\r\n\r\n", 400},
		{"chunk extension control byte", chunked + "5;\x01\r\nhello\r\n0\r\n\r\n", 400},
		{"chunk extension without name", chunked + "5;=x\r\nhello\r\n0\r\n\r\n", 400},
		{"chunk extension unterminated quote", chunked + "5;a=\"x\r\nhello\r\n0\r\n\r\n", 400},
		{"chunk size with bare LF", chunked + "5\nhello\r\n0\r\n\r\n", 400},
		{"malformed trailer", chunked + "0\r\nno colon here\r\n\r\n", 400},
		// Transfer-Encoding values
		{"Transfer-Encoding gzip", post + "Transfer-Encoding: gzip\r\n\r\nabc", 400},
		{"Transfer-Encoding chunked, gzip", post + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400},
		{"Transfer-Encoding on two lines, gzip last", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400},
		{"Transfer-Encoding xchunked", post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400},
		{"Transfer-Encoding chunked, chunked", post + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400},
		{"Transfer-Encoding with vertical tab", post + "Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n", 400},
		{"Transfer-Encoding obs-folded", post + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400},
		{"Transfer-Encoding gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
		{"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		// field syntax
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
		{"tab before colon", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400},
		{"whitespace before the first field", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400},
		{"bare LF line endings", "GET / HTTP/1.1\nHost: x\n\n", 400},
		{"bare LF after one field", "GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n", 400},
		{"bare CR in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400},
		{"NUL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400},
		{"control byte in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x1bb\r\n\r\n", 400},
		{"NUL in a name", "GET / HTTP/1.1\r\nHost: x\r\nX\x00A: 1\r\n\r\n", 400},
		{"header without colon", "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400},
		{"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"Host with userinfo", "GET / HTTP/1.1\r\nHost: evil@x\r\n\r\n", 400},
		{"oversized head", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 40<<10) + "\r\n\r\n", 431},
		{"oversized request line", "GET /" + strings.Repeat("a", 40<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		{"too many header fields", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-N: 1\r\n", 100) + "\r\n", 431},
		// request line
		{"method with a space", "GE T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"method with bad characters", "g@t / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"method with a NUL", "GE\x00T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"no version", "GET /\r\nHost: x\r\n\r\n", 400},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"HTTP/0.9", "GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505},
		{"HTTP/1.10", "GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400},
		{"HTTP/3", "GET / HTTP/3\r\nHost: x\r\n\r\n", 400},
		{"lower-case http/1.1", "GET / http/1.1\r\nHost: x\r\n\r\n", 400},
		{"target without a slash", "GET index.html HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"absolute-form without host", "GET http:///admin HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"absolute-form with userinfo", "GET http://user:pw@x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"absolute-form with a bad host", "GET http://x<y>/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"absolute-form without scheme", "GET ://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"asterisk with GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"CONNECT without port", "CONNECT x HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"TLS ClientHello", string(hello), 400},
		{"binary garbage", "\x00\x01\x02\x03\r\n\r\n", 400},
	}
}

// TestSmugglingRefused sends each malformed request on its own connection:
// the answer must be the expected status, the connection must close, and
// the upstream must receive nothing.
func TestSmugglingRefused(t *testing.T) {
	p, port, backend := startSmugglingProxy(t)
	cases := smugglingCases(clientHello(t))
	var table strings.Builder
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, port)
			c.send(tc.raw)
			r, err := c.tryReadResponse(ioTimeout)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			fmt.Fprintf(&table, "%-45s %d\n", tc.name, r.Code)
			if r.Code != tc.status {
				t.Errorf("status = %q, want %d", r.Status, tc.status)
			}
			if !r.Close {
				t.Errorf("response lacks Connection: close (head %q)", r.RawHead)
			}
			if b := c.readToEOF(3 * time.Second); len(b) > 0 {
				t.Errorf("after the %d response: %q, want the connection closed", r.Code, b)
			}
			// Anything forwarded would have been written before the close;
			// give it a moment to arrive anyway.
			time.Sleep(20 * time.Millisecond)
			if conns, data := backend.received(); data != "" || conns != 0 {
				t.Errorf("the upstream received %d connection(s) and %q", conns, data)
			}
		})
	}
	t.Logf("status per case:\n%s", table.String())

	// Nothing was lost or hung: the proxy still serves.
	r := rawRequest(t, port, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
	expectStatus(t, r, "HTTP/1.1", "200 OK")
	expectBody(t, r, "GET /after ")
	p.stopOK()
}

// TestSmugglingForwardsValid is the positive control: chunked POSTs and a
// pipelined pair go through, framed anew, in order. A chunked body without
// trailers goes on with a Content-Length; one with trailers stays chunked,
// as one chunk, so that its trailers go on too.
func TestSmugglingForwardsValid(t *testing.T) {
	p, port, backend := startSmugglingProxy(t)

	c := dial(t, port)
	c.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5;name=\"v a\"\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
	r := c.readResponse()
	expectStatus(t, r, "HTTP/1.1", "200 OK")
	expectBody(t, r, "POST /upload hello world")
	c.close()
	_, got := backend.received()
	if !strings.Contains(got, "POST /upload HTTP/1.1\r\n") || !strings.Contains(got, "Content-Length: 11\r\n") ||
		strings.Contains(strings.ToLower(got), "transfer-encoding") || !strings.HasSuffix(got, "\r\n\r\nhello world") {
		t.Errorf("upstream received %q, want the request with Content-Length 11 and body `hello world`", got)
	}

	c = dial(t, port)
	c.send("POST /trailers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5;name=\"v a\"\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
	r = c.readResponse()
	expectStatus(t, r, "HTTP/1.1", "200 OK")
	expectBody(t, r, "POST /trailers hello world")
	c.close()
	_, got = backend.received()
	_, got, _ = strings.Cut(got, "POST /trailers HTTP/1.1\r\n")
	if !strings.Contains(got, "Transfer-Encoding: chunked\r\n") || strings.Contains(strings.ToLower(got), "content-length") ||
		!strings.HasSuffix(got, "\r\n\r\nb\r\nhello world\r\n0\r\nx-trailer: t\r\n\r\n") {
		t.Errorf("upstream received %q, want the request chunked anew with its trailer", got)
	}

	c = dial(t, port)
	c.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
	r1 := c.readResponse()
	r2 := c.readResponse()
	expectBody(t, r1, "GET /one ")
	expectBody(t, r2, "POST /two abc")
	if r1.Close || r2.Close {
		t.Errorf("keep-alive lost: %q / %q", r1.RawHead, r2.RawHead)
	}
	// and the connection is still usable
	c.send("GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	r3 := c.readResponse()
	expectBody(t, r3, "GET /three ")
	c.expectEOF(3 * time.Second)
	_, got = backend.received()
	if i, j, k := strings.Index(got, "GET /one "), strings.Index(got, "POST /two "), strings.Index(got, "GET /three "); i < 0 || j < i || k < j {
		t.Errorf("upstream received %q, want /one, /two, /three in order", got)
	}
	p.stopOK()
}

// TestListenHeadLimits: maxHeadSize and maxHeaders set on listen() apply.
func TestListenHeadLimits(t *testing.T) {
	port := freePort(t)
	script := writeScript(t, "head_limits.js", `pipy()

.listen(PORT, { maxHeadSize: '1k', maxHeaders: 5 })
  .decodeHttpRequest()
  .replaceMessage(new Message('ok'))
  .encodeHttpResponse()
`, port)
	p := startScript(t, script, port)

	fields := func(n int) string { return strings.Repeat("X-F: v\r\n", n) }
	cases := []struct {
		name, raw string
		status    int
	}{
		{"5 fields", "GET / HTTP/1.1\r\n" + fields(5) + "\r\n", 200},
		{"6 fields", "GET / HTTP/1.1\r\n" + fields(6) + "\r\n", 431},
		{"head of 1000 bytes", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 1000-len("GET / HTTP/1.1\r\nX: \r\n\r\n")) + "\r\n\r\n", 200},
		{"head of 1025 bytes", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 1025-len("GET / HTTP/1.1\r\nX: \r\n\r\n")) + "\r\n\r\n", 431},
		{"unterminated head over 1 KiB", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 1100), 431},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, port)
			c.send(tc.raw)
			r := c.readResponse()
			if r.Code != tc.status {
				t.Errorf("status = %q, want %d", r.Status, tc.status)
			}
			if tc.status != 200 {
				c.expectEOF(3 * time.Second)
			}
		})
	}
	p.stopOK()
}

// TestListenOptionErrors: a bad option value fails the load with an error
// that names the option.
func TestListenOptionErrors(t *testing.T) {
	for _, tc := range []struct{ opts, option string }{
		{`{ maxHeadSize: 'lots' }`, "maxHeadSize"},
		{`{ maxHeadSize: 10 }`, "maxHeadSize"},
		{`{ maxHeaders: 0 }`, "maxHeaders"},
		{`{ maxHeaders: 2.5 }`, "maxHeaders"},
		{`{ readTimeout: -1 }`, "readTimeout"},
		{`{ readTimeout: true }`, "readTimeout"},
		{`{ idleTimeout: '10 parsecs' }`, "idleTimeout"},
		{`{ idleTimeout: '2d' }`, "idleTimeout"},
		{`{ maxConnections: -1 }`, "maxConnections"},
		{`{ maxConnections: 'many' }`, "maxConnections"},
	} {
		t.Run(tc.opts, func(t *testing.T) {
			port := freePort(t)
			script := writeScript(t, "bad_option.js", "pipy()\n\n.listen(PORT, "+tc.opts+")\n  .dummy()\n", port)
			out := expectLoadFailure(t, script)
			if !strings.Contains(out, "option "+tc.option) {
				t.Errorf("load error does not name option %s:\n%s", tc.option, out)
			}
			expectLocation(t, out, script, 3)
		})
	}
}
