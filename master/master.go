// Package master runs pipy as a master process with N worker processes. The
// master owns what must outlive a worker or a binary: the listening sockets
// (kept in tableflip's file set, so a binary upgrade inherits them), the
// worker set, aggregated stats and the admin endpoint. It never runs script
// callbacks for traffic; workers do, each on its own copy of the sockets.
//
// It imports filters (sockets), scripts (to learn a script's listen
// addresses), ipc (the wire to workers) and logging.
package master

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cloudflare/tableflip"
	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/ipc"
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
	Workers      int           // number of worker processes
	ReusePort    bool          // --reuse-port (per-listen default)
	DrainTimeout time.Duration // how long draining workers may take
	PIDFile      string        // written once the master is ready
	AdminAddr    string        // host:port of /metrics and /status, or ""
	WatchFiles   bool          // reload when the script or its modules change
	// GUIAddr is the host:port of the web console, or "". Its root is the
	// script's directory; it starts and stops programs on every worker.
	GUIAddr string
	// WorkerArgs are the command-line arguments a worker gets (the script
	// and the options that matter to it); the master adds --worker=<slot>.
	WorkerArgs []string
	Log        hclog.Logger
	Output     *logging.Output
}

// Master supervises the workers.
type Master struct {
	opts Options
	log  hclog.Logger
	upg  *tableflip.Upgrader

	mu       sync.Mutex
	listens  []*filters.ListenSpec
	sockets  map[string][]*os.File // listen address -> one socket per slot (or one shared)
	workers  []*workerProc
	stopping bool
	exits    chan *workerProc
	files    []string // module files of the last loaded program
	// root is the script's directory, module the running root module of
	// it ("/pipy.js"), "" after the console stopped the program.
	root, module string
	prog         *filters.Program // the last loaded program (for graphs)
	requests     chan controlRequest
}

// sharedSocket reports whether all workers share one socket per address
// (no load-balancing SO_REUSEPORT on this OS).
var sharedSocket = !reusePortBalances

// Run runs the master until it is stopped and returns the exit status.
func Run(opts Options) int {
	m := &Master{opts: opts, log: opts.Log, sockets: map[string][]*os.File{}, exits: make(chan *workerProc, 16),
		requests: make(chan controlRequest)}
	m.root, m.module = filepath.Dir(opts.Script), "/"+filepath.Base(opts.Script)
	if opts.Root != "" {
		m.root, m.module = opts.Root, ""
		if opts.Script != "" {
			if rel, err := filepath.Rel(opts.Root, opts.Script); err == nil {
				m.module = "/" + filepath.ToSlash(rel)
			}
		}
	}
	if sharedSocket {
		m.log.Warn("[master] this OS has no load-balancing SO_REUSEPORT: all workers accept on one shared socket per port")
	}
	upg, err := tableflip.New(tableflip.Options{PIDFile: opts.PIDFile, UpgradeTimeout: 60 * time.Second})
	if err != nil {
		m.log.Error(fmt.Sprintf("[master] cannot set up socket inheritance: %v", err))
		return 1
	}
	defer upg.Stop()
	m.upg = upg

	specs, err := m.learn(m.module)
	if err != nil {
		if opts.GUIAddr == "" {
			return 1
		}
		// The console stays up so the script can be fixed and started
		// from the browser.
		m.log.Warn("[gui] the script did not start: fix it in the console and run it again")
		m.module = ""
	}
	if err := m.openSockets(specs); err != nil {
		m.log.Error(err.Error())
		return 1
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGTSTP, syscall.SIGUSR2)
	signal.Ignore(syscall.SIGPIPE)

	for i := 0; i < opts.Workers; i++ {
		w := &workerProc{m: m, slot: i + 1}
		m.workers = append(m.workers, w)
		if err := w.start(); err != nil {
			m.log.Error(fmt.Sprintf("[master] cannot start worker %d: %v", w.slot, err))
			m.stopAll()
			return 1
		}
	}
	if !m.waitReady(30 * time.Second) {
		m.log.Error("[master] workers did not become ready")
		m.stopAll()
		return 1
	}
	if opts.GUIAddr != "" {
		if err := m.serveGUI(opts.GUIAddr); err != nil {
			m.log.Error(fmt.Sprintf("[gui] %v", err))
			m.stopAll()
			return 1
		}
	}
	if opts.AdminAddr != "" {
		if err := m.serveAdmin(opts.AdminAddr); err != nil {
			m.log.Error(fmt.Sprintf("[master] admin port: %v", err))
			m.stopAll()
			return 1
		}
	}
	if err := upg.Ready(); err != nil {
		m.log.Error(fmt.Sprintf("[master] %v", err))
	}
	m.log.Info(fmt.Sprintf("[master] %d worker(s) ready, pid %d", opts.Workers, os.Getpid()))
	changed := make(chan struct{}, 1)
	if opts.WatchFiles {
		stop := make(chan struct{})
		defer close(stop)
		go scripts.Watch(stop, func() []string {
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.files
		}, func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		})
	}
	return m.loop(sigs, changed)
}

