package test

// SIGHUP reload (cli.md §6, README.md §1.10): a reload builds the new program
// beside the old one; new connections get the new pipelines, existing
// sessions finish on the old ones; a script that fails to load leaves the
// running program in place; ports added by the new script are opened and
// ports it drops are closed.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Helpers shared by reload_test.go, signals_test.go, tasks_test.go and
// backpressure_test.go.

// substPorts replaces each key of ports (e.g. "PORT_A") by its number.
// Longer keys are replaced first so that "PORT_AB" is not hit by "PORT_A".
func substPorts(text string, ports map[string]int) string {
	keys := make([]string, 0, len(ports))
	for k := range ports {
		keys = append(keys, k)
	}
	for i := range keys { // tiny: insertion sort by length, longest first
		for j := i; j > 0 && len(keys[j]) > len(keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	for _, k := range keys {
		text = strings.ReplaceAll(text, k, strconv.Itoa(ports[k]))
	}
	return text
}

// rewriteScript replaces the content of an existing script file.
func rewriteScript(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatalf("rewrite script: %v", err)
	}
}

// lineMark returns the number of output lines so far; pass it to
// waitLineSince to look only at lines printed later.
func (p *pipyProc) lineMark() int {
	lines, _ := p.out.linesFrom(0)
	return len(lines)
}

// linesSince returns the output lines from mark on.
func (p *pipyProc) linesSince(mark int) []string {
	lines, _ := p.out.linesFrom(mark)
	return lines
}

// waitLineSince waits for a line containing substring among the lines from
// mark on, failing the test on timeout or if pipy exits first.
func (p *pipyProc) waitLineSince(mark int, substring string, timeout time.Duration) string {
	p.t.Helper()
	l, ok := p.lookLineSince(mark, substring, timeout)
	if !ok {
		if p.exited() {
			p.t.Fatalf("pipy exited (status %d) before printing %q", p.exitCode, substring)
		}
		p.t.Fatalf("timed out after %v waiting for %q", timeout, substring)
	}
	return l
}

// lookLineSince is waitLineSince without failing: it reports whether a line
// containing substring appeared (from mark on) within timeout.
func (p *pipyProc) lookLineSince(mark int, substring string, timeout time.Duration) (string, bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	idx := mark
	for {
		lines, changed := p.out.linesFrom(idx)
		for _, l := range lines {
			if strings.Contains(l, substring) {
				return l, true
			}
		}
		idx += len(lines)
		select {
		case <-changed:
		case <-p.done:
			for _, l := range p.linesSince(idx) {
				if strings.Contains(l, substring) {
					return l, true
				}
			}
			return "", false
		case <-timer.C:
			return "", false
		}
	}
}

// signal sends sig to the pipy process.
func (p *pipyProc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("sending %v to pipy: %v", sig, err)
	}
}

// httpGet sends a keep-alive GET on c and returns the response body.
func (c *client) httpGet(path string) string {
	c.t.Helper()
	c.send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	r := c.readResponse()
	if r.Code != 200 {
		c.t.Errorf("GET %s: status %q, want 200", path, r.Status)
	}
	return string(r.Body)
}

// getOnce opens a connection to port, sends one keep-alive GET, closes the
// connection and returns the body.
func getOnce(t *testing.T, port int, path string) string {
	t.Helper()
	c := dial(t, port)
	defer c.close()
	return c.httpGet(path)
}

// expectRefused asserts that nothing accepts connections on 127.0.0.1:port.
func expectRefused(t *testing.T, port int) {
	t.Helper()
	c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), dialTimeout)
	if err == nil {
		c.Close()
		t.Errorf("connect to 127.0.0.1:%d succeeded, want connection refused (port should be closed)", port)
		return
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connect to 127.0.0.1:%d: %v, want connection refused", port, err)
	}
}

// ---------------------------------------------------------------------------

const reloadScriptV = `pipy()

.listen(PORT_A)
  .decodeHttpRequest()
  .replaceMessage(new Message('VERSION'))
  .encodeHttpResponse()
`

const reloadScriptBroken = `pipy()

.listen(PORT_A)
  .decodeHttpRequest()
  .replaceMessage(new Message('v3' +))
  .encodeHttpResponse()
`

const reloadScriptTwoPorts = `pipy()

.listen(PORT_A)
  .decodeHttpRequest()
  .replaceMessage(new Message('v4'))
  .encodeHttpResponse()

.listen(PORT_B)
  .decodeHttpRequest()
  .replaceMessage(new Message('v4b'))
  .encodeHttpResponse()
`

func reloadVersion(v string, ports map[string]int) string {
	return substPorts(strings.ReplaceAll(reloadScriptV, "VERSION", v), ports)
}

