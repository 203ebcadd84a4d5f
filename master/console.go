package master

import (
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/pipy-go/pipy/console"
	"github.com/pipy-go/pipy/scripts"
)

// serveConsole serves the web console on addr for the root directory,
// through the upgrader so that an upgraded master inherits the socket.
func (m *Master) serveConsole(addr string) error {
	m.log.Info("[gui] Starting GUI service...")
	ln, err := m.upg.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	m.closers = append(m.closers, ln)
	root, _ := m.program()
	console.Announce(m.log, ln, "[gui] the console", "anyone who reaches it can read, change and run files under "+root)
	srv := console.New(console.Config{
		Root:    root,
		Program: programControl{m},
		Log:     m.opts.Output,
		Logger:  m.log,
		Stats:   m.consoleStats,
	})
	go srv.Serve(ln)
	return nil
}

// consoleStats is the console's view of the workers.
func (m *Master) consoleStats() []console.WorkerStats {
	var out []console.WorkerStats
	for _, w := range m.workerStats(true) {
		if s := w.stats; s != nil {
			out = append(out, console.WorkerStats{
				ID: w.slot, PID: s.PID, Connections: s.Connections, Requests: s.Requests,
				Memory: s.Memory, BytesIn: s.BytesIn, BytesOut: s.BytesOut,
			})
		}
	}
	return out
}

// programControl is the console's program control: requests go through the
// master's loop, which applies them to every worker.
type programControl struct{ m *Master }

// Current returns the running root module, or "".
func (g programControl) Current() string { return g.m.currentModule() }

// Start runs module (relative to the root) on every worker.
func (g programControl) Start(module string) error {
	return g.request(path.Clean("/" + module))
}

// Stop stops the program on every worker.
func (g programControl) Stop() error { return g.request("") }

func (g programControl) request(module string) error {
	if g.m.isStopping() {
		return errStopping
	}
	req := controlRequest{module: module, done: make(chan error, 1)}
	select {
	case g.m.requests <- req:
		return <-req.done
	case <-g.m.quit:
		return errStopping
	case <-time.After(30 * time.Second):
		return errors.New("the master is busy (draining or upgrading): try again")
	}
}

// Config returns the graphs of the last loaded program.
func (g programControl) Config() map[string]*scripts.Graph {
	g.m.mu.Lock()
	prog := g.m.prog
	g.m.mu.Unlock()
	return scripts.LiveGraph(prog) // empty for nil
}
