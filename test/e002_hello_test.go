package test

import (
	"testing"
)

const (
	hello002KeepAlive = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 7\r\n\r\nHello!\n"
	hello002Close     = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 7\r\n\r\nHello!\n"
)

// 002-hello: every request gets `Hello!\n`.
func TestExample002Hello(t *testing.T) {
	p := startScript(t, examplePath(t, "002-hello"), 6080)

	t.Run("ExactBytesKeepAlive", func(t *testing.T) {
		c := dial(t, 6080)
		for i := 0; i < 2; i++ { // the second request proves the connection stayed open
			c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if got := string(c.readN(len(hello002KeepAlive))); got != hello002KeepAlive {
				t.Fatalf("request %d: got %q, want %q", i+1, got, hello002KeepAlive)
			}
		}
	})

	t.Run("ConnectionCloseHeader", func(t *testing.T) {
		c := dial(t, 6080)
		c.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if got := string(c.readToEOF(ioTimeout)); got != hello002Close {
			t.Errorf("got %q, want %q then EOF", got, hello002Close)
		}
	})

	t.Run("HTTP10Closes", func(t *testing.T) {
		c := dial(t, 6080)
		c.send("GET / HTTP/1.0\r\nHost: x\r\n\r\n")
		if got := string(c.readToEOF(ioTimeout)); got != hello002Close {
			t.Errorf("got %q, want %q then EOF", got, hello002Close)
		}
	})

	t.Run("HTTP10KeepAliveStaysOpen", func(t *testing.T) {
		c := dial(t, 6080)
		for i := 0; i < 2; i++ {
			c.send("GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
			if got := string(c.readN(len(hello002KeepAlive))); got != hello002KeepAlive {
				t.Fatalf("request %d: got %q, want %q", i+1, got, hello002KeepAlive)
			}
		}
	})

	t.Run("AnyMethodPathBody", func(t *testing.T) {
		c := dial(t, 6080)
		c.send("POST /some/where?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world")
		if got := string(c.readN(len(hello002KeepAlive))); got != hello002KeepAlive {
			t.Errorf("got %q, want %q", got, hello002KeepAlive)
		}
		c.send("PUT /x HTTP/1.1\r\nHost: y\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
		if got := string(c.readN(len(hello002KeepAlive))); got != hello002KeepAlive {
			t.Errorf("got %q, want %q", got, hello002KeepAlive)
		}
	})

	t.Run("HalfCloseGetsResponseThenEOF", func(t *testing.T) {
		c := dial(t, 6080)
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		c.closeWrite()
		r := c.readResponse()
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectHeader(t, r, "Content-Length", "7")
		expectBody(t, r, "Hello!\n")
		c.expectEOF(ioTimeout)
	})

	// SIGINT: `Stopped.`, `Done.`, exit status 0.
	p.stopOK()
}
