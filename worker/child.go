package worker

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/ipc"
)

// ServeOptions configure the worker side of the master-worker protocol.
type ServeOptions struct {
	// DrainTimeout bounds a drain the worker starts on its own: when the
	// master has gone, or on a signal from Signals. A drain the master asks
	// for has no bound here: the master sends Stop when its time is up.
	DrainTimeout time.Duration
	// Signals carries SIGTERM and SIGQUIT to a worker process: it drains.
	// nil for a worker in the master's process, whose signals are the
	// master's.
	Signals <-chan os.Signal
	// Kill, once closed, stops the worker at once: its listeners close and
	// a drain stops waiting for sessions. An in-process worker's launcher
	// closes it where a process would get SIGKILL.
	Kill <-chan struct{}
	// StatsInterval is how often the worker reports its stats (default 1 s).
	StatsInterval time.Duration
}

// RunChild runs this process as the worker of slot (pipy --worker=<slot>):
// it takes its connection, program and sockets from its master (see the
// contract in package ipc), ignores the signals that are the master's
// business and serves. It returns the exit status.
func (w *Worker) RunChild(slot int, opts ServeOptions) int {
	conn, a, err := ipc.Inherit(slot)
	if err != nil {
		w.Log.Error("[worker] cannot start", "error", err)
		return 1
	}
	defer conn.Close()
	// A terminal's Ctrl-C, reloads, status dumps and upgrades go to the
	// master, which tells its workers what to do.
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGTSTP, syscall.SIGUSR2, syscall.SIGPIPE)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGQUIT)
	opts.Signals = sigs
	return w.Serve(conn, a, opts)
}

// Serve runs the worker side of the protocol on conn (the master's end is
// in master/): it starts the program of a on a's sockets, sends Ready, then
// reports stats every second and reloads, unloads, drains or stops when
// told. It returns the exit status once it has stopped: 0, or 1 when the
// program did not start. Serve closes the sockets it was handed and those
// that come with Reload messages; conn stays open.
func (w *Worker) Serve(conn *ipc.Conn, a *ipc.Assignment, opts ServeOptions) int {
	if opts.StatsInterval <= 0 {
		opts.StatsInterval = time.Second
	}
	c := &child{w: w, conn: conn, opts: opts, done: make(chan struct{}), force: make(chan struct{}), sockets: map[string]*os.File{}}
	defer close(c.done)
	c.setSockets(a.Listeners, a.Sockets)
	w.opts.Listen = c.listen

	var err error
	if a.Module != "" {
		err = w.StartModule(a.Root, a.Module)
	} else {
		w.SetRoot(a.Root)
	}
	if err != nil {
		w.LogLoadError(err)
		c.closeSockets(true)
		return 1
	}
	conn.Send(&ipc.Message{Type: ipc.Ready})
	c.sendStats() // seen at once, not a second later

	msgs := make(chan *ipc.Message)
	go c.read(msgs)
	tick := time.NewTicker(opts.StatsInterval)
	defer tick.Stop()
	kill := opts.Kill
	var drained <-chan bool       // set while draining
	var deadline <-chan time.Time // the worker's own bound on a drain
	bound := func() {
		if deadline == nil && opts.DrainTimeout > 0 {
			deadline = time.After(opts.DrainTimeout)
		}
	}
	for {
		select {
		case m, ok := <-msgs:
			switch {
			case !ok:
				msgs = nil
				if drained == nil {
					drained = c.drain("the master has gone")
				}
				bound()
			case m.Type == ipc.Drain:
				if drained == nil {
					drained = c.drain("told to stop")
				}
			case m.Type == ipc.Stop:
				if drained == nil {
					w.StopAccepting()
					return 0
				}
				c.forceOnce.Do(func() { close(c.force) })
			default:
				c.handle(m, drained != nil)
			}
		case <-tick.C:
			c.sendStats()
		case sig := <-opts.Signals:
			if drained == nil {
				name := "signal"
				if s, ok := sig.(syscall.Signal); ok {
					name = unix.SignalName(s)
				}
				drained = c.drain(name)
			}
			bound()
		case <-kill:
			kill = nil
			if drained == nil {
				w.StopAccepting()
				c.closeSockets(true)
				return 0
			}
			c.forceOnce.Do(func() { close(c.force) })
		case <-deadline:
			c.forceOnce.Do(func() { close(c.force) })
		case <-drained:
			return 0
		}
	}
}

