package scripts

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"

	"github.com/pipy-go/pipy/filters"
)

// Graph is the pipeline graph of one module as the console draws it (the
// JSON of GET /api/graph, docs/console.md): a flat list of nodes in
// depth-first pre-order and the indices of the root nodes. Each listening
// or task pipeline is a root; a filter that starts sub-sessions (its
// Spec.Sub) has a link or fork child per target pipeline, which lists that
// pipeline's filters in turn, down to a recursion or a missing pipeline.
type Graph struct {
	Roots []int       `json:"roots"`
	Nodes []GraphNode `json:"nodes"`
}

// GraphNode is one box of a graph. T is one of "root", "filter", "link",
// "fork", "pipeline" or "error"; P is the parent's index (nil for roots)
// and C the children's indices.
type GraphNode struct {
	Name string `json:"name"`
	T    string `json:"t"`
	P    *int   `json:"p,omitempty"`
	C    []int  `json:"c,omitempty"`
}

// Node types of a Graph.
const (
	NodeRoot     = "root"
	NodeFilter   = "filter"
	NodeLink     = "link"
	NodeFork     = "fork"
	NodePipeline = "pipeline"
	NodeError    = "error"
)

// MaxGraphNodes bounds the size of a graph: links that fan out to shared
// pipelines expand every path, which grows exponentially with the depth of
// a contrived script. Past the bound, expansion stops and an "error" node
// says so.
const MaxGraphNodes = 20000

// SyntaxError is a parse error of StaticGraph. Error() is the parser's
// message; Line and Column locate it (1-based).
type SyntaxError struct {
	Message string
	Line    int
	Column  int
}

func (e *SyntaxError) Error() string { return e.Message }

// StaticGraph computes the graph of a script from its source by static
// analysis, for the console's editor: the source is parsed, never run, and
// the chains of calls starting at pipy(...) are interpreted (listen, task
// and pipeline open pipelines; other calls are filters, whose sub-pipelines
// come from the registry).
func StaticGraph(src string) (g *Graph, err error) {
	defer func() {
		// The parser is not ours: never let a crash in it take the server
		// down.
		if r := recover(); r != nil {
			g, err = nil, &SyntaxError{Message: fmt.Sprint("cannot parse the script: ", r)}
		}
	}()
	prog, err := parser.ParseFile(nil, "", src, 0)
	if err != nil {
		return nil, syntaxErrorOf(err)
	}
	a := &analyzer{named: map[string]*gPipeline{}, roots: map[string]*gPipeline{}}
	a.children(reflect.ValueOf(prog))
	return buildGraph(a.roots, a.named), nil
}

func syntaxErrorOf(err error) *SyntaxError {
	var list parser.ErrorList
	var one *parser.Error
	switch {
	case errors.As(err, &list) && len(list) > 0:
		one = list[0]
	case errors.As(err, &one):
	}
	if one == nil {
		return &SyntaxError{Message: err.Error()}
	}
	return &SyntaxError{Message: one.Message, Line: one.Position.Line, Column: one.Position.Column}
}

// LiveGraph returns the graph of every module of a loaded program, keyed by
// module name, built from its pipelines: roots are named as the pipelines
// are ("0.0.0.0:6080", "Task #1", or the pipeline's name). A nil program
// gives an empty map.
func LiveGraph(p *filters.Program) map[string]*Graph {
	out := map[string]*Graph{}
	if p == nil {
		return out
	}
	for _, m := range p.Modules {
		roots := map[string]*gPipeline{}
		named := map[string]*gPipeline{}
		for _, pl := range m.Pipelines {
			gp := &gPipeline{name: pl.Name}
			for _, f := range pl.Filters {
				gp.filters = append(gp.filters, liveFilter(f))
			}
			if pl.Kind == filters.NamedPipeline {
				named[pl.Name] = gp
			} else {
				roots[pl.Name] = gp
			}
		}
		out[m.Name] = buildGraph(roots, named)
	}
	return out
}

func liveFilter(f *filters.FilterDecl) gFilter {
	var spec filters.Spec
	if s := filters.Lookup(f.Name); s != nil {
		spec = *s
	}
	return graphFilter(f.Name, spec, f.Module, f.Targets)
}

// graphFilter is the graph's view of a filter call naming module and
// pipelines as spec.Sub says: a use() box shows its module and pipeline
// in its name and links nowhere in this module's graph.
func graphFilter(name string, spec filters.Spec, module string, targets []string) gFilter {
	switch {
	case spec.Sub == filters.ModuleAndPipeline:
		target := ""
		if len(targets) > 0 {
			target = targets[0]
		}
		return gFilter{name: name + " " + module + " [" + target + "]"}
	case len(targets) == 0:
		return gFilter{name: name}
	}
	return gFilter{name: name, fork: spec.Fork, targets: targets}
}

