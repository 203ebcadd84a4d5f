package interop

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// curlResponse is a `curl -i` output split up (the last head, if curl
// printed several, e.g. after a 100 Continue).
type curlResponse struct {
	Status string            // the status line, e.g. "HTTP/2 200"
	Header map[string]string // lower-case names, last value wins
	Body   string
}

func parseCurl(t testing.TB, out string) curlResponse {
	t.Helper()
	head, body, ok := strings.Cut(out, "\r\n\r\n")
	for ok && strings.Contains(head, " 100") && strings.HasPrefix(body, "HTTP/") {
		head, body, ok = strings.Cut(body, "\r\n\r\n")
	}
	if !ok {
		t.Fatalf("curl -i output has no end of head: %q", out)
	}
	lines := strings.Split(head, "\r\n")
	r := curlResponse{Status: strings.TrimSpace(lines[0]), Header: map[string]string{}, Body: body}
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok {
			r.Header[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return r
}

func expectCurl(t *testing.T, r curlResponse, status, body string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status line %q, want %q", r.Status, status)
	}
	if r.Body != body {
		t.Errorf("body %q, want %q", trim(r.Body), trim(body))
	}
}

// trim shortens long bodies in messages.
func trim(s string) string {
	if len(s) > 200 {
		return fmt.Sprintf("%s... (%d bytes)", s[:200], len(s))
	}
	return s
}

// TestCurlServe: curl speaks HTTP/2 by prior knowledge (h2c) and over TLS
// (ALPN h2) to a self-answering demuxHttp, and HTTP/1.1 on the same ports.
func TestCurlServe(t *testing.T) {
	requireCurlHTTP2(t)
	plain, secure := startServe(t)
	plainURL := fmt.Sprintf("http://127.0.0.1:%d/", plain)
	secureURL := fmt.Sprintf("https://127.0.0.1:%d/", secure)

	t.Run("H2CPriorKnowledge", func(t *testing.T) {
		r := parseCurl(t, curl(t, "-i", "--http2-prior-knowledge", plainURL))
		expectCurl(t, r, "HTTP/2 200", serveBody)
		if ct := r.Header["content-type"]; ct != "text/plain" {
			t.Errorf("content-type %q, want text/plain", ct)
		}
	})
	t.Run("H2OverTLS", func(t *testing.T) {
		r := parseCurl(t, curl(t, "-i", "--http2", "-k", secureURL))
		expectCurl(t, r, "HTTP/2 200", serveBody)
	})
	t.Run("HTTP11Plain", func(t *testing.T) {
		r := parseCurl(t, curl(t, "-i", "--http1.1", plainURL))
		expectCurl(t, r, "HTTP/1.1 200 OK", serveBody)
	})
	t.Run("HTTP11OverTLS", func(t *testing.T) {
		r := parseCurl(t, curl(t, "-i", "--http1.1", "-k", secureURL))
		expectCurl(t, r, "HTTP/1.1 200 OK", serveBody)
	})
	t.Run("HTTP10Plain", func(t *testing.T) {
		// A server answers with the highest version it speaks below the
		// request's major version (RFC 9110, 6.2): HTTP/1.1 is right too.
		r := parseCurl(t, curl(t, "-i", "--http1.0", plainURL))
		if r.Status != "HTTP/1.0 200 OK" && r.Status != "HTTP/1.1 200 OK" {
			t.Errorf("status line %q, want HTTP/1.x 200 OK", r.Status)
		}
		if r.Body != serveBody {
			t.Errorf("body %q, want %q", r.Body, serveBody)
		}
	})
	t.Run("H2OverTLSSeveralOnOneConnection", func(t *testing.T) {
		// curl reuses its connection for the URLs of one command line. (Not
		// tried with --http2-prior-knowledge: curl 7.88.1 fails the second
		// request with "Error in the HTTP2 framing layer" before sending it,
		// against Go's own h2c server as well.)
		out := curl(t, "--http2", "-k", "-w", "%{http_version} %{http_code} %{num_connects}\n",
			secureURL, secureURL+"a", secureURL+"b?c=d")
		want := strings.Repeat(serveBody+"2 200 0\n", 3)
		want = strings.Replace(want, "2 200 0", "2 200 1", 1)
		if out != want {
			t.Errorf("three requests on one connection: %q, want %q", out, want)
		}
	})
}

// proxyScript proxies every request (HTTP/1.x, h2c, h2 over TLS) to an
// upstream through muxHttp.
const proxyScript = `
pipy()

.listen(PLAIN)
  .demuxHttp('proxy')

.listen(SECURE, {
  tls: {
    cert: os.readFile('cert.pem').toString(),
    key: os.readFile('key.pem').toString(),
  },
})
  .demuxHttp('proxy')

.pipeline('proxy')
  .muxHttp('upstream', { version: VERSION })

.pipeline('upstream')
  .connect('127.0.0.1:UPSTREAM')
`

// startProxy starts proxyScript in front of upstream with muxHttp's version.
func startProxy(t *testing.T, upstream, version int) (plain, secure int) {
	t.Helper()
	dir := tempDir(t)
	writeSelfSignedCert(t, dir)
	plain, secure = freePort(t), freePort(t)
	script := writeScript(t, dir, "pipy.js", proxyScript,
		"PLAIN", itoa(plain), "SECURE", itoa(secure), "UPSTREAM", itoa(upstream), "VERSION", itoa(version))
	startPipy(t, script, plain, secure)
	return plain, secure
}

// TestCurlProxy: curl through demuxHttp → muxHttp to a Go backend that
// echoes the request: HTTP/2 upstream (version 2) and HTTP/1.1 upstream
// (version 1), whatever the client spoke; method, URI, host and a 256 KiB
// body arrive intact.
func TestCurlProxy(t *testing.T) {
	requireCurlHTTP2(t)
	body := make([]byte, 256<<10)
	rand.Read(body)
	bodyFile := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(bodyFile, body, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, up := range []struct {
		name    string
		version int
		proto   string // what the backend sees
	}{
		{"UpstreamH2", 2, "HTTP/2.0"},
		{"UpstreamHTTP11", 1, "HTTP/1.1"},
	} {
		t.Run(up.name, func(t *testing.T) {
			backend := startHTTPBackend(t, up.version == 2)
			plain, secure := startProxy(t, backend, up.version)
			for _, c := range []struct {
				name, status string
				args         []string
				port         int
				scheme       string
			}{
				{"H2C", "HTTP/2 200", []string{"--http2-prior-knowledge"}, plain, "http"},
				{"H2TLS", "HTTP/2 200", []string{"--http2", "-k"}, secure, "https"},
				{"HTTP11", "HTTP/1.1 200 OK", []string{"--http1.1", "-H", "Expect:"}, plain, "http"},
			} {
				t.Run(c.name, func(t *testing.T) {
					host := fmt.Sprintf("127.0.0.1:%d", c.port)
					url := fmt.Sprintf("%s://%s/echo/path?q=1&r=%%20", c.scheme, host)

					r := parseCurl(t, curl(t, append(c.args, "-i", url)...))
					expectCurl(t, r, c.status, "hello from backend\n")
					expectEcho(t, r, "GET", "/echo/path?q=1&r=%20", up.proto, host)

					r = parseCurl(t, curl(t, append(c.args, "-i", "--data-binary", "@"+bodyFile, url)...))
					if r.Status != c.status {
						t.Errorf("POST: status line %q, want %q", r.Status, c.status)
					}
					if !bytes.Equal([]byte(r.Body), body) {
						t.Errorf("POST: echoed body differs from the %d bytes sent (got %d bytes)", len(body), len(r.Body))
					}
					expectEcho(t, r, "POST", "/echo/path?q=1&r=%20", up.proto, host)
				})
			}
		})
	}
}

func expectEcho(t *testing.T, r curlResponse, method, uri, proto, host string) {
	t.Helper()
	for k, want := range map[string]string{
		"x-echo-method": method, "x-echo-uri": uri, "x-echo-proto": proto, "x-echo-host": host,
	} {
		if got := r.Header[k]; got != want {
			t.Errorf("%s: %q, want %q (the backend's view of the request)", k, got, want)
		}
	}
}
