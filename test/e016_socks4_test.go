package test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"
)

// 016-socks4-proxy: SOCKS4/4a CONNECT relayed to the requested destination.
func TestExample016SOCKS4(t *testing.T) {
	requirePortsFree(t, 6080)

	// Destination HTTP server on 127.0.0.1:P.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	const answer = "Hello from the destination\n"
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Dest", "go")
		fmt.Fprintf(w, "%s%s %s\n", answer, r.Method, r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	p := startScript(t, examplePath(t, "016-socks4-proxy"), 6080)

	portBytes := func() []byte {
		b := make([]byte, 2)
		binary.BigEndian.PutUint16(b, uint16(port))
		return b
	}
	checkHTTP := func(t *testing.T, c *client, path string) {
		t.Helper()
		c.send(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", path, port))
		r := c.readResponse()
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectHeader(t, r, "X-Dest", "go")
		expectBody(t, r, answer+"GET "+path+"\n")
	}
	expectGranted := func(t *testing.T, c *client) {
		t.Helper()
		reply := c.readN(8)
		if reply[0] != 0x00 || reply[1] != 0x5A {
			t.Fatalf("SOCKS reply = % x, want 00 5a ...", reply)
		}
	}

	t.Run("socks4", func(t *testing.T) {
		c := dial(t, 6080)
		req := append([]byte{4, 1}, portBytes()...)
		req = append(req, 127, 0, 0, 1)
		req = append(req, "user\x00"...)
		c.send(string(req))
		expectGranted(t, c)
		checkHTTP(t, c, "/socks4")
		checkHTTP(t, c, "/again") // keep-alive through the relay
	})

	t.Run("socks4a", func(t *testing.T) {
		c := dial(t, 6080)
		req := append([]byte{4, 1}, portBytes()...)
		req = append(req, 0, 0, 0, 1)
		req = append(req, "user\x00localhost\x00"...)
		c.send(string(req))
		expectGranted(t, c)
		checkHTTP(t, c, "/socks4a")
	})

	curl, curlErr := exec.LookPath("curl")
	runCurl := func(t *testing.T, args ...string) string {
		t.Helper()
		if curlErr != nil {
			t.Skip("curl not available")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, curl, append([]string{"-sS", "--max-time", "5"}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl %v: %v (%s)", args, err, stderr.String())
		}
		return string(out)
	}
	t.Run("curl-socks4", func(t *testing.T) {
		out := runCurl(t, "--socks4", "127.0.0.1:6080", fmt.Sprintf("http://127.0.0.1:%d/curl4", port))
		if want := answer + "GET /curl4\n"; out != want {
			t.Errorf("curl output %q, want %q", out, want)
		}
	})
	t.Run("curl-socks4a", func(t *testing.T) {
		out := runCurl(t, "--socks4a", "127.0.0.1:6080", fmt.Sprintf("http://localhost:%d/curl4a", port))
		if want := answer + "GET /curl4a\n"; out != want {
			t.Errorf("curl output %q, want %q", out, want)
		}
	})

	t.Run("bind-rejected", func(t *testing.T) {
		c := dial(t, 6080)
		req := append([]byte{4, 2}, portBytes()...)
		req = append(req, 127, 0, 0, 1, 0)
		c.send(string(req))
		b := c.readToEOF(ioTimeout)
		if want := []byte{0, 0x5B, 0, 0, 0, 0, 0, 0}; !bytes.Equal(b, want) {
			t.Errorf("BIND answer = % x, want % x then close", b, want)
		}
	})

	t.Run("socks5-greeting", func(t *testing.T) {
		c := dial(t, 6080)
		c.send("\x05\x01\x00")
		c.c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		buf := make([]byte, 16)
		n, err := c.br.Read(buf)
		var ne net.Error
		if !(errors.As(err, &ne) && ne.Timeout()) {
			t.Fatalf("after a 3-byte SOCKS5 greeting: read %q, %v; want no answer (timeout)", buf[:n], err)
		}
		// Once 8 bytes are there, the request is rejected.
		c.send("\x00\x00\x00\x00\x00")
		b := c.readToEOF(ioTimeout)
		if want := []byte{0, 0x5B, 0, 0, 0, 0, 0, 0}; !bytes.Equal(b, want) {
			t.Errorf("answer after 8 bytes = % x, want % x then close", b, want)
		}
	})

	p.stopOK()
}
