package filters

import (
	"fmt"
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
	// Targets returns the pipelines the declaration links to, for the graph
	// check (nil for filters that start no sub-sessions).
	Targets func(a *Args) (module string, pipelines []string)
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

// Register adds a filter to the registry. It panics on a duplicate name.
func Register(s *Spec) {
	if _, dup := registry[s.Name]; dup {
		panic("filters: duplicate filter " + s.Name)
	}
	registry[s.Name] = s
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

// FirstArgTarget is a Spec.Targets for filters whose first argument names
// a pipeline of the same module (link, demux, mux, proxySOCKS4).
func FirstArgTarget(a *Args) (module string, pipelines []string) {
	if s, ok := a.Get(0).Export().(string); ok {
		return "", []string{s}
	}
	return "", nil
}
