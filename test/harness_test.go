// The harness of the end-to-end tests: the binary, free ports, processes
// and their output, clients.

package test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts used throughout the tests.
const (
	startTimeout = 10 * time.Second // until all "Listening on" lines appear
	ioTimeout    = 5 * time.Second  // a single request/response exchange
	dialTimeout  = 3 * time.Second
	exitTimeout  = 10 * time.Second // for runs expected to exit by themselves
	portWait     = 5 * time.Second  // waiting for a busy fixed port to become free
)

// ---------------------------------------------------------------------------
// Locations

// repoRoot returns the repository root: the parent of the test/ directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := findRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// examplePath returns the absolute path of test/<name>/pipy.js.
func examplePath(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "test", name, "pipy.js")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("example script missing: %v", err)
	}
	return p
}

// copyExample copies the files of the example test/<name> into a temporary
// directory, replacing in its pipy.js each old string of oldNew (old, new,
// old, new...) by the new one, and returns the copy's pipy.js. It fails if
// an old string is not in the script, so a changed example is noticed.
func copyExample(t testing.TB, name string, oldNew ...string) string {
	t.Helper()
	src := filepath.Dir(examplePath(t, name))
	dst, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	dst = filepath.Join(dst, name)
	if err := copyTree(src, dst); err != nil {
		t.Fatalf("copying example %s: %v", name, err)
	}
	script := filepath.Join(dst, "pipy.js")
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for i := 0; i+1 < len(oldNew); i += 2 {
		if !strings.Contains(text, oldNew[i]) {
			t.Fatalf("example %s/pipy.js no longer contains %q: update the test", name, oldNew[i])
		}
		text = strings.ReplaceAll(text, oldNew[i], oldNew[i+1])
	}
	if err := os.WriteFile(script, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return script
}

// writeScript writes text to <tempdir>/<name>, replacing every "PORT" by
// port (when port > 0), and returns the absolute path (symlinks resolved).
func writeScript(t testing.TB, name, text string, port int) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	if port > 0 {
		text = strings.ReplaceAll(text, "PORT", strconv.Itoa(port))
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatalf("write script: %v", err)
	}
	return p
}

// ---------------------------------------------------------------------------
// Ports

// freePort returns a port that was free a moment ago (bind 0.0.0.0:0, close).
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatalf("cannot get a free port: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// requirePortsFree checks that each port can be bound on 0.0.0.0, waiting up
// to portWait for busy ones (a previous pipy may still be shutting down).
func requirePortsFree(t testing.TB, ports ...int) {
	t.Helper()
	deadline := time.Now().Add(portWait)
	for _, port := range ports {
		for {
			ln, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", port))
			if err == nil {
				ln.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("port %d is busy (%v): stop whatever listens on it (another pipy?) and rerun", port, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// ---------------------------------------------------------------------------
// Captured output

// output collects stdout and stderr of a process. It keeps the raw bytes of
// each stream and the complete lines of both (in arrival order), and wakes
// waiters whenever a new line arrives.
type output struct {
	mu      sync.Mutex
	raw     map[string]*bytes.Buffer
	partial map[string][]byte
	lines   []string
	changed chan struct{} // closed (and replaced) when lines grow
}

func newOutput() *output {
	return &output{
		raw:     map[string]*bytes.Buffer{"stdout": {}, "stderr": {}},
		partial: map[string][]byte{},
		changed: make(chan struct{}),
	}
}

type streamWriter struct {
	o    *output
	name string
}

func (w streamWriter) Write(p []byte) (int, error) {
	o := w.o
	o.mu.Lock()
	defer o.mu.Unlock()
	o.raw[w.name].Write(p)
	buf := append(o.partial[w.name], p...)
	added := false
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		o.lines = append(o.lines, strings.TrimRight(string(buf[:i]), "\r"))
		buf = buf[i+1:]
		added = true
	}
	o.partial[w.name] = append([]byte(nil), buf...)
	if added {
		o.signalLocked()
	}
	return len(p), nil
}

func (o *output) signalLocked() {
	close(o.changed)
	o.changed = make(chan struct{})
}

// flush turns unterminated trailing text into lines (called at exit).
func (o *output) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, name := range []string{"stdout", "stderr"} {
		if len(o.partial[name]) > 0 {
			o.lines = append(o.lines, strings.TrimRight(string(o.partial[name]), "\r"))
			o.partial[name] = nil
		}
	}
	o.signalLocked()
}

// linesFrom returns the lines from index i on and a channel closed at the
// next change.
func (o *output) linesFrom(i int) ([]string, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if i > len(o.lines) {
		i = len(o.lines)
	}
	return append([]string(nil), o.lines[i:]...), o.changed
}

func (o *output) stdout() string { return o.stream("stdout") }
func (o *output) stderr() string { return o.stream("stderr") }

func (o *output) stream(name string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.raw[name].String()
}

// all returns every line seen so far (stdout and stderr interleaved by line).
func (o *output) all() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := strings.Join(o.lines, "\n")
	for _, name := range []string{"stdout", "stderr"} {
		if len(o.partial[name]) > 0 {
			s += "\n" + string(o.partial[name])
		}
	}
	return s
}

// ---------------------------------------------------------------------------
// The pipy process

type pipyProc struct {
	t        *testing.T
	cmd      *exec.Cmd
	out      *output
	done     chan struct{} // closed after the process exited and output is complete
	exitCode int           // valid after done; -1 when killed by a signal
	waitErr  error
}

// startPipy starts the pipy binary under test with args (without waiting for anything). The
// process is always killed at cleanup, and its output is logged if the test
// failed.
func startPipy(t *testing.T, args ...string) *pipyProc {
	t.Helper()
	bin := pipyBin(t)
	p := &pipyProc{t: t, out: newOutput(), done: make(chan struct{})}
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot(t)
	cmd.Stdout = streamWriter{p.out, "stdout"}
	cmd.Stderr = streamWriter{p.out, "stderr"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // own group: cleanup also reaches children
	cmd.WaitDelay = 2 * time.Second                       // children holding our pipes must not block Wait
	p.cmd = cmd
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", bin, err)
	}
	// Registered first, so it runs last (after the kill below).
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pipy %s output:\n%s", strings.Join(args, " "), p.out.all())
		}
	})
	t.Cleanup(p.kill)
	go func() {
		p.waitErr = cmd.Wait()
		p.exitCode = cmd.ProcessState.ExitCode()
		p.out.flush()
		close(p.done)
	}()
	return p
}

