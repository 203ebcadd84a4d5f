package docker

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	startTimeout = 15 * time.Second // pipy up and serving
	exitTimeout  = 15 * time.Second // a process to exit after a signal / by itself
)

// --- fixtures -----------------------------------------------------------------

func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// pipyBin returns the absolute path of ../../bin/pipy, skipping the test when
// it has not been built.
func pipyBin(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(repoRoot(t), "bin", "pipy")
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Skipf("%s not found: build it first (./build.sh or `make test`)", bin)
	}
	return bin
}

func entrypoint(t testing.TB) string {
	t.Helper()
	p, err := filepath.Abs("docker-entrypoint.sh")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot get a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var listenRE = regexp.MustCompile(`\.listen\(6080\)`)

// echoScript returns the echo example (test/001-echo/pipy.js) listening on
// 127.0.0.1:port instead of 0.0.0.0:6080, which other tests of the same
// `go test ./...` run use.
func echoScript(t testing.TB, port int) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "test", "001-echo", "pipy.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !listenRE.Match(src) {
		t.Fatalf("test/001-echo/pipy.js no longer has .listen(6080):\n%s", src)
	}
	return listenRE.ReplaceAllString(string(src), fmt.Sprintf(".listen('127.0.0.1:%d')", port))
}

// examplesDir writes DIR/001-echo/pipy.js (the echo example on port) and
// returns DIR, for PIPY_EXAMPLES_DIR.
func examplesDir(t testing.TB, port int) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "001-echo", "pipy.js"), echoScript(t, port))
	return dir
}

func writeFile(t testing.TB, path, text string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// --- shells ---------------------------------------------------------------------

// shell says how to run the entrypoint: directly (its #!/bin/sh line) or
// through busybox sh with a PATH holding busybox applets only.
type shell struct {
	name   string
	prefix []string // argv before the script; empty: exec the script itself
	path   string   // PATH for the entrypoint; empty: inherit
}

func shells(t *testing.T) []shell {
	out := []shell{{name: "sh"}}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Log("busybox not installed: the entrypoint runs under /bin/sh only (apt-get install busybox to also run it as alpine would)")
		return out
	}
	dir := t.TempDir()
	for _, applet := range []string{"sh", "wget", "grep"} {
		if err := os.Symlink(bb, filepath.Join(dir, applet)); err != nil {
			t.Fatal(err)
		}
	}
	return append(out, shell{name: "busybox", prefix: []string{filepath.Join(dir, "sh")}, path: dir})
}

// --- processes ------------------------------------------------------------------

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	done   chan struct{}
	err    error
}

// baseEnv is the environment without PIPY_* variables (a PIPY_SPAWN in the
// caller's environment must not leak into the cases).
func baseEnv(sh shell) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PIPY_") || (sh.path != "" && strings.HasPrefix(kv, "PATH=")) {
			continue
		}
		env = append(env, kv)
	}
	if sh.path != "" {
		env = append(env, "PATH="+sh.path)
	}
	return env
}

// startEntrypoint runs docker-entrypoint.sh args... with PIPY_BIN set to the
// real binary plus env, in its own process group that is killed at cleanup.
func startEntrypoint(t testing.TB, sh shell, env map[string]string, args ...string) *proc {
	t.Helper()
	argv := append(append(append([]string{}, sh.prefix...), entrypoint(t)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(baseEnv(sh), "PIPY_BIN="+pipyBin(t))
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &proc{t: t, cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("%v\n--- stdout:\n%s--- stderr:\n%s", argv, p.stdout, p.stderr)
		}
	})
	return p
}

// runEntrypoint runs the entrypoint to completion (bounded) and returns its
// exit status, stdout and stderr.
func runEntrypoint(t testing.TB, sh shell, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	p := startEntrypoint(t, sh, env, args...)
	code := p.wait(exitTimeout)
	return code, p.stdout.String(), p.stderr.String()
}