// learn loads the script without starting it, to find its listen addresses.
func (m *Master) learn(module string) ([]*filters.ListenSpec, error) {
	// What the script logs while loading is kept back: the workers log it
	// again when they load, unless the load fails here.
	var held bytes.Buffer
	heldOut := logging.NewOutput(&held)
	env := &filters.Env{Loop: filters.NewLoop(), Log: logging.New(heldOut, m.log.GetLevel()), Print: heldOut.Line}
	m.mu.Lock()
	root := m.root
	m.mu.Unlock()
	if module == "" {
		return nil, nil // stopped from the console
	}
	prog, err := scripts.LoadModule(root, module, env)
	if err != nil {
		for _, line := range strings.Split(strings.TrimRight(held.String(), "\n"), "\n") {
			if line != "" {
				m.opts.Output.Line(line)
			}
		}
		m.log.Error(err.Error())
		var le *scripts.LoadError
		if errors.As(err, &le) {
			for _, d := range le.Detail {
				m.log.Error(d)
			}
		}
		return nil, err
	}
	m.mu.Lock()
	m.files = scripts.ModuleFiles(prog)
	m.prog = prog
	m.mu.Unlock()
	var specs []*filters.ListenSpec
	for _, p := range prog.Pipelines() {
		if p.Kind == filters.ListenPipeline {
			if p.Listen.Port == 0 {
				m.log.Warn(fmt.Sprintf("[master] listen on port 0 (%s) gives each worker its own port", p.Listen.Addr()))
				continue
			}
			specs = append(specs, p.Listen)
		}
	}
	return specs, nil
}

// socketName is the name of a socket in tableflip's inherited file set.
func socketName(addr string, slot int) string { return fmt.Sprintf("pipy-listen:%s#%d", addr, slot) }

// openSockets makes sure every address has its sockets, taking inherited
// ones (after an upgrade) before opening new ones, and closes sockets of
// addresses no longer declared.
func (m *Master) openSockets(specs []*filters.ListenSpec) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.opts.Workers
	if sharedSocket {
		n = 1
	}
	want := map[string]bool{}
	for _, spec := range specs {
		addr := spec.Addr()
		want[addr] = true
		if len(m.sockets[addr]) == n {
			continue
		}
		files := make([]*os.File, n)
		for slot := 0; slot < n; slot++ {
			name := socketName(addr, slot)
			f, err := m.upg.Fds.File(name)
			if err != nil {
				return fmt.Errorf("[master] inherited socket %s: %w", addr, err)
			}
			if f != nil && !listening(f) {
				// Inherited from a master that had stopped listening on it.
				f.Close()
				f = nil
			}
			if f == nil && slot == 0 && !m.opts.ReusePort && !sharedSocket {
				// Our sockets share the port with each other (SO_REUSEPORT);
				// make sure nobody else holds it, unless --reuse-port asks
				// for sharing.
				probe, err := filters.ListenTCP(spec, false)
				if err != nil {
					return fmt.Errorf("cannot listen on %s: %w", addr, err)
				}
				probe.Close()
			}
			if f == nil {
				ln, err := filters.ListenTCP(spec, !sharedSocket)
				if err != nil {
					return fmt.Errorf("cannot listen on %s: %w", addr, err)
				}
				f, err = socketFile(ln.(*net.TCPListener), name)
				ln.Close()
				if err != nil {
					return fmt.Errorf("cannot listen on %s: %w", addr, err)
				}
				if err := m.upg.Fds.AddFile(name, f); err != nil {
					return fmt.Errorf("[master] %w", err)
				}
			}
			files[slot] = f
		}
		m.sockets[addr] = files
		m.log.Info("[listener] Listening on " + addr)
	}
	for addr, files := range m.sockets {
		if !want[addr] {
			// Shut the socket itself down: tableflip and the workers hold
			// other descriptors of it, which would keep it accepting.
			for _, f := range files {
				shutdownSocket(f)
				f.Close()
			}
			delete(m.sockets, addr)
			m.log.Info("[listener] Stopped listening on " + addr)
		}
	}
	m.listens = specs
	return nil
}

// socketsFor returns the slot's socket of every address, with their names.
func (m *Master) socketsFor(slot int) ([]string, []*os.File) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var addrs []string
	for a := range m.sockets {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	var files []*os.File
	for _, a := range addrs {
		fs := m.sockets[a]
		files = append(files, fs[min(slot-1, len(fs)-1)])
	}
	return addrs, files
}

