package filters

import (
	"fmt"
	"path"
	"runtime"
	"sort"
	"strings"

	"github.com/dop251/goja"
)

// Spec describes a filter once: its script name, arguments and help text, and
// how to build its template from script arguments. The script runtime,
// --list-filters, --help-filters, the graph and the generated docs all read
// the registry.
type Spec struct {
	Name        string  // script name, e.g. "connect"
	Args        string  // argument synopsis, e.g. "target[, options]"
	Description string  // one line
	Params      []Param // parameter help lines
	// Make builds the filter's template from the arguments of its call.
	Make func(a *Args) (Template, error)
	// Sub says which arguments name the pipelines the filter runs
	// sub-sessions of. The script runtime checks them when a program loads,
	// and the console draws them, from this one declaration.
	Sub SubPipelines
	// Fork is set when the sub-sessions get copies of the stream while it
	// goes on (fork): the graph draws them as forks, not links.
	Fork bool
	// Source is the file that registered the filter, relative to the module
	// root (filters/http/decode.go); Register fills it in.
	Source string
}

// SubPipelines tells which arguments of a filter call name the pipelines
// its sub-sessions run.
type SubPipelines uint8

// The ways filters name their sub-pipelines.
const (
	// NoSubPipelines: the filter starts no sub-sessions.
	NoSubPipelines SubPipelines = iota
	// FirstArg: argument 0 names a pipeline of the same module (demux,
	// mux, fork, proxySOCKS4).
	FirstArg
	// EveryOtherArg: arguments 0, 2, 4... name pipelines of the same
	// module (link(target, when, target2, when2...)).
	EveryOtherArg
	// ModuleAndPipeline: argument 0 names a module, argument 1 one of its
	// pipelines (use).
	ModuleAndPipeline
)

// Targets returns the module ("" for the caller's own) and the pipelines a
// call names, given the number of its arguments and a function returning
// argument i when it is a string.
func (k SubPipelines) Targets(n int, str func(i int) (string, bool)) (module string, pipelines []string) {
	switch k {
	case FirstArg:
		if s, ok := str(0); ok {
			pipelines = []string{s}
		}
	case EveryOtherArg:
		for i := 0; i < n; i += 2 {
			if s, ok := str(i); ok {
				pipelines = append(pipelines, s)
			}
		}
	case ModuleAndPipeline:
		module, _ = str(0)
		p, _ := str(1)
		pipelines = []string{p}
	}
	return module, pipelines
}

// Targets returns what the call's arguments name per the filter's Sub.
func (a *Args) Targets(k SubPipelines) (module string, pipelines []string) {
	return k.Targets(a.Len(), func(i int) (string, bool) {
		s, ok := a.Get(i).Export().(string)
		return s, ok
	})
}

// Param documents one parameter.
type Param struct {
	Name string
	Type string // e.g. "string|function"
	Help string
}

var registry = map[string]*Spec{}

// order is the original's listing order; filters not in it follow, sorted.
var order = strings.Fields(`connect decompressMessageBody demux decodeDubbo
decodeHttpBodilessResponse decodeHttpRequest decodeHttpResponse dummy dump
encodeDubbo encodeHttpRequest encodeHttpResponse exec fork link mux
onSessionStart onData onMessageStart onMessageEnd onSessionEnd onMessageBody
onMessage print proxySOCKS4 replaceSessionStart replaceData replaceMessageStart
replaceMessageEnd replaceSessionEnd replaceMessageBody replaceMessage tap use wait`)

// Register adds a filter to the registry, noting the file of the caller
// as its Source. It panics on a duplicate name. Filter families call it in
// their init.
func Register(s *Spec) {
	if _, dup := registry[s.Name]; dup {
		panic("filters: duplicate filter " + s.Name)
	}
	if _, file, _, ok := runtime.Caller(1); ok && s.Source == "" {
		s.Source = sourcePath(file)
	}
	registry[s.Name] = s
}

// sourcePath turns a compiled-in file name into a path from the module
// root: "github.com/pipy-go/pipy/filters/http/decode.go" (-trimpath) or
// "/src/pipy/filters/http/decode.go" both give "filters/http/decode.go".
func sourcePath(file string) string {
	if i := strings.LastIndex(file, "/filters/"); i >= 0 {
		return file[i+1:]
	}
	return path.Base(file)
}

// ALPNSpeaker is implemented by templates of filters that serve more
// than one application protocol on a connection (demuxHttp: h2 and
// http/1.1).
type ALPNSpeaker interface {
	// ALPN returns the protocols to offer, most preferred first.
	ALPN() []string
}

// Encrypter is implemented by templates of filters that may speak TLS to
// an upstream (connect with its tls option).
type Encrypter interface {
	// Encrypts reports whether the connections it makes speak TLS.
	Encrypts() bool
}

// Encrypts reports whether p's upstream connections speak TLS: whether a
// filter of p says so (Encrypter). muxHttp version 2 then sends
// ":scheme: https".
func (p *Pipeline) Encrypts() bool {
	for _, d := range p.Filters {
		if e, ok := d.Template.(Encrypter); ok && e.Encrypts() {
			return true
		}
	}
	return false
}

// ALPN returns the protocols a TLS listener running p offers: those of
// the first filter of p whose template is an ALPNSpeaker, or nil. Other
// listeners offer none, so clients speak what they would without ALPN.
func (p *Pipeline) ALPN() []string {
	for _, d := range p.Filters {
		if a, ok := d.Template.(ALPNSpeaker); ok {
			return a.ALPN()
		}
	}
	return nil
}

