package master

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/ipc"
	"github.com/pipy-go/pipy/logging"
)

// The tests of this package start no process and bind no fixed port: the
// master gets fake workers (goroutines speaking the worker side of the ipc
// protocol over a socket pair), a fake upgrader, loopback sockets on
// ephemeral ports for every listen() and a channel for its signals.

// plan says how a fake worker behaves.
type plan struct {
	exitAtOnce string          // exit with this status before Ready ("" = no)
	readyAfter <-chan struct{} // send Ready once closed (nil = at once)
	holdDrain  bool            // on Drain keep "sessions" until Stop or Kill
	ignoreStop bool            // only Kill ends it
	reloadErr  string          // answer every Reload with this error
	stat       ipc.WorkerStat  // what it reports (PID is set to its pid)
}

// fakeLauncher starts fake workers; plan chooses the behaviour of the n-th
// launch (from 1) of a slot.
type fakeLauncher struct {
	plan func(slot, n int) plan

	mu       sync.Mutex
	launches map[int]int
	workers  []*fakeWorker
	taken    int // workers returned by next
}

func newFakeLauncher(p func(slot, n int) plan) *fakeLauncher {
	if p == nil {
		p = func(int, int) plan { return plan{} }
	}
	return &fakeLauncher{plan: p, launches: map[int]int{}}
}

func (l *fakeLauncher) Launch(a *ipc.Assignment) (Process, error) {
	master, worker, err := ipc.ConnPair()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.launches[a.Slot]++
	n := l.launches[a.Slot]
	l.mu.Unlock()
	w := &fakeWorker{slot: a.Slot, n: n, plan: l.plan(a.Slot, n), module: a.Module, listeners: a.Listeners,
		sockets: socketAddrs(a.Sockets), started: time.Now(), master: master, conn: worker,
		done: make(chan struct{}), killed: make(chan struct{}), crash: make(chan string, 1), msgs: make(chan *ipc.Message, 1024)}
	w.plan.stat.PID = w.PID()
	l.mu.Lock()
	l.workers = append(l.workers, w)
	l.mu.Unlock()
	go w.run()
	return w, nil
}

// current returns the latest worker of each slot, by slot.
func (l *fakeLauncher) current() map[int]*fakeWorker {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int]*fakeWorker{}
	for _, w := range l.workers {
		out[w.slot] = w
	}
	return out
}

func (l *fakeLauncher) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.workers)
}