func (m *Master) waitReady(timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		all := true
		for _, w := range m.workers {
			if !w.isReady() {
				all = false
			}
		}
		if all {
			return true
		}
		select {
		case w := <-m.exits:
			m.log.Error(fmt.Sprintf("[master] worker %d exited during start-up (%s)", w.slot, w.exitText()))
			return false
		case <-deadline:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// loop handles signals, worker exits and upgrades until the master stops.
func (m *Master) loop(sigs chan os.Signal, changed <-chan struct{}) int {
	for {
		select {
		case <-changed:
			m.log.Info("Script file changed, reloading...")
			m.reload()
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				m.log.Info("Received SIGHUP, reloading script...")
				m.reload()
			case syscall.SIGUSR2:
				m.log.Info("Received SIGUSR2, upgrading...")
				if err := m.upg.Upgrade(); err != nil {
					m.log.Error(fmt.Sprintf("[master] upgrade failed: %v", err))
				}
			case syscall.SIGTSTP:
				m.log.Info("Received SIGTSTP, dumping...")
				fmt.Print(m.statusText())
			default:
				name := map[os.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM", syscall.SIGQUIT: "SIGQUIT"}[sig]
				m.log.Info(fmt.Sprintf("Received %s, shutting down...", name))
				m.drain(sigs, false)
				m.log.Info("Stopped.")
				fmt.Println("Done.")
				return 0
			}
		case <-m.upg.Exit():
			m.log.Info("[master] the upgraded master is ready; draining this one's workers")
			m.drain(sigs, true)
			m.log.Info("Stopped.")
			return 0
		case w := <-m.exits:
			m.restart(w)
		case req := <-m.requests:
			req.done <- m.control(req)
		}
	}
}

// reload validates the script, opens sockets for new addresses and tells
// every worker to reload, handing it the sockets.
func (m *Master) reload() {
	m.mu.Lock()
	name := m.module
	m.mu.Unlock()
	if name == "" {
		m.log.Error("No script running")
		return
	}
	if m.runModule(name) != nil {
		m.log.Error("Failed reloading script: " + name)
	}
}

// runModule makes module of the root directory the program of every
// worker: the master loads it to learn its listen addresses, opens their
// sockets (closing those no longer declared), then tells each worker to
// load it with the sockets. A module that does not load changes nothing.
func (m *Master) runModule(module string) error {
	specs, err := m.learn(module)
	if err != nil {
		return err
	}
	if err := m.openSockets(specs); err != nil {
		m.log.Error(err.Error())
		return err
	}
	m.mu.Lock()
	m.module = module
	m.mu.Unlock()
	for _, w := range m.workers {
		w.reload(module)
	}
	return nil
}

// restart starts a dead worker again on its slot's sockets, at once the
// first time and with a growing delay while it keeps crashing.
func (m *Master) restart(w *workerProc) {
	m.mu.Lock()
	stopping := m.stopping
	m.mu.Unlock()
	m.log.Error(fmt.Sprintf("[master] worker %d (pid %d) died: %s", w.slot, w.pid, w.exitText()))
	if stopping {
		return
	}
	delay := w.nextDelay()
	if delay > 0 {
		m.log.Warn(fmt.Sprintf("[master] worker %d keeps crashing; restarting in %v", w.slot, delay))
	}
	go func() {
		time.Sleep(delay)
		m.mu.Lock()
		stopping := m.stopping
		m.mu.Unlock()
		if stopping {
			return
		}
		if err := w.start(); err != nil {
			m.log.Error(fmt.Sprintf("[master] cannot restart worker %d: %v", w.slot, err))
			m.exits <- w
		}
	}()
}

// drain tells every worker to stop accepting and finish its sessions, and
// waits up to the drain timeout (a second SIGINT forces it), then kills
// what is left.
func (m *Master) drain(sigs chan os.Signal, upgraded bool) {
	m.mu.Lock()
	m.stopping = true
	if !upgraded {
		// Nobody takes over: stop the kernel from queueing connections
		// that no worker will accept.
		for _, files := range m.sockets {
			for _, f := range files {
				shutdownSocket(f)
			}
		}
	}
	m.mu.Unlock()
	for _, w := range m.workers {
		w.send(&ipc.Message{Type: ipc.Drain})
	}
	timeout := time.After(m.opts.DrainTimeout + time.Second)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		alive := 0
		for _, w := range m.workers {
			if w.running() {
				alive++
			}
		}
		if alive == 0 {
			return
		}
		select {
		case <-m.exits:
		case <-tick.C:
			m.log.Info(fmt.Sprintf("Waiting for %d worker(s) to finish their sessions... Press Ctrl-C again to force shutdown", alive))
		case sig := <-sigs:
			if sig == syscall.SIGINT || sig == syscall.SIGTERM || sig == syscall.SIGQUIT {
				m.log.Info("Forcing to shut down...")
				m.stopAll()
				return
			}
		case <-timeout:
			m.log.Warn("[master] drain timeout: stopping the remaining workers")
			m.stopAll()
			return
		}
	}
}

// stopAll kills every worker and waits for them.
func (m *Master) stopAll() {
	m.mu.Lock()
	m.stopping = true
	m.mu.Unlock()
	for _, w := range m.workers {
		w.kill()
	}
	deadline := time.After(5 * time.Second)
	for _, w := range m.workers {
		select {
		case <-w.done():
		case <-deadline:
			return
		}
	}
}