// wait waits up to d for the process to exit and returns its exit status.
func (p *proc) wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("process did not exit within %v", d)
	}
	if p.err == nil {
		return 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.t.Fatalf("process killed by %v", ws.Signal())
		}
		return ee.ExitCode()
	}
	p.t.Fatalf("wait: %v", p.err)
	return -1
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// post sends body to http://127.0.0.1:port/ until it gets an answer (pipy
// may still be starting), for at most startTimeout, and returns the
// response body.
func (p *proc) post(port int, body string) string {
	p.t.Helper()
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	deadline := time.Now().Add(startTimeout)
	var lastErr error
	for time.Now().Before(deadline) {
		if p.exited() {
			p.t.Fatalf("entrypoint exited before serving (%v)\nstderr:\n%s\nstdout:\n%s", p.err, p.stderr, p.stdout)
		}
		resp, err := client.Post(url, "text/plain", strings.NewReader(body))
		if err == nil {
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				return string(b)
			}
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("no answer from %s within %v: %v", url, startTimeout, lastErr)
	return ""
}

// signal sends sig to the entrypoint's process, which is pipy after the exec.
func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// --- /proc ----------------------------------------------------------------------

func cmdline(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// children returns the pids of pid's live (non-zombie) children.
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 2 || fields[0] == "Z" {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == pid {
			out = append(out, c)
		}
	}
	return out
}

func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

// workers returns the --worker=N slots of pid's children, by child pid.
func workers(pid int) map[int]string {
	out := map[int]string{}
	for _, c := range children(pid) {
		for _, a := range cmdline(c) {
			if strings.HasPrefix(a, "--worker=") {
				out[c] = a
			}
		}
	}
	return out
}

// requireExeced checks that the entrypoint's process now runs pipy itself
// (the shell exec'd it) with the given arguments.
func requireExeced(t testing.TB, p *proc, wantArgs []string) {
	t.Helper()
	pid := p.cmd.Process.Pid
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		t.Fatalf("readlink /proc/%d/exe: %v", pid, err)
	}
	if exe != pipyBin(t) {
		t.Fatalf("entrypoint process %d runs %s, want %s (pipy exec'd in place of the shell)", pid, exe, pipyBin(t))
	}
	got := cmdline(pid)
	want := append([]string{pipyBin(t)}, wantArgs...)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("pipy command line\n got %q\nwant %q", got, want)
	}
}

// --- the entrypoint -------------------------------------------------------------

func TestEntrypoint(t *testing.T) {
	pipyBin(t)
	for _, sh := range shells(t) {
		t.Run(sh.name, func(t *testing.T) {
			t.Run("DefaultConfigEcho", func(t *testing.T) { testDefaultConfigEcho(t, sh) })
			t.Run("Spawn", func(t *testing.T) { testSpawn(t, sh) })
			t.Run("InvalidSpawn", func(t *testing.T) { testInvalidSpawn(t, sh) })
			t.Run("DrainOnSIGTERM", func(t *testing.T) { testDrain(t, sh) })
			t.Run("SIGQUIT", func(t *testing.T) { testSIGQUIT(t, sh) })
			t.Run("Modes", func(t *testing.T) { testModes(t, sh) })
			t.Run("Errors", func(t *testing.T) { testErrors(t, sh) })
			t.Run("HealthcheckAddress", func(t *testing.T) { testHealthcheckAddress(t, sh) })
		})
	}
}