// next waits for the launch after the last one next returned (or skip
// skipped).
func (l *fakeLauncher) next(t *testing.T) *fakeWorker {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		if l.taken < len(l.workers) {
			w := l.workers[l.taken]
			l.taken++
			l.mu.Unlock()
			return w
		}
		l.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no worker launched within 5 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// skip makes next ignore the launches so far.
func (l *fakeLauncher) skip() {
	l.mu.Lock()
	l.taken = len(l.workers)
	l.mu.Unlock()
}

// socketAddrs names sockets by their bound address, to tell them apart.
func socketAddrs(files []*os.File) []string {
	var out []string
	for _, f := range files {
		ln, err := net.FileListener(f)
		if err != nil {
			out = append(out, "?")
			continue
		}
		out = append(out, ln.Addr().String())
		ln.Close()
	}
	return out
}

// fakeWorker is a worker: the worker side of the protocol, run by plan.
type fakeWorker struct {
	slot, n   int
	plan      plan
	module    string   // of the assignment
	listeners []string // of the assignment
	sockets   []string // bound addresses of the assignment's sockets
	started   time.Time

	master, conn *ipc.Conn // the master's end, ours
	done         chan struct{}
	killed       chan struct{}
	killOnce     sync.Once
	crash        chan string
	msgs         chan *ipc.Message // every message from the master, in order

	mu     sync.Mutex
	status string
}

func (w *fakeWorker) Conn() *ipc.Conn       { return w.master }
func (w *fakeWorker) PID() int              { return 1000*w.slot + w.n }
func (w *fakeWorker) Done() <-chan struct{} { return w.done }
func (w *fakeWorker) Kill()                 { w.killOnce.Do(func() { close(w.killed) }) }
func (w *fakeWorker) ExitStatus() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

func (w *fakeWorker) exit(status string) {
	w.mu.Lock()
	w.status = status
	w.mu.Unlock()
	w.conn.Close()
	close(w.done)
}

func (w *fakeWorker) send(m *ipc.Message) { w.conn.Send(m) }

func (w *fakeWorker) report() {
	st := w.plan.stat
	w.send(&ipc.Message{Type: ipc.Stats, Stats: &st})
}

func (w *fakeWorker) run() {
	if w.plan.exitAtOnce != "" {
		w.exit(w.plan.exitAtOnce)
		return
	}
	if w.plan.readyAfter != nil {
		select {
		case <-w.plan.readyAfter:
		case <-w.killed:
			w.exit("killed by signal killed")
			return
		}
	}
	w.send(&ipc.Message{Type: ipc.Ready})
	w.report()
	in := make(chan *ipc.Message)
	go func() {
		defer close(in)
		for {
			m, files, err := w.conn.Recv()
			for _, f := range files {
				f.Close()
			}
			if err != nil {
				return
			}
			select {
			case in <- m:
			case <-w.done:
				return
			}
		}
	}()
	for {
		select {
		case m, ok := <-in:
			if !ok {
				w.exit("exit status 0") // the master has gone
				return
			}
			w.msgs <- m
			switch m.Type {
			case ipc.Reload:
				w.send(&ipc.Message{Type: ipc.Reloaded, Error: w.plan.reloadErr})
			case ipc.Stats:
				w.report()
			case ipc.Drain:
				w.send(&ipc.Message{Type: ipc.Draining})
				if !w.plan.holdDrain {
					w.exit("exit status 0")
					return
				}
			case ipc.Stop:
				if !w.plan.ignoreStop {
					w.exit("exit status 0")
					return
				}
			}
		case <-w.killed:
			w.exit("killed by signal killed")
			return
		case status := <-w.crash:
			w.exit(status)
			return
		}
	}
}

// expect waits for the next message of type typ from the master, skipping
// stats requests, and returns it.
func (w *fakeWorker) expect(t *testing.T, typ string) *ipc.Message {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-w.msgs:
			if m.Type == ipc.Stats && typ != ipc.Stats {
				continue
			}
			if m.Type != typ {
				t.Fatalf("worker %d#%d got %q, want %q", w.slot, w.n, m.Type, typ)
			}
			return m
		case <-deadline:
			t.Fatalf("worker %d#%d got no %q within 5 s", w.slot, w.n, typ)
			return nil
		}
	}
}

// quiet asserts that the worker gets no message but stats requests for d.
func (w *fakeWorker) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-w.msgs:
			if m.Type != ipc.Stats {
				t.Fatalf("worker %d#%d got %q, want nothing", w.slot, w.n, m.Type)
			}
		case <-deadline:
			return
		}
	}
}

func (w *fakeWorker) waitDone(t *testing.T) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("worker %d#%d still running", w.slot, w.n)
	}
}

// fakeUpgrader stands in for tableflip.
type fakeUpgrader struct {
	mu         sync.Mutex
	inherited  map[string]*os.File
	added      []string
	listeners  []net.Listener
	readyCalls int
	upgrades   int
	upgradeErr error
	exit       chan struct{}
	stopOnce   sync.Once
	exitOnce   sync.Once
	readyC     chan struct{}
}

func newFakeUpgrader() *fakeUpgrader {
	return &fakeUpgrader{inherited: map[string]*os.File{}, exit: make(chan struct{}), readyC: make(chan struct{}, 8)}
}

func (u *fakeUpgrader) Listen(network, addr string) (net.Listener, error) {
	ln, err := net.Listen(network, addr)
	if err == nil {
		u.mu.Lock()
		u.listeners = append(u.listeners, ln)
		u.mu.Unlock()
	}
	return ln, err
}

func (u *fakeUpgrader) File(name string) (*os.File, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	f := u.inherited[name]
	delete(u.inherited, name)
	return f, nil
}

func (u *fakeUpgrader) AddFile(name string, f *os.File) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.added = append(u.added, name)
	return nil
}

func (u *fakeUpgrader) Ready() error {
	u.mu.Lock()
	u.readyCalls++
	u.mu.Unlock()
	u.readyC <- struct{}{}
	return nil
}

func (u *fakeUpgrader) Upgrade() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.upgrades++
	return u.upgradeErr
}