func TestReloadSIGHUP(t *testing.T) {
	const name = "reload.js"
	portA := freePort(t)
	ports := map[string]int{"PORT_A": portA}
	script := writeScript(t, name, reloadVersion("v1", ports), 0)
	p := startScript(t, script, portA)

	// Connection A: keep-alive, served by the first program.
	connA := dial(t, portA)
	if got := connA.httpGet("/a1"); got != "v1" {
		t.Fatalf("first response on connection A = %q, want v1", got)
	}

	// Reload to v2.
	rewriteScript(t, script, reloadVersion("v2", ports))
	reloadExpect(t, p, name, true)

	if got := getOnce(t, portA, "/new"); got != "v2" {
		t.Errorf("new connection after reload got %q, want v2", got)
	}
	if got := connA.httpGet("/a2"); got != "v1" {
		t.Errorf("old keep-alive connection A after reload got %q, want v1 (existing sessions finish on the old program)", got)
	}

	// A broken script: the reload fails, naming the file and the line, and
	// the running program (v2) stays in place.
	rewriteScript(t, script, substPorts(reloadScriptBroken, ports))
	lines := reloadExpect(t, p, name, false)
	text := strings.Join(lines, "\n")
	located := false
	for _, l := range lines {
		if strings.Contains(l, "/"+name) && (strings.Contains(l, ":5:") || strings.Contains(l, "Line 5")) {
			located = true
		}
	}
	if !located {
		t.Errorf("no reload error line names /%s with line 5 (`:5:` or `Line 5`); output since SIGHUP:\n%s", name, text)
	}
	if !strings.Contains(text, "SyntaxError") && !strings.Contains(strings.ToLower(text), "syntax") {
		t.Errorf("reload error does not mention a syntax error; output since SIGHUP:\n%s", text)
	}
	if got := getOnce(t, portA, "/after-broken"); got != "v2" {
		t.Errorf("new connection after a failed reload got %q, want v2 (old program must keep running)", got)
	}
	if got := connA.httpGet("/a3"); got != "v1" {
		t.Errorf("connection A after a failed reload got %q, want v1", got)
	}
	if p.exited() {
		t.Fatalf("pipy exited after a failed reload (status %d)", p.exitCode)
	}
	connA.close()
	p.stopOK()
}

func TestReloadAddsAndRemovesPort(t *testing.T) {
	const name = "reload_ports.js"
	portA, portB := freePort(t), freePort(t)
	for portB == portA {
		portB = freePort(t)
	}
	ports := map[string]int{"PORT_A": portA, "PORT_B": portB}
	script := writeScript(t, name, reloadVersion("v1", ports), 0)
	p := startScript(t, script, portA)
	requirePortsFree(t, portB)
	expectRefused(t, portB)

	// Add a second port.
	rewriteScript(t, script, substPorts(reloadScriptTwoPorts, ports))
	lines := reloadExpect(t, p, name, true)
	wantListen := fmt.Sprintf("[listener] Listening on 0.0.0.0:%d", portB)
	if !containsLine(lines, wantListen) {
		t.Errorf("no %q line after the reload that adds port %d", wantListen, portB)
	}
	for _, l := range lines {
		if strings.Contains(l, fmt.Sprintf("Listening on 0.0.0.0:%d", portA)) {
			t.Errorf("reload re-opened the kept port %d: %q", portA, l)
		}
	}
	if got := getOnce(t, portA, "/"); got != "v4" {
		t.Errorf("port A after the reload got %q, want v4", got)
	}
	connB := dial(t, portB)
	if got := connB.httpGet("/b1"); got != "v4b" {
		t.Errorf("added port B got %q, want v4b", got)
	}

	// Remove it again: the port must be closed; the open session on it may
	// finish on the old program.
	rewriteScript(t, script, reloadVersion("v5", ports))
	reloadExpect(t, p, name, true)
	expectRefused(t, portB)
	if got := getOnce(t, portA, "/"); got != "v5" {
		t.Errorf("port A after the second reload got %q, want v5", got)
	}
	if got := connB.httpGet("/b2"); got != "v4b" {
		t.Errorf("keep-alive connection on the dropped port got %q, want v4b (existing sessions should finish)", got)
	}
	connB.close()
	p.stopOK()
}

// reloadExpect sends SIGHUP and waits for `Script reloaded: /<name>` (wantOK)
// or `Failed reloading script: /<name>`, failing if the other outcome is
// logged. It returns the lines printed from the signal to the outcome line.
func reloadExpect(t *testing.T, p *pipyProc, name string, wantOK bool) []string {
	t.Helper()
	mark := p.lineMark()
	p.signal(syscall.SIGHUP)
	ok := "Script reloaded: /" + name
	bad := "Failed reloading script: /" + name
	idx := mark
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		lines, changed := p.out.linesFrom(idx)
		for i, l := range lines {
			gotOK, gotBad := strings.Contains(l, ok), strings.Contains(l, bad)
			if !gotOK && !gotBad {
				continue
			}
			all := p.linesSince(mark)[:idx-mark+i+1]
			if !containsLine(all, "Received SIGHUP, reloading script...") {
				t.Errorf("no `Received SIGHUP, reloading script...` line before %q", l)
			}
			if gotOK != wantOK {
				t.Fatalf("reload outcome %q, want %q; output since SIGHUP:\n%s", l, map[bool]string{true: ok, false: bad}[wantOK], strings.Join(all, "\n"))
			}
			return all
		}
		idx += len(lines)
		select {
		case <-changed:
		case <-p.done:
			t.Fatalf("pipy exited (status %d) during a reload", p.exitCode)
		case <-deadline.C:
			t.Fatalf("no %q nor %q within 10 s after SIGHUP; output since:\n%s", ok, bad, strings.Join(p.linesSince(mark), "\n"))
		}
	}
}

func containsLine(lines []string, substring string) bool {
	for _, l := range lines {
		if strings.Contains(l, substring) {
			return true
		}
	}
	return false
}