// No PIPY_CONFIG_FILE: the entrypoint runs $PIPY_EXAMPLES_DIR/001-echo/pipy.js,
// pipy replaces the shell, a POST's body comes back, SIGTERM ends it with 0.
func testDefaultConfigEcho(t *testing.T, sh shell) {
	port := freePort(t)
	dir := examplesDir(t, port)
	p := startEntrypoint(t, sh, map[string]string{"PIPY_EXAMPLES_DIR": dir})
	const body = "hello through docker-entrypoint.sh\n"
	if got := p.post(port, body); got != body {
		t.Fatalf("echo: got %q, want %q", got, body)
	}
	requireExeced(t, p, []string{"--drain-timeout=8s", filepath.Join(dir, "001-echo", "pipy.js")})
	if ws := workers(p.cmd.Process.Pid); len(ws) != 0 {
		t.Fatalf("PIPY_SPAWN unset: want one process, found workers %v", ws)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(exitTimeout); code != 0 {
		t.Fatalf("exit status after SIGTERM: %d, want 0", code)
	}
}

// PIPY_SPAWN=1: one master with two --worker children; the extra arguments
// come after the script; the health check asks the admin port; SIGTERM stops
// the master and its workers with status 0.
func testSpawn(t *testing.T, sh shell) {
	port, admin := freePort(t), freePort(t)
	script := writeFile(t, filepath.Join(t.TempDir(), "echo.js"), echoScript(t, port))
	env := map[string]string{
		"PIPY_CONFIG_FILE": script,
		"PIPY_SPAWN":       "1",
		"PIPY_ADMIN_PORT":  strconv.Itoa(admin),
	}
	p := startEntrypoint(t, sh, env, "--log-level=warn")
	if got := p.post(port, "spawned"); got != "spawned" {
		t.Fatalf("echo: got %q", got)
	}
	pid := p.cmd.Process.Pid
	requireExeced(t, p, []string{"--drain-timeout=8s", "--admin-port=" + strconv.Itoa(admin), script, "--log-level=warn"})

	var ws map[int]string
	deadline := time.Now().Add(startTimeout)
	for {
		ws = workers(pid)
		if len(ws) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	slots := []string{}
	for c, w := range ws {
		slots = append(slots, w)
		if args := strings.Join(cmdline(c), " "); !strings.Contains(args, "--log-level=warn") {
			t.Errorf("worker %d does not carry the extra argument: %s", c, args)
		}
	}
	sort.Strings(slots)
	if strings.Join(slots, " ") != "--worker=1 --worker=2" {
		t.Fatalf("PIPY_SPAWN=1: master %d has workers %v, want --worker=1 and --worker=2", pid, slots)
	}
	if env := environ(pid); env["PIPY_SPAWN"] != "1" {
		t.Errorf("pipy's PIPY_SPAWN = %q, want 1", env["PIPY_SPAWN"])
	}

	if code, _, stderr := runEntrypoint(t, sh, env, "healthcheck"); code != 0 {
		t.Fatalf("healthcheck on a serving master: status %d, stderr %q", code, stderr)
	}

	p.signal(syscall.SIGTERM)
	if code := p.wait(exitTimeout); code != 0 {
		t.Fatalf("exit status after SIGTERM: %d, want 0", code)
	}
	deadline = time.Now().Add(exitTimeout)
	for c := range ws {
		for alive(c) {
			if time.Now().After(deadline) {
				t.Fatalf("worker %d still alive after the master exited", c)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	code, _, stderr := runEntrypoint(t, sh, env, "healthcheck")
	if code == 0 || !strings.Contains(stderr, "no ready worker") {
		t.Fatalf("healthcheck with pipy stopped: status %d, stderr %q; want failure", code, stderr)
	}
}

func environ(pid int) map[string]string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	out := map[string]string{}
	for _, kv := range strings.Split(string(b), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

func testInvalidSpawn(t *testing.T, sh shell) {
	script := writeFile(t, filepath.Join(t.TempDir(), "echo.js"), echoScript(t, freePort(t)))
	for _, v := range []string{"abc", "-1", "1.5", "+1", " 1", "1 ", "0x2", "auto", "1024", "99999", "123456789012345678901234567890"} {
		start := time.Now()
		code, stdout, stderr := runEntrypoint(t, sh, map[string]string{"PIPY_CONFIG_FILE": script, "PIPY_SPAWN": v})
		if code != 255 {
			t.Errorf("PIPY_SPAWN=%q: exit status %d, want 255", v, code)
		}
		if !strings.Contains(stderr, "docker-entrypoint.sh: invalid PIPY_SPAWN='"+v+"'") {
			t.Errorf("PIPY_SPAWN=%q: stderr %q lacks the message", v, stderr)
		}
		if stdout != "" {
			t.Errorf("PIPY_SPAWN=%q: pipy seems to have run: %q", v, stdout)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("PIPY_SPAWN=%q: took %v to fail", v, d)
		}
	}
	// Valid spellings: empty is 0, leading zeros are dropped. --verify loads
	// the script without serving (pipy ignores spawning with it).
	for _, v := range []string{"", "0", "000", "0001"} {
		code, stdout, stderr := runEntrypoint(t, sh, map[string]string{"PIPY_CONFIG_FILE": script, "PIPY_SPAWN": v}, "--verify")
		if code != 0 || !strings.Contains(stdout, "Done.") {
			t.Errorf("PIPY_SPAWN=%q --verify: status %d, stdout %q, stderr %q", v, code, stdout, stderr)
		}
	}
}

// SIGTERM with a session open: pipy drains for PIPY_DRAIN_TIMEOUT (here 1s,
// instead of pipy's 30s), then exits 0.
func testDrain(t *testing.T, sh shell) {
	port := freePort(t)
	script := writeFile(t, filepath.Join(t.TempDir(), "echo.js"), echoScript(t, port))
	p := startEntrypoint(t, sh, map[string]string{"PIPY_CONFIG_FILE": script, "PIPY_DRAIN_TIMEOUT": "1s"})
	p.post(port, "up?")
	conn, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A request whose body never completes keeps the session open.
	if _, err := io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	p.signal(syscall.SIGTERM)
	code := p.wait(exitTimeout)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("exit status after SIGTERM: %d, want 0", code)
	}
	if took < 800*time.Millisecond || took > 8*time.Second {
		t.Fatalf("SIGTERM with an open session: exited after %v, want about PIPY_DRAIN_TIMEOUT=1s", took)
	}
	if out := p.stdout.String() + p.stderr.String(); !strings.Contains(out, "SIGTERM") {
		t.Fatalf("no SIGTERM handling in the log:\n%s", out)
	}
	// The connection is closed by the forced shutdown.
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := bufio.NewReader(conn).ReadString('\n'); err == nil {
		t.Log("(pipy answered the partial request before closing)")
	}
}

// SIGQUIT, the original image's stop signal, is a graceful stop too.
func testSIGQUIT(t *testing.T, sh shell) {
	port := freePort(t)
	p := startEntrypoint(t, sh, map[string]string{"PIPY_EXAMPLES_DIR": examplesDir(t, port)})
	p.post(port, "x")
	p.signal(syscall.SIGQUIT)
	if code := p.wait(exitTimeout); code != 0 {
		t.Fatalf("exit status after SIGQUIT: %d, want 0", code)
	}
}

// The argument modes (see the header of docker-entrypoint.sh).
func testModes(t *testing.T, sh shell) {
	port := freePort(t)
	dir := examplesDir(t, port)
	env := map[string]string{"PIPY_EXAMPLES_DIR": dir}
	defaultScript := filepath.Join(dir, "001-echo", "pipy.js")
	other := writeFile(t, filepath.Join(t.TempDir(), "other.js"), echoScript(t, port))

	verifies := func(t *testing.T, stdout, script string) {
		t.Helper()
		if !strings.Contains(stdout, "Done.") || !strings.Contains(stdout, "Listen on 127.0.0.1:"+strconv.Itoa(port)) {
			t.Fatalf("not a --verify of %s:\n%s", script, stdout)
		}
	}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want func(t *testing.T, stdout string)
	}{
		{"option first: default script plus options", env, []string{"--verify", "--log-level=debug"},
			func(t *testing.T, out string) { verifies(t, out, defaultScript) }},
		{"docker-start", env, []string{"docker-start", "--verify"},
			func(t *testing.T, out string) { verifies(t, out, defaultScript) }},
		{"pipy docker-start (the CMD)", env, []string{"pipy", "docker-start", "--verify"},
			func(t *testing.T, out string) { verifies(t, out, defaultScript) }},
		{"PIPY_CONFIG_FILE", map[string]string{"PIPY_EXAMPLES_DIR": dir, "PIPY_CONFIG_FILE": other}, []string{"--verify"},
			func(t *testing.T, out string) { verifies(t, out, other) }},
		{"pipy with its own arguments", env, []string{"pipy", "--verify", other},
			func(t *testing.T, out string) { verifies(t, out, other) }},
		{"pipy --version", env, []string{"pipy", "--version"},
			func(t *testing.T, out string) {
				if !strings.Contains(out, "Version") {
					t.Fatalf("no version:\n%s", out)
				}
			}},
		{"--version", env, []string{"--version"},
			func(t *testing.T, out string) {
				if !strings.Contains(out, "Version") {
					t.Fatalf("no version:\n%s", out)
				}
			}},
		{"another command", env, []string{"sh", "-c", `echo "other command, PIPY_BIN=$PIPY_BIN"`},
			func(t *testing.T, out string) {
				if out != "other command, PIPY_BIN="+pipyBin(t)+"\n" {
					t.Fatalf("got %q", out)
				}
			}},
		{"healthcheck without admin port", env, []string{"healthcheck"},
			func(t *testing.T, out string) {}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runEntrypoint(t, sh, c.env, c.args...)
			if code != 0 {
				t.Fatalf("%v: exit status %d\nstdout:\n%s\nstderr:\n%s", c.args, code, stdout, stderr)
			}
			c.want(t, stdout)
		})
	}
}

func testErrors(t *testing.T, sh shell) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"missing script", map[string]string{"PIPY_CONFIG_FILE": "/nonexistent/pipy.js"}, nil,
			"docker-entrypoint.sh: script not found: PIPY_CONFIG_FILE=/nonexistent/pipy.js"},
		{"missing default script", map[string]string{"PIPY_EXAMPLES_DIR": "/nonexistent"}, nil,
			"script not found: PIPY_CONFIG_FILE=/nonexistent/001-echo/pipy.js"},
		{"missing binary", map[string]string{"PIPY_BIN": "/nonexistent/pipy"}, []string{"pipy", "--version"},
			"docker-entrypoint.sh: pipy binary not found or not executable: PIPY_BIN=/nonexistent/pipy"},
		{"invalid PIPY_SPAWN with pipy", map[string]string{"PIPY_SPAWN": "x"}, []string{"pipy", "--version"},
			"invalid PIPY_SPAWN='x'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runEntrypoint(t, sh, c.env, c.args...)
			if code != 255 || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit status %d, stderr %q; want 255 and %q", code, stderr, c.want)
			}
		})
	}
}

