package test

import (
	"strings"
	"testing"
)

// 001-echo: the request message becomes the response (request head used as
// response head, body echoed).
func TestExample001Echo(t *testing.T) {
	p := startScript(t, examplePath(t, "001-echo"), 6080)

	t.Run("PostEchoesBodyAndHeaders", func(t *testing.T) {
		r := rawRequest(t, 6080, "POST /x HTTP/1.1\r\nHost: 127.0.0.1:6080\r\nX-Foo: Bar\r\nContent-Length: 5\r\n\r\nhello")
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectBody(t, r, "hello")
		expectHeader(t, r, "Content-Length", "5")
		expectHeader(t, r, "Connection", "keep-alive")
		if !strings.Contains(r.RawHead, "\r\nx-foo: Bar\r\n") {
			t.Errorf("response head lacks `x-foo: Bar`: %q", r.RawHead)
		}
		if !strings.Contains(r.RawHead, "\r\nhost: 127.0.0.1:6080\r\n") {
			t.Errorf("response head lacks `host: 127.0.0.1:6080`: %q", r.RawHead)
		}
	})

	t.Run("GetEmptyBody", func(t *testing.T) {
		r := rawRequest(t, 6080, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectHeader(t, r, "Content-Length", "0")
		expectBody(t, r, "")
	})

	t.Run("HTTP10CloseAfterResponse", func(t *testing.T) {
		c := dial(t, 6080)
		c.send("GET / HTTP/1.0\r\nHost: x\r\n\r\n")
		r := c.readResponse()
		if !strings.HasPrefix(r.RawHead, "HTTP/1.0 200 OK\r\n") {
			t.Errorf("status line: got head %q, want it to start with `HTTP/1.0 200 OK`", r.RawHead)
		}
		expectHeader(t, r, "Connection", "close")
		expectBody(t, r, "")
		c.expectEOF(ioTimeout)
	})

	t.Run("ChunkedBodyDechunked", func(t *testing.T) {
		r := rawRequest(t, 6080, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectHeader(t, r, "Content-Length", "5")
		if v := r.Header.Values("Transfer-Encoding"); len(v) != 0 {
			t.Errorf("response has Transfer-Encoding %q, want none", v)
		}
		expectBody(t, r, "hello")
	})

	t.Run("PipelinedInOrder", func(t *testing.T) {
		c := dial(t, 6080)
		c.send("POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none" +
			"POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\ntwo!!")
		r1 := c.readResponse()
		r2 := c.readResponse()
		expectStatus(t, r1, "HTTP/1.1", "200 OK")
		expectBody(t, r1, "one")
		expectHeader(t, r1, "Content-Length", "3")
		expectStatus(t, r2, "HTTP/1.1", "200 OK")
		expectBody(t, r2, "two!!")
		expectHeader(t, r2, "Content-Length", "5")
	})

	p.stopOK()
}
