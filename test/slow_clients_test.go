package test

// Slow and idle clients against the listen() limits: readTimeout (the
// request head must arrive in time), idleTimeout (no byte either way) and
// maxConnections. Healthy slow traffic (slow bodies, slow responses, long
// transfers) must not be cut.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// closedWithin waits for the server to close c and returns what it sent
// before and how long the close took from start. It fails if the close
// does not come within limit.
func closedWithin(t *testing.T, c *client, start time.Time, limit time.Duration) (string, time.Duration) {
	t.Helper()
	b := c.readToEOF(limit - time.Since(start))
	return string(b), time.Since(start)
}

// stillOpen asserts that the server has neither closed c nor sent anything
// for d.
func stillOpen(t *testing.T, c *client, d time.Duration) {
	t.Helper()
	c.c.SetReadDeadline(time.Now().Add(d))
	b, err := c.br.Peek(1)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("connection not open and silent for %v: got %q, %v", d, b, err)
	}
}

func TestReadTimeoutSlowloris(t *testing.T) {
	port := freePort(t)
	script := writeScript(t, "read_timeout.js", `pipy()

.listen(PORT, { readTimeout: 1 })
  .decodeHttpRequest()
  .replaceMessage(new Message('ok'))
  .encodeHttpResponse()
`, port)
	p := startScript(t, script, port)

	t.Run("silent connection", func(t *testing.T) {
		start := time.Now()
		c := dial(t, port)
		got, took := closedWithin(t, c, start, 4*time.Second)
		if got != "" {
			t.Errorf("received %q, want a close without a response", got)
		}
		if took < 900*time.Millisecond {
			t.Errorf("closed after %v, before the 1 s readTimeout", took)
		}
		t.Logf("closed after %v", took)
	})

	t.Run("trickled head", func(t *testing.T) {
		start := time.Now()
		c := dial(t, port)
		c.send("GET / HTTP/1.1\r\n")
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 40; i++ {
				time.Sleep(100 * time.Millisecond)
				c.c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := fmt.Fprintf(c.c, "X-%d: y\r\n", i); err != nil {
					return
				}
			}
		}()
		got, took := closedWithin(t, c, start, 4*time.Second)
		if !strings.HasPrefix(got, "HTTP/1.1 408 ") {
			t.Errorf("received %q, want a 408", got)
		}
		if took < 900*time.Millisecond || took > 2500*time.Millisecond {
			t.Errorf("closed after %v, want about 1 s", took)
		}
		t.Logf("408 and close after %v", took)
		c.close()
		<-done
	})

	t.Run("keep-alive head timed from its first byte", func(t *testing.T) {
		c := dial(t, port)
		c.send("GET /1 HTTP/1.1\r\n\r\n")
		expectBody(t, c.readResponse(), "ok")
		time.Sleep(1500 * time.Millisecond) // idle between requests: not readTimeout
		c.send("GET /2 HTTP/1.1\r\n")
		time.Sleep(500 * time.Millisecond)
		c.send("Host: x\r\n\r\n")
		expectBody(t, c.readResponse(), "ok")
	})

	t.Run("slow body", func(t *testing.T) {
		c := dial(t, port)
		c.send("POST / HTTP/1.1\r\nContent-Length: 8\r\n\r\n")
		for i := 0; i < 8; i++ {
			time.Sleep(300 * time.Millisecond) // 2.4 s in all
			c.send("b")
		}
		expectBody(t, c.readResponse(), "ok")
	})

	p.stopOK()
}

// A response that takes longer than readTimeout, with the next request's
// head already (partly) sent, is not cut: the client waits for us.
func TestReadTimeoutSlowResponse(t *testing.T) {
	backend, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					time.Sleep(2 * time.Second)
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow")
				}
			}()
		}
	}()
	port := freePort(t)
	script := writeScript(t, "slow_response.js", substPorts(`pipy()

.listen(PORT_P, { readTimeout: 1 })
  .decodeHttpRequest()
  .encodeHttpRequest()
  .connect('127.0.0.1:PORT_B')
  .decodeHttpResponse()
  .encodeHttpResponse()
`, map[string]int{"PORT_P": port, "PORT_B": backend.Addr().(*net.TCPAddr).Port}), 0)
	p := startScript(t, script, port)

	c := dial(t, port)
	c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\n")
	c.c.SetReadDeadline(time.Now().Add(4 * time.Second))
	r, err := c.tryReadResponse(4 * time.Second)
	if err != nil {
		t.Fatalf("first response: %v", err)
	}
	expectStatus(t, r, "HTTP/1.1", "200 OK")
	expectBody(t, r, "slow")
	p.stopOK()
}

func TestIdleTimeoutKeepAlive(t *testing.T) {
	port := freePort(t)
	script := writeScript(t, "idle_http.js", `pipy()

.listen(PORT, { idleTimeout: 1 })
  .decodeHttpRequest()
  .replaceMessage(new Message('ok'))
  .encodeHttpResponse()
`, port)
	p := startScript(t, script, port)

	// Requests every 400 ms keep the connection for 3 s.
	c := dial(t, port)
	for i := 0; i < 8; i++ {
		c.send("GET / HTTP/1.1\r\n\r\n")
		r := c.readResponse()
		expectBody(t, r, "ok")
		time.Sleep(400 * time.Millisecond)
	}
	// Then idle: closed about 1 s after the last response.
	start := time.Now().Add(-400 * time.Millisecond)
	got, took := closedWithin(t, c, start, 4*time.Second)
	if got != "" {
		t.Errorf("received %q, want a silent close", got)
	}
	if took < 900*time.Millisecond || took > 2500*time.Millisecond {
		t.Errorf("idle connection closed after %v, want about 1 s", took)
	}
	t.Logf("idle keep-alive connection closed after %v", took)
	p.stopOK()
}

