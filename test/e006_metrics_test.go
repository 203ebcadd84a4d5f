package test

import (
	"strings"
	"testing"
	"time"
)

// 006-metrics: fork the request and response streams into decoders that
// count requests, statuses and latency buckets; port 9090 exposes them.
func TestExample006Metrics(t *testing.T) {
	p := startScript(t, examplePath(t, "006-metrics"), 6080, 9090, 8080)

	for i := 0; i < 3; i++ {
		r := rawRequest(t, 6080, "GET / HTTP/1.1\r\nHost: 127.0.0.1:6080\r\n\r\n")
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectBody(t, r, "Hello!\n")
	}

	// The counters are updated by forks of the streams; allow a short moment
	// for the last response to be counted.
	var body string
	deadline := time.Now().Add(time.Second)
	for {
		r := rawRequest(t, 9090, "GET / HTTP/1.1\r\nHost: 127.0.0.1:9090\r\n\r\n")
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		body = string(r.Body)
		if e006HasLines(body, "count 3", `status{code="200"} 3`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !e006HasLines(body, "count 3", `status{code="200"} 3`) {
		t.Errorf("metrics body %q lacks the lines `count 3` and `status{code=\"200\"} 3`", body)
	}
	if strings.HasSuffix(body, "\n") {
		t.Errorf("metrics body %q ends with a newline (lines are joined by \\n)", body)
	}
	for _, l := range strings.Split(body, "\n") {
		switch {
		case strings.HasPrefix(l, "count "), strings.HasPrefix(l, "status{code=\""):
		case strings.HasPrefix(l, "bucket"):
			if !strings.HasPrefix(l, `bucket{le="`) {
				t.Errorf("bucket line %q does not start with `bucket{le=\"`", l)
			}
		default:
			t.Errorf("unexpected metrics line %q in %q", l, body)
		}
	}

	p.stopOK()
}

func e006HasLines(body string, want ...string) bool {
	lines := map[string]bool{}
	for _, l := range strings.Split(body, "\n") {
		lines[l] = true
	}
	for _, w := range want {
		if !lines[w] {
			return false
		}
	}
	return true
}
