package scripts

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/scripts/algo"
)

// prefix wraps a module's source so that identifiers resolve through the
// module's context object first. It stays on the first line, so line numbers
// are the file's; columns on line 1 are shifted by its length.
const prefix = "with(__ctx){"

// Runtime is one program's goja runtime. It implements filters.Script.
type Runtime struct {
	rt      *goja.Runtime
	prog    *filters.Program
	root    string // root directory (absolute)
	current *filters.Context
	loading *filters.Module
	env     *filters.Env
	closed  bool                          // Close was called
	made    map[*filters.Session]struct{} // new Session sessions not ended (inside the loop)

	// per-module configuration state while loading
	configs map[*filters.Module]*config
	sources map[string]string // file -> source, for error excerpts
	ports   map[int]string

	protoSession, protoFile                                                                  *goja.Object
	protoEvent, protoData, protoMessageStart, protoMessageEnd, protoSessionEnd, protoMessage *goja.Object
	ctorData, ctorMessage                                                                    *goja.Object
	refError                                                                                 *goja.Object
}

// LoadError is a script that failed to load. Its text starts with
// "file:line:col: " when the location is known.
type LoadError struct {
	File    string // absolute path
	Line    int
	Col     int
	Message string
	Detail  []string // source line, caret, stack
}

func (e *LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Message)
	}
	if e.File != "" {
		return fmt.Sprintf("%s: %s", e.File, e.Message)
	}
	return e.Message
}

// Load loads the script at file (its directory is the root directory) and
// every module it uses, evaluates them, checks the pipeline graph and returns
// the program. Nothing is started.
func Load(file string, env *filters.Env) (*filters.Program, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	return LoadModule(filepath.Dir(abs), "/"+filepath.Base(abs), env)
}

// LoadModule loads the module called name (a path relative to root with a
// leading slash) as the root module of a new program.
func LoadModule(root, name string, env *filters.Env) (*filters.Program, error) {
	r := &Runtime{
		rt:      goja.New(),
		root:    root,
		env:     env,
		configs: map[*filters.Module]*config{},
		sources: map[string]string{},
		ports:   map[int]string{},
	}
	r.prog = &filters.Program{Script: r, ByName: map[string]*filters.Module{}, Env: env}
	r.rt.SetFieldNameMapper(goja.UncapFieldNameMapper())
	r.installGlobals()
	m, err := r.loadModule(name)
	if err != nil {
		return nil, err
	}
	r.prog.Root = m
	if err := checkGraph(r.prog); err != nil {
		return nil, err
	}
	return r.prog, nil
}

// Runtime implements filters.Script.
func (r *Runtime) Runtime() *goja.Runtime { return r.rt }

// Program returns the loaded program.
func (r *Runtime) Program() *filters.Program { return r.prog }

func (r *Runtime) modulePath(name string) string {
	return filepath.Join(r.root, filepath.FromSlash(strings.TrimPrefix(name, "/")))
}

// normalizeModule turns a module reference into a name with a leading slash.
func normalizeModule(name string) string {
	return path.Clean("/" + name)
}

func (r *Runtime) loadModule(name string) (*filters.Module, error) {
	name = normalizeModule(name)
	if m := r.prog.ByName[name]; m != nil {
		return m, nil
	}
	file := r.modulePath(name)
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, &LoadError{File: file, Message: "cannot open script: " + errors.Unwrap(err).Error()}
	}
	r.sources[file] = string(src)
	ast, err := parser.ParseFile(nil, file, prefix+string(src)+"\n}", 0)
	if err != nil {
		return nil, r.syntaxError(file, string(src), err)
	}
	prog, err := goja.CompileAST(ast, false)
	if err != nil {
		return nil, r.syntaxError(file, string(src), err)
	}
	m := &filters.Module{
		Name:     name,
		Index:    len(r.prog.Modules),
		Program:  r.prog,
		Named:    map[string]*filters.Pipeline{},
		VarIndex: map[string]int{},
	}
	r.prog.Modules = append(r.prog.Modules, m)
	r.prog.ByName[name] = m
	r.configs[m] = &config{r: r, m: m}

	saved := r.loading
	r.loading = m
	r.rt.Set("__ctx", r.rt.NewDynamicObject(&ctxObject{r: r, m: m}))
	v, err := r.rt.RunProgram(prog)
	r.loading = saved
	if err != nil {
		return nil, r.exceptionError(file, string(src), err)
	}
	if h, ok := exportOf(v).(*configHolder); !ok || h.c != r.configs[m] {
		return nil, &LoadError{File: file, Message: "script did not return a Configuration object (it returned " + describe(v) + ")"}
	}
	return m, nil
}

func exportOf(v goja.Value) any {
	if o, ok := v.(*goja.Object); ok {
		return o.Export()
	}
	return nil
}

func describe(v goja.Value) string {
	if v == nil {
		return "nothing"
	}
	return v.String()
}

