package test

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// expectLoadFailure asserts a non-zero exit (1 or 255 accepted for now), no
// listener opened, and returns the combined output.
func expectLoadFailure(t *testing.T, script string) string {
	t.Helper()
	code, out := runPipy(t, exitTimeout, script)
	if code != 1 && code != 255 {
		t.Errorf("exit status = %d, want 255 (or 1)", code)
	}
	all := out.all()
	if strings.Contains(all, "Listening on") {
		t.Errorf("a listener was opened although the script failed to load")
	}
	return all
}

// expectLocation asserts that out names the script and the line.
func expectLocation(t *testing.T, out, script string, line int) {
	t.Helper()
	// Module names may be printed relative to the root directory
	// (`/name.js`) or absolute; both contain "/<basename>".
	if name := "/" + filepath.Base(script); !strings.Contains(out, name) {
		t.Errorf("output does not name the script (%s)", name)
	}
	if !strings.Contains(out, fmt.Sprintf(":%d:", line)) && !strings.Contains(out, fmt.Sprintf("Line %d", line)) {
		t.Errorf("output gives no location for line %d (want `:%d:` or `Line %d`)", line, line, line)
	}
}

func TestBadScriptSyntaxError(t *testing.T) {
	port := freePort(t)
	script := writeScript(t, "syntax_error.js", `pipy()

.listen(PORT)
  .decodeHttpRequest()
  .replaceMessage(new Message('hi' +))
  .encodeHttpResponse()
`, port)
	out := expectLoadFailure(t, script)
	expectLocation(t, out, script, 5)
}

func TestBadScriptUnknownFilter(t *testing.T) {
	port := freePort(t)
	script := writeScript(t, "unknown_filter.js", `pipy()

.listen(PORT)
  .noSuchFilter()
`, port)
	out := expectLoadFailure(t, script)
	if !strings.Contains(out, "noSuchFilter") {
		t.Errorf("load error does not mention noSuchFilter")
	}
	expectLocation(t, out, script, 4)
}

func TestBadPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	script := writeScript(t, "port_in_use.js", `pipy()

.listen(PORT)
  .decodeHttpRequest()
  .replaceMessage(new Message('x'))
  .encodeHttpResponse()
`, port)
	code, out := runPipy(t, exitTimeout, script)
	if code == 0 {
		t.Errorf("exit status = 0, want non-zero (255)")
	} else if code != 255 {
		t.Logf("exit status %d (spec: 255)", code)
	}
	all := out.all()
	if !strings.Contains(all, ":"+strconv.Itoa(port)) {
		t.Errorf("error does not mention the address (port %d)", port)
	}
	if !strings.Contains(strings.ToLower(all), "address already in use") {
		t.Errorf("error does not say `address already in use`")
	}
	if strings.Contains(all, fmt.Sprintf("Listening on 0.0.0.0:%d", port)) {
		t.Errorf("pipy claims to listen on the busy port")
	}
}

func TestBadCallbackThrows(t *testing.T) {
	port := freePort(t)
	script := writeScript(t, "throws.js", `pipy()

.listen(PORT)
  .decodeHttpRequest()
  .replaceMessage(
    msg => msg.head.path === '/bad' ? (() => { throw new Error('boom-' + msg.head.headers['x-id']) })() : new Message('ok')
  )
  .encodeHttpResponse()
`, port)
	p := startScript(t, script, port)

	// Each connection's error carries its own id, so the log line of the
	// second one cannot be confused with the first.
	for i := 1; i <= 2; i++ {
		c := dial(t, port)
		c.send(fmt.Sprintf("GET /bad HTTP/1.1\r\nHost: x\r\nX-Id: %d\r\n\r\n", i))
		if b := c.readToEOF(ioTimeout); len(b) > 0 {
			t.Errorf("/bad connection %d: expected close without a response, got %q", i, b)
		}
		c.close()
		p.waitForLine(fmt.Sprintf("boom-%d", i), ioTimeout)
	}

	r := rawRequest(t, port, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
	expectStatus(t, r, "HTTP/1.1", "200 OK")
	expectBody(t, r, "ok")

	p.stopOK()
}

var status400 = regexp.MustCompile(`^HTTP/1\.[01] 400 `)

func TestBadMalformedHTTP(t *testing.T) {
	port := freePort(t)
	script := writeScript(t, "hello.js", `pipy()

.listen(PORT)
  .decodeHttpRequest()
  .replaceMessage(new Message('ok'))
  .encodeHttpResponse()
`, port)
	p := startScript(t, script, port)

	cases := map[string]string{
		"Garbage":          "GARBAGE\r\n\r\n",
		"RequestLineNoSpc": "GET/index.htmlHTTP/1.1\r\nHost: x\r\n\r\n",
		"BadChunkSize":     "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
	}
	for _, name := range []string{"Garbage", "RequestLineNoSpc", "BadChunkSize"} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, port)
			c.send(cases[name])
			// Either a 400 response then close, or just close; never a hang.
			b := c.readToEOF(3 * time.Second)
			if len(b) > 0 && !status400.Match(b) {
				t.Errorf("got %q, want a 400 response or nothing before the close", b)
			}
		})
	}

	// The process keeps serving.
	r := rawRequest(t, port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	expectStatus(t, r, "HTTP/1.1", "200 OK")
	expectBody(t, r, "ok")

	p.stopOK()
}

func TestBadUpstreamRefused(t *testing.T) {
	port := freePort(t)
	closed := freePort(t)
	script := writeScript(t, "refused.js", fmt.Sprintf(`pipy()

.listen(PORT)
  .decodeHttpRequest()
  .encodeHttpRequest()
  .connect('127.0.0.1:%d')
  .decodeHttpResponse()
  .encodeHttpResponse()
`, closed), port)
	p := startScript(t, script, port)

	r := rawRequest(t, port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if r.Code != 503 {
		t.Errorf("status = %q, want 503", r.Status)
	} else if r.Status != "503 Connection Refused" {
		t.Errorf("status = %q, want `503 Connection Refused` (filters.md, decodeHttpResponse)", r.Status)
	}
	p.waitForAny(ioTimeout, "ConnectionRefused", "Connection refused")

	p.stopOK()
}
