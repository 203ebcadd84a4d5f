package test

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// 019-websocket-proxy: the decoded-HTTP proxy (decodeHttpRequest → demux →
// encodeHttpResponse, encodeHttpRequest → connect → decodeHttpResponse)
// carries WebSocket and CONNECT tunnels. The upstream is a WebSocket echo
// server written here over a plain listener (handshake per RFC 6455, frames
// by hand); the client is raw bytes too, so every byte is asserted.
func TestExample019WebSocketProxy(t *testing.T) {
	up := startE019Upstream(t)
	port := freePort(t)
	script := copyExample(t, "019-websocket-proxy",
		"'127.0.0.1:8080'", fmt.Sprintf("'127.0.0.1:%d'", up.port),
		".listen(6080)", fmt.Sprintf(".listen(%d)", port))
	p := startScript(t, script, port)

	t.Run("plain request", func(t *testing.T) {
		r := rawRequest(t, port, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectBody(t, r, "hello /plain")
	})

	t.Run("websocket echo", func(t *testing.T) {
		c := dial(t, port)
		key := "dGhlIHNhbXBsZSBub25jZQ=="
		// The first frame goes in the same write as the handshake: pipy
		// holds it until the upstream has answered 101.
		first := e019Frame(0x1, []byte("early bird"), true)
		c.send(e019Handshake("/echo", key) + string(first))
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
		if cl := head.Header.Get("Content-Length"); cl != "" {
			t.Errorf("101 with Content-Length %q", cl)
		}
		// What reached the upstream asked for the upgrade.
		hs := up.handshake(t)
		if !e019HasToken(hs.Get("Connection"), "upgrade") || hs.Get("Upgrade") != "websocket" || hs.Get("Sec-WebSocket-Key") != key {
			t.Errorf("upstream saw handshake headers %v", hs)
		}

		e019ExpectFrame(t, c, 0x1, []byte("early bird"))
		big := bytes.Repeat([]byte("0123456789abcdef\r\n\x00\xff"), 4000) // 80000 bytes: 64-bit length
		mid := bytes.Repeat([]byte{'m'}, 300)                             // 16-bit length
		msgs := []struct {
			op      byte
			payload []byte
		}{
			{0x1, []byte("Hello, pipy")},
			{0x2, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}, // not a request any more
			{0x2, mid},
			{0x2, big},
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
		// Closing handshake: the server echoes the close frame and closes
		// the connection; pipy closes the client's.
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
		// No close frame: the client just shuts its side. The upstream
		// sees the end, closes, and so does pipy.
		c.closeWrite()
		c.expectEOF(ioTimeout)
		up.expectClosed(t)
	})

	t.Run("refused upgrade keeps the connection", func(t *testing.T) {
		c := dial(t, port)
		// The request after the refused handshake is pipelined behind it.
		c.send(e019Handshake("/refuse", "x3JJHMbDL1EzLkh9GBhXDw==") + "GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
		r := c.readResponse()
		expectStatus(t, r, "HTTP/1.1", "403 Forbidden")
		expectBody(t, r, "refused")
		up.handshake(t)
		r = c.readResponse()
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectBody(t, r, "hello /after")
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
		// The tunnel carries bytes that would be a malformed request.
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

// An Upgrade request reaching a script that only answers whole messages
// (replaceMessage waits for the request's end) is ended as a plain request
// once the listener's readTimeout passes without an answer.
func TestE019UpgradeToPlainServer(t *testing.T) {
	port := freePort(t)
	script := writeScript(t, "plain.js", `pipy()
.listen(PORT, { readTimeout: 1 })
  .decodeHttpRequest()
  .replaceMessage(new Message('plain'))
  .encodeHttpResponse()
`, port)
	p := startScript(t, script, port)
	c := dial(t, port)
	c.send(e019Handshake("/ws", "dGhlIHNhbXBsZSBub25jZQ==") + "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	for i := 0; i < 2; i++ {
		r := c.readResponse()
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectBody(t, r, "plain")
	}
	p.stopOK()
}

// e019Handshake is a client's opening handshake (RFC 6455 §4.1).
func e019Handshake(path, key string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
}

// e019Accept computes Sec-WebSocket-Accept for key (RFC 6455 §4.2.2).
func e019Accept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

func e019HasToken(v, tok string) bool {
	for _, t := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), tok) {
			return true
		}
	}
	return false
}

// e019Frame builds a final frame; a client's is masked (RFC 6455 §5.3).
func e019Frame(op byte, payload []byte, masked bool) []byte {
	b := []byte{0x80 | op}
	maskBit := byte(0)
	if masked {
		maskBit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, maskBit|byte(n))
	case n < 1<<16:
		b = append(b, maskBit|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, maskBit|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if !masked {
		return append(b, payload...)
	}
	mask := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b = append(b, mask[:]...)
	for i, c := range payload {
		b = append(b, c^mask[i%4])
	}
	return b
}

// e019ReadFrame reads one frame and unmasks its payload.
func e019ReadFrame(r io.Reader) (op byte, masked bool, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return
	}
	op, masked = h[0]&0x0f, h[1]&0x80 != 0
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var x [2]byte
		if _, err = io.ReadFull(r, x[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(x[:]))
	case 127:
		var x [8]byte
		if _, err = io.ReadFull(r, x[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(x[:])
	}
	if n > 1<<24 {
		return 0, false, nil, fmt.Errorf("frame of %d bytes", n)
	}
	var mask [4]byte
	if masked {
		if _, err = io.ReadFull(r, mask[:]); err != nil {
			return
		}
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return
	}
	if masked {
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	return
}

// e019ExpectFrame reads a frame from the server: unmasked, with op and
// payload.
func e019ExpectFrame(t *testing.T, c *client, op byte, payload []byte) {
	t.Helper()
	c.c.SetReadDeadline(time.Now().Add(ioTimeout))
	gotOp, masked, got, err := e019ReadFrame(c.br)
	if err != nil {
		t.Fatalf("reading a frame (op %#x, %d bytes expected): %v", op, len(payload), err)
	}
	if gotOp != op || masked || !bytes.Equal(got, payload) {
		t.Fatalf("frame op %#x masked %v, %d bytes; want op %#x unmasked, %d bytes (equal: %v)",
			gotOp, masked, len(got), op, len(payload), bytes.Equal(got, payload))
	}
}

// e019ReadHead reads a response head only (what follows is a tunnel).
func e019ReadHead(t *testing.T, c *client) *http.Response {
	t.Helper()
	c.c.SetReadDeadline(time.Now().Add(ioTimeout))
	var head strings.Builder
	for {
		line, err := c.br.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			t.Fatalf("response head (got %q): %v", head.String(), err)
		}
		if line == "\r\n" {
			break
		}
	}
	r, err := http.ReadResponse(bufio.NewReader(strings.NewReader(head.String())), nil)
	if err != nil {
		t.Fatalf("parsing %q: %v", head.String(), err)
	}
	r.Body.Close()
	return r
}

// e019Upstream is the test's upstream: a WebSocket echo server (path /echo;
// /refuse is refused with 403), a CONNECT echo tunnel, and "hello <path>"
// for anything else, with keep-alive.
type e019Upstream struct {
	port       int
	handshakes chan http.Header
	closed     chan struct{} // a WebSocket connection ended by the client
}

func startE019Upstream(t *testing.T) *e019Upstream {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("upstream listen: %v", err)
	}
	u := &e019Upstream{port: ln.Addr().(*net.TCPAddr).Port, handshakes: make(chan http.Header, 16), closed: make(chan struct{}, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go u.serve(c)
		}
	}()
	return u
}

func (u *e019Upstream) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		switch {
		case req.Method == "CONNECT":
			io.WriteString(c, "HTTP/1.1 200 Connection Established\r\n\r\n")
			io.Copy(c, br) // echo until the client's side ends
			return
		case strings.EqualFold(req.Header.Get("Upgrade"), "websocket"):
			u.handshakes <- req.Header
			if req.URL.Path == "/refuse" {
				io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\n\r\nrefused")
				continue
			}
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
				"Sec-WebSocket-Accept: "+e019Accept(req.Header.Get("Sec-WebSocket-Key"))+"\r\n\r\n")
			u.echo(c, br)
			return
		default:
			io.Copy(io.Discard, req.Body)
			body := "hello " + req.URL.Path
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
		}
	}
}

// echo answers frames: data frames echoed, ping with pong, close with
// close and the end of the connection.
func (u *e019Upstream) echo(c net.Conn, br *bufio.Reader) {
	for {
		op, masked, payload, err := e019ReadFrame(br)
		if err != nil || !masked {
			u.closed <- struct{}{}
			return
		}
		switch op {
		case 0x9:
			op = 0xA
		case 0x8:
			c.Write(e019Frame(0x8, payload, false))
			return
		}
		if _, err := c.Write(e019Frame(op, payload, false)); err != nil {
			return
		}
	}
}

// handshake returns the headers of the next WebSocket handshake the
// upstream received.
func (u *e019Upstream) handshake(t *testing.T) http.Header {
	t.Helper()
	select {
	case h := <-u.handshakes:
		return h
	case <-time.After(ioTimeout):
		t.Fatal("no WebSocket handshake reached the upstream")
		return nil
	}
}

// expectClosed waits until the upstream saw a WebSocket connection end
// without a close frame.
func (u *e019Upstream) expectClosed(t *testing.T) {
	t.Helper()
	select {
	case <-u.closed:
	case <-time.After(ioTimeout):
		t.Fatal("the upstream WebSocket connection was not ended")
	}
}
