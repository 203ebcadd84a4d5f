package master

import (
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/pipy-go/pipy/console"
	"github.com/pipy-go/pipy/ipc"
	"github.com/pipy-go/pipy/scripts"
)

// controlRequest is a console request to start (module set) or stop the
// program, carried out by the master's loop.
type controlRequest struct {
	module string // e.g. "/004-http-proxy/pipy.js"; "" stops the program
	done   chan error
}

// errStopping answers console requests that arrive while the master stops.
var errStopping = errors.New("the master is shutting down")

// control runs in the master's loop: it switches every worker to another
// module of the root directory, or stops the program on every worker.
func (m *Master) control(req controlRequest) error {
	if req.module == "" {
		m.mu.Lock()
		m.module, m.prog, m.files = "", nil, nil
		m.mu.Unlock()
		if err := m.openSockets(nil); err != nil { // closes every socket
			m.log.Error(err.Error())
		}
		for _, w := range m.workers {
			w.send(&ipc.Message{Type: ipc.Unload})
		}
		m.log.Info("[gui] program stopped on every worker")
		return nil
	}
	if err := m.runModule(req.module); err != nil {
		m.log.Error("Failed starting script: " + req.module)
		return err
	}
	m.log.Info(fmt.Sprintf("[gui] starting %s on %d worker(s)", req.module, len(m.workers)))
	return nil
}

// serveGUI serves the web console on addr for the script's directory,
// through tableflip so that an upgraded master inherits the socket.
func (m *Master) serveGUI(addr string) error {
	m.log.Info("[gui] Starting GUI service...")
	ln, err := m.upg.Fds.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	console.Announce(m.log, ln, "[gui] the console", "anyone who reaches it can read, change and run files under "+m.root)
	srv := console.New(console.Config{
		Root:    m.root,
		Program: guiControl{m},
		Log:     m.opts.Output,
		Logger:  m.log,
		Stats:   m.workerStats,
	})
	go srv.Serve(ln)
	return nil
}

// workerStats is the console's view of the workers, from their last IPC
// stats.
func (m *Master) workerStats() []console.WorkerStats {
	var out []console.WorkerStats
	for _, w := range m.workers {
		s := w.lastStat()
		if s == nil || !w.running() {
			continue
		}
		out = append(out, console.WorkerStats{
			ID: w.slot, PID: s.PID, Connections: s.Connections, Requests: s.Requests,
			Memory: s.Memory, BytesIn: s.BytesIn, BytesOut: s.BytesOut,
		})
	}
	return out
}

// guiControl is the console's program control in a master.
type guiControl struct{ m *Master }

func (g guiControl) Current() string {
	g.m.mu.Lock()
	defer g.m.mu.Unlock()
	return g.m.module
}

func (g guiControl) Start(module string) error {
	return g.request(path.Clean("/" + module))
}

func (g guiControl) Stop() error { return g.request("") }

func (g guiControl) request(module string) error {
	req := controlRequest{module: module, done: make(chan error, 1)}
	g.m.mu.Lock()
	stopping := g.m.stopping
	g.m.mu.Unlock()
	if stopping {
		return errStopping
	}
	select {
	case g.m.requests <- req:
		return <-req.done
	case <-time.After(30 * time.Second):
		return errors.New("the master is busy (draining or upgrading): try again")
	}
}

func (g guiControl) Config() map[string]*scripts.Graph {
	g.m.mu.Lock()
	prog := g.m.prog
	g.m.mu.Unlock()
	if prog == nil {
		return map[string]*scripts.Graph{}
	}
	return scripts.LiveGraph(prog)
}