func (r *Runtime) syntaxError(file, src string, err error) error {
	le := &LoadError{File: file, Message: err.Error()}
	var perr *parser.Error
	var plist parser.ErrorList
	switch {
	case errors.As(err, &plist) && len(plist) > 0:
		perr = plist[0]
	case errors.As(err, &perr):
	}
	if ex, ok := err.(*goja.CompilerSyntaxError); ok && ex.File != nil {
		p := ex.File.Position(ex.Offset)
		le.Line, le.Col = p.Line, p.Column
		le.Message = "SyntaxError: " + ex.Message
	} else if perr != nil {
		le.Line, le.Col = perr.Position.Line, perr.Position.Column
		le.Message = "SyntaxError: " + perr.Message
	}
	fixPos(le)
	// The hidden closing brace after the source: an error there is an
	// unexpected end of the input, at the end of the last line.
	lines := strings.Split(strings.TrimRight(src, "\n"), "\n")
	if le.Line > len(lines) {
		last := strings.TrimRight(lines[len(lines)-1], "\r")
		le.Line, le.Col = len(lines), len(last)+1
		if strings.Contains(le.Message, "Unexpected token }") {
			le.Message = "SyntaxError: Unexpected end of input"
		}
	}
	le.Detail = sourceCaret(src, le.Line, le.Col)
	return le
}

func fixPos(le *LoadError) {
	if le.Line == 1 {
		le.Col -= len(prefix)
		if le.Col < 1 {
			le.Col = 1
		}
	}
}

func sourceCaret(src string, line, col int) []string {
	lines := strings.Split(src, "\n")
	if line < 1 || line > len(lines) {
		return nil
	}
	text := strings.TrimRight(lines[line-1], "\r")
	return []string{
		fmt.Sprintf("Line %d:  %s", line, text),
		fmt.Sprintf("%s^", strings.Repeat(" ", len(fmt.Sprintf("Line %d:  ", line))+max(col-1, 0))),
	}
}

func (r *Runtime) exceptionError(file, src string, err error) error {
	le := &LoadError{File: file, Message: err.Error()}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		le.Message = exceptionMessage(ex)
		for _, f := range ex.Stack() {
			p := f.Position()
			if p.Filename == file && p.Line > 0 {
				if le.Line == 0 {
					le.Line, le.Col = p.Line, p.Column
				}
			}
		}
		fixPos(le)
		le.Detail = append(sourceCaret(src, le.Line, le.Col), stackLines(ex)...)
	}
	return le
}

func exceptionMessage(ex *goja.Exception) string {
	v := ex.Value()
	if o, ok := v.(*goja.Object); ok {
		if s := o.Get("stack"); s != nil {
			// "Error: msg\n\tat ..." : keep the first line
			first, _, _ := strings.Cut(s.String(), "\n")
			if first != "" {
				return first
			}
		}
	}
	if v == nil {
		return ex.Error()
	}
	return v.String()
}

func stackLines(ex *goja.Exception) []string {
	var out []string
	for _, f := range ex.Stack() {
		p := f.Position()
		if p.Filename == "" {
			continue
		}
		col := p.Column
		if p.Line == 1 {
			col -= len(prefix)
		}
		fn := f.FuncName()
		if fn == "" {
			fn = "(anonymous)"
		}
		out = append(out, fmt.Sprintf("    at %s (%s:%d:%d)", fn, p.Filename, p.Line, col))
	}
	return out
}

// ScriptError is an exception thrown by a callback at run time.
type ScriptError struct {
	Message string
	File    string
	Line    int
	Col     int
	Detail  []string // source line and caret
	Stack   []string
}

func (e *ScriptError) Error() string {
	var b strings.Builder
	if e.File != "" {
		fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Col)
	}
	b.WriteString(e.Message)
	for _, s := range append(e.Detail, e.Stack...) {
		b.WriteString("\n")
		b.WriteString(s)
	}
	return b.String()
}

// ErrEnded is the error of a script call into a program whose runtime was
// closed (see Runtime.Close).
var ErrEnded = errors.New("the program has ended (it was replaced by a reload and its last session is gone)")

// Close ends the runtime of a program that will run no more sessions: a
// worker calls it once a reload has replaced the program and its last
// session has ended. Script code can no longer run in it (a late call gets
// ErrEnded; goja is interrupted in case anything reaches it directly), and
// what loading kept (sources, per-module configuration) is let go. It
// starts nothing and registers nothing outside the program, so after Close
// and once nothing refers to the program, the garbage collector frees the
// runtime, its modules and pipelines. Call it inside the loop. Close is
// idempotent and always returns nil.
func (r *Runtime) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.rt.Interrupt(ErrEnded)
	r.current, r.loading = nil, nil
	r.configs, r.sources, r.ports = nil, nil, nil
	return nil
}

// Call implements filters.Script.
func (r *Runtime) Call(ctx *filters.Context, fn goja.Callable, args ...goja.Value) (goja.Value, error) {
	if r.closed {
		return nil, ErrEnded
	}
	prev := r.current
	r.current = ctx
	v, err := fn(goja.Undefined(), args...)
	r.current = prev
	if err != nil {
		return nil, r.runtimeError(err)
	}
	return v, nil
}