// child is the state of Serve.
type child struct {
	w     *Worker
	conn  *ipc.Conn
	opts  ServeOptions
	done  chan struct{} // closed when Serve returns
	force chan struct{} // closed to end a drain now
	// forceOnce guards force.
	forceOnce sync.Once

	mu       sync.Mutex
	sockets  map[string]*os.File // listen address -> the master's socket
	draining bool
}

// listen gives the worker the master's socket for a listen() declaration.
// Port 0 is the exception: each worker binds its own ephemeral port.
func (c *child) listen(spec *filters.ListenSpec, reuse bool) (net.Listener, error) {
	if spec.Port == 0 {
		return filters.ListenTCP(spec, reuse)
	}
	c.mu.Lock()
	f := c.sockets[spec.Addr()]
	c.mu.Unlock()
	if f == nil {
		return nil, fmt.Errorf("the master handed over no socket for %s", spec.Addr())
	}
	return net.FileListener(f)
}

// setSockets replaces the sockets: a kept port gets another descriptor of
// the same socket, a port added again a new socket, and a removed port's
// descriptor is closed. Files beyond the addresses are closed.
func (c *child) setSockets(addrs []string, files []*os.File) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.sockets
	c.sockets = map[string]*os.File{}
	for i, f := range files {
		if i < len(addrs) && !c.draining {
			c.sockets[addrs[i]] = f
		} else {
			f.Close()
		}
	}
	for _, f := range old {
		f.Close()
	}
}

// closeSockets closes every socket; with stop, later ones are refused.
func (c *child) closeSockets(stop bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.sockets {
		f.Close()
	}
	c.sockets = map[string]*os.File{}
	c.draining = c.draining || stop
}

// read passes the master's messages to Serve, taking the sockets of a
// Reload first. It closes msgs when the connection ends.
func (c *child) read(msgs chan<- *ipc.Message) {
	defer close(msgs)
	for {
		m, files, err := c.conn.Recv()
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return
		}
		if m.Type == ipc.Reload {
			c.setSockets(m.Listeners, files)
		} else {
			for _, f := range files {
				f.Close()
			}
		}
		select {
		case msgs <- m:
		case <-c.done:
			return
		}
	}
}

// handle carries out Reload, Unload and a request for stats.
func (c *child) handle(m *ipc.Message, draining bool) {
	switch m.Type {
	case ipc.Reload:
		reply := &ipc.Message{Type: ipc.Reloaded}
		if draining {
			reply.Error = "the worker is draining"
		} else if err := c.w.ReloadModule(m.Module); err != nil {
			reply.Error = strings.SplitN(err.Error(), "\n", 2)[0]
		}
		c.conn.Send(reply)
	case ipc.Unload:
		if !draining {
			c.w.StopProgram()
			c.w.Log.Info("[worker] program stopped")
		}
	case ipc.Stats:
		c.sendStats()
	}
}

func (c *child) sendStats() {
	c.conn.Send(&ipc.Message{Type: ipc.Stats, Stats: c.w.Stat()})
}

// drain stops accepting and waits for the sessions in the background; the
// channel gets the outcome. Closing c.force ends the wait.
func (c *child) drain(why string) <-chan bool {
	c.w.Log.Info("[worker] " + why + ": draining")
	c.conn.Send(&ipc.Message{Type: ipc.Draining})
	c.closeSockets(true)
	done := make(chan bool, 1)
	go func() { done <- c.w.Shutdown(c.force, 0) }()
	return done
}
