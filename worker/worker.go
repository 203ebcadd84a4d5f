// Package worker runs one pipy program in this process: it opens the
// listeners a script declares, accepts connections and runs a session of the
// listening pipeline for each, runs task pipelines on their timers, reloads a
// new version of the program beside the running one, drains on shutdown and
// prints the status table.
//
// A program's life ends when its last session has ended after a reload
// replaced it: see lifecycle.go.
//
// A worker process or the master's own process runs it through Serve
// (child.go), which speaks the ipc protocol with the master.
package worker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/ipc"
	"github.com/pipy-go/pipy/logging"
	"github.com/pipy-go/pipy/scripts"
)

// Options configure a Worker.
type Options struct {
	// ReusePort is the default of listen()'s reuse option (--reuse-port).
	ReusePort bool
	// HalfCloseTimeout bounds how long a connection whose client has
	// closed its side keeps waiting for the session to finish (default 10 s).
	HalfCloseTimeout time.Duration
	// Listen opens a listening socket; nil means the worker's own (with
	// SO_REUSEADDR, and SO_REUSEPORT when asked). The master replaces it to
	// hand over inherited sockets.
	Listen func(spec *filters.ListenSpec, reuse bool) (net.Listener, error)
}

// Worker runs programs in this process.
type Worker struct {
	opts   Options
	Loop   *filters.Loop
	Env    *filters.Env
	Log    hclog.Logger
	Output *logging.Output

	mu           sync.Mutex // guards the fields below (taken inside the loop)
	root         string     // root directory of the running program
	name         string     // its root module, e.g. "/pipy.js"; "" when none
	prog         *filters.Program
	listeners    map[int]*listener
	tasks        []*task
	stopping     bool
	reloading    bool
	queued       bool         // a reload was asked for while one ran
	queuedModule string       // its module ("" for the running one)
	pending      atomic.Int64 // accepted connections whose session is not made yet

	// life tracks each program until it ends (lifecycle.go).
	life lifecycle
}

// New returns a worker logging to log/out.
func New(opts Options, log hclog.Logger, out *logging.Output) *Worker {
	w := &Worker{opts: opts, Loop: filters.NewLoop(), Log: log, Output: out, listeners: map[int]*listener{}}
	w.Env = &filters.Env{Loop: w.Loop, Log: log, Print: out.Line, HalfCloseTimeout: opts.HalfCloseTimeout}
	w.Env.Restart = func() { go w.Reload() }
	w.Loop.OnPanic = func(v any, stack []byte) {
		log.Error("[worker] recovered a panic", "panic", v)
		for _, line := range strings.Split(strings.TrimRight(string(stack), "\n"), "\n") {
			log.Error(line)
		}
	}
	w.life = lifecycle{loop: w.Loop, ended: func(p *filters.Program) {
		if w.Log.IsDebug() {
			w.Log.Debug("[worker] program " + rootName(p) + " ended: its last session is gone")
		}
	}}
	return w
}

// Load loads a script into a program without starting it, logging its
// graph. Errors are returned, not logged.
func (w *Worker) Load(file string) (*filters.Program, error) {
	root, name := splitScript(file)
	return w.LoadModule(root, name)
}

// splitScript turns a script path into its directory (the root) and its
// module name.
func splitScript(file string) (root, name string) {
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = file
	}
	return filepath.Dir(abs), "/" + filepath.Base(abs)
}

// LoadModule loads the module name (e.g. "/002-hello/pipy.js") of the root
// directory root, without starting it.
func (w *Worker) LoadModule(root, name string) (*filters.Program, error) {
	p, err := scripts.LoadModule(root, name, w.Env)
	if err != nil {
		var ge *scripts.GraphError
		if errors.As(err, &ge) {
			w.logGraph(ge.Graph)
		}
		return nil, err
	}
	for _, m := range p.Modules {
		w.logGraph(scripts.GraphText(p, m))
	}
	return p, nil
}

func (w *Worker) logGraph(text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		w.Log.Info("[config] " + line)
	}
}

