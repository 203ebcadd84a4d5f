package master

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/logging"
	"github.com/pipy-go/pipy/scripts"
)

// Options configure a master.
type Options struct {
	Script string // absolute path of the root script, or "" (Root only)
	// Root is the directory of the program's modules; "" means the
	// script's directory. With Root and no Script, the workers start with
	// no program until one is started from the console.
	Root         string
	Workers      int           // number of worker slots (1 without --spawn)
	ReusePort    bool          // --reuse-port (per-listen default)
	DrainTimeout time.Duration // how long SIGTERM, SIGQUIT and an upgrade wait for sessions
	PIDFile      string        // written once the master is ready, removed when it stops
	AdminAddr    string        // host:port of /metrics, /status and /ready, or ""
	WatchFiles   bool          // reload when the script or its modules change
	// GUIAddr is the host:port of the web console, or "". It serves Root
	// (or the script's directory) and starts and stops programs on every
	// worker.
	GUIAddr string
	// Launcher starts the workers: a ProcessLauncher for --spawn, one
	// that runs the worker in this process otherwise.
	Launcher Launcher
	Log      hclog.Logger
	Output   *logging.Output
}

// Master supervises the workers. Its loop (run) owns the worker set and the
// program; the console and the admin endpoint read them under mu.
type Master struct {
	opts Options
	env  *env
	log  hclog.Logger
	upg  upgrader

	mu      sync.Mutex
	slots   []*slot
	sockets map[string][]*os.File // listen address -> one socket per slot, or one shared
	// root is the directory of the program's modules, module the running
	// root module of it ("/pipy.js"), "" when the console stopped it.
	root, module string
	prog         *filters.Program // the last loaded program, for the console's graphs
	files        []string         // module files of the last loaded program, for --watch-config-file
	serving      bool             // started and not yet stopping: /ready says yes
	stopping     bool

	exits    chan exitEvent
	restarts chan *slot          // slots whose back-off delay is over
	requests chan controlRequest // from the console
	wake     chan struct{}       // a worker became ready
	quit     chan struct{}       // closed when run returns
	closers  []io.Closer         // console and admin listeners
}

// exitEvent reports that the process of a slot has ended.
type exitEvent struct {
	slot *slot
	proc Process
}

// Run runs a master until it stops and returns the exit status.
func Run(opts Options) int { return newMaster(opts, osEnv()).run() }

func newMaster(opts Options, e *env) *Master {
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	m := &Master{opts: opts, env: e, log: opts.Log, sockets: map[string][]*os.File{},
		exits: make(chan exitEvent), restarts: make(chan *slot), requests: make(chan controlRequest),
		wake: make(chan struct{}, 1), quit: make(chan struct{})}
	m.root, m.module = filepath.Dir(opts.Script), "/"+filepath.Base(opts.Script)
	if opts.Root != "" {
		m.root, m.module = opts.Root, ""
		if opts.Script != "" {
			if rel, err := filepath.Rel(opts.Root, opts.Script); err == nil {
				m.module = "/" + filepath.ToSlash(rel)
			}
		}
	}
	for i := 1; i <= opts.Workers; i++ {
		m.slots = append(m.slots, newSlot(m, i))
	}
	return m
}

func (m *Master) run() int {
	defer close(m.quit)
	defer func() {
		for _, c := range m.closers {
			c.Close()
		}
	}()
	if m.opts.Launcher == nil {
		m.log.Error("[master] no launcher for the workers")
		return 1
	}
	if sharedSocket && m.opts.Workers > 1 {
		m.log.Warn("[master] this OS has no load-balancing SO_REUSEPORT: all workers accept on one shared socket per port")
	}
	upg, err := m.env.newUpgrader(m.opts.PIDFile)
	if err != nil {
		m.log.Error("[master] " + err.Error())
		return 1
	}
	defer upg.Stop()
	m.upg = upg
	sigs, stopSignals := m.env.signals()
	defer stopSignals()

	specs, err := m.learn(m.currentModule())
	runtime.GC() // the program loaded to learn the ports is garbage now
	if err != nil {
		if m.opts.GUIAddr == "" {
			return 1
		}
		// The console stays up so the script can be fixed and started
		// from the browser.
		m.log.Warn("[gui] the script did not start: fix it in the console and run it again")
		m.setModule("")
	}
	if err := m.openSockets(specs); err != nil {
		m.log.Error(err.Error())
		return 1
	}
	for _, s := range m.slots {
		if err := s.start(); err != nil {
			m.log.Error("[master] " + err.Error())
			m.stopAll()
			return 1
		}
	}
	pending, stop, ok := m.waitReady(sigs)
	if !ok {
		m.stopAll()
		return 1
	}
	if stop != nil {
		// Asked to stop while starting: the workers may serve already.
		return m.shutdown(stop, sigs)
	}
	if m.opts.GUIAddr != "" {
		if err := m.serveConsole(m.opts.GUIAddr); err != nil {
			m.log.Error("[gui] " + err.Error())
			m.stopAll()
			return 1
		}
	}
	if m.opts.AdminAddr != "" {
		if err := m.serveAdmin(m.opts.AdminAddr); err != nil {
			m.log.Error("[master] admin port: " + err.Error())
			m.stopAll()
			return 1
		}
	}
	if err := upg.Ready(); err != nil {
		m.log.Error("[master] " + err.Error())
	}
	m.mu.Lock()
	m.serving = true
	m.mu.Unlock()
	m.log.Info(fmt.Sprintf("[master] %d worker(s) ready, pid %d", m.opts.Workers, os.Getpid()))
	changed := make(chan struct{}, 1)
	if m.opts.WatchFiles {
		unwatch := make(chan struct{})
		defer close(unwatch)
		go scripts.Watch(unwatch, m.moduleFiles, func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		})
	}
	return m.loop(sigs, changed, pending)
}