// gPipeline and gFilter are what the graph is built from, whatever the
// source: the static analysis or a loaded program.
type gPipeline struct {
	name    string
	filters []gFilter
}

type gFilter struct {
	name    string
	fork    bool
	targets []string // pipelines it hands the stream to; none for a plain filter
}

// buildGraph lays out the trees: first every listen/task pipeline in name
// order, then every named pipeline no filter links to, in name order.
func buildGraph(roots, named map[string]*gPipeline) *Graph {
	linked := map[string]bool{}
	for _, set := range []map[string]*gPipeline{roots, named} {
		for _, p := range set {
			for _, f := range p.filters {
				for _, t := range f.targets {
					linked[t] = true
				}
			}
		}
	}
	var order []*gPipeline
	for _, name := range sortedKeys(roots) {
		order = append(order, roots[name])
	}
	for _, name := range sortedKeys(named) {
		if !linked[name] {
			order = append(order, named[name])
		}
	}
	b := &graphBuilder{g: &Graph{Roots: []int{}, Nodes: []GraphNode{}}, named: named}
	for _, p := range order {
		i := b.add(-1, p.name, NodeRoot)
		b.g.Roots = append(b.g.Roots, i)
		b.expand(i, p)
	}
	return b.g
}

func sortedKeys(m map[string]*gPipeline) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type graphBuilder struct {
	g     *Graph
	named map[string]*gPipeline
	path  []string // names of the linked pipelines from the root to here
	full  bool     // MaxGraphNodes reached
}

func (b *graphBuilder) add(parent int, name, t string) int {
	i := len(b.g.Nodes)
	n := GraphNode{Name: name, T: t}
	if parent >= 0 {
		p := parent
		n.P = &p
		b.g.Nodes[parent].C = append(b.g.Nodes[parent].C, i)
	}
	b.g.Nodes = append(b.g.Nodes, n)
	return i
}

// expand adds the filters of p under the node at index at.
func (b *graphBuilder) expand(at int, p *gPipeline) {
	for _, f := range p.filters {
		if !b.room(at) {
			return
		}
		if len(f.targets) == 0 {
			b.add(at, f.name, NodeFilter)
			continue
		}
		t := NodeLink
		if f.fork {
			t = NodeFork
		}
		link := b.add(at, f.name, t)
		for _, target := range f.targets {
			if !b.room(link) {
				return
			}
			if b.onPath(target) {
				b.add(link, "recursive pipeline: "+target, NodePipeline)
				continue
			}
			sub := b.named[target]
			if sub == nil {
				b.add(link, "pipeline not found: "+target, NodePipeline)
				continue
			}
			i := b.add(link, target, NodePipeline)
			b.path = append(b.path, target)
			b.expand(i, sub)
			b.path = b.path[:len(b.path)-1]
		}
	}
}

// room tells whether another node fits; the first time one does not, it
// adds an error node under parent saying so.
func (b *graphBuilder) room(parent int) bool {
	if b.full {
		return false
	}
	if len(b.g.Nodes) < MaxGraphNodes {
		return true
	}
	b.full = true
	b.add(parent, fmt.Sprintf("graph too large: more than %d nodes", MaxGraphNodes), NodeError)
	return false
}

func (b *graphBuilder) onPath(name string) bool {
	for _, n := range b.path {
		if n == name {
			return true
		}
	}
	return false
}

// analyzer interprets the AST the way the configuration API would run it,
// knowing only literals: pipy(...) makes a configuration, every method of a
// configuration returns one, and pipeline/listen/task start pipelines.
type analyzer struct {
	named, roots           map[string]*gPipeline
	cur                    *gPipeline
	nNamed, nListen, nTask int
}

type valueKind uint8

const (
	vUnknown valueKind = iota
	vString
	vNumber
	vMaker  // the pipy function
	vConfig // a configuration object
	vMethod // a method of a configuration object
)

type value struct {
	kind valueKind
	s    string // string value, or method name
	n    float64
}

var (
	astPkg      = reflect.TypeOf(ast.Program{}).PkgPath()
	exprType    = reflect.TypeOf((*ast.Expression)(nil)).Elem()
	fileIdxType = reflect.TypeOf(file.Idx(0))
)