// LogLoadError logs a load error with its source excerpt.
func (w *Worker) LogLoadError(err error) {
	w.Log.Error(err.Error())
	var le *scripts.LoadError
	if errors.As(err, &le) {
		for _, d := range le.Detail {
			w.Log.Error(d)
		}
	}
}

// Start loads file and starts it: listeners in declaration order, then tasks.
func (w *Worker) Start(file string) error {
	root, name := splitScript(file)
	return w.StartModule(root, name)
}

// StartModule loads a module of root and runs it, replacing the running
// program (its sessions finish on the old pipelines).
func (w *Worker) StartModule(root, name string) error {
	p, err := w.LoadModule(root, name)
	if err != nil {
		return err
	}
	if err := w.Run(p); err != nil {
		return err
	}
	w.mu.Lock()
	w.root, w.name = root, name
	w.mu.Unlock()
	return nil
}

// SetRoot sets the root directory the modules of ReloadModule are looked up
// in, for a worker that starts with no program.
func (w *Worker) SetRoot(root string) {
	w.mu.Lock()
	w.root = root
	w.mu.Unlock()
}

// Current returns the root module of the running program, or "".
func (w *Worker) Current() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.name
}

// StopProgram stops the running program: its listeners close and its tasks
// stop; open sessions finish.
func (w *Worker) StopProgram() {
	w.Loop.Enter()
	defer w.Loop.Leave()
	w.mu.Lock()
	defer w.mu.Unlock()
	for port, l := range w.listeners {
		l.close()
		delete(w.listeners, port)
	}
	for _, t := range w.tasks {
		t.stop()
	}
	w.tasks = nil
	if w.prog != nil {
		w.life.retire(w.prog)
		w.prog = nil
	}
	w.name = ""
}

// Run starts an already loaded program, replacing the running one if any.
func (w *Worker) Run(p *filters.Program) error {
	w.Loop.Enter()
	defer w.Loop.Leave()
	w.mu.Lock()
	defer w.mu.Unlock()

	wanted := map[int]*filters.Pipeline{}
	var order []*filters.Pipeline
	for _, pl := range p.Pipelines() {
		if pl.Kind == filters.ListenPipeline {
			wanted[pl.Listen.Port] = pl
			order = append(order, pl)
		}
	}
	// Open new listeners first, so a failure leaves the old program as is.
	opened := map[int]*listener{}
	for _, pl := range order {
		old := w.listeners[pl.Listen.Port]
		if old != nil && old.sameOptions(pl.Listen, w.opts.ReusePort) {
			continue
		}
		if old != nil {
			// Options changed: the old socket must go before the new binds.
			old.close()
			delete(w.listeners, pl.Listen.Port)
		}
		l, err := w.openListener(pl)
		if err != nil {
			for _, o := range opened {
				o.close()
			}
			return err
		}
		opened[pl.Listen.Port] = l
	}
	for port, l := range w.listeners {
		if wanted[port] == nil {
			l.close()
			delete(w.listeners, port)
			w.Log.Info(fmt.Sprintf("[listener] Stopped listening on %s", l.addr))
		}
	}
	for _, pl := range order {
		port := pl.Listen.Port
		if l := opened[port]; l != nil {
			l.setPipeline(pl)
			w.listeners[port] = l
			go l.acceptLoop()
		} else {
			w.listeners[port].setPipeline(pl)
		}
	}
	for _, t := range w.tasks {
		t.stop()
	}
	w.tasks = nil
	old := w.prog
	w.prog = p
	if old != nil {
		w.life.retire(old)
	}
	for _, pl := range p.Pipelines() {
		if pl.Kind == filters.TaskPipeline {
			t := &task{w: w, p: pl}
			w.tasks = append(w.tasks, t)
			t.run()
		}
	}
	return nil
}

// Program returns the running program, or nil.
func (w *Worker) Program() *filters.Program {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.prog
}

// Reload re-reads the root script and runs it beside the current program:
// new connections get the new pipelines, existing sessions finish on the old
// ones. A script that fails to load leaves the running program in place.
func (w *Worker) Reload() error { return w.ReloadModule("") }