// startScript checks that ports are free, starts pipy on script and waits for
// one `[listener] Listening on 0.0.0.0:<port>` line per port.
func startScript(t *testing.T, script string, ports ...int) *pipyProc {
	t.Helper()
	requirePortsFree(t, ports...)
	p := startPipy(t, script)
	for _, port := range ports {
		p.waitListening(port)
	}
	return p
}

func (p *pipyProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill SIGKILLs the process group if the process is still running and waits
// for it.
func (p *pipyProc) kill() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.t.Logf("pipy (pid %d) did not die after SIGKILL", p.cmd.Process.Pid)
	}
}

// waitFor waits until a line satisfying match appears (in stdout or stderr),
// waking on every new line. It fails the test on timeout or if the process
// exits first. It returns the matching line.
func (p *pipyProc) waitFor(desc string, match func(string) bool, timeout time.Duration) string {
	p.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	idx := 0
	for {
		lines, changed := p.out.linesFrom(idx)
		for _, l := range lines {
			if match(l) {
				return l
			}
		}
		idx += len(lines)
		select {
		case <-changed:
		case <-p.done:
			lines, _ := p.out.linesFrom(idx)
			for _, l := range lines {
				if match(l) {
					return l
				}
			}
			p.t.Fatalf("pipy exited (status %d) before printing %s", p.exitCode, desc)
		case <-timer.C:
			p.t.Fatalf("timed out after %v waiting for %s", timeout, desc)
		}
	}
}

// waitForLine waits for a line containing substring.
func (p *pipyProc) waitForLine(substring string, timeout time.Duration) string {
	p.t.Helper()
	return p.waitFor(strconv.Quote(substring), func(l string) bool {
		return strings.Contains(l, substring)
	}, timeout)
}

// waitForAny waits for a line containing one of the substrings.
func (p *pipyProc) waitForAny(timeout time.Duration, substrings ...string) string {
	p.t.Helper()
	return p.waitFor(fmt.Sprintf("one of %q", substrings), func(l string) bool {
		for _, s := range substrings {
			if strings.Contains(l, s) {
				return true
			}
		}
		return false
	}, timeout)
}

// waitForCount waits until at least n lines contain substring.
func (p *pipyProc) waitForCount(substring string, n int, timeout time.Duration) {
	p.t.Helper()
	count := 0
	p.waitFor(fmt.Sprintf("%d lines containing %q", n, substring), func(l string) bool {
		if strings.Contains(l, substring) {
			count++
		}
		return count >= n
	}, timeout)
}

