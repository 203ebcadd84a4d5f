package interop

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// h2loadRequests is how many requests each h2load run makes (-n), over 10
// connections (-c) with 10 streams each (-m).
const h2loadRequests = 20000

// TestH2load runs h2load (h2c by prior knowledge) against demuxHttp
// answering itself and proxying to an HTTP/1.1 backend through muxHttp
// version 1: every request must succeed with a 2xx.
func TestH2load(t *testing.T) {
	if _, err := exec.LookPath("h2load"); err != nil {
		t.Skip("\n*** SKIPPING: h2load is not installed (Debian: apt-get install nghttp2-client; .ci/run installs it)")
	}
	t.Run("Serve", func(t *testing.T) {
		plain, _ := startServe(t)
		runH2load(t, plain)
	})
	t.Run("ProxyToHTTP1", func(t *testing.T) {
		backend := startHTTPBackend(t, false)
		plain, _ := startProxy(t, backend, 1)
		runH2load(t, plain)
	})
	t.Run("ProxyToH2C", func(t *testing.T) {
		backend := startHTTPBackend(t, true)
		plain, _ := startProxy(t, backend, 2)
		runH2load(t, plain)
	})
}

var (
	h2loadRequestsLine = regexp.MustCompile(`requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2loadStatusLine   = regexp.MustCompile(`status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
)

func runH2load(t *testing.T, port int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	cmd := exec.CommandContext(ctx, "h2load", "-n", strconv.Itoa(h2loadRequests), "-c", "10", "-m", "10", url)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		t.Fatalf("h2load %s: %v\n%s", url, err, out.String())
	}
	m := h2loadRequestsLine.FindStringSubmatch(out.String())
	s := h2loadStatusLine.FindStringSubmatch(out.String())
	if m == nil || s == nil {
		t.Fatalf("h2load output has no requests or status codes line:\n%s", out.String())
	}
	n := func(v string) int { i, _ := strconv.Atoi(v); return i }
	total, done, succeeded, failed, errored, timeout := n(m[1]), n(m[3]), n(m[4]), n(m[5]), n(m[6]), n(m[7])
	ok2xx := n(s[1])
	t.Logf("h2load -n %d -c 10 -m 10 %s: %d done, %d succeeded, %d failed, %d errored, %d timeout, %d 2xx in %.1f s",
		h2loadRequests, url, done, succeeded, failed, errored, timeout, ok2xx, time.Since(start).Seconds())
	if total != h2loadRequests || done != total || succeeded != total || failed != 0 || errored != 0 || timeout != 0 || ok2xx != total {
		t.Errorf("h2load: not every request succeeded with a 2xx:\n%s", out.String())
	}
}