// ReloadModule is Reload with another module of the same root directory
// (e.g. "/004-http-proxy/pipy.js") as the new root module; "" reloads the
// current one.
//
// A reload asked for while another runs is queued, not lost: the script
// may have changed after the running reload read it (a control plane that
// writes a script and sends SIGHUP does not wait for the previous one), so
// one more reload follows, of the module of the latest request. It then
// returns nil at once; the queued reload logs its own outcome.
func (w *Worker) ReloadModule(module string) error {
	w.mu.Lock()
	switch {
	case w.stopping:
		w.mu.Unlock()
		w.Log.Warn("Reload ignored: shutting down")
		return errors.New("shutting down")
	case w.reloading:
		w.queued, w.queuedModule = true, module
		w.mu.Unlock()
		w.Log.Info("Reload queued: another reload is in progress")
		return nil
	}
	w.reloading = true
	w.mu.Unlock()
	for {
		err := w.reloadOnce(module)
		w.mu.Lock()
		again := w.queued && !w.stopping
		module = w.queuedModule
		w.queued, w.queuedModule = false, ""
		if !again {
			w.reloading = false
		}
		w.mu.Unlock()
		if !again {
			return err
		}
	}
}

// reloadOnce loads module ("" for the running one) and runs it, logging the
// outcome.
func (w *Worker) reloadOnce(module string) error {
	w.mu.Lock()
	root, name := w.root, w.name
	w.mu.Unlock()
	if module != "" {
		name = module
	}
	if name == "" {
		w.Log.Error("No script running")
		return errNoScript
	}
	p, err := w.LoadModule(root, name)
	if err == nil {
		err = w.Run(p)
	}
	if err != nil {
		w.LogLoadError(err)
		w.Log.Error("Failed reloading script: " + name)
		return err // a LoadError or a listen error: it names the file or the address
	}
	w.mu.Lock()
	w.name = name
	w.mu.Unlock()
	// The replaced program, when it had no session, has just ended, and
	// loading made garbage of its own: collect now rather than let the heap
	// grow to the next GC goal with every reload (with a small program that
	// slack is a third of the process's RSS). Reloads are rare; this one
	// collection costs a few milliseconds on the reloading goroutine, not
	// the loop.
	runtime.GC()
	w.Log.Info("Script reloaded: " + name)
	return nil
}

var errNoScript = errors.New("no script running")

// StopAccepting closes every listener and stops every task.
func (w *Worker) StopAccepting() {
	w.Loop.Enter()
	defer w.Loop.Leave()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopping = true
	for port, l := range w.listeners {
		l.close()
		delete(w.listeners, port)
	}
	for _, t := range w.tasks {
		t.stop()
	}
	w.tasks = nil
	// Templates that keep connections (mux pools, demuxHttp's HTTP/2
	// connections) let them go as soon as they are unused: HTTP/2 clients
	// get a GOAWAY and finish their streams.
	if w.prog != nil {
		retireTemplates(w.prog)
	}
	// Children started by exec() would keep their sessions open forever.
	w.Env.Children.Terminate()
}

// ActiveSessions counts the sessions of the running and retired programs
// that have not ended.
func (w *Worker) ActiveSessions() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.pending.Load()
	if w.prog != nil {
		n += w.prog.ActiveSessions()
	}
	for _, p := range w.life.list() {
		n += p.ActiveSessions()
	}
	return n
}

// Shutdown stops accepting and waits until every session has ended, logging
// the count each second, or until force is closed or the timeout (0 = none)
// expires. It reports whether the drain completed.
func (w *Worker) Shutdown(force <-chan struct{}, timeout time.Duration) bool {
	w.StopAccepting()
	var deadline <-chan time.Time
	if timeout > 0 {
		deadline = time.After(timeout)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		n := w.ActiveSessions()
		if n == 0 {
			return true
		}
		w.Log.Info(fmt.Sprintf("Waiting for remaining %d sessions... Press Ctrl-C again to force shutdown", n))
		select {
		case <-tick.C:
		case <-force:
			return false
		case <-deadline:
			return false
		}
	}
}