// --- the staged image tree --------------------------------------------------------

// TestStageRootfs runs stage-rootfs.sh (the Dockerfile's builder step) on
// this repository and checks the image's file tree, then loads every staged
// example with the staged binary through the staged entrypoint.
func TestStageRootfs(t *testing.T) {
	bin := pipyBin(t)
	root := repoRoot(t)
	dest := filepath.Join(t.TempDir(), "rootfs")
	cmd := exec.Command("sh", "stage-rootfs.sh", root, bin, dest)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("stage-rootfs.sh: %v\n%s", err, out)
	}

	mode := func(p string) os.FileMode {
		t.Helper()
		fi, err := os.Lstat(filepath.Join(dest, p))
		if err != nil {
			t.Fatalf("staged tree: %v", err)
		}
		return fi.Mode()
	}
	for _, p := range []string{"usr/local/bin/pipy", "usr/local/bin/docker-entrypoint.sh"} {
		if m := mode(p); !m.IsRegular() || m.Perm() != 0o755 {
			t.Errorf("%s: mode %v, want -rwxr-xr-x", p, m)
		}
	}
	links := map[string]string{
		"docker-entrypoint.sh": "usr/local/bin/docker-entrypoint.sh",
		"etc/pipy/bin/pipy":    "/usr/local/bin/pipy",
	}
	for p, want := range links {
		if got, err := os.Readlink(filepath.Join(dest, p)); err != nil || got != want {
			t.Errorf("%s: link to %q (%v), want %q", p, got, err, want)
		}
	}
	for _, d := range []string{".", "usr", "usr/local", "usr/local/bin", "etc", "etc/pipy", "etc/pipy/test"} {
		if m := mode(d); !m.IsDir() || m.Perm() != 0o755 {
			t.Errorf("%s: mode %v, want drwxr-xr-x", d, m)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "usr/local/bin/docker-entrypoint.sh")); !bytes.Equal(b, mustRead(t, "docker-entrypoint.sh")) {
		t.Errorf("staged entrypoint differs from docker-entrypoint.sh")
	}

	// The examples: exactly the repository's test/NNN-name/ trees, minus Go files.
	want := exampleFiles(t, filepath.Join(root, "test"), true)
	got := exampleFiles(t, filepath.Join(dest, "etc/pipy/test"), false)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("staged examples differ\n got %v\nwant %v", got, want)
	}
	if len(want) == 0 || !contains(want, "001-echo/pipy.js") {
		t.Fatalf("no examples found (want at least 001-echo/pipy.js): %v", want)
	}
	for _, f := range got {
		if m := mode("etc/pipy/test/" + f); m.Perm() != 0o644 {
			t.Errorf("etc/pipy/test/%s: mode %v, want -rw-r--r--", f, m)
		}
	}

	// Each staged example loads (--verify) with the staged binary, run through
	// the staged entrypoint as `pipy /etc/pipy/test/NNN-name/pipy.js --verify`.
	stagedSh := shell{name: "sh"}
	scripts, _ := filepath.Glob(filepath.Join(dest, "etc/pipy/test/[0-9][0-9][0-9]-*/pipy.js"))
	if len(scripts) == 0 {
		t.Fatal("no staged test/NNN-*/pipy.js")
	}
	for _, s := range scripts {
		name := filepath.Base(filepath.Dir(s))
		t.Run("verify/"+name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(dest, "usr/local/bin/docker-entrypoint.sh"), "pipy", s, "--verify")
			cmd.Env = append(baseEnv(stagedSh), "PIPY_BIN="+filepath.Join(dest, "usr/local/bin/pipy"))
			cmd.Dir = t.TempDir()
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := runBounded(cmd, exitTimeout); err != nil || !strings.Contains(stdout.String(), "Done.") {
				t.Fatalf("%s --verify: %v\nstdout:\n%s\nstderr:\n%s", s, err, &stdout, &stderr)
			}
		})
	}
	// And the default script is the staged echo example.
	code, stdout, stderr := runStaged(t, dest, map[string]string{"PIPY_EXAMPLES_DIR": filepath.Join(dest, "etc/pipy/test")}, "--verify")
	if code != 0 || !strings.Contains(stdout, "Done.") || !strings.Contains(stdout, "Listen on 0.0.0.0:6080") {
		t.Fatalf("default script --verify: status %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func runStaged(t *testing.T, dest string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(dest, "usr/local/bin/docker-entrypoint.sh"), args...)
	cmd.Env = append(baseEnv(shell{}), "PIPY_BIN="+filepath.Join(dest, "usr/local/bin/pipy"))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := runBounded(cmd, exitTimeout)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// runBounded runs cmd, killing it after d.
func runBounded(cmd *exec.Cmd, d time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	timer := time.AfterFunc(d, func() { cmd.Process.Kill() })
	defer timer.Stop()
	return cmd.Wait()
}

// exampleFiles lists the files under dir/NNN-name/, relative to dir, sorted;
// with skipGo, without Go files.
func exampleFiles(t *testing.T, dir string, skipGo bool) []string {
	t.Helper()
	var out []string
	dirs, err := filepath.Glob(filepath.Join(dir, "[0-9][0-9][0-9]-*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pipy.js")); err != nil {
			continue
		}
		err := filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			if skipGo && strings.HasSuffix(p, ".go") {
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The health check turns PIPY_ADMIN_PORT's [host:]port into a loopback URL
// and wants a ready worker in /status; a stand-in master answers here.
func testHealthcheckAddress(t *testing.T, sh shell) {
	var mu sync.Mutex
	status := `{"workers":[{"slot":1,"ready":true,"stats":null}],"pipelines":[]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/status" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, status+"\n")
	}))
	defer srv.Close()
	port := strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	for _, admin := range []string{port, ":" + port, "0.0.0.0:" + port, "127.0.0.1:" + port} {
		if code, _, stderr := runEntrypoint(t, sh, map[string]string{"PIPY_ADMIN_PORT": admin}, "healthcheck"); code != 0 {
			t.Errorf("PIPY_ADMIN_PORT=%s: healthcheck status %d, stderr %q", admin, code, stderr)
		}
	}
	mu.Lock()
	status = `{"workers":[{"slot":1,"ready":false,"stats":null}],"pipelines":[]}`
	mu.Unlock()
	if code, _, stderr := runEntrypoint(t, sh, map[string]string{"PIPY_ADMIN_PORT": port}, "healthcheck"); code != 1 || !strings.Contains(stderr, "no ready worker at http://127.0.0.1:"+port+"/status") {
		t.Errorf("no ready worker: healthcheck status %d, stderr %q; want 1", code, stderr)
	}
}
