package scripts_test

import (
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pipy-go/pipy/scripts"
)

func graphJSON(t *testing.T, g *scripts.Graph) string {
	t.Helper()
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustStatic(t *testing.T, src string) *scripts.Graph {
	t.Helper()
	g, err := scripts.StaticGraph(src)
	if err != nil {
		t.Fatalf("StaticGraph: %v\n%s", err, src)
	}
	checkShape(t, g)
	return g
}

// checkShape verifies the invariants of §3: pre-order indices, parents and
// children agreeing, roots without a parent.
func checkShape(t *testing.T, g *scripts.Graph) {
	t.Helper()
	seen := 0
	var visit func(i int, parent int)
	visit = func(i int, parent int) {
		if i != seen {
			t.Fatalf("node %d visited at pre-order position %d", i, seen)
		}
		seen++
		n := g.Nodes[i]
		if parent < 0 && n.P != nil || parent >= 0 && (n.P == nil || *n.P != parent) {
			t.Fatalf("node %d: parent %v, want %d", i, n.P, parent)
		}
		for _, c := range n.C {
			visit(c, i)
		}
	}
	for _, r := range g.Roots {
		if g.Nodes[r].T != "root" {
			t.Fatalf("root %d has type %s", r, g.Nodes[r].T)
		}
		visit(r, -1)
	}
	if seen != len(g.Nodes) {
		t.Fatalf("%d nodes reachable from the roots, %d in all", seen, len(g.Nodes))
	}
}

func TestStaticGraphLinkNotFound(t *testing.T) {
	g := mustStatic(t, `pipy().listen(80).link("nope")`)
	want := `{"roots":[0],"nodes":[{"name":"Listen 0.0.0.0:80","t":"root","c":[1]},{"name":"link","t":"link","p":0,"c":[2]},{"name":"pipeline not found: nope","t":"pipeline","p":1}]}`
	if got := graphJSON(t, g); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestStaticGraphExample004(t *testing.T) {
	src, err := os.ReadFile("../test/004-http-proxy/pipy.js")
	if err != nil {
		t.Fatal(err)
	}
	g := mustStatic(t, string(src))
	got := graphJSON(t, g)
	// The verified output of the original, abridged in the spec: every
	// listed node must be exactly there.
	wantPrefix := `{"roots":[0,13,17],"nodes":[{"name":"Listen 0.0.0.0:6080","t":"root","c":[1,5,6]},{"name":"fork","t":"fork","p":0,"c":[2]},{"name":"routing","t":"pipeline","p":1,"c":[3,4]},{"name":"decodeHttpRequest","t":"filter","p":2},{"name":"onMessageStart","t":"filter","p":2},{"name":"wait","t":"filter","p":0},{"name":"link","t":"link","p":0,"c":[7,9]},{"name":"pass","t":"pipeline","p":6,"c":[8]},{"name":"connect","t":"filter","p":7},{"name":"404","t":"pipeline","p":6,"c":[10,11,12]},`
	if !strings.HasPrefix(got, wantPrefix) {
		t.Fatalf("got  %s\nwant prefix %s", got, wantPrefix)
	}
	if !strings.Contains(got, `{"name":"Listen 0.0.0.0:8080","t":"root","c":[14,15,16]}`) {
		t.Errorf("no 8080 root: %s", got)
	}
	if len(g.Nodes) != 21 || g.Nodes[17].Name != "Listen 0.0.0.0:8081" {
		t.Errorf("got %d nodes, node 17 %+v", len(g.Nodes), g.Nodes[17])
	}
	names := []string{}
	for _, i := range g.Nodes[9].C {
		names = append(names, g.Nodes[i].Name)
	}
	if strings.Join(names, ",") != "decodeHttpRequest,replaceMessage,encodeHttpResponse" {
		t.Errorf("404 pipeline: %v", names)
	}
}

func TestStaticGraphNonLiteral(t *testing.T) {
	g := mustStatic(t, `
var port = 8000;
pipy()
.listen(os.env.PORT || 8000).dump()
.listen(port).dump()
.pipeline(name).link(x, () => true, 'b')
.pipeline('b').mux(y).fork(z).demux('c').proxySOCKS4('d', () => true)
.task().dump()
.task(1000).dump()
`)
	var roots []string
	for _, r := range g.Roots {
		roots = append(roots, g.Nodes[r].Name)
	}
	want := "Listen #1,Listen #2,Task #1,Task #2,Pipeline #1"
	if strings.Join(roots, ",") != want {
		t.Errorf("roots %v, want %s", roots, want)
	}
	// Pipeline #1 links to b only (x is unknown); mux(y) and fork(z) are
	// plain filters.
	got := graphJSON(t, g)
	for _, want := range []string{
		`{"name":"link","t":"link","p":8,"c":[10]}`,
		`{"name":"b","t":"pipeline","p":9,"c":[11,12,13,15]}`,
		`{"name":"mux","t":"filter","p":10}`,
		`{"name":"fork","t":"filter","p":10}`,
		`{"name":"demux","t":"link","p":10,"c":[14]}`,
		`{"name":"pipeline not found: c","t":"pipeline","p":13}`,
		`{"name":"proxySOCKS4","t":"link","p":10,"c":[16]}`,
		`{"name":"pipeline not found: d","t":"pipeline","p":15}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %s in\n%s", want, got)
		}
	}
}

func TestStaticGraphTask(t *testing.T) {
	g := mustStatic(t, `pipy().task('5s').link('tick').pipeline('tick').dump().task('1s').dump()`)
	got := graphJSON(t, g)
	exact := `{"roots":[0,2],"nodes":[{"name":"Task every 1s","t":"root","c":[1]},{"name":"dump","t":"filter","p":0},` +
		`{"name":"Task every 5s","t":"root","c":[3]},{"name":"link","t":"link","p":2,"c":[4]},` +
		`{"name":"tick","t":"pipeline","p":3,"c":[5]},{"name":"dump","t":"filter","p":4}]}`
	if got != exact {
		t.Errorf("got  %s\nwant %s", got, exact)
	}
}

func TestStaticGraphUse(t *testing.T) {
	g := mustStatic(t, `pipy().listen(8080).use('./mod/../x.js', 'inbound').use(m, 'p').use('y.js')`)
	got := graphJSON(t, g)
	want := `{"roots":[0],"nodes":[{"name":"Listen 0.0.0.0:8080","t":"root","c":[1,2,3]},` +
		`{"name":"use ./mod/../x.js [inbound]","t":"filter","p":0},{"name":"use  [p]","t":"filter","p":0},` +
		`{"name":"use y.js []","t":"filter","p":0}]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestStaticGraphRecursive(t *testing.T) {
	g := mustStatic(t, `pipy()
.listen(80).link('a')
.pipeline('a').dump().link('b', () => true, 'a')
.pipeline('b').fork('a')`)
	want := `{"roots":[0],"nodes":[{"name":"Listen 0.0.0.0:80","t":"root","c":[1]},` +
		`{"name":"link","t":"link","p":0,"c":[2]},{"name":"a","t":"pipeline","p":1,"c":[3,4]},` +
		`{"name":"dump","t":"filter","p":2},{"name":"link","t":"link","p":2,"c":[5,8]},` +
		`{"name":"b","t":"pipeline","p":4,"c":[6]},{"name":"fork","t":"fork","p":5,"c":[7]},` +
		`{"name":"recursive pipeline: a","t":"pipeline","p":6},{"name":"recursive pipeline: a","t":"pipeline","p":4}]}`
	if got := graphJSON(t, g); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestStaticGraphRootsAndDuplicates(t *testing.T) {
	// Unlinked named pipelines are roots after listens and tasks, in name
	// order; a later pipeline of the same name replaces the earlier one;
	// filters before the first pipeline are ignored; nothing is run.
	g := mustStatic(t, `
throw new Error('never run');
pipy({ a: 1 }).dump()
.pipeline('z').dump()
.pipeline('m').print()
.pipeline('m').decodeHttpRequest()
.listen(9000)['bracket']()
.listen(80)
`)
	want := `{"roots":[0,1,3,5],"nodes":[{"name":"Listen 0.0.0.0:80","t":"root"},` +
		`{"name":"Listen 0.0.0.0:9000","t":"root","c":[2]},{"name":"bracket","t":"filter","p":1},` +
		`{"name":"m","t":"root","c":[4]},{"name":"decodeHttpRequest","t":"filter","p":3},` +
		`{"name":"z","t":"root","c":[6]},{"name":"dump","t":"filter","p":5}]}`
	if got := graphJSON(t, g); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestStaticGraphNested(t *testing.T) {
	// Chains inside functions (a config wrapped in an IIFE) are found too.
	g := mustStatic(t, `((config = {port: 1}) => pipy().listen(8081).link('x').pipeline('x').dump())()`)
	if len(g.Roots) != 1 || g.Nodes[0].Name != "Listen 0.0.0.0:8081" || len(g.Nodes) != 4 {
		t.Errorf("got %s", graphJSON(t, g))
	}
	// An empty script has an empty graph, not nulls.
	if got := graphJSON(t, mustStatic(t, "")); got != `{"roots":[],"nodes":[]}` {
		t.Errorf("empty script: %s", got)
	}
}

func TestStaticGraphSyntaxError(t *testing.T) {
	_, err := scripts.StaticGraph("pipy().listen(80).link(\n")
	var se *scripts.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("err = %#v, want a *SyntaxError", err)
	}
	if se.Message == "" || se.Line != 2 || strings.Contains(err.Error(), "Line") {
		t.Errorf("error %q at %d:%d", se.Message, se.Line, se.Column)
	}
}

func TestStaticGraphBounded(t *testing.T) {
	// Every pipeline links twice to the next: 2^30 paths, cut short.
	var b strings.Builder
	b.WriteString("pipy().listen(80).link('p0')")
	for i := 0; i < 30; i++ {
		b.WriteString(".pipeline('p" + strconv.Itoa(i) + "').link('p" + strconv.Itoa(i+1) + "', () => true, 'p" + strconv.Itoa(i+1) + "')")
	}
	b.WriteString(".pipeline('p30').dump()")
	g := mustStatic(t, b.String())
	if len(g.Nodes) > scripts.MaxGraphNodes+1 {
		t.Fatalf("%d nodes", len(g.Nodes))
	}
	if last := g.Nodes[len(g.Nodes)-1]; last.T != "error" {
		t.Errorf("last node %+v, want an error node", last)
	}
}

func TestLiveGraph(t *testing.T) {
	h := newHarness(t)
	h.write("mod.js", `pipy().pipeline('inbound').dump()`)
	prog := h.mustLoad(`pipy()
.listen(18080).fork('a').link('b').use('mod.js', 'inbound')
.task('1s').link('b')
.pipeline('a').decodeHttpRequest()
.pipeline('b').dump()
.pipeline('orphan').mux('b')
`)
	graphs := scripts.LiveGraph(prog)
	if len(graphs) != 2 || graphs["/main.js"] == nil || graphs["/mod.js"] == nil {
		t.Fatalf("modules: %v", graphs)
	}
	for _, g := range graphs {
		checkShape(t, g)
	}
	want := `{"roots":[0,8,12],"nodes":[{"name":"0.0.0.0:18080","t":"root","c":[1,4,7]},` +
		`{"name":"fork","t":"fork","p":0,"c":[2]},{"name":"a","t":"pipeline","p":1,"c":[3]},` +
		`{"name":"decodeHttpRequest","t":"filter","p":2},{"name":"link","t":"link","p":0,"c":[5]},` +
		`{"name":"b","t":"pipeline","p":4,"c":[6]},{"name":"dump","t":"filter","p":5},` +
		`{"name":"use mod.js [inbound]","t":"filter","p":0},` +
		`{"name":"Task #1","t":"root","c":[9]},{"name":"link","t":"link","p":8,"c":[10]},` +
		`{"name":"b","t":"pipeline","p":9,"c":[11]},{"name":"dump","t":"filter","p":10},` +
		`{"name":"orphan","t":"root","c":[13]},{"name":"mux","t":"link","p":12,"c":[14]},` +
		`{"name":"b","t":"pipeline","p":13,"c":[15]},{"name":"dump","t":"filter","p":14}]}`
	if got := graphJSON(t, graphs["/main.js"]); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := graphJSON(t, graphs["/mod.js"]); got != `{"roots":[0],"nodes":[{"name":"inbound","t":"root","c":[1]},{"name":"dump","t":"filter","p":0}]}` {
		t.Errorf("mod.js: %s", got)
	}
	if len(scripts.LiveGraph(nil)) != 0 {
		t.Error("LiveGraph(nil) not empty")
	}
}

func FuzzStaticGraph(f *testing.F) {
	for _, seed := range []string{
		``,
		`pipy().listen(80).link("nope")`,
		`pipy().listen(8080).fork('a').link('b', () => x, 'c').pipeline('a').dump().pipeline('b').link('a')`,
		`pipy().task('1s').use('x.js', 'y').pipeline(1).mux().demux('q')['link']('r')`,
		`((c) => pipy(c).listen(c.port))({port: 1})`,
		`pipy().listen(1e400).listen(-0).listen(0x10).listen(NaN)`,
		`pipy().listen(80).link(`,
		`class A { #x = pipy().listen(1); static { pipy().pipeline('s') } }`,
		"`${pipy().listen(2).dump()}`",
		`pipy?.().listen?.(3).link?.('z')`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		g, err := scripts.StaticGraph(src)
		if err != nil {
			if g != nil {
				t.Fatal("graph and error")
			}
			return
		}
		checkShape(t, g)
		if _, err := json.Marshal(g); err != nil {
			t.Fatal(err)
		}
	})
}

// demuxHttp and muxHttp (and their later-Pipy aliases) are drawn as links
// to the pipelines they start, from the registry, like demux and mux.
func TestStaticGraphHTTPFilters(t *testing.T) {
	g := mustStatic(t, `pipy().listen(80).demuxHttp('req').pipeline('req').muxHTTP('up', () => 'k', {version: 2}).pipeline('up').connect('h:1')`)
	want := `{"roots":[0],"nodes":[{"name":"Listen 0.0.0.0:80","t":"root","c":[1]},{"name":"demuxHttp","t":"link","p":0,"c":[2]},{"name":"req","t":"pipeline","p":1,"c":[3]},{"name":"muxHTTP","t":"link","p":2,"c":[4]},{"name":"up","t":"pipeline","p":3,"c":[5]},{"name":"connect","t":"filter","p":4}]}`
	if got := graphJSON(t, g); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