// Pipelines returns a row per pipeline of the running program, and of old
// programs that still have active sessions (prefixed "[STALE] ").
func (w *Worker) Pipelines() []ipc.PipelineStat {
	w.Loop.Enter()
	defer w.Loop.Leave()
	w.mu.Lock()
	defer w.mu.Unlock()
	var rows []ipc.PipelineStat
	if w.prog != nil {
		for _, pl := range w.prog.Pipelines() {
			rows = append(rows, ipc.PipelineStat{Name: pl.Module.Name + " [" + pl.Name + "]", Allocated: pl.Allocated.Load(), Active: pl.ActiveN.Load()})
		}
	}
	for _, p := range w.life.list() {
		for _, pl := range p.Pipelines() {
			if a := pl.ActiveN.Load(); a > 0 {
				rows = append(rows, ipc.PipelineStat{Name: "[STALE] " + pl.Module.Name + " [" + pl.Name + "]", Allocated: pl.Allocated.Load(), Active: a})
			}
		}
	}
	return rows
}

// StatusText renders the SIGTSTP status table.
func (w *Worker) StatusText() string { return ipc.StatusText(w.Pipelines()) }

// Stat returns the counters a worker reports to its master.
func (w *Worker) Stat() *ipc.WorkerStat {
	c := &w.Loop.Counters
	return &ipc.WorkerStat{
		PID:         os.Getpid(),
		Connections: c.Open.Load(),
		Accepted:    c.Accepted.Load(),
		BytesIn:     c.BytesIn.Load(),
		BytesOut:    c.BytesOut.Load(),
		Requests:    c.Requests.Load(),
		Errors:      c.Errors.Load(),
		Memory:      rss(),
		Goroutines:  int64(runtime.NumGoroutine()),
		Pipelines:   w.Pipelines(),
	}
}

// rss returns the resident set size of this process in bytes (0 when
// unknown).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}

// listener is one listening socket and the pipeline that new connections on
// it get.
type listener struct {
	w    *Worker
	spec *filters.ListenSpec
	addr string
	ln   net.Listener
	tls  *tls.Config

	pmu      sync.Mutex // guards the fields below
	pipeline *filters.Pipeline
	closed   bool
	slots    sync.Cond // signalled when a connection ends (pmu)
	active   int       // connections being served
	lastFull time.Time // when the listener last waited for a free slot
}

// burstGap separates bursts of maxConnections warnings: the listener warns
// when it has to wait for a slot after not waiting for that long.
const burstGap = 10 * time.Second

func (l *listener) sameOptions(s *filters.ListenSpec, reuseDefault bool) bool {
	a, b := l.spec, s
	return a.Host == b.Host && a.TLS == b.TLS && a.TLSCert == b.TLSCert && a.TLSKey == b.TLSKey &&
		reuseOf(a, reuseDefault) == reuseOf(b, reuseDefault)
}

func reuseOf(s *filters.ListenSpec, def bool) bool {
	if s.Reuse != nil {
		return *s.Reuse
	}
	return def
}

func (l *listener) setPipeline(p *filters.Pipeline) {
	l.pmu.Lock()
	l.pipeline = p
	l.spec = p.Listen
	l.slots.Broadcast() // maxConnections may have changed
	l.pmu.Unlock()
}

func (l *listener) close() {
	l.pmu.Lock()
	l.closed = true
	l.slots.Broadcast()
	l.pmu.Unlock()
	l.ln.Close()
}

// takeSlot waits until the listener may accept one more connection under
// maxConnections and counts it. While it waits, new connections stay in
// the kernel backlog. It returns false when the listener was closed.
func (l *listener) takeSlot() bool {
	l.pmu.Lock()
	defer l.pmu.Unlock()
	for !l.closed {
		limit := l.spec.Limits.MaxConnections
		if limit <= 0 || l.active < limit {
			l.active++
			return true
		}
		if time.Since(l.lastFull) > burstGap {
			l.w.Log.Warn(fmt.Sprintf("[listener] %s: maxConnections (%d) reached; new connections wait in the backlog", l.addr, limit))
		}
		l.lastFull = time.Now()
		l.slots.Wait()
		l.lastFull = time.Now()
	}
	return false
}

