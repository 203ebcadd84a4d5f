package worker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/logging"
	"github.com/pipy-go/pipy/scripts"
)

// lifeLog is a log buffer safe for the worker's goroutines and the test.
type lifeLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lifeLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lifeLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newLifeWorker returns a worker logging at debug level into a lifeLog.
func newLifeWorker(t *testing.T) (*Worker, *lifeLog) {
	t.Helper()
	var log lifeLog
	out := logging.NewOutput(&log)
	return New(Options{}, logging.New(out, hclog.Debug), out), &log
}

// keepAlive is an HTTP/1.1 client connection reused for several requests.
type keepAlive struct {
	c  net.Conn
	br *bufio.Reader
}

func dialKeepAlive(t *testing.T, addr string) *keepAlive {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &keepAlive{c: c, br: bufio.NewReader(c)}
}

// get sends a GET and returns the response body (Content-Length framed).
func (k *keepAlive) get(t *testing.T) string {
	t.Helper()
	k.c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(k.c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	n := -1
	for {
		line, err := k.br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the response head: %v", err)
		}
		if v, ok := strings.CutPrefix(strings.ToLower(line), "content-length:"); ok {
			fmt.Sscan(strings.TrimSpace(v), &n)
		}
		if line == "\r\n" {
			break
		}
	}
	if n < 0 {
		t.Fatal("response without Content-Length")
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(k.br, b); err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return string(b)
}

// waitRetired waits until the worker has at most n retired programs.
func waitRetired(t *testing.T, w *Worker, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(w.life.list()) > n {
		if time.Now().After(deadline) {
			t.Fatalf("%d retired programs still there after %v, want at most %d:\n%s", len(w.life.list()), timeout, n, w.StatusText())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // the first may leave what cleanups just released
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// reloadLeakScript has what a reload must free besides the runtime: a
// listener with a sub-pipeline per request (fork), a keep-alive decoder and
// a task that runs at once and every 50 ms.
const reloadLeakScript = `pipy({ _n: 0 })
.listen('127.0.0.1:0')
  .decodeHttpRequest()
  .fork('count')
  .replaceMessage(new Message('hello'))
  .encodeHttpResponse()
.pipeline('count')
  .onMessageStart(() => _n++)
  .dummy()
.task('0.05s')
  .onMessageStart(() => _n++)
  .replaceMessage(() => new SessionEnd)
`

// TestReloadThousandTimesFreesPrograms reloads 1,000 times under light
// traffic (a keep-alive connection whose sessions outlive several reloads,
// and new connections) and checks that the live heap stays within 2 MiB of
// what it was after a warm-up, that every replaced program ended and was
// collected, and that no goroutine is left behind.
func TestReloadThousandTimesFreesPrograms(t *testing.T) {
	reloads := 1000
	if testing.Short() {
		reloads = 200
	}
	// Logs go nowhere: kept in a buffer, they would be the growth measured.
	out := logging.NewOutput(io.Discard)
	w := New(Options{}, logging.New(out, hclog.Info), out)
	f := writeScript(t, reloadLeakScript)
	if err := w.Start(f); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown(nil, time.Second)
	addr := w.Addr(0)
	var live atomic.Int64 // programs not yet collected
	reload := func() {
		t.Helper()
		if err := w.Reload(); err != nil {
			t.Fatal(err)
		}
		live.Add(1)
		runtime.AddCleanup(w.Program(), func(*atomic.Int64) { live.Add(-1) }, &live)
	}
	var keep *keepAlive
	step := 0
	traffic := func() {
		t.Helper()
		if got := get(t, addr); !strings.HasSuffix(got, "\r\n\r\nhello") {
			t.Fatalf("response = %q", got)
		}
		if keep == nil || step%8 == 0 {
			if keep != nil {
				keep.c.Close()
			}
			keep = dialKeepAlive(t, addr)
		}
		step++
		if got := keep.get(t); got != "hello" {
			t.Fatalf("keep-alive response = %q", got)
		}
	}

	for i := 0; i < 10; i++ { // warm-up
		reload()
		traffic()
	}
	keep.c.Close()
	keep = nil
	waitRetired(t, w, 0, 5*time.Second)
	goroutines := runtime.NumGoroutine()
	start := liveHeap()

	began := time.Now()
	for i := 1; i <= reloads; i++ {
		reload()
		if i%10 == 0 {
			traffic()
		}
	}
	elapsed := time.Since(began)
	keep.c.Close()
	waitRetired(t, w, 0, 5*time.Second)

	end := liveHeap()
	t.Logf("%d reloads in %v; live heap %.2f MiB after the warm-up, %.2f MiB after the reloads",
		reloads, elapsed.Round(time.Millisecond), float64(start)/(1<<20), float64(end)/(1<<20))
	if end > start+2<<20 {
		t.Errorf("live heap grew by %.2f MiB over %d reloads (limit 2 MiB)", float64(end-start)/(1<<20), reloads)
	}
	// Cleanups run after a collection, on their own goroutine.
	deadline := time.Now().Add(5 * time.Second)
	for live.Load() > 1 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if n := live.Load(); n > 1 {
		t.Errorf("%d programs are still reachable, want only the running one", n)
	}
	deadline = time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the reloads, %d before:\n%s", n, goroutines, buf[:runtime.Stack(buf, true)])
	}
}

// TestRetiredProgramEndsWithItsLastSession: a session of a replaced
// program goes on on the old pipelines; the program ends when that session
// does, and its script runtime is closed then.
func TestRetiredProgramEndsWithItsLastSession(t *testing.T) {
	w, _ := newLifeWorker(t)
	ended := make(chan *filters.Program, 4)
	w.life.ended = func(p *filters.Program) { ended <- p }
	src := `pipy().listen('127.0.0.1:0').decodeHttpRequest().replaceMessage(() => new Message('%s')).encodeHttpResponse()`
	f := writeScript(t, fmt.Sprintf(src, "one"))
	if err := w.Start(f); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown(nil, time.Second)
	addr := w.Addr(0)
	old := w.Program()
	keep := dialKeepAlive(t, addr)
	if got := keep.get(t); got != "one" {
		t.Fatalf("before the reload: %q", got)
	}

	os.WriteFile(f, []byte(fmt.Sprintf(src, "two")), 0o644)
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := get(t, addr); !strings.HasSuffix(got, "\r\n\r\ntwo") {
		t.Fatalf("new connection after the reload: %q", got)
	}
	if got := keep.get(t); got != "one" {
		t.Fatalf("the old connection after the reload: %q, want the old program's answer", got)
	}
	if r := w.life.list(); len(r) != 1 || r[0] != old {
		t.Fatalf("retired programs = %v, want the old one", r)
	}
	if rows := w.StatusText(); !strings.Contains(rows, "[STALE] /main.js") {
		t.Fatalf("the status table does not show the old program:\n%s", rows)
	}
	select {
	case p := <-ended:
		t.Fatalf("program %p ended while its session goes on", p)
	default:
	}

	closed := time.Now()
	keep.c.Close()
	select {
	case p := <-ended:
		if p != old {
			t.Fatalf("ended %p, want the old program %p", p, old)
		}
		t.Logf("the old program ended %v after its last connection closed", time.Since(closed).Round(time.Microsecond))
	case <-time.After(5 * time.Second):
		t.Fatalf("the old program did not end after its last session:\n%s", w.StatusText())
	}
	if len(w.life.list()) != 0 {
		t.Fatalf("retired programs left: %d", len(w.life.list()))
	}
	// Its runtime is closed: nothing runs script code in it any more.
	w.Loop.Enter()
	_, err := old.Script.Call(old.NewContext(nil), nil)
	w.Loop.Leave()
	if !errors.Is(err, scripts.ErrEnded) {
		t.Fatalf("call into the ended program: %v, want ErrEnded", err)
	}
	// The running program is untouched.
	if got := get(t, addr); !strings.HasSuffix(got, "\r\n\r\ntwo") {
		t.Fatalf("after the old program ended: %q", got)
	}
	if w.Program() == old {
		t.Fatal("the running program is the old one")
	}
}

// sharedTemplate stands for a template that keeps a session of its own
// across the sessions that use it (like mux()): the first session made
// starts a session of the pipeline "shared", which only Retire ends.
type sharedTemplate struct {
	shared  *filters.Pipeline
	session *filters.Session
	retired atomic.Int32
}

func (f *sharedTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	if f.session == nil {
		f.session = f.shared.NewSession(s.Context.Derive(), filters.Discard)
	}
	return out
}

func (f *sharedTemplate) Retire() {
	f.retired.Add(1)
	f.session.End(filters.NoError)
}

// TestRetiredProgramRetiresTemplates: a template that keeps sessions
// across sessions is told when its program is retired, while sessions of
// the program still run; the program ends when they have ended.
func TestRetiredProgramRetiresTemplates(t *testing.T) {
	w, _ := newLifeWorker(t)
	ended := make(chan *filters.Program, 4)
	w.life.ended = func(p *filters.Program) { ended <- p }
	f := writeScript(t, `pipy()
.listen('127.0.0.1:0')
  .decodeHttpRequest()
  .replaceMessage(new Message('one'))
  .encodeHttpResponse()
.pipeline('shared')
  .dummy()
`)
	p, err := w.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	var listen, shared *filters.Pipeline
	for _, pl := range p.Pipelines() {
		switch pl.Kind {
		case filters.ListenPipeline:
			listen = pl
		case filters.NamedPipeline:
			shared = pl
		}
	}
	tmpl := &sharedTemplate{shared: shared}
	listen.Filters = append([]*filters.FilterDecl{{Name: "shared", Template: tmpl}}, listen.Filters...)
	if err := w.Run(p); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown(nil, time.Second)
	keep := dialKeepAlive(t, w.Addr(0))
	if got := keep.get(t); got != "one" {
		t.Fatalf("response = %q", got)
	}
	if n := tmpl.retired.Load(); n != 0 {
		t.Fatalf("Retire called %d times on the running program", n)
	}

	next, err := w.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(next); err != nil {
		t.Fatal(err)
	}
	if n := tmpl.retired.Load(); n != 1 {
		t.Fatalf("Retire called %d times by the reload, want once", n)
	}
	if n := shared.ActiveN.Load(); n != 0 {
		t.Fatalf("%d shared sessions after Retire, want 0", n)
	}
	if got := keep.get(t); got != "one" {
		t.Fatalf("the old connection after the reload: %q", got)
	}
	select {
	case p := <-ended:
		t.Fatalf("program %p ended while its connection is open", p)
	default:
	}
	keep.c.Close()
	select {
	case got := <-ended:
		if got != p {
			t.Fatalf("ended %p, want %p", got, p)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the program did not end:\n%s", w.StatusText())
	}
	if n := tmpl.retired.Load(); n != 1 {
		t.Fatalf("Retire called %d times in all, want once", n)
	}
}

// TestRetiredProgramWithoutSessionsEndsAtOnce: a program with no session
// ends during the reload that replaces it.
func TestRetiredProgramWithoutSessionsEndsAtOnce(t *testing.T) {
	w, _ := newLifeWorker(t)
	var ended []*filters.Program
	w.life.ended = func(p *filters.Program) { ended = append(ended, p) }
	f := writeScript(t, `pipy().listen('127.0.0.1:0').dummy()`)
	if err := w.Start(f); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown(nil, time.Second)
	old := w.Program()
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	if len(ended) != 1 || ended[0] != old {
		t.Fatalf("ended during the reload: %v, want the old program %p", ended, old)
	}
	if _, err := old.Script.Call(old.NewContext(nil), nil); !errors.Is(err, scripts.ErrEnded) {
		t.Fatalf("call into the ended program: %v, want ErrEnded", err)
	}
	w.StopProgram()
	if len(ended) != 2 || ended[1] == old {
		t.Fatalf("StopProgram did not end the running program without sessions: %v", ended)
	}
}

// TestRetiredProgramEndsScriptSessions: a session a script made with new
// Session (a background job kept in a global) would run for good; once the
// retired program has no connection left, it is ended and the program
// ends.
func TestRetiredProgramEndsScriptSessions(t *testing.T) {
	w, _ := newLifeWorker(t)
	ended := make(chan *filters.Program, 4)
	w.life.ended = func(p *filters.Program) { ended <- p }
	f := writeScript(t, `pipy({ _g: { bg: null } })
.listen('127.0.0.1:0')
  .onSessionStart(() => { _g.bg || (_g.bg = new Session(__filename, 'bg')) })
  .decodeHttpRequest()
  .replaceMessage(new Message('one'))
  .encodeHttpResponse()
.pipeline('bg')
  .dummy()
`)
	if err := w.Start(f); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown(nil, time.Second)
	old := w.Program()
	keep := dialKeepAlive(t, w.Addr(0))
	if got := keep.get(t); got != "one" {
		t.Fatalf("response = %q", got)
	}
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := keep.get(t); got != "one" {
		t.Fatalf("the old connection after the reload: %q", got)
	}
	keep.c.Close()
	select {
	case p := <-ended:
		if p != old {
			t.Fatalf("ended %p, want %p", p, old)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the old program did not end:\n%s", w.StatusText())
	}
}

// TestReloadDuringReloadIsQueued: a reload asked for while one runs is not
// lost: one more follows, with the script as it is then.
func TestReloadDuringReloadIsQueued(t *testing.T) {
	w, logs := newLifeWorker(t)
	src := `pipy().listen('127.0.0.1:0').decodeHttpRequest().replaceMessage(new Message('%s')).encodeHttpResponse()`
	f := writeScript(t, fmt.Sprintf(src, "one"))
	if err := w.Start(f); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown(nil, time.Second)
	// A reload in progress (as ReloadModule marks it) while another is asked for.
	w.mu.Lock()
	w.reloading = true
	w.mu.Unlock()
	os.WriteFile(f, []byte(fmt.Sprintf(src, "two")), 0o644)
	if err := w.Reload(); err != nil {
		t.Fatalf("a reload asked for during another: %v, want it queued", err)
	}
	if !strings.Contains(logs.String(), "Reload queued") {
		t.Fatalf("log lacks the queued reload:\n%s", logs)
	}
	// The running reload finishes and runs the queued one.
	w.mu.Lock()
	w.reloading = false
	queued := w.queued
	w.mu.Unlock()
	if !queued {
		t.Fatal("the reload was not queued")
	}
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "Script reloaded: /main.js"); n != 2 {
		t.Fatalf("%d reloads logged, want 2 (the asked one and the queued one):\n%s", n, logs)
	}
	if got := get(t, w.Addr(0)); !strings.HasSuffix(got, "\r\n\r\ntwo") {
		t.Fatalf("after the reloads: %q", got)
	}
}

// TestConcurrentReloads: reloads asked for at once all succeed (run or
// queued) and the last one sees the script as last written.
func TestConcurrentReloads(t *testing.T) {
	w, _ := newLifeWorker(t)
	src := `pipy().listen('127.0.0.1:0').decodeHttpRequest().replaceMessage(new Message('%s')).encodeHttpResponse()`
	f := writeScript(t, fmt.Sprintf(src, "one"))
	if err := w.Start(f); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown(nil, time.Second)
	os.WriteFile(f, []byte(fmt.Sprintf(src, "two")), 0o644)
	errs := make(chan error, 10)
	for i := 0; i < cap(errs); i++ {
		go func() { errs <- w.Reload() }()
	}
	for i := 0; i < cap(errs); i++ {
		if err := <-errs; err != nil {
			t.Errorf("reload: %v", err)
		}
	}
	// A queued reload may still run: wait until none does.
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		busy := w.reloading
		w.mu.Unlock()
		if !busy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still reloading after 5 s")
		}
		time.Sleep(time.Millisecond)
	}
	if got := get(t, w.Addr(0)); !strings.HasSuffix(got, "\r\n\r\ntwo") {
		t.Fatalf("after the reloads: %q", got)
	}
}
