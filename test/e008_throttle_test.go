package test

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// 008-throttle: tap('100k') on bytes, then tap(1000) on messages.
func TestExample008Throttle(t *testing.T) {
	p := startScript(t, examplePath(t, "008-throttle"), 6080)

	r := rawRequest(t, 6080, "GET / HTTP/1.1\r\nHost: 127.0.0.1:6080\r\n\r\n")
	expectStatus(t, r, "HTTP/1.1", "200 OK")
	expectBody(t, r, "Hello!\n")

	// 20 sequential small requests: far below both quotas.
	start := time.Now()
	for i := 0; i < 20; i++ {
		r := rawRequest(t, 6080, "GET / HTTP/1.1\r\nHost: 127.0.0.1:6080\r\n\r\n")
		expectBody(t, r, "Hello!\n")
	}
	if d := time.Since(start); d >= time.Second {
		t.Errorf("20 sequential small requests took %v, want well under a second", d)
	} else {
		t.Logf("20 sequential small requests took %v", d)
	}

	// Wait for the byte quota to be refilled after the small requests.
	time.Sleep(1100 * time.Millisecond)

	// Uploading 300 000 bytes at 100 KiB/s takes about 2 s.
	const size = 300000
	c := dial(t, 6080)
	start = time.Now()
	writeErr := make(chan error, 1)
	go func() {
		c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		head := fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: 127.0.0.1:6080\r\nContent-Length: %d\r\n\r\n", size)
		_, err := io.WriteString(c.c, head+strings.Repeat("x", size))
		writeErr <- err
	}()
	resp, err := c.tryReadResponse(10 * time.Second)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("upload: reading the response: %v", err)
	}
	if err := <-writeErr; err != nil {
		t.Errorf("upload: write: %v", err)
	}
	expectStatus(t, resp, "HTTP/1.1", "200 OK")
	expectBody(t, resp, "Hello!\n")
	if elapsed < 1500*time.Millisecond || elapsed > 4*time.Second {
		t.Errorf("uploading %d bytes took %v, want between 1.5 s and 4 s", size, elapsed)
	} else {
		t.Logf("uploading %d bytes took %v", size, elapsed)
	}
	c.close()

	p.stopOK()
}