// takeOver is the new binary saying it is ready.
func (u *fakeUpgrader) takeOver()             { u.exitOnce.Do(func() { close(u.exit) }) }
func (u *fakeUpgrader) Exit() <-chan struct{} { return u.exit }
func (u *fakeUpgrader) Stop()                 { u.stopOnce.Do(func() {}) }

func (u *fakeUpgrader) ready() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.readyCalls
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness runs a master on fakes.
type harness struct {
	t        *testing.T
	m        *Master
	root     string
	launcher *fakeLauncher
	upg      *fakeUpgrader
	sigs     chan os.Signal
	out      *logging.Output
	stdout   *syncBuffer
	code     chan int

	mu     sync.Mutex
	listen []string // addresses of the sockets opened, in order
}

// The scripts need no filter: listen declarations are all the master reads,
// and this package registers no filter family.
const helloScript = `pipy()

.listen(8080)
`

const twoPortScript = `pipy()

.listen(8080)

.listen(8081)
`

// newHarness prepares a master of n workers on a directory holding
// pipy.js (script); edit adjusts its options before it runs.
func newHarness(t *testing.T, script string, n int, l *fakeLauncher, edit func(*Options)) *harness {
	t.Helper()
	root := t.TempDir()
	writeFile(t, root, "pipy.js", script)
	h := &harness{t: t, root: root, launcher: l, upg: newFakeUpgrader(), sigs: make(chan os.Signal, 8),
		out: logging.NewOutput(&syncBuffer{}), stdout: &syncBuffer{}, code: make(chan int, 1)}
	opts := Options{Script: filepath.Join(root, "pipy.js"), Workers: n, DrainTimeout: 2 * time.Second,
		Launcher: l, Log: logging.New(h.out, hclog.Debug), Output: h.out}
	if edit != nil {
		edit(&opts)
	}
	e := &env{
		newUpgrader: func(string) (upgrader, error) { return h.upg, nil },
		listen:      h.listenSocket,
		signals:     func() (<-chan os.Signal, func()) { return h.sigs, func() {} },
		stdout:      h.stdout,
		timing: timing{backoffMin: 40 * time.Millisecond, backoffMax: 160 * time.Millisecond, stableAfter: 2 * time.Second,
			readyTimeout: 3 * time.Second, reloadTimeout: 3 * time.Second, statsWait: time.Second,
			killGrace: 100 * time.Millisecond, progressEvery: 50 * time.Millisecond},
	}
	h.m = newMaster(opts, e)
	t.Cleanup(func() {
		select {
		case <-h.m.quit:
		default:
			h.sigs <- os.Interrupt
			h.sigs <- os.Interrupt
			select {
			case <-h.m.quit:
			case <-time.After(5 * time.Second):
			}
		}
		if t.Failed() {
			t.Logf("master log:\n%s", strings.Join(h.lines(), "\n"))
		}
	})
	return h
}

// listenSocket opens a loopback socket on an ephemeral port for any
// listen() declaration.
func (h *harness) listenSocket(spec *filters.ListenSpec, reuse bool) (*os.File, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	name := "test"
	if spec != nil {
		name = spec.Addr()
		h.mu.Lock()
		h.listen = append(h.listen, fmt.Sprintf("%s reuse=%v", name, reuse))
		h.mu.Unlock()
	}
	return socketFile(ln.(*net.TCPListener), name)
}

// start runs the master and waits until it serves.
func (h *harness) start() *harness {
	h.t.Helper()
	go func() { h.code <- h.m.run() }()
	deadline := time.Now().Add(5 * time.Second)
	for !h.m.ready() {
		select {
		case c := <-h.code:
			h.t.Fatalf("the master exited with status %d during start-up", c)
		default:
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the master is not ready after 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.launcher.skip()
	return h
}

// exitCode waits for run to return.
func (h *harness) exitCode() int {
	h.t.Helper()
	select {
	case c := <-h.code:
		return c
	case <-time.After(10 * time.Second):
		h.t.Fatalf("the master did not stop within 10 s")
		return -1
	}
}

func (h *harness) lines() []string {
	_, lines := h.out.History(0)
	return lines
}

// waitLine waits for a log line containing s.
func (h *harness) waitLine(s string) string {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, l := range h.lines() {
			if strings.Contains(l, s) {
				return l
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no log line containing %q", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) count(s string) int {
	n := 0
	for _, l := range h.lines() {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

func writeFile(t *testing.T, dir, name, text string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