// waitReady waits until every worker has sent Ready. It gives up when one
// exits or after the ready timeout. Signals that arrive meanwhile are kept
// for the loop, except one to stop, which ends the wait (stop is then set).
func (m *Master) waitReady(sigs <-chan os.Signal) (pending []os.Signal, stop os.Signal, ok bool) {
	deadline := time.After(m.env.readyTimeout)
	for !m.allReady() {
		select {
		case e := <-m.exits:
			m.log.Error(fmt.Sprintf("[master] worker %d exited during start-up (%s)", e.slot.id, e.proc.ExitStatus()))
			m.log.Error("[master] workers did not become ready")
			return nil, nil, false
		case <-m.wake:
		case <-deadline:
			m.log.Error("[master] workers did not become ready", "timeout", m.env.readyTimeout)
			return nil, nil, false
		case sig := <-sigs:
			if stops(sig) {
				return pending, sig, true
			}
			pending = append(pending, sig)
		}
	}
	return pending, nil, true
}

func (m *Master) allReady() bool {
	for _, s := range m.slots {
		if !s.isReady() {
			return false
		}
	}
	return true
}

// poke wakes waitReady.
func (m *Master) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// loop handles signals, worker exits, console requests and upgrades until
// the master stops. pending are signals that came during start-up.
func (m *Master) loop(sigs <-chan os.Signal, changed <-chan struct{}, pending []os.Signal) int {
	upgraded := make(chan error, 1)
	handle := func(sig os.Signal) bool {
		switch sig {
		case syscall.SIGHUP:
			m.log.Info("Received SIGHUP, reloading script...")
			m.reload()
		case syscall.SIGUSR2:
			m.log.Info("Received SIGUSR2, upgrading...")
			// Upgrade returns once the new binary is ready (or has failed);
			// meanwhile this master keeps supervising.
			go func() { upgraded <- m.upg.Upgrade() }()
		case syscall.SIGTSTP:
			m.log.Info("Received SIGTSTP, dumping...")
			fmt.Fprint(m.env.stdout, m.statusText())
		default:
			return stops(sig)
		}
		return false
	}
	for _, sig := range pending {
		handle(sig)
	}
	for {
		select {
		case <-changed:
			m.log.Info("Script file changed, reloading...")
			m.reload()
		case sig := <-sigs:
			if handle(sig) {
				return m.shutdown(sig, sigs)
			}
		case err := <-upgraded:
			if err != nil {
				m.log.Error(fmt.Sprintf("[master] upgrade failed: %v", err))
			}
		case <-m.upg.Exit():
			m.log.Info("[master] the upgraded master is ready; draining this one's workers")
			m.drain(sigs, m.opts.DrainTimeout, true)
			m.log.Info("Stopped.")
			return 0
		case e := <-m.exits:
			m.restart(e)
		case s := <-m.restarts:
			if !m.isStopping() {
				m.startSlot(s)
			}
		case req := <-m.requests:
			req.done <- m.control(req)
		}
	}
}

