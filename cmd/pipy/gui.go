package main

import (
	"fmt"
	"net"
	"path"

	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/console"
	"github.com/pipy-go/pipy/logging"
	"github.com/pipy-go/pipy/scripts"
	"github.com/pipy-go/pipy/worker"
)

// programControl lets the console start and stop programs of the served
// directory in this process.
type programControl struct {
	w    *worker.Worker
	root string
}

func (p programControl) Current() string { return p.w.Current() }

func (p programControl) Start(name string) error {
	name = path.Clean("/" + name)
	if err := p.w.StartModule(p.root, name); err != nil {
		p.w.LogLoadError(err)
		return err
	}
	return nil
}

func (p programControl) Stop() error {
	p.w.StopProgram()
	return nil
}

func (p programControl) Config() map[string]*scripts.Graph {
	prog := p.w.Program()
	if prog == nil {
		return map[string]*scripts.Graph{}
	}
	return scripts.LiveGraph(prog)
}

// startGUI serves the web console for root on addr and returns a function
// that closes its listener.
func startGUI(addr, root string, w *worker.Worker, log hclog.Logger, out *logging.Output) (func(), error) {
	log.Info("[gui] Starting GUI service...")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	console.Announce(log, ln, "[gui] the console", "anyone who reaches it can read, change and run files under "+root)
	srv := console.New(console.Config{
		Root:    root,
		Program: programControl{w: w, root: root},
		Log:     out,
		Logger:  log,
		Stats: func() []console.WorkerStats {
			s := w.Stat()
			return []console.WorkerStats{{
				ID: 1, PID: s.PID, Connections: s.Connections, Requests: s.Requests,
				Memory: s.Memory, BytesIn: s.BytesIn, BytesOut: s.BytesOut,
			}}
		},
	})
	go srv.Serve(ln)
	return func() { ln.Close() }, nil
}
