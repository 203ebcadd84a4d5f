package filters

import (
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/dop251/goja"
	"github.com/hashicorp/go-hclog"
)

// Script is the bridge to the JavaScript runtime of one program; package
// scripts implements it. All methods run under the Loop's lock.
type Script interface {
	// Call runs fn with ctx as the current context. An exception thrown by the
	// script comes back as an error whose text holds the message, the source
	// location and the JS stack.
	Call(ctx *Context, fn goja.Callable, args ...goja.Value) (goja.Value, error)
	// EventValue returns the script object for an event given to a callback.
	// A Data handed to a script is marked as escaped.
	EventValue(evt Event) goja.Value
	// MessageValue returns the script object for a Message.
	MessageValue(m *Message) goja.Value
	// HeadValue returns a head as a script value, converting decoded Go
	// heads (HTTP, Dubbo) to plain objects.
	HeadValue(head any) goja.Value
	// Runtime returns the goja runtime.
	Runtime() *goja.Runtime
	// ReleaseShared ends the sessions scripts made themselves (new
	// Session), which serve no connection. It is called inside the loop
	// once the program is retired and nothing else of it runs.
	ReleaseShared()
	// Close ends the program's script side when the program ends: later
	// calls fail, and what the runtime holds becomes garbage. Inside the
	// loop; idempotent.
	Close() error
}

// Env is what sessions need from the process they run in: the loop that
// serialises all script work, and the logger.
type Env struct {
	Loop *Loop
	Log  hclog.Logger
	// Print writes a raw output line (print, dump) without a level prefix.
	Print func(line string)
	// Restart asks for a reload of the running program (pipy.restart()).
	Restart func()

	// HalfCloseTimeout bounds how long a connection whose peer closed its
	// side (an inbound client, or connect()'s upstream after the session's
	// input ended) waits for its session to finish; 0 means
	// DefaultHalfCloseTimeout.
	HalfCloseTimeout time.Duration
	// MuxIdleTimeout is how long mux keeps a shared session that no
	// session uses any more; 0 means DefaultMuxIdleTimeout.
	MuxIdleTimeout time.Duration

	// Children are the child processes exec() started, terminated when
	// the process shuts down.
	Children ProcessSet
}

// Defaults of the Env timeouts.
const (
	DefaultHalfCloseTimeout = 10 * time.Second
	DefaultMuxIdleTimeout   = 10 * time.Second
)

// HalfClose returns HalfCloseTimeout or its default.
func (e *Env) HalfClose() time.Duration {
	if e.HalfCloseTimeout > 0 {
		return e.HalfCloseTimeout
	}
	return DefaultHalfCloseTimeout
}

// MuxIdle returns MuxIdleTimeout or its default.
func (e *Env) MuxIdle() time.Duration {
	if e.MuxIdleTimeout > 0 {
		return e.MuxIdleTimeout
	}
	return DefaultMuxIdleTimeout
}

// ProcessSet is a set of running child processes. The zero value is ready
// to use; it is safe for concurrent use.
type ProcessSet struct {
	mu    sync.Mutex
	procs map[*os.Process]struct{}
}

// Add records p as running.
func (ps *ProcessSet) Add(p *os.Process) {
	ps.mu.Lock()
	if ps.procs == nil {
		ps.procs = map[*os.Process]struct{}{}
	}
	ps.procs[p] = struct{}{}
	ps.mu.Unlock()
}

// Remove forgets p (it exited).
func (ps *ProcessSet) Remove(p *os.Process) {
	ps.mu.Lock()
	delete(ps.procs, p)
	ps.mu.Unlock()
}

// Terminate sends SIGTERM to every process of the set.
func (ps *ProcessSet) Terminate() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for p := range ps.procs {
		p.Signal(syscall.SIGTERM)
	}
}