// waitListening waits for `[listener] Listening on 0.0.0.0:<port>`.
func (p *pipyProc) waitListening(port int) {
	p.t.Helper()
	want := fmt.Sprintf("[listener] Listening on 0.0.0.0:%d", port)
	p.waitFor(strconv.Quote(want), func(l string) bool {
		return strings.HasSuffix(strings.TrimRight(l, " "), want)
	}, startTimeout)
}

// countLines returns how many lines so far contain substring.
func (p *pipyProc) countLines(substring string) int {
	lines, _ := p.out.linesFrom(0)
	n := 0
	for _, l := range lines {
		if strings.Contains(l, substring) {
			n++
		}
	}
	return n
}

// waitExit waits for the process to exit by itself and returns its status,
// failing (and killing it) after timeout.
func (p *pipyProc) waitExit(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.exitCode
	case <-time.After(timeout):
		p.kill()
		p.t.Fatalf("pipy did not exit within %v", timeout)
		return -1
	}
}

// stop sends SIGINT, a second SIGINT after 5 s and SIGKILL after 10 s, and
// returns the exit status (-1 if killed). It reports whether the shutdown
// needed more than the first SIGINT.
func (p *pipyProc) stop() (code int, forced bool) {
	p.t.Helper()
	if p.exited() {
		return p.exitCode, false
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
		return p.exitCode, false
	case <-time.After(5 * time.Second):
	}
	p.t.Logf("pipy still running 5 s after SIGINT; sending a second SIGINT")
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
		return p.exitCode, true
	case <-time.After(5 * time.Second):
	}
	p.t.Logf("pipy still running 10 s after SIGINT; sending SIGKILL")
	p.kill()
	return -1, true
}

// stopOK stops pipy with SIGINT and asserts a graceful shutdown: exit status
// 0 after a single SIGINT, `Stopped.` logged and `Done.` printed on stdout
// after it.
func (p *pipyProc) stopOK() {
	p.t.Helper()
	code, forced := p.stop()
	if forced {
		p.t.Errorf("pipy needed more than one SIGINT to stop")
	}
	if code != 0 {
		p.t.Errorf("exit status after SIGINT = %d, want 0", code)
	}
	out := p.out.stdout()
	iStopped := strings.Index(out, "Stopped.")
	iDone := strings.LastIndex(out, "Done.")
	if iStopped < 0 {
		p.t.Errorf("stdout lacks `Stopped.`")
	}
	if iDone < 0 {
		p.t.Errorf("stdout lacks `Done.`")
	}
	if iStopped >= 0 && iDone >= 0 && iDone < iStopped {
		p.t.Errorf("`Done.` printed before `Stopped.`")
	}
}

// ---------------------------------------------------------------------------
// Raw TCP / HTTP clients

// client is a raw connection with a buffered reader; everything is bounded
// by deadlines.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func newClient(t *testing.T, c net.Conn) *client {
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

// dial connects to 127.0.0.1:port.
func dial(t *testing.T, port int) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), dialTimeout)
	if err != nil {
		t.Fatalf("connect 127.0.0.1:%d: %v", port, err)
	}
	return newClient(t, c)
}

// dialTLS connects to 127.0.0.1:port with TLS, without verifying the server.
func dialTLS(t *testing.T, port int) *client {
	t.Helper()
	d := &net.Dialer{Timeout: ioTimeout} // covers the handshake too
	c, err := tls.DialWithDialer(d, "tcp4", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS connect 127.0.0.1:%d: %v", port, err)
	}
	return newClient(t, c)
}

func (c *client) close() { c.c.Close() }

