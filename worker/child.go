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

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/ipc"
)

// ChildOptions configure a worker process started by a master.
type ChildOptions struct {
	Options
	Script string
	// Root and Module, when Root is set, name the program instead of
	// Script: the module (e.g. "/002-hello/pipy.js") of the root directory;
	// an empty Module starts the worker with no program (the master's
	// console stopped it).
	Root, Module string
	DrainTimeout time.Duration
	// Listeners are the listen addresses of the inherited sockets from fd
	// 4 on, in order (fd 3 is the IPC connection).
	Listeners []string
}

// RunChild runs this process as a worker of a master: it serves the script
// on the sockets the master handed over, reports stats every second, and
// reloads or drains when told. It returns the exit status.
func (w *Worker) RunChild(opts ChildOptions) int {
	conn, err := ipc.FromFile(os.NewFile(3, "ipc"))
	if err != nil {
		w.Log.Error(fmt.Sprintf("[worker] no IPC connection to the master: %v", err))
		return 1
	}
	var mu sync.Mutex
	sockets := map[string]*os.File{}
	for i, addr := range opts.Listeners {
		sockets[addr] = os.NewFile(uintptr(4+i), "listen "+addr)
	}
	w.opts.Listen = func(spec *filters.ListenSpec, reuse bool) (net.Listener, error) {
		mu.Lock()
		f := sockets[spec.Addr()]
		mu.Unlock()
		if f == nil {
			return nil, fmt.Errorf("the master handed over no socket for %s", spec.Addr())
		}
		return net.FileListener(f)
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGTSTP, syscall.SIGPIPE)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGQUIT)

	var err2 error
	switch {
	case opts.Root == "":
		err2 = w.Start(opts.Script)
	case opts.Module != "":
		err2 = w.StartModule(opts.Root, opts.Module)
	default:
		w.SetRoot(opts.Root)
	}
	if err2 != nil {
		w.LogLoadError(err2)
		return 1
	}
	conn.Send(&ipc.Message{Type: ipc.Ready})
	conn.Send(&ipc.Message{Type: ipc.Stats, Stats: w.Stat()}) // seen at once, not a second later

	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if conn.Send(&ipc.Message{Type: ipc.Stats, Stats: w.Stat()}) != nil {
					return
				}
			case <-stop:
				return
			}
		}
	}()
	defer close(stop)

	msgs := make(chan *ipc.Message)
	go func() {
		for {
			m, files, err := conn.Recv()
			if err != nil {
				close(msgs)
				return
			}
			if m.Type == ipc.Reload {
				// The master's sockets replace ours: a kept port gets another
				// descriptor of the same socket, a port added again a new
				// socket, and a removed port's descriptor is closed.
				mu.Lock()
				old := sockets
				sockets = map[string]*os.File{}
				for i, f := range files {
					if i < len(m.Listeners) {
						sockets[m.Listeners[i]] = f
					} else {
						f.Close()
					}
				}
				for _, f := range old {
					f.Close()
				}
				mu.Unlock()
			} else {
				for _, f := range files {
					f.Close()
				}
			}
			msgs <- m
		}
	}()
	drain := func(why string) int {
		w.Log.Info("[worker] " + why + ": draining")
		conn.Send(&ipc.Message{Type: ipc.Draining})
		mu.Lock()
		for _, f := range sockets {
			f.Close()
		}
		sockets = map[string]*os.File{}
		mu.Unlock()
		w.Shutdown(nil, opts.DrainTimeout)
		return 0
	}
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return drain("the master has gone")
			}
			switch m.Type {
			case ipc.Reload:
				reply := &ipc.Message{Type: ipc.Reloaded}
				if err := w.ReloadModule(m.Module); err != nil {
					reply.Error = strings.SplitN(err.Error(), "\n", 2)[0]
				}
				conn.Send(reply)
			case ipc.Unload:
				w.StopProgram()
				w.Log.Info("[worker] program stopped")
			case ipc.Drain:
				return drain("told to stop")
			case ipc.Stop:
				return 0
			}
		case <-sigs:
			return drain("SIGTERM")
		}
	}
}