func (a *analyzer) eval(e ast.Expression) value {
	switch e := e.(type) {
	case nil:
		return value{}
	case *ast.StringLiteral:
		return value{kind: vString, s: e.Value.String()}
	case *ast.NumberLiteral:
		switch v := e.Value.(type) {
		case int64:
			return value{kind: vNumber, n: float64(v)}
		case float64:
			return value{kind: vNumber, n: v}
		}
		return value{}
	case *ast.Identifier:
		if e.Name == "pipy" {
			return value{kind: vMaker}
		}
		return value{}
	case *ast.OptionalChain:
		return a.eval(e.Expression)
	case *ast.Optional:
		return a.eval(e.Expression)
	case *ast.DotExpression:
		if a.eval(e.Left).kind == vConfig {
			return value{kind: vMethod, s: e.Identifier.Name.String()}
		}
		return value{}
	case *ast.BracketExpression:
		obj := a.eval(e.Left)
		key := a.eval(e.Member)
		if obj.kind == vConfig && key.kind == vString {
			return value{kind: vMethod, s: key.s}
		}
		return value{}
	case *ast.CallExpression:
		fn := a.eval(e.Callee)
		args := make([]value, len(e.ArgumentList))
		for i, arg := range e.ArgumentList {
			args[i] = a.eval(arg)
		}
		switch fn.kind {
		case vMaker:
			return value{kind: vConfig}
		case vMethod:
			a.method(fn.s, args)
			return value{kind: vConfig}
		}
		return value{}
	}
	if v := reflect.ValueOf(e); v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Struct {
		a.fields(v.Elem())
	}
	return value{}
}

// children visits every expression under a node, in source order.
func (a *analyzer) children(v reflect.Value) {
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		a.children(v.Elem())
	case reflect.Pointer:
		if v.IsNil() || v.Elem().Kind() != reflect.Struct || v.Elem().Type().PkgPath() != astPkg {
			return
		}
		if v.Type().Implements(exprType) {
			a.eval(v.Interface().(ast.Expression))
			return
		}
		a.fields(v.Elem())
	case reflect.Struct:
		if v.Type().PkgPath() == astPkg {
			a.fields(v)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			a.children(v.Index(i))
		}
	}
}

func (a *analyzer) fields(v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		// DeclarationList repeats the hoisted declarations of the body.
		if f.Name == "DeclarationList" || f.Type == fileIdxType || !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if f.Anonymous && f.Type == exprType {
			// OptionalChain, SpreadElement...: the wrapped expression.
			if !fv.IsNil() {
				a.eval(fv.Interface().(ast.Expression))
			}
			continue
		}
		a.children(fv)
	}
}

func (a *analyzer) start(p *gPipeline, set map[string]*gPipeline) {
	set[p.name] = p // a later pipeline of the same name replaces the earlier
	a.cur = p
}

func (a *analyzer) method(name string, args []value) {
	arg := func(i int, k valueKind) (value, bool) {
		if i < len(args) && args[i].kind == k {
			return args[i], true
		}
		return value{}, false
	}
	switch name {
	case "pipeline":
		p := &gPipeline{}
		if v, ok := arg(0, vString); ok {
			p.name = v.s
		} else {
			a.nNamed++
			p.name = "Pipeline #" + strconv.Itoa(a.nNamed)
		}
		a.start(p, a.named)
		return
	case "listen":
		p := &gPipeline{}
		if v, ok := arg(0, vNumber); ok {
			p.name = "Listen 0.0.0.0:" + formatPort(v.n)
		} else {
			a.nListen++
			p.name = "Listen #" + strconv.Itoa(a.nListen)
		}
		a.start(p, a.roots)
		return
	case "task":
		p := &gPipeline{}
		if v, ok := arg(0, vString); ok {
			p.name = "Task every " + v.s
		} else {
			a.nTask++
			p.name = "Task #" + strconv.Itoa(a.nTask)
		}
		a.start(p, a.roots)
		return
	}
	if a.cur == nil {
		return
	}
	// What the call's arguments name comes from the registry, as for a
	// loaded program (unknown filters name nothing).
	var spec filters.Spec
	if s := filters.Lookup(name); s != nil {
		spec = *s
	}
	module, targets := spec.Sub.Targets(len(args), func(i int) (string, bool) {
		v, ok := arg(i, vString)
		return v.s, ok
	})
	a.cur.filters = append(a.cur.filters, graphFilter(name, spec, module, targets))
}

// formatPort prints a port number as an integer, truncating like a C cast.
func formatPort(n float64) string {
	if math.IsNaN(n) || math.IsInf(n, 0) || math.Abs(n) >= 1<<53 {
		return strconv.FormatFloat(n, 'g', -1, 64)
	}
	return strconv.FormatInt(int64(n), 10)
}