// Lookup returns the spec of a filter by script name.
func Lookup(name string) *Spec { return registry[name] }

// All returns every registered filter in listing order.
func All() []*Spec {
	rank := map[string]int{}
	for i, n := range order {
		rank[n] = i
	}
	all := make([]*Spec, 0, len(registry))
	for _, s := range registry {
		all = append(all, s)
	}
	sort.Slice(all, func(i, j int) bool {
		ri, iok := rank[all[i].Name]
		rj, jok := rank[all[j].Name]
		switch {
		case iok && jok:
			return ri < rj
		case iok != jok:
			return iok
		}
		return all[i].Name < all[j].Name
	})
	return all
}

// ListText renders --list-filters.
func ListText() string {
	all := All()
	nw, aw := 0, 0
	for _, s := range all {
		nw = max(nw, len(s.Name))
		aw = max(aw, len(s.Args)+2)
	}
	var b strings.Builder
	b.WriteString("\n")
	for _, s := range all {
		line := fmt.Sprintf("%-*s %-*s   %s", nw, s.Name, aw, "("+s.Args+")", s.Description)
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteString("\n")
	}
	b.WriteString("\n")
	return b.String()
}

// HelpText renders --help-filters.
func HelpText() string {
	var b strings.Builder
	b.WriteString("\n")
	for _, s := range All() {
		title := s.Name + "(" + s.Args + ")"
		b.WriteString(title + "\n" + strings.Repeat("=", len(title)) + "\n\n  " + s.Description + "\n\n")
		if len(s.Params) > 0 {
			w := 0
			for _, p := range s.Params {
				w = max(w, len(p.Name))
			}
			for _, p := range s.Params {
				fmt.Fprintf(&b, "  %-*s - <%s> %s\n", w, p.Name, p.Type, p.Help)
			}
			b.WriteString("\n\n")
		}
	}
	b.WriteString("\n")
	return b.String()
}

// Args are the arguments of one filter call in a script.
type Args struct {
	Filter string // filter name, for messages
	Values []goja.Value
	Module *Module
	Script Script
	RT     *goja.Runtime
	// Load loads another module of the program by name (for use()).
	Load func(name string) (*Module, error)
}

// Len returns the number of arguments.
func (a *Args) Len() int { return len(a.Values) }

// Get returns argument i (0-based), or undefined when absent.
func (a *Args) Get(i int) goja.Value {
	if i < len(a.Values) && a.Values[i] != nil {
		return a.Values[i]
	}
	return goja.Undefined()
}

// Has reports whether argument i is present and neither undefined nor null.
func (a *Args) Has(i int) bool {
	v := a.Get(i)
	return !goja.IsUndefined(v) && !goja.IsNull(v)
}

// Errorf returns an error naming the filter.
func (a *Args) Errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s", a.Filter, fmt.Sprintf(format, args...))
}

// Require fails unless at least n arguments are given.
func (a *Args) Require(n int) error {
	if len(a.Values) < n {
		return a.Errorf("requires %d or more arguments", n)
	}
	return nil
}

// String returns argument i, which must be a string.
func (a *Args) String(i int) (string, error) {
	v := a.Get(i)
	if s, ok := v.Export().(string); ok {
		return s, nil
	}
	return "", a.Errorf("argument #%d expects a string", i+1)
}

// Func returns argument i as a function, or nil when absent.
func (a *Args) Func(i int) (goja.Callable, error) {
	if !a.Has(i) {
		return nil, nil
	}
	if fn, ok := goja.AssertFunction(a.Get(i)); ok {
		return fn, nil
	}
	return nil, a.Errorf("argument #%d expects a function", i+1)
}

// IsFunc reports whether argument i is a function.
func (a *Args) IsFunc(i int) bool {
	_, ok := goja.AssertFunction(a.Get(i))
	return ok
}

// Object returns argument i as an object, or nil when absent.
func (a *Args) Object(i int) (*goja.Object, error) {
	if !a.Has(i) {
		return nil, nil
	}
	if o, ok := a.Get(i).(*goja.Object); ok {
		return o, nil
	}
	return nil, a.Errorf("argument #%d expects an object", i+1)
}

// Lazy is a value-or-function parameter: a function is called (in the
// session's context) each time the value is needed.
type Lazy struct {
	Value goja.Value
	Fn    goja.Callable
}

// NewLazy wraps v.
func NewLazy(v goja.Value) Lazy {
	if v == nil {
		return Lazy{Value: goja.Undefined()}
	}
	if fn, ok := goja.AssertFunction(v); ok {
		return Lazy{Fn: fn}
	}
	return Lazy{Value: v}
}

// IsSet reports whether a value or function was given.
func (l Lazy) IsSet() bool {
	return l.Fn != nil || (l.Value != nil && !goja.IsUndefined(l.Value) && !goja.IsNull(l.Value))
}

// Eval returns the value, calling the function in s's context.
func (l Lazy) Eval(s *Session) (goja.Value, error) {
	if l.Fn != nil {
		return s.Call(l.Fn)
	}
	return l.Value, nil
}

// RequireFunc returns argument i, which must be a function.
func (a *Args) RequireFunc(i int) (goja.Callable, error) {
	if err := a.Require(i + 1); err != nil {
		return nil, err
	}
	fn, ok := goja.AssertFunction(a.Get(i))
	if !ok {
		return nil, a.Errorf("argument #%d expects a function", i+1)
	}
	return fn, nil
}