// send writes s completely.
func (c *client) send(s string) {
	c.t.Helper()
	c.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// closeWrite half-closes the connection (sends FIN).
func (c *client) closeWrite() {
	c.t.Helper()
	cw, ok := c.c.(interface{ CloseWrite() error })
	if !ok {
		c.t.Fatalf("connection %T cannot half-close", c.c)
	}
	if err := cw.CloseWrite(); err != nil {
		c.t.Fatalf("CloseWrite: %v", err)
	}
}

// response is a parsed HTTP response.
type response struct {
	RawHead string // status line and headers exactly as received, incl. the final CRLF CRLF
	Proto   string // e.g. "HTTP/1.1"
	Status  string // e.g. "200 OK"
	Code    int
	Header  http.Header
	Body    []byte
	Close   bool // Connection: close
}

func (r *response) String() string {
	return r.RawHead + string(r.Body)
}

// readResponse reads one HTTP response (head parsed with http.ReadResponse,
// body by Content-Length, chunked, or until EOF). It fails the test on
// error or timeout.
func (c *client) readResponse() *response {
	c.t.Helper()
	r, err := c.tryReadResponse(ioTimeout)
	if err != nil {
		c.t.Fatalf("reading HTTP response: %v", err)
	}
	return r
}

func (c *client) tryReadResponse(timeout time.Duration) (*response, error) {
	c.c.SetReadDeadline(time.Now().Add(timeout))
	var head strings.Builder
	for {
		line, err := c.br.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			return nil, fmt.Errorf("response head (got %q): %w", head.String(), err)
		}
		if line == "\r\n" || line == "\n" {
			if head.Len() == len(line) {
				return nil, fmt.Errorf("response starts with an empty line")
			}
			break
		}
		if head.Len() > 1<<20 {
			return nil, fmt.Errorf("response head too large")
		}
	}
	raw := head.String()
	hr, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
	if err != nil {
		return nil, fmt.Errorf("parsing response head %q: %w", raw, err)
	}
	hr.Body.Close()
	r := &response{
		RawHead: raw, Proto: hr.Proto, Status: hr.Status, Code: hr.StatusCode,
		Header: hr.Header, Close: hr.Close,
	}
	switch {
	case len(hr.TransferEncoding) > 0 && hr.TransferEncoding[0] == "chunked":
		r.Body, err = io.ReadAll(httputil.NewChunkedReader(c.br))
	case hr.ContentLength >= 0:
		r.Body = make([]byte, hr.ContentLength)
		_, err = io.ReadFull(c.br, r.Body)
	default:
		r.Body, err = io.ReadAll(c.br)
	}
	if err != nil {
		return r, fmt.Errorf("response body (head %q): %w", raw, err)
	}
	return r, nil
}

// readN reads exactly n bytes.
func (c *client) readN(n int) []byte {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(ioTimeout))
	b := make([]byte, n)
	m, err := io.ReadFull(c.br, b)
	if err != nil {
		c.t.Fatalf("read %d bytes: got %d (%q): %v", n, m, b[:m], err)
	}
	return b
}

// readToEOF reads until the server closes the connection, failing if that
// does not happen within timeout. A connection reset counts as closed.
func (c *client) readToEOF(timeout time.Duration) []byte {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(timeout))
	b, err := io.ReadAll(c.br)
	if err != nil && !isReset(err) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatalf("connection not closed by the server within %v (received %q)", timeout, b)
		}
		c.t.Fatalf("read until EOF: %v (received %q)", err, b)
	}
	return b
}

// expectEOF asserts that the server closes the connection within timeout
// without sending anything more.
func (c *client) expectEOF(timeout time.Duration) {
	c.t.Helper()
	if b := c.readToEOF(timeout); len(b) > 0 {
		c.t.Errorf("expected the connection to close, but received %q", b)
	}
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET)
}

// get opens a new connection to port, sends raw and reads one response.
func rawRequest(t *testing.T, port int, raw string) *response {
	t.Helper()
	c := dial(t, port)
	defer c.close()
	c.send(raw)
	return c.readResponse()
}

// ---------------------------------------------------------------------------
// Assertions

func expectStatus(t *testing.T, r *response, proto, status string) {
	t.Helper()
	if r.Proto != proto || r.Status != status {
		t.Errorf("status line = %q %q, want %q %q (response %q)", r.Proto, r.Status, proto, status, r.String())
	}
}

func expectBody(t *testing.T, r *response, body string) {
	t.Helper()
	if string(r.Body) != body {
		t.Errorf("body = %q, want %q", r.Body, body)
	}
}

func expectHeader(t *testing.T, r *response, name, value string) {
	t.Helper()
	vs := r.Header.Values(name)
	if len(vs) != 1 || vs[0] != value {
		t.Errorf("header %s = %q, want exactly one with value %q (head %q)", name, vs, value, r.RawHead)
	}
}

// expectHeaderNames asserts the set of header names (canonical form).
func expectHeaderNames(t *testing.T, r *response, names ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[http.CanonicalHeaderKey(n)] = true
	}
	for n := range r.Header {
		if !want[n] {
			t.Errorf("unexpected header %s in %q", n, r.RawHead)
		}
	}
	for n := range want {
		if _, ok := r.Header[n]; !ok {
			t.Errorf("missing header %s in %q", n, r.RawHead)
		}
	}
}

// runPipy runs pipy to completion (bounded by timeout) and returns the exit
// status with the captured output.
func runPipy(t *testing.T, timeout time.Duration, args ...string) (int, *output) {
	t.Helper()
	p := startPipy(t, args...)
	code := p.waitExit(timeout)
	return code, p.out
}