func (r *Runtime) runtimeError(err error) error {
	var ex *goja.Exception
	if !errors.As(err, &ex) {
		return &ScriptError{Message: err.Error()}
	}
	se := &ScriptError{Message: exceptionMessage(ex), Stack: stackLines(ex)}
	for _, f := range ex.Stack() {
		p := f.Position()
		if p.Filename != "" && p.Line > 0 {
			se.File, se.Line, se.Col = p.Filename, p.Line, p.Column
			if p.Line == 1 {
				se.Col -= len(prefix)
			}
			se.Detail = sourceCaret(r.sources[p.Filename], se.Line, se.Col)
			break
		}
	}
	return se
}

// throw raises a JS Error with msg from native code.
func (r *Runtime) throw(format string, args ...any) {
	ctor := r.rt.Get("Error").ToObject(r.rt)
	o, err := r.rt.New(ctor, r.rt.ToValue(fmt.Sprintf(format, args...)))
	if err != nil {
		panic(err)
	}
	panic(o)
}

func (r *Runtime) throwType(format string, args ...any) {
	panic(r.rt.NewTypeError(fmt.Sprintf(format, args...)))
}

// ctxObject is the with(__ctx) scope of one module: it resolves declared
// context variables, variables injected by fork, and the built-ins
// __filename, __argv and __inbound in the current session's context.
// Names that are neither these nor globals are claimed so that reading or
// assigning them throws a ReferenceError (PipyJS semantics) instead of
// creating a global.
type ctxObject struct {
	r *Runtime
	m *filters.Module
}

func (c *ctxObject) isGlobal(key string) bool {
	return c.r.rt.GlobalObject().Get(key) != nil
}

func (c *ctxObject) extra(key string) (goja.Value, bool) {
	ctx := c.r.current
	if ctx == nil || ctx.Extra == nil || ctx.Extra[c.m.Index] == nil {
		return nil, false
	}
	v, ok := ctx.Extra[c.m.Index][key]
	return v, ok
}

func (c *ctxObject) Has(key string) bool {
	if _, ok := c.m.VarIndex[key]; ok {
		return true
	}
	switch key {
	case "__filename", "__argv", "__inbound":
		return true
	}
	if _, ok := c.extra(key); ok {
		return true
	}
	if c.isGlobal(key) {
		return false
	}
	// Claim unknown names only while running callbacks: at load time a
	// top-level var or function declaration must still reach the global.
	return c.r.current != nil
}

func (c *ctxObject) Get(key string) goja.Value {
	if i, ok := c.m.VarIndex[key]; ok {
		if ctx := c.r.current; ctx != nil {
			if v := ctx.Vars[c.m.Index][i]; v != nil {
				return v
			}
			return goja.Undefined()
		}
		return c.m.VarInit[i]
	}
	switch key {
	case "__filename":
		return c.r.rt.ToValue(c.m.Name)
	case "__argv":
		if ctx := c.r.current; ctx != nil && ctx.Argv != nil && ctx.Argv[c.m.Index] != nil {
			return ctx.Argv[c.m.Index]
		}
		return goja.Undefined()
	case "__inbound":
		if ctx := c.r.current; ctx != nil && ctx.Inbound != nil {
			return c.r.inboundValue(ctx.Inbound)
		}
		return goja.Null()
	}
	if v, ok := c.extra(key); ok {
		return v
	}
	c.r.referenceError(key)
	return nil
}

func (c *ctxObject) Set(key string, val goja.Value) bool {
	if i, ok := c.m.VarIndex[key]; ok {
		if ctx := c.r.current; ctx != nil {
			ctx.Vars[c.m.Index][i] = val
		} else {
			c.m.VarInit[i] = val
		}
		return true
	}
	switch key {
	case "__filename", "__argv", "__inbound":
		return true
	}
	if ctx := c.r.current; ctx != nil {
		if _, ok := c.extra(key); ok {
			ctx.Extra[c.m.Index][key] = val
			return true
		}
	}
	c.r.referenceError(key)
	return false
}

func (c *ctxObject) Delete(key string) bool { return false }
func (c *ctxObject) Keys() []string         { return nil }

func (r *Runtime) referenceError(name string) {
	if r.refError == nil {
		r.refError = r.rt.Get("ReferenceError").ToObject(r.rt)
	}
	o, err := r.rt.New(r.refError, r.rt.ToValue(name+" is not defined"))
	if err != nil {
		panic(err)
	}
	panic(o)
}

// inboundValue returns the __inbound object of a connection, made once per
// connection and runtime (kept in the connection's state under the runtime).
func (r *Runtime) inboundValue(in *filters.Inbound) goja.Value {
	return in.State(r, func() any {
		o := r.rt.NewObject()
		o.Set("id", in.ID)
		o.Set("remoteAddress", in.RemoteAddr)
		o.Set("remotePort", in.RemotePort)
		o.Set("localAddress", in.LocalAddr)
		o.Set("localPort", in.LocalPort)
		return o
	}).(*goja.Object)
}

var _ = algo.New