// releaseSlot uncounts a connection that has ended.
func (l *listener) releaseSlot() {
	l.pmu.Lock()
	l.active--
	l.slots.Signal()
	l.pmu.Unlock()
}

func (w *Worker) openListener(p *filters.Pipeline) (*listener, error) {
	spec := p.Listen
	l := &listener{w: w, spec: spec, addr: spec.Addr()}
	l.slots.L = &l.pmu
	if spec.TLS {
		conf, err := filters.ServerTLS(spec.TLSCert, spec.TLSKey, &p.Module.Program.Files)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", l.addr, err)
		}
		conf.NextProtos = p.ALPN()
		l.tls = conf
	}
	listen := w.opts.Listen
	if listen == nil {
		listen = filters.ListenTCP
	}
	ln, err := listen(spec, reuseOf(spec, w.opts.ReusePort))
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", l.addr, err)
	}
	l.ln = ln
	if spec.Port == 0 {
		// An ephemeral port: show the one the system picked.
		l.addr = ln.Addr().String()
	}
	w.Log.Info("[listener] Listening on " + l.addr)
	return l, nil
}

// Addr returns the bound address of the listener for port (useful with
// port 0), or "".
func (w *Worker) Addr(port int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if l := w.listeners[port]; l != nil {
		return l.ln.Addr().String()
	}
	return ""
}

func (l *listener) acceptLoop() {
	var delay time.Duration
	for {
		if !l.takeSlot() {
			return
		}
		nc, err := l.ln.Accept()
		if err != nil {
			l.releaseSlot()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of descriptors or similar: back off and retry.
				delay = min(max(delay*2, 5*time.Millisecond), time.Second)
				l.w.Log.Warn(fmt.Sprintf("[listener] accept on %s: %v; retrying in %v", l.addr, err, delay))
				time.Sleep(delay)
				continue
			}
			l.pmu.Lock()
			closed := l.closed
			l.pmu.Unlock()
			if errors.Is(err, syscall.EINVAL) {
				// The master shut the socket down (port removed, shutdown).
				l.w.Log.Debug("[listener] stopped listening", "addr", l.addr)
				return
			}
			if !closed {
				l.w.Log.Error(fmt.Sprintf("[listener] accept on %s: %v", l.addr, err))
			}
			return
		}
		delay = 0
		l.pmu.Lock()
		p := l.pipeline
		// Under pmu: a reload cannot retire p's program in between.
		l.w.life.begin(p.Module.Program)
		l.pmu.Unlock()
		// Counted until its session exists, so a drain cannot miss it.
		l.w.pending.Add(1)
		go l.w.serve(l, p, nc)
	}
}