// shutdown drains the workers on a signal to stop: SIGTERM and SIGQUIT up
// to the drain timeout, SIGINT until the sessions end; a second signal
// forces. It returns the exit status.
func (m *Master) shutdown(sig os.Signal, sigs <-chan os.Signal) int {
	m.log.Info(fmt.Sprintf("Received %s, shutting down...", signalName(sig)))
	timeout := m.opts.DrainTimeout
	if sig == syscall.SIGINT {
		timeout = 0
	}
	m.drain(sigs, timeout, false)
	m.log.Info("Stopped.")
	m.removePIDFile()
	fmt.Fprintln(m.env.stdout, "Done.")
	return 0
}

// stops reports whether sig asks the master to stop.
func stops(sig os.Signal) bool {
	return sig == syscall.SIGINT || sig == syscall.SIGTERM || sig == syscall.SIGQUIT
}

// signalName is the conventional name of a signal ("SIGTERM").
func signalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		if name := unix.SignalName(s); name != "" {
			return name
		}
	}
	return sig.String()
}

// restart starts the worker of a slot whose process died: at once the first
// time, with a growing delay while it keeps dying young.
func (m *Master) restart(e exitEvent) {
	m.log.Error(fmt.Sprintf("[master] worker %d (pid %d) died: %s", e.slot.id, e.proc.PID(), e.proc.ExitStatus()))
	if m.isStopping() {
		return
	}
	m.scheduleStart(e.slot)
}

// scheduleStart starts a slot's worker after its back-off delay.
func (m *Master) scheduleStart(s *slot) {
	delay := s.nextDelay()
	if delay == 0 {
		m.startSlot(s)
		return
	}
	m.log.Warn(fmt.Sprintf("[master] worker %d keeps crashing; restarting in %v", s.id, delay))
	go func() {
		select {
		case <-time.After(delay):
		case <-m.quit:
			return
		}
		select {
		case m.restarts <- s:
		case <-m.quit:
		}
	}()
}

func (m *Master) startSlot(s *slot) {
	if err := s.start(); err != nil {
		m.log.Error("[master] " + err.Error())
		m.scheduleStart(s)
	}
}

func (m *Master) isStopping() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopping
}

func (m *Master) setStopping() {
	m.mu.Lock()
	m.stopping, m.serving = true, false
	m.mu.Unlock()
}

// drain tells every worker to stop accepting and finish its sessions, and
// waits until they have exited: without a bound when timeout is 0, and
// until a second signal to stop, which forces the end. After an upgrade the
// sockets stay open for the new master's workers.
func (m *Master) drain(sigs <-chan os.Signal, timeout time.Duration, upgraded bool) {
	m.setStopping()
	if !upgraded {
		m.shutdownAll()
	}
	for _, s := range m.slots {
		s.send(drainMessage)
	}
	var deadline <-chan time.Time
	if timeout > 0 {
		deadline = time.After(timeout)
	}
	progress := time.NewTicker(m.env.progressEvery)
	defer progress.Stop()
	for {
		alive := m.running()
		if alive == 0 {
			return
		}
		select {
		case <-m.exits:
		case <-progress.C:
			m.log.Debug("[master] waiting for workers to finish their sessions", "workers", alive)
		case sig := <-sigs:
			if stops(sig) {
				m.log.Info("Forcing to shut down...")
				m.stopAll()
				return
			}
		case <-deadline:
			m.log.Warn("[master] drain timeout: stopping the remaining workers", "timeout", timeout)
			m.stopAll()
			return
		}
	}
}

// running counts the slots whose worker has not ended.
func (m *Master) running() int {
	n := 0
	for _, s := range m.slots {
		if s.running() {
			n++
		}
	}
	return n
}

// stopAll stops every worker now: Stop, and after a grace period Kill.
func (m *Master) stopAll() {
	m.setStopping()
	for _, s := range m.slots {
		s.send(stopMessage)
	}
	if !m.awaitAll(m.env.killGrace) {
		for _, s := range m.slots {
			s.kill()
		}
		m.awaitAll(5 * time.Second)
	}
}

// awaitAll waits up to d for every worker to end, taking their exit
// events, and reports whether they did.
func (m *Master) awaitAll(d time.Duration) bool {
	deadline := time.After(d)
	for m.running() > 0 {
		select {
		case <-m.exits:
		case <-deadline:
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return true
}

// removePIDFile removes the pid file if it still names this process (after
// an upgrade it names the new master).
func (m *Master) removePIDFile() {
	if m.opts.PIDFile == "" {
		return
	}
	if b, err := os.ReadFile(m.opts.PIDFile); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(os.Getpid()) {
		os.Remove(m.opts.PIDFile)
	}
}

// errStopping answers console requests that arrive while the master stops.
var errStopping = errors.New("the master is shutting down")