func TestIdleTimeoutTCP(t *testing.T) {
	port := freePort(t)
	script := writeScript(t, "idle_echo.js", "pipy()\n\n.listen(PORT, { idleTimeout: 1 })\n", port)
	p := startScript(t, script, port)

	c := dial(t, port)
	for i := 0; i < 8; i++ {
		c.send("ping")
		if got := string(c.readN(4)); got != "ping" {
			t.Fatalf("echo = %q", got)
		}
		time.Sleep(400 * time.Millisecond)
	}
	start := time.Now().Add(-400 * time.Millisecond)
	_, took := closedWithin(t, c, start, 4*time.Second)
	if took < 900*time.Millisecond || took > 2500*time.Millisecond {
		t.Errorf("idle echo connection closed after %v, want about 1 s", took)
	}
	t.Logf("idle echo connection closed after %v", took)

	// idleTimeout 0 disables it; the default (60 s) leaves a short pause
	// alone.
	p.stopOK()
	port2 := freePort(t)
	script = writeScript(t, "no_idle.js", substPorts("pipy()\n\n.listen(PORT_A, { idleTimeout: 0 })\n\n.listen(PORT_B)\n", map[string]int{"PORT_A": port, "PORT_B": port2}), 0)
	p = startScript(t, script, port, port2)
	a, b := dial(t, port), dial(t, port2)
	stillOpen(t, a, 2*time.Second)
	stillOpen(t, b, 100*time.Millisecond)
	a.send("x")
	b.send("y")
	if string(a.readN(1)) != "x" || string(b.readN(1)) != "y" {
		t.Errorf("echo after a pause failed")
	}
	a.close()
	b.close()
	p.stopOK()
}

// A download whose client never sends anything is not idle while bytes
// flow to it; a client that stops reading is cut once nothing moves for
// idleTimeout.
func TestIdleTimeoutDownloads(t *testing.T) {
	up := startUpstream(t)
	port := freePort(t)
	script := writeScript(t, "idle_proxy.js", substPorts(`pipy()

.listen(PORT_P, { idleTimeout: 1 })
  .connect('127.0.0.1:PORT_UP')
`, map[string]int{"PORT_P": port, "PORT_UP": up.port}), 0)
	p := startScript(t, script, port)

	// Steady download for 3 s, the client silent but reading.
	c := dial(t, port)
	c.send("go")
	uc := up.accepted(t)
	uc.SetReadDeadline(time.Now().Add(ioTimeout))
	if _, err := io.ReadFull(uc, make([]byte, 2)); err != nil {
		t.Fatalf("upstream did not get the request: %v", err)
	}
	chunk := strings.Repeat("d", 8<<10)
	for i := 0; i < 12; i++ {
		uc.SetWriteDeadline(time.Now().Add(ioTimeout))
		if _, err := io.WriteString(uc, chunk); err != nil {
			t.Fatalf("upstream write %d: %v (pipy cut a flowing download)", i, err)
		}
		if got := c.readN(len(chunk)); len(got) != len(chunk) {
			t.Fatalf("short read")
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("3 s download with a silent client went through")

	// Now the client stops reading; the upstream keeps pushing.
	var pushed atomic.Int64
	upErr := make(chan error, 1)
	start := time.Now()
	go func() {
		big := []byte(strings.Repeat("s", 64<<10))
		for {
			uc.SetWriteDeadline(time.Now().Add(15 * time.Second))
			n, err := uc.Write(big)
			pushed.Add(int64(n))
			if err != nil {
				upErr <- err
				return
			}
		}
	}()
	// pipy stops reading the upstream (backpressure), then gives up on the
	// stalled client after idleTimeout and closes both sides.
	uc.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, uc)
	took := time.Since(start)
	if err != nil && !isReset(err) {
		t.Fatalf("upstream not closed within 10 s of the client stalling (%v; %s pushed)", err, mib(pushed.Load()))
	}
	if took < 900*time.Millisecond || took > 6*time.Second {
		t.Errorf("stalled client cut after %v, want 1 s after its last progress (plus the socket buffers filling)", took)
	}
	t.Logf("stalled reader: upstream closed %v after the client stopped reading (%s pushed)", took, mib(pushed.Load()))
	uc.Close()
	<-upErr
	p.stopOK()
}

func TestMaxConnections(t *testing.T) {
	port := freePort(t)
	script := writeScript(t, "max_conns.js", "pipy()\n\n.listen(PORT, { maxConnections: 2 })\n", port)
	p := startScript(t, script, port)

	echo := func(c *client, s string) {
		t.Helper()
		c.send(s)
		if got := string(c.readN(len(s))); got != s {
			t.Fatalf("echo %q = %q", s, got)
		}
	}
	c1, c2 := dial(t, port), dial(t, port)
	echo(c1, "1")
	echo(c2, "2")

	// The third and fourth connect (the kernel completes the handshake)
	// but wait in the backlog.
	c3, c4 := dial(t, port), dial(t, port)
	c3.send("3")
	c4.send("4")
	stillOpen(t, c3, 500*time.Millisecond)
	stillOpen(t, c4, 100*time.Millisecond)
	p.waitForLine("maxConnections (2) reached", ioTimeout)

	c1.close()
	if got := string(c3.readN(1)); got != "3" {
		t.Errorf("c3 echo = %q", got)
	}
	stillOpen(t, c4, 300*time.Millisecond)
	c2.close()
	if got := string(c4.readN(1)); got != "4" {
		t.Errorf("c4 echo = %q", got)
	}
	if n := p.countLines("maxConnections (2) reached"); n != 1 {
		t.Errorf("%d warnings for one burst, want 1", n)
	}
	c3.close()
	c4.close()
	p.stopOK()
}
