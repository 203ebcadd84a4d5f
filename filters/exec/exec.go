// Package exec holds the exec filter: it runs a child process per session,
// writes the session's Data to its standard input and outputs its standard
// output. Children are tracked in the Env so a worker can terminate them on
// shutdown.
package exec

import (
	"github.com/pipy-go/pipy/filters"

	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/dop251/goja"
	"golang.org/x/sys/unix"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "exec", Args: "command", Description: "Spawns a child process and connects to its input/output",
		Params: []filters.Param{{Name: "command", Type: "string|array|function", Help: "Command line to execute"}},
		Make: func(a *filters.Args) (filters.Template, error) {
			if err := a.Require(1); err != nil {
				return nil, err
			}
			return &execTemplate{command: filters.NewLazy(a.Get(0))}, nil
		},
	})
}

type execTemplate struct{ command filters.Lazy }

func (t *execTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &execFilter{t: t, s: s, out: out}
}

// execFilter runs a child process per session. The child's stdin and stdout
// are one end of a socket pair, so writing to it is queued and flushed like
// any connection, and the end of input is a half-close (EOF on stdin).
type execFilter struct {
	t        *execTemplate
	s        *filters.Session
	out      filters.Sink
	started  bool
	conn     *filters.Conn
	proc     *os.Process
	pending  []*filters.Data
	inEnded  bool
	eof      bool
	exited   bool
	outEnded bool
}

func (f *execFilter) Input(evt filters.Event) {
	if f.outEnded || f.inEnded {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	if !f.started && evt.Kind() != filters.KindSessionEnd {
		argv, ok := f.argv()
		if !ok {
			return
		}
		f.started = true
		f.start(argv)
	}
	switch e := evt.(type) {
	case *filters.Data:
		if e.Size() == 0 {
			return
		}
		if f.conn != nil {
			f.conn.Write(e)
		} else {
			f.pending = append(f.pending, e)
		}
	case *filters.SessionEnd:
		f.inEnded = true
		if f.conn != nil {
			f.conn.CloseWrite()
		} else if !f.started {
			f.end()
		}
	}
}

// argv evaluates the command: a string split on spaces, or an array.
func (f *execFilter) argv() ([]string, bool) {
	v, err := f.t.command.Eval(f.s)
	if err != nil {
		f.s.Abort(err)
		return nil, false
	}
	var argv []string
	if o, ok := v.(*goja.Object); ok && o.ClassName() == "Array" {
		n := int(o.Get("length").ToInteger())
		for i := 0; i < n; i++ {
			argv = append(argv, o.Get(strconv.Itoa(i)).String())
		}
	} else if v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
		for _, a := range strings.Split(v.String(), " ") {
			if a != "" {
				argv = append(argv, a)
			}
		}
	}
	if len(argv) == 0 {
		f.s.Env().Log.Error("[exec] command is empty")
		return nil, false
	}
	return argv, true
}

func (f *execFilter) start(argv []string) {
	env := f.s.Env()
	go func() {
		nc, cmd, err := spawn(argv)
		env.Loop.Run(func() { f.spawned(argv, nc, cmd, err) })
	}()
}

// spawn starts argv with its stdin and stdout on a socket pair and returns
// our end as a net.Conn.
func spawn(argv []string) (net.Conn, *exec.Cmd, error) {
	syscall.ForkLock.RLock()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "exec"), os.NewFile(uintptr(fds[1]), "exec-child")
	defer theirs.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = theirs, theirs, os.Stderr
	if err := cmd.Start(); err != nil {
		ours.Close()
		return nil, nil, err
	}
	nc, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, nil, err
	}
	return nc, cmd, nil
}

func (f *execFilter) spawned(argv []string, nc net.Conn, cmd *exec.Cmd, err error) {
	env := f.s.Env()
	if err != nil {
		env.Log.Error(fmt.Sprintf("[exec] unable to exec: %s (%v)", strings.Join(argv, " "), err))
		f.end()
		return
	}
	f.proc = cmd.Process
	env.Children.Add(cmd.Process)
	c := filters.NewConn(nc, env.Loop)
	c.ReadAfterWriteError = true
	f.conn = c
	if f.outEnded || f.s.Done() {
		f.kill()
	}
	for _, d := range f.pending {
		c.Write(d)
	}
	f.pending = nil
	if f.inEnded {
		c.CloseWrite()
	}
	f.s.OnEnd(func() {
		if !f.exited {
			f.kill()
		}
		c.Abort()
	})
	group := f.s.Context.Group
	go func() {
		cmd.Wait()
		env.Children.Remove(cmd.Process)
		env.Loop.Run(func() {
			f.exited = true
			f.maybeEnd()
			group.Notify()
		})
	}()
	go c.ReadLoop(func(d *filters.Data) {
		if f.outEnded {
			d.Release()
			return
		}
		f.out.Input(d)
		f.out.Input(filters.NewData())
		group.Notify()
	}, func(err error) {
		if err != nil && !errors.Is(err, net.ErrClosed) {
			env.Log.Warn("[exec] read error", "command", argv[0], "error", err)
		}
		f.eof = true
		f.maybeEnd()
	})
}

func (f *execFilter) kill() {
	if f.proc != nil {
		f.proc.Signal(syscall.SIGTERM)
	}
}

// maybeEnd outputs SessionEnd once the child has exited and its output has
// been read to the end.
func (f *execFilter) maybeEnd() {
	if f.exited && f.eof {
		f.end()
	}
}

func (f *execFilter) end() {
	if f.outEnded {
		return
	}
	f.outEnded = true
	for _, d := range f.pending {
		d.Release()
	}
	f.pending = nil
	if f.conn != nil {
		f.conn.Close()
	}
	f.out.Input(filters.TheSessionEnd)
}
