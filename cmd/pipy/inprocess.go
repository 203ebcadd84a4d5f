package main

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/ipc"
	"github.com/pipy-go/pipy/logging"
	"github.com/pipy-go/pipy/master"
	"github.com/pipy-go/pipy/worker"
)

// inProcess is the master's launcher without --spawn: the one worker runs
// in this process, speaking the same protocol over a socket pair as a worker
// process would. It accepts on its own descriptors of the master's sockets,
// so connections take no extra hop.
type inProcess struct {
	opts         worker.Options
	drainTimeout time.Duration
	log          hclog.Logger
	out          *logging.Output
}

// Launch starts the worker's Serve loop in a goroutine.
func (l *inProcess) Launch(a *ipc.Assignment) (master.Process, error) {
	own, err := a.Dup() // Serve closes the sockets it is handed
	if err != nil {
		return nil, fmt.Errorf("in-process worker: %w", err)
	}
	ours, theirs, err := ipc.ConnPair()
	if err != nil {
		own.Close()
		return nil, fmt.Errorf("in-process worker: %w", err)
	}
	w := worker.New(l.opts, l.log, l.out)
	p := &goroutineWorker{conn: ours, done: make(chan struct{}), kill: make(chan struct{})}
	go func() {
		p.status = w.Serve(theirs, own, worker.ServeOptions{DrainTimeout: l.drainTimeout, Kill: p.kill})
		theirs.Close()
		close(p.done)
	}()
	return p, nil
}

// goroutineWorker is a worker running in this process.
type goroutineWorker struct {
	conn     *ipc.Conn
	done     chan struct{}
	kill     chan struct{}
	killOnce sync.Once
	status   int // valid once done is closed
}

func (p *goroutineWorker) Conn() *ipc.Conn       { return p.conn }
func (p *goroutineWorker) PID() int              { return os.Getpid() }
func (p *goroutineWorker) Done() <-chan struct{} { return p.done }
func (p *goroutineWorker) ExitStatus() string    { return fmt.Sprintf("exit status %d", p.status) }

// Kill stops the worker's listeners and its drain; its sessions end when
// the process exits, which follows.
func (p *goroutineWorker) Kill() { p.killOnce.Do(func() { close(p.kill) }) }
