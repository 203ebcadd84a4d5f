package filters

import (
	"fmt"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/dop251/goja"
)

// Sink receives events. Filters, session outputs and connections are sinks.
//
// Data ownership: a *Data passed to Input belongs to the receiver from then
// on. The receiver passes it on (to the next Sink, a connection's write
// queue), keeps it (a buffer, a collected body) and releases it later, or
// releases it now (Data.Release) when it drops it; the caller must not use
// it after Input. Releasing returns pooled read buffers for reuse, so a
// Data that is dropped without Release is not a bug, only a pooled buffer
// left to the garbage collector. A Data reachable from a script is marked
// escaped (Data.Escape) and Release does nothing from then on. Events other
// than Data carry no pooled memory. Input runs inside the Loop.
type Sink interface {
	Input(evt Event)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(evt Event)

// Input implements Sink.
func (f SinkFunc) Input(evt Event) { f(evt) }

// Discard is a Sink that drops every event.
var Discard Sink = SinkFunc(func(Event) {})

// Template is a filter declaration: made once when a script is loaded, it
// makes a fresh filter instance for every session of its pipeline. A
// template that keeps sessions across the sessions using it (mux's pool)
// also implements Retirer.
type Template interface {
	// New returns the instance for session s, whose output goes to out.
	New(s *Session, out Sink) Sink
}

// Retirer is implemented by templates that keep sessions beyond the
// sessions that use them. Retire is called inside the loop when the
// template's program is retired (a reload replaced it, or it was stopped):
// running sessions may still use the template but no new one will, so what
// it keeps for later should end once unused, not after an idle time.
type Retirer interface {
	Retire()
}

// FilterDecl is one filter of a pipeline as declared by a script.
type FilterDecl struct {
	Name     string   // script name, e.g. "decodeHttpRequest"
	Template Template // makes the per-session instances
	Targets  []string // pipelines this filter starts sessions of (graph check)
	Module   string   // for use(): the module the targets belong to
	Location string   // script location of the declaration, for messages
}

// PipelineKind tells how a pipeline is started.
type PipelineKind uint8

// Pipeline kinds.
const (
	NamedPipeline PipelineKind = iota
	ListenPipeline
	TaskPipeline
)

// Pipeline is a template: an ordered list of filter declarations, plus
// counters of the sessions made from it.
type Pipeline struct {
	Name    string // "0.0.0.0:6080", "routing", "Task #1"
	Kind    PipelineKind
	Module  *Module
	Filters []*FilterDecl

	// Listen is set for listening pipelines; Task for task pipelines.
	Listen *ListenSpec
	Task   *TaskSpec

	Allocated atomic.Int64 // sessions ever made
	ActiveN   atomic.Int64 // sessions not yet ended
}

// ListenSpec describes a listen() declaration.
type ListenSpec struct {
	Port    int
	Host    string // "0.0.0.0" unless an address was given
	Reuse   *bool  // nil: the process default (--reuse-port)
	TLSCert string // PEM, with TLSKey: a TLS server
	TLSKey  string
	TLS     bool
	// Limits are the listener's limits and timeouts (listen options).
	Limits Limits
}

// Addr returns host:port.
func (l *ListenSpec) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

// TaskSpec describes a task() declaration.
type TaskSpec struct {
	Interval float64 // seconds
	Text     string  // as written, e.g. "1s"
}

// Module is one loaded script file.
type Module struct {
	Name      string // "/pipy.js"
	Index     int    // position in Program.Modules and in Context.Vars
	Program   *Program
	Pipelines []*Pipeline // in declaration order
	Named     map[string]*Pipeline

	// VarNames and VarInit are the declared context variables and their
	// initial values.
	VarNames []string
	VarIndex map[string]int
	VarInit  []goja.Value
}

// Program is a loaded root module with every module it uses.
type Program struct {
	Script  Script
	Modules []*Module
	ByName  map[string]*Module
	Root    *Module
	Env     *Env
	// Files are the files the program's scripts read, for error messages.
	Files FileNotes
}

// Pipelines returns every pipeline of the program.
func (p *Program) Pipelines() []*Pipeline {
	var all []*Pipeline
	for _, m := range p.Modules {
		all = append(all, m.Pipelines...)
	}
	return all
}

// ActiveSessions counts sessions of the program that have not ended.
func (p *Program) ActiveSessions() int64 {
	var n int64
	for _, pl := range p.Pipelines() {
		n += pl.ActiveN.Load()
	}
	return n
}

// Context is the set of script variables a session sees.
type Context struct {
	ID      uint64
	Program *Program
	Inbound *Inbound
	Group   *Group
	// Vars holds one slice of variable values per module (Module.Index).
	Vars [][]goja.Value
	// Extra holds variables injected by fork() that a module did not declare.
	Extra []map[string]goja.Value
	// Argv holds __argv per module, set by use().
	Argv []goja.Value
	// valves are the sources reading into sessions of this context (the
	// upstream connections connect made); pauses counts Pause calls not
	// yet resumed.
	valves      []Valve
	valveInline [2]Valve // room for the usual valves without an allocation
	pauses      int
	// ALPN lists the protocols that TLS connections made by connect in
	// this context offer by ALPN: muxHttp version 2 sets "h2" on the
	// contexts of its upstream sessions. Derived contexts inherit it.
	ALPN []string
}

var contextIDs atomic.Uint64

// NewContext makes a root context: a fresh shallow copy of every module's
// declared variables.
func (p *Program) NewContext(in *Inbound) *Context {
	c := &Context{ID: contextIDs.Add(1), Program: p, Inbound: in, Group: &Group{}}
	c.Vars = make([][]goja.Value, len(p.Modules))
	for i, m := range p.Modules {
		if len(m.VarInit) > 0 {
			c.Vars[i] = append([]goja.Value(nil), m.VarInit...)
		}
	}
	return c
}

// Derive makes a context holding a snapshot of c's current values, in c's
// group, with the same inbound connection and __argv.
func (c *Context) Derive() *Context {
	d := &Context{ID: contextIDs.Add(1), Program: c.Program, Inbound: c.Inbound, Group: c.Group, ALPN: c.ALPN}
	d.Vars = make([][]goja.Value, len(c.Vars))
	for i, v := range c.Vars {
		if len(v) > 0 {
			d.Vars[i] = append([]goja.Value(nil), v...)
		}
	}
	if c.Extra != nil {
		d.Extra = make([]map[string]goja.Value, len(c.Extra))
		for i, m := range c.Extra {
			if m != nil {
				d.Extra[i] = make(map[string]goja.Value, len(m))
				for k, v := range m {
					d.Extra[i][k] = v
				}
			}
		}
	}
	if c.Argv != nil {
		d.Argv = append([]goja.Value(nil), c.Argv...)
	}
	return d
}

// Valve is a source of input that can stop reading and start again: an
// upstream connection (*Conn). Pause and Resume are counted.
type Valve interface {
	Pause()
	Resume()
}

// AddValve registers v as a source of input of sessions in this context
// (connect does it for its connection); while the context is paused, v is
// paused too.
func (c *Context) AddValve(v Valve) {
	if c.valves == nil {
		c.valves = c.valveInline[:0]
	}
	c.valves = append(c.valves, v)
	if c.pauses > 0 {
		v.Pause()
	}
}

// RemoveValve forgets v (its connection ended), resuming it if the context
// had paused it.
func (c *Context) RemoveValve(v Valve) {
	for i, x := range c.valves {
		if x == v {
			c.valves = append(c.valves[:i], c.valves[i+1:]...)
			c.valves[len(c.valves):cap(c.valves)][0] = nil // no stale reference
			if c.pauses > 0 {
				v.Resume()
			}
			return
		}
	}
}

// Pause is backpressure: a filter holding more output of this context's
// sessions than its peer takes (an HTTP/2 stream whose window is closed)
// stops the sources of that output from reading until a matching Resume.
// The sources are those registered with AddValve in this very context
// (link and use share it; demux, mux and fork derive new ones).
func (c *Context) Pause() {
	c.pauses++
	if c.pauses == 1 {
		for _, v := range c.valves {
			v.Pause()
		}
	}
}

// Resume undoes one Pause.
func (c *Context) Resume() {
	if c.pauses == 0 {
		return
	}
	c.pauses--
	if c.pauses == 0 {
		for _, v := range c.valves {
			v.Resume()
		}
	}
}

// Set assigns a variable of module m in this context: a declared one, or an
// injected extra one.
func (c *Context) Set(m *Module, name string, v goja.Value) {
	if i, ok := m.VarIndex[name]; ok {
		c.Vars[m.Index][i] = v
		return
	}
	if c.Extra == nil {
		c.Extra = make([]map[string]goja.Value, len(c.Vars))
	}
	if c.Extra[m.Index] == nil {
		c.Extra[m.Index] = map[string]goja.Value{}
	}
	c.Extra[m.Index][name] = v
}

// Group is a root context and every context derived from it. Filters waiting
// on a condition (wait) subscribe to it; connect and exec notify it after
// each event they bring in from outside.
type Group struct {
	waiters []*waiter
}

type waiter struct{ f func() }

// Subscribe registers f to run on every notification; it returns a function
// that unsubscribes.
func (g *Group) Subscribe(f func()) (cancel func()) {
	w := &waiter{f: f}
	g.waiters = append(g.waiters, w)
	return func() { w.f = nil }
}

// Notify runs every subscribed waiter once.
func (g *Group) Notify() {
	if len(g.waiters) == 0 {
		return
	}
	live := g.waiters[:0]
	for _, w := range g.waiters {
		if w.f != nil {
			live = append(live, w)
		}
	}
	for i := len(live); i < len(g.waiters); i++ {
		g.waiters[i] = nil
	}
	g.waiters = live
	for _, w := range append([]*waiter(nil), live...) {
		if w.f != nil {
			w.f()
		}
	}
}

// Session is one running instance of a pipeline.
type Session struct {
	Pipeline *Pipeline
	Context  *Context
	entry    Sink
	tail     sessionTail
	aborted  bool
	onEnd    []func()
}

type sessionTail struct {
	s    *Session
	out  Sink
	done bool
}

func (t *sessionTail) Input(evt Event) {
	if t.done {
		return
	}
	if evt.Kind() == KindSessionEnd {
		t.done = true
		t.s.Pipeline.ActiveN.Add(-1)
		t.out.Input(evt)
		t.s.runOnEnd()
		return
	}
	t.out.Input(evt)
}

func (s *Session) runOnEnd() {
	hooks := s.onEnd
	s.onEnd = nil
	for _, f := range hooks {
		f()
	}
}

// NewSession makes a session of p in context ctx whose output goes to out.
func (p *Pipeline) NewSession(ctx *Context, out Sink) *Session {
	s := &Session{Pipeline: p, Context: ctx}
	s.tail = sessionTail{s: s, out: out}
	p.Allocated.Add(1)
	p.ActiveN.Add(1)
	s.entry = s.chain()
	return s
}

// chain makes the session's filters, last first. A filter that panics
// while being made leaves a session that has already ended with
// RuntimeError (its output got the SessionEnd).
func (s *Session) chain() (entry Sink) {
	defer func() {
		if v := recover(); v != nil {
			entry = Discard
			s.Abort(&PanicError{Pipeline: s.Pipeline.Name, Value: v, Stack: debug.Stack()})
		}
	}()
	var next Sink = &s.tail
	for i := len(s.Pipeline.Filters) - 1; i >= 0; i-- {
		next = s.Pipeline.Filters[i].Template.New(s, next)
	}
	return next
}

// Input pushes an event into the session's first filter. Input after the
// session was aborted or has ended is dropped.
func (s *Session) Input(evt Event) {
	if s.aborted || s.tail.done {
		if d, ok := evt.(*Data); ok {
			d.Release()
		}
		return
	}
	defer s.recoverPanic()
	s.entry.Input(evt)
}

// PanicError is a Go panic recovered in a session: a bug in a filter or in
// a script API it called. The session ends with RuntimeError; the worker
// goes on serving the others.
type PanicError struct {
	Pipeline string // the pipeline of the session that recovered it
	Value    any    // what was passed to panic
	Stack    []byte // the goroutine's stack where it was recovered
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("panic in pipeline %s: %v\n%s", e.Pipeline, e.Value, strings.TrimRight(string(e.Stack), "\n"))
}

// recoverPanic is deferred by Input: a panic in one of the session's
// filters (or further down, in a sub-session that did not recover it
// itself) aborts this session, like an exception thrown by a script.
func (s *Session) recoverPanic() {
	if v := recover(); v != nil {
		s.Abort(&PanicError{Pipeline: s.Pipeline.Name, Value: v, Stack: debug.Stack()})
	}
}

// OnEnd registers f to run once when the session has ended: it output its
// SessionEnd, was aborted or was killed. Filters use it to end the
// sub-sessions and connections they own. On a session that has ended
// already, f runs at once.
func (s *Session) OnEnd(f func()) {
	if s.tail.done {
		f()
		return
	}
	s.onEnd = append(s.onEnd, f)
}

// End ends a sub-session whose parent has ended: it is given a SessionEnd,
// and killed if that does not finish it.
func (s *Session) End(err ErrorCode) {
	if s.tail.done {
		return
	}
	if err == NoError {
		s.Input(TheSessionEnd)
	} else {
		s.Input(&SessionEnd{Err: err})
	}
	s.Kill()
}

// Done reports whether the session has output its SessionEnd.
func (s *Session) Done() bool { return s.tail.done }

// SetOutput redirects the session's output.
func (s *Session) SetOutput(out Sink) { s.tail.out = out }

// Script returns the script runtime of the session's program.
func (s *Session) Script() Script { return s.Pipeline.Module.Program.Script }

// Downstream returns the connection the session serves, or nil when it
// serves none (task pipelines, tests).
func (s *Session) Downstream() Downstream {
	if in := s.Context.Inbound; in != nil {
		return in
	}
	return nil
}

// Output emits evt at the session's output, past the filters of its
// pipeline, in order with what they output. A filter uses it for what it
// answers by itself (a decoder's error response), so the answer takes the
// pipeline's own way out instead of going to a socket behind its back.
func (s *Session) Output(evt Event) { s.tail.Input(evt) }

// Env returns the environment (loop, logger) the session runs in.
func (s *Session) Env() *Env { return s.Pipeline.Module.Program.Env }

// Call runs a script function in the session's context.
func (s *Session) Call(fn goja.Callable, args ...goja.Value) (goja.Value, error) {
	return s.Script().Call(s.Context, fn, args...)
}

// Abort ends the session after a script error: the error is logged, a
// SessionEnd with RuntimeError goes straight to the session output, and all
// later input is dropped.
func (s *Session) Abort(err error) {
	if s.aborted {
		return
	}
	s.aborted = true
	s.Env().Loop.Counters.Errors.Add(1)
	for _, line := range strings.Split(err.Error(), "\n") {
		s.Env().Log.Error(line)
	}
	s.tail.Input(&SessionEnd{Err: RuntimeError, Message: err.Error()})
}

// Aborted reports whether Abort was called.
func (s *Session) Aborted() bool { return s.aborted }

// Kill ends a session that will never finish by itself (its connection went
// away): it is counted as ended and drops all later input.
func (s *Session) Kill() {
	if s.tail.done {
		return
	}
	s.aborted = true
	s.tail.done = true
	s.Pipeline.ActiveN.Add(-1)
	s.runOnEnd()
}
