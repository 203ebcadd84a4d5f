package test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// The newer proxy style carries WebSocket and CONNECT tunnels as the 2021
// one does (TestExample019WebSocketProxy, whose upstream and raw RFC 6455
// client this reuses): demuxHttp on the listener, muxHttp's pool of
// HTTP/1.1 keep-alive connections to the upstream.
func TestE019WebSocketThroughMuxHttp(t *testing.T) {
	up := startE019Upstream(t)
	port := freePort(t)
	script := writeScript(t, "muxhttp.js", fmt.Sprintf(`pipy()
.listen(PORT)
  .demuxHttp('forward')
.pipeline('forward')
  .muxHttp('upstream')
.pipeline('upstream')
  .connect('127.0.0.1:%d')
`, up.port), port)
	p := startScript(t, script, port)

	t.Run("plain request", func(t *testing.T) {
		r := rawRequest(t, port, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectBody(t, r, "hello /plain")
	})

	t.Run("websocket echo", func(t *testing.T) {
		c := dial(t, port)
		key := "dGhlIHNhbXBsZSBub25jZQ=="
		// The first frame comes in the same write as the handshake: held
		// until the upstream has answered 101.
		c.send(e019Handshake("/echo", key) + string(e019Frame(0x1, []byte("early bird"), true)))
		head := e019ReadHead(t, c)
		if head.StatusCode != 101 {
			t.Fatalf("handshake answered %q", head.Status)
		}
		if !e019HasToken(head.Header.Get("Connection"), "upgrade") || !strings.EqualFold(head.Header.Get("Upgrade"), "websocket") {
			t.Errorf("101 without Upgrade/Connection: %v", head.Header)
		}
		if got, want := head.Header.Get("Sec-WebSocket-Accept"), e019Accept(key); got != want {
			t.Errorf("Sec-WebSocket-Accept %q, want %q", got, want)
		}
		if len(head.Header.Values("Content-Length")) > 0 || len(head.Header.Values("Transfer-Encoding")) > 0 {
			t.Errorf("101 with framing headers: %v", head.Header)
		}
		hs := up.handshake(t)
		if !e019HasToken(hs.Get("Connection"), "upgrade") || hs.Get("Upgrade") != "websocket" || hs.Get("Sec-WebSocket-Key") != key {
			t.Errorf("upstream saw handshake headers %v", hs)
		}
		e019ExpectFrame(t, c, 0x1, []byte("early bird"))
		msgs := []struct {
			op      byte
			payload []byte
		}{
			{0x1, []byte("Hello, pipy")},
			{0x2, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},                              // not a request any more
			{0x2, bytes.Repeat([]byte{'m'}, 300)},                                           // 16-bit length
			{0x2, bytes.Repeat([]byte("0123456789abcdef\r\n\x00\xff"), 4000)},               // 64-bit length
			{0x1, bytes.Repeat([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 50)}, // nor an answer
			{0x9, []byte("ping")},
		}
		for _, m := range msgs {
			c.send(string(e019Frame(m.op, m.payload, true)))
		}
		for _, m := range msgs {
			op := m.op
			if op == 0x9 {
				op = 0xA // pong
			}
			e019ExpectFrame(t, c, op, m.payload)
		}
		// Closing handshake: the upstream echoes the close frame and
		// closes; pipy closes the client's connection.
		c.send(string(e019Frame(0x8, []byte{0x03, 0xe8}, true)))
		e019ExpectFrame(t, c, 0x8, []byte{0x03, 0xe8})
		c.expectEOF(ioTimeout)
	})

	t.Run("websocket client leaves", func(t *testing.T) {
		c := dial(t, port)
		c.send(e019Handshake("/echo", "x3JJHMbDL1EzLkh9GBhXDw=="))
		if head := e019ReadHead(t, c); head.StatusCode != 101 {
			t.Fatalf("handshake answered %q", head.Status)
		}
		up.handshake(t)
		c.send(string(e019Frame(0x1, []byte("bye"), true)))
		e019ExpectFrame(t, c, 0x1, []byte("bye"))
		// The client shuts its side: muxHttp half-closes the upstream,
		// which ends, and so does the client's connection.
		c.closeWrite()
		c.expectEOF(ioTimeout)
		up.expectClosed(t)
	})

	t.Run("refused upgrade keeps the client connection", func(t *testing.T) {
		c := dial(t, port)
		c.send(e019Handshake("/refuse", "x3JJHMbDL1EzLkh9GBhXDw==") + "GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
		r := c.readResponse()
		expectStatus(t, r, "HTTP/1.1", "403 Forbidden")
		expectBody(t, r, "refused")
		up.handshake(t)
		// muxHttp closed the refused upgrade's upstream connection (the
		// upstream could not know where the request ended); the next
		// request goes over another.
		r = c.readResponse()
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectBody(t, r, "hello /after")
	})

	t.Run("several tunnels at once", func(t *testing.T) {
		var cs []*client
		for i := 0; i < 5; i++ {
			c := dial(t, port)
			c.send(e019Handshake("/echo", "x3JJHMbDL1EzLkh9GBhXDw=="))
			if head := e019ReadHead(t, c); head.StatusCode != 101 {
				t.Fatalf("handshake %d answered %q", i, head.Status)
			}
			up.handshake(t)
			cs = append(cs, c)
		}
		for i, c := range cs {
			c.send(string(e019Frame(0x2, bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1)), true)))
		}
		for i, c := range cs {
			e019ExpectFrame(t, c, 0x2, bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1)))
		}
		// Plain requests still pass while the tunnels are open.
		r := rawRequest(t, port, "GET /during HTTP/1.1\r\nHost: x\r\n\r\n")
		expectBody(t, r, "hello /during")
		for _, c := range cs {
			c.send(string(e019Frame(0x8, []byte{0x03, 0xe8}, true)))
			e019ExpectFrame(t, c, 0x8, []byte{0x03, 0xe8})
			c.expectEOF(ioTimeout)
		}
	})

	t.Run("connect", func(t *testing.T) {
		c := dial(t, port)
		c.send("CONNECT backend.example:443 HTTP/1.1\r\nHost: backend.example:443\r\n\r\n")
		head := e019ReadHead(t, c)
		if head.StatusCode != 200 {
			t.Fatalf("CONNECT answered %q", head.Status)
		}
		if len(head.Header.Values("Content-Length")) > 0 || len(head.Header.Values("Transfer-Encoding")) > 0 {
			t.Errorf("2xx to CONNECT with framing headers: %v", head.Header)
		}
		payload := "\x16\x03\x01\x00\x05hello GARBAGE \r\n\r\n" + strings.Repeat("t", 50000)
		c.send(payload)
		if got := string(c.readN(len(payload))); got != payload {
			t.Fatalf("tunnel echoed %d bytes that differ", len(got))
		}
		c.closeWrite()
		c.expectEOF(ioTimeout)
	})

	p.stopOK()
}