// serve runs a session of p for an accepted connection.
func (w *Worker) serve(l *listener, p *filters.Pipeline, nc net.Conn) {
	defer l.releaseSlot()
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	limits := &p.Listen.Limits
	if l.tls != nil {
		tc := tls.Server(nc, l.tls)
		handshake := limits.ReadTimeout
		if handshake <= 0 {
			handshake = 10 * time.Second
		}
		tc.SetDeadline(time.Now().Add(handshake))
		if err := tc.Handshake(); err != nil {
			w.Log.Warn(fmt.Sprintf("[listener] TLS handshake with %s failed: %v", nc.RemoteAddr(), err))
			nc.Close()
			w.Loop.Run(func() { w.life.done(p.Module.Program) })
			w.pending.Add(-1)
			return
		}
		tc.SetDeadline(time.Time{})
		nc = tc
	}
	c := filters.NewConn(nc, w.Loop)
	c.SetLimits(limits)
	in := filters.NewInbound(c, limits)
	if tc, ok := nc.(*tls.Conn); ok {
		in.ALPN = tc.ConnectionState().NegotiatedProtocol
	}
	in.RemoteAddr, in.RemotePort = splitAddr(nc.RemoteAddr())
	in.LocalAddr, in.LocalPort = splitAddr(nc.LocalAddr())

	w.Loop.Counters.Accepted.Add(1)
	w.Loop.Counters.Open.Add(1)
	defer w.Loop.Counters.Open.Add(-1)
	prog := p.Module.Program
	var s *filters.Session
	w.Loop.Run(func() {
		ctx := prog.NewContext(in)
		s = p.NewSession(ctx, filters.ConnOutput(c))
		s.OnEnd(func() { w.life.done(prog) }) // counted since the accept
	})
	if s == nil {
		// A bug made the session fail (recovered and logged by the loop).
		w.pending.Add(-1)
		c.Abort()
		w.Loop.Run(func() { w.life.done(prog) })
		return
	}
	w.pending.Add(-1)
	if w.Log.IsDebug() {
		w.Log.Debug("[inbound] connection accepted", "client", net.JoinHostPort(in.RemoteAddr, strconv.Itoa(in.RemotePort)), "listener", l.addr)
	}

	c.ReadLoop(func(d *filters.Data) {
		s.Input(d)
		s.Input(filters.NewData())
	}, func(err error) {
		timedOut := errors.Is(err, filters.ErrIdleTimeout) || errors.Is(err, filters.ErrHeadTimeout)
		if timedOut {
			if w.Log.IsDebug() {
				w.Log.Debug("[inbound] closing connection", "reason", err, "client", net.JoinHostPort(in.RemoteAddr, strconv.Itoa(in.RemotePort)))
			}
			c.Close() // after what is queued (a 408)
		}
		if s.Done() {
			return
		}
		if err != nil {
			switch {
			case errors.Is(err, net.ErrClosed), timedOut:
			case errors.Is(err, syscall.ECONNRESET):
				// Clients going away is routine (and a flood of them must
				// not flood the log): debug level only.
				if w.Log.IsDebug() {
					w.Log.Debug("[inbound] connection reset", "client", net.JoinHostPort(in.RemoteAddr, strconv.Itoa(in.RemotePort)))
				}
			default:
				w.Log.Warn(fmt.Sprintf("[inbound] read error from %s:%d: %v", in.RemoteAddr, in.RemotePort, err))
			}
			s.Input(&filters.SessionEnd{Err: filters.ReadError, Message: err.Error()})
		} else {
			s.Input(filters.TheSessionEnd)
		}
		if !s.Done() {
			// Half-close: keep writing what the session still outputs, for
			// a while. The timer goes when the session ends: it must not
			// keep the session (and its program) reachable.
			t := w.Loop.AfterFunc(w.Env.HalfClose(), func() {
				if !s.Done() {
					s.Kill()
					c.Abort()
				}
			})
			s.OnEnd(t.Stop)
		}
	})
}

func splitAddr(a net.Addr) (string, int) {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip := ta.IP
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		return ip.String(), ta.Port
	}
	return "", 0
}

// task runs a task pipeline on its timer.
type task struct {
	w       *Worker
	p       *filters.Pipeline
	s       *filters.Session
	timer   *filters.Timer
	stopped bool
}

// run starts a session unless the previous one is still active, then arms
// the next tick. Called inside the loop.
func (t *task) run() {
	if t.stopped {
		return
	}
	if t.s == nil || t.s.Done() {
		prog := t.p.Module.Program
		ctx := prog.NewContext(nil)
		t.w.life.begin(prog)
		t.s = t.p.NewSession(ctx, filters.Discard)
		t.s.OnEnd(func() { t.w.life.done(prog) })
		t.s.Input(&filters.MessageStart{})
		t.s.Input(filters.TheMessageEnd)
	}
	t.timer = t.w.Loop.AfterFunc(time.Duration(t.p.Task.Interval*float64(time.Second)), t.run)
}

func (t *task) stop() {
	t.stopped = true
	t.timer.Stop()
}

// rootName names a program by its root module, e.g. "/pipy.js".
func rootName(p *filters.Program) string {
	if p.Root == nil {
		return "(no root module)"
	}
	return p.Root.Name
}
