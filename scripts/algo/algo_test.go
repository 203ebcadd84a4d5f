package algo

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// example004Rules are the rules of examples/004-http-proxy, in script order.
var example004Rules = []struct {
	pattern string
	port    int
}{
	{"/hello", 8080},
	{"/hi/*", 8081},
	{"foo.com/bar/*", 8080},
	{"*.foo.com/bar", 8081},
	{"*.foo.org/foo/bar/*", 8080},
}

// example004Table is the verified routing table of example 004 (spec
// examples.md): host, path -> port, 0 for no match.
var example004Table = []struct {
	host, path string
	want       int
}{
	{"127.0.0.1:6080", "/hello", 8080},
	{"", "/hello", 8080},
	{"127.0.0.1:6080", "/hi", 8081},
	{"127.0.0.1:6080", "/hi/", 8081},
	{"127.0.0.1:6080", "/hi/there", 8081},
	{"foo.com", "/bar/x", 8080},
	{"a.foo.com", "/bar", 8081},
	{"a.foo.com:6080", "/bar", 8081},
	{"x.foo.org", "/foo/bar/baz", 8080},
	{"a.b.foo.com", "/bar", 0},
	{"127.0.0.1:6080", "/x", 0},
	{"127.0.0.1:6080", "/bar/x", 0},
}

func example004Router(t testing.TB) *URLRouter[int] {
	t.Helper()
	r := NewURLRouter[int]()
	for _, rule := range example004Rules {
		if err := r.Add(rule.pattern, rule.port); err != nil {
			t.Fatalf("Add(%q): %v", rule.pattern, err)
		}
	}
	return r
}

func TestURLRouterExample004(t *testing.T) {
	r := example004Router(t)
	for _, tc := range example004Table {
		got, ok := r.Find(tc.host, tc.path)
		if !ok {
			got = 0
		}
		if got != tc.want {
			t.Errorf("Find(%q, %q) = %d, %v; want %d", tc.host, tc.path, got, ok, tc.want)
		}
	}
}

func TestURLRouterRules(t *testing.T) {
	r := NewURLRouter[string]()
	for _, p := range []string{
		"/*", "/a/*", "/a/b/*", "/a/b", "/exact/",
		"h.com/*", "h.com/p", "h.com/p/*",
		"*.h.com/w/*", "*.h.com/*",
		"*/single",
		"Up.Case.COM/x",
	} {
		if err := r.Add(p, p); err != nil {
			t.Fatalf("Add(%q): %v", p, err)
		}
	}
	tests := []struct {
		parts []string
		want  string // "" = no match
	}{
		{[]string{"/"}, "/*"},
		{[]string{"/zzz"}, "/*"},
		{[]string{"/a"}, "/a/*"},
		{[]string{"/ab"}, "/*"},
		{[]string{"/a/x"}, "/a/*"},
		{[]string{"/a/b"}, "/a/b"}, // exact beats prefix
		{[]string{"/a/b/"}, "/a/b/*"},
		{[]string{"/a/b/c/d"}, "/a/b/*"},
		{[]string{"/exact/"}, "/exact/"},
		{[]string{"/exact"}, "/*"},
		{[]string{"/a?x=/a/b"}, "/a/*"}, // query ignored
		{[]string{"/a/b?x=1"}, "/a/b"},
		{[]string{"h.com", "/p"}, "h.com/p"},
		{[]string{"h.com", "/p/q"}, "h.com/p/*"},
		{[]string{"h.com", "/q"}, "h.com/*"},
		{[]string{"H.COM:8443", "/p"}, "h.com/p"}, // hosts are case-insensitive, port ignored
		{[]string{"h.com"}, "h.com/*"},            // bare host: path "/"
		{[]string{"h.com/p"}, "h.com/p"},
		{[]string{"h.com/", "/p"}, "h.com/p"}, // one slash kept at the joint
		{[]string{"h.com", "p"}, "h.com/p"},
		{[]string{"h.com", "/p", "q"}, "h.com/p/*"},
		{[]string{"x.h.com", "/w/1"}, "*.h.com/w/*"},
		{[]string{"x.h.com", "/v"}, "*.h.com/*"},
		{[]string{"y.x.h.com", "/v"}, "/*"}, // '*' is exactly one label
		{[]string{".h.com", "/v"}, "/*"},    // ... and not an empty one
		{[]string{"localhost", "/single"}, "*/single"},
		{[]string{"localhost:80", "/single"}, "*/single"},
		{[]string{"a.b", "/single"}, "/*"},
		{[]string{"", "/single"}, "/*"},
		{[]string{"up.case.com", "/x"}, "Up.Case.COM/x"},
		{[]string{"[::1]:80", "/a"}, "/a/*"},
		{nil, "/*"},
	}
	for _, tc := range tests {
		got, _ := r.Find(tc.parts...)
		if got != tc.want {
			t.Errorf("Find(%q) = %q; want %q", tc.parts, got, tc.want)
		}
	}

	// Without a catch-all, misses report ok == false.
	r2 := NewURLRouter[int]()
	if err := r2.Add("/a", 1); err != nil {
		t.Fatal(err)
	}
	if v, ok := r2.Find("h", "/b"); ok || v != 0 {
		t.Errorf("Find miss = %d, %v", v, ok)
	}
	// Re-adding a pattern replaces its value.
	if err := r2.Add("/a", 2); err != nil {
		t.Fatal(err)
	}
	if v, _ := r2.Find("/a"); v != 2 {
		t.Errorf("after re-add Find = %d; want 2", v)
	}
	// The zero value works.
	var zero URLRouter[int]
	if _, ok := zero.Find("h", "/"); ok {
		t.Error("zero router matched")
	}
}

func TestURLRouterInvalidPattern(t *testing.T) {
	var r URLRouter[int]
	for _, p := range []string{"", "foo.com", "*.foo.com", "foo.com:80/x", ":80/x"} {
		err := r.Add(p, 1)
		if !errors.Is(err, ErrInvalidURLPattern) || err.Error() != "invalid URL pattern" {
			t.Errorf("Add(%q) = %v; want invalid URL pattern", p, err)
		}
	}
	// A ':' in the path is fine.
	if err := r.Add("foo.com/a:b", 1); err != nil {
		t.Errorf("Add(path with colon) = %v", err)
	}
}

func TestJoinURL(t *testing.T) {
	tests := []struct {
		parts []string
		want  string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, "a/b"},
		{[]string{"a/", "b"}, "a/b"},
		{[]string{"a", "/b"}, "a/b"},
		{[]string{"a/", "/b"}, "a/b"},
		{[]string{"", "/b"}, "/b"},
		{[]string{"", "b"}, "b"},
		{[]string{"a", "", "/b"}, "a/b"},
		{[]string{"a//", "b"}, "a//b"}, // only the joint is touched
	}
	for _, tc := range tests {
		if got := string(joinURL(nil, tc.parts)); got != tc.want {
			t.Errorf("joinURL(%q) = %q; want %q", tc.parts, got, tc.want)
		}
	}
}

func selectN(n int, sel func() (string, bool)) []string {
	var out []string
	for range n {
		s, ok := sel()
		if !ok {
			s = "<none>"
		}
		out = append(out, s)
	}
	return out
}

func TestRoundRobinExample005(t *testing.T) {
	b := NewRoundRobin()
	b.Set("127.0.0.1:8080", 2)
	b.Set("127.0.0.1:8081", 1)
	b.Set("127.0.0.1:8082", 1)
	got := strings.Join(selectN(12, b.Select), ",")
	cycle := "127.0.0.1:8080,127.0.0.1:8081,127.0.0.1:8082,127.0.0.1:8080"
	if want := cycle + "," + cycle + "," + cycle; got != want {
		t.Errorf("sequence\n got %s\nwant %s", got, want)
	}
}

func TestRoundRobin(t *testing.T) {
	b := new(RoundRobin)
	if _, ok := b.Select(); ok {
		t.Error("empty balancer selected")
	}
	b.Set("a", 3)
	b.Set("b", 1)
	b.Set("z", 0)
	b.Set("n", -5)
	if w, ok := b.Weight("n"); !ok || w != 0 {
		t.Errorf("Weight(n) = %v, %v; want 0, true", w, ok)
	}
	if got := strings.Join(selectN(8, b.Select), ""); got != "abaaabaa" {
		t.Errorf("3:1 sequence = %s; want abaaabaa", got)
	}
	// Sticky tags: first selection remembered, no further hits counted.
	b2 := new(RoundRobin)
	b2.Set("a", 1)
	b2.Set("b", 1)
	if s, _ := b2.SelectTag("t1"); s != "a" {
		t.Errorf("SelectTag(t1) = %s; want a", s)
	}
	for range 3 {
		if s, _ := b2.SelectTag("t1"); s != "a" {
			t.Errorf("sticky SelectTag(t1) = %s; want a", s)
		}
	}
	if s, _ := b2.Select(); s != "b" {
		t.Errorf("Select after sticky = %s; want b", s)
	}
	if s, _ := b2.SelectTag("t2"); s != "a" { // cycle was reset after a, b
		t.Errorf("SelectTag(t2) = %s; want a", s)
	}
	// Weight change to 0 removes the target from rotation but not from tags.
	b2.Set("a", 0)
	if got := strings.Join(selectN(3, b2.Select), ""); got != "bbb" {
		t.Errorf("after Set(a, 0) = %s; want bbb", got)
	}
	if s, _ := b2.SelectTag("t1"); s != "a" {
		t.Errorf("sticky after Set(a, 0) = %s; want a", s)
	}
	b2.Set("b", 0)
	if _, ok := b2.SelectTag("t3"); ok {
		t.Error("SelectTag with no eligible target succeeded")
	}
}

func TestLeastWorkSpec(t *testing.T) {
	b := NewLeastWork()
	b.Set("a", 1)
	b.Set("b", 1)
	if got := strings.Join(selectN(3, b.Select), ","); got != "a,b,a" {
		t.Errorf("select x3 = %s; want a,b,a", got)
	}
	b.Deselect("a")
	if s, _ := b.Select(); s != "a" {
		t.Errorf("after Deselect(a) = %s; want a", s)
	}
}

func TestLeastWork(t *testing.T) {
	b := new(LeastWork)
	if _, ok := b.Select(); ok {
		t.Error("empty balancer selected")
	}
	b.Set("a", 2)
	b.Set("b", 1)
	// Never reset: a gets twice the work of b.
	if got := strings.Join(selectN(6, b.Select), ""); got != "abaaba" {
		t.Errorf("2:1 sequence = %s; want abaaba", got)
	}
	if b.Hits("a") != 4 || b.Hits("b") != 2 {
		t.Errorf("hits = %d, %d; want 4, 2", b.Hits("a"), b.Hits("b"))
	}
	for range 10 {
		b.Deselect("b")
	}
	b.Deselect("unknown")
	if b.Hits("b") != 0 {
		t.Errorf("hits(b) = %d; want 0 (not below 0)", b.Hits("b"))
	}
	if s, _ := b.SelectTag("t"); s != "b" {
		t.Errorf("SelectTag = %s; want b", s)
	}
	if s, _ := b.SelectTag("t"); s != "b" || b.Hits("b") != 1 {
		t.Errorf("sticky SelectTag = %s (hits %d); want b (hits 1)", s, b.Hits("b"))
	}
}

func TestHashing(t *testing.T) {
	h := NewHashing()
	if _, ok := h.Select("x"); ok {
		t.Error("empty balancer selected")
	}
	targets := []string{"a", "b", "c"}
	for _, s := range targets {
		h.Add(s)
	}
	seen := map[string]bool{}
	for i := range 100 {
		tag := fmt.Sprint("client-", i)
		got, ok := h.Select(tag)
		if want := targets[Hash(tag)%3]; !ok || got != want {
			t.Fatalf("Select(%q) = %q; want %q", tag, got, want)
		}
		if again, _ := h.Select(tag); again != got {
			t.Fatalf("Select(%q) not stable", tag)
		}
		seen[got] = true
	}
	if len(seen) != 3 {
		t.Errorf("100 tags hit only %v", seen)
	}
}

func TestHash(t *testing.T) {
	// FNV-1a 64 reference values, masked to 53 bits.
	tests := []struct {
		in   string
		full uint64
	}{
		{"", 0xcbf29ce484222325},
		{"a", 0xaf63dc4c8601ec8c},
		{"foobar", 0x85944171f73967e8},
	}
	for _, tc := range tests {
		if got, want := Hash(tc.in), tc.full&(1<<53-1); got != want {
			t.Errorf("Hash(%q) = %#x; want %#x", tc.in, got, want)
		}
		f := fnv.New64a()
		f.Write([]byte(tc.in))
		if got, want := Hash(tc.in), f.Sum64()&(1<<53-1); got != want {
			t.Errorf("Hash(%q) = %#x; hash/fnv says %#x", tc.in, got, want)
		}
		if Hash(tc.in) >= 1<<53 {
			t.Errorf("Hash(%q) not below 2^53", tc.in)
		}
	}
}

// newJS returns a runtime with `algo` installed as a global.
func newJS(t testing.TB) *goja.Runtime {
	t.Helper()
	rt := goja.New()
	if err := rt.Set("algo", New(rt)); err != nil {
		t.Fatal(err)
	}
	return rt
}

func runJS(t testing.TB, rt *goja.Runtime, src string) goja.Value {
	t.Helper()
	v, err := rt.RunString(src)
	if err != nil {
		t.Fatalf("%s\n-> %v", src, err)
	}
	return v
}

func TestJSURLRouterExample004(t *testing.T) {
	rt := newJS(t)
	runJS(t, rt, `
		var router = new algo.URLRouter({
			'/hello': 8080,
			'/hi/*': 8081,
			'foo.com/bar/*': 8080,
			'*.foo.com/bar': 8081,
			'*.foo.org/foo/bar/*': 8080,
		});`)
	for _, tc := range example004Table {
		host := fmt.Sprintf("%q", tc.host)
		if tc.host == "" {
			host = "undefined" // no Host header
		}
		v := runJS(t, rt, fmt.Sprintf(`router.find(%s, %q)`, host, tc.path))
		if tc.want == 0 {
			if !goja.IsUndefined(v) {
				t.Errorf("find(%s, %q) = %v; want undefined", host, tc.path, v)
			}
			continue
		}
		if v.ToInteger() != int64(tc.want) {
			t.Errorf("find(%s, %q) = %v; want %d", host, tc.path, v, tc.want)
		}
	}
	// `_target !== null` must hold for a miss (example 004's wait()).
	if !runJS(t, rt, `router.find('h', '/x') !== null`).ToBoolean() {
		t.Error("find miss returned null")
	}
}

func TestJSURLRouter(t *testing.T) {
	rt := newJS(t)
	tests := []struct{ src, want string }{
		{`var r = new algo.URLRouter(); r.add('/a/*', {n: 1}); r.find('x', '/a/b').n`, "1"},
		{`var o = {}; r.add('h.com/', o); r.find('h.com', '/') === o`, "true"},
		{`r.find(null, '/a') .n`, "1"},
		{`r.find('/a', null, undefined).n`, "1"},
		{`r.find()`, "undefined"},
		{`r.add('/p', 'P'); r.find('h.com', '/p?q=1')`, "P"},
		{`new algo.URLRouter({'/': 'root'}).find('/')`, "root"},
		{`r instanceof algo.URLRouter`, "true"},
		{`Object.keys(r).length`, "0"},
		{`algo.URLRouter.name + ' ' + typeof r.find`, "URLRouter function"},
		{`var r2 = algo.URLRouter({'/z': 'Z'}); r2.find('/z') + ' ' + (r2 instanceof algo.URLRouter) + ' ' + ('find' in algo)`, "Z true false"},
		{`try { r.add('nopath', 1) } catch (e) { e.message }`, "invalid URL pattern"},
		{`try { r.add('h.com:80/x', 1) } catch (e) { e.message }`, "invalid URL pattern"},
		{`try { new algo.URLRouter({'bad': 1}) } catch (e) { e.message }`, "invalid URL pattern"},
		{`try { new algo.URLRouter({'/ok': 1, 'bad': 1}) } catch (e) { e instanceof Error }`, "true"},
	}
	for _, tc := range tests {
		if got := runJS(t, rt, tc.src).String(); got != tc.want {
			t.Errorf("%s = %s; want %s", tc.src, got, tc.want)
		}
	}
	// The Go error is reachable from the exception.
	_, err := rt.RunString(`r.add('bad', 1)`)
	if !errors.Is(err, ErrInvalidURLPattern) {
		t.Errorf("exception %v does not wrap ErrInvalidURLPattern", err)
	}
}

func TestJSRoundRobinExample005(t *testing.T) {
	rt := newJS(t)
	got := runJS(t, rt, `
		var b = new algo.RoundRobinLoadBalancer({
			'127.0.0.1:8080': 2,
			'127.0.0.1:8081': 1,
			'127.0.0.1:8082': 1,
		});
		var out = [];
		for (var i = 0; i < 8; i++) {
			var t = b.select();
			out.push(t.substring(10));
			b.deselect?.(t); // onSessionEnd of example 005: a no-op
		}
		out.join(',') + ' ' + typeof b.deselect`).String()
	if want := "8080,8081,8082,8080,8080,8081,8082,8080 undefined"; got != want {
		t.Errorf("got %s; want %s", got, want)
	}
}

func TestJSBalancers(t *testing.T) {
	rt := newJS(t)
	tests := []struct{ src, want string }{
		// RoundRobin
		{`var rr = new algo.RoundRobinLoadBalancer(); String(rr.select())`, "undefined"},
		{`rr.set('a', 1); rr.set('b', 1); rr.set('z', -1); [rr.select(), rr.select(), rr.select()].join()`, "a,b,a"},
		{`[rr.select('t'), rr.select('t'), rr.select('t'), rr.select()].join()`, "b,b,b,a"},
		{`rr.select(undefined)`, "b"}, // undefined is no tag
		{`rr instanceof algo.RoundRobinLoadBalancer && !('deselect' in rr)`, "true"},
		{`var rr0 = new algo.RoundRobinLoadBalancer({x: 0}); String(rr0.select('t'))`, "undefined"},
		// LeastWork (spec's verified sequence)
		{`var lw = new algo.LeastWorkLoadBalancer({a: 1, b: 1}); [lw.select(), lw.select(), lw.select()].join()`, "a,b,a"},
		{`lw.deselect('a'); lw.select()`, "a"},
		{`lw.deselect('nope'); lw.deselect(); typeof lw.deselect`, "function"},
		{`var lw2 = new algo.LeastWorkLoadBalancer(); lw2.set('p', 1); lw2.set('q', 1); [lw2.select('k'), lw2.select('k'), lw2.select()].join()`, "p,p,q"},
		{`String(new algo.LeastWorkLoadBalancer().select())`, "undefined"},
		// Hashing
		{`var h = new algo.HashingLoadBalancer(['a', 'b', 'c']); h.select('x') === h.select('x')`, "true"},
		{`String(new algo.HashingLoadBalancer().select('x'))`, "undefined"},
		{`var h1 = new algo.HashingLoadBalancer(); h1.add('only'); h1.select(42)`, "only"},
		{`try { h.select() } catch (e) { e.message }`, "requires 1 or more arguments"},
		{`['x', 'y', 'z', 'w'].map(k => h.select(k)).join()`, hashingExpect([]string{"a", "b", "c"}, "x", "y", "z", "w")},
		// hash
		{`algo.hash('foobar') === algo.hash('foobar')`, "true"},
		{`algo.hash('foobar')`, fmt.Sprint(Hash("foobar"))},
		{`algo.hash(12)`, fmt.Sprint(Hash("12"))},
		{`algo.hash()`, fmt.Sprint(Hash("undefined"))},
		{`Number.isSafeInteger(algo.hash('abc')) && algo.hash('abc') >= 0`, "true"},
	}
	for _, tc := range tests {
		if got := runJS(t, rt, tc.src).String(); got != tc.want {
			t.Errorf("%s = %s; want %s", tc.src, got, tc.want)
		}
	}
}

func hashingExpect(targets []string, tags ...string) string {
	out := make([]string, len(tags))
	for i, tag := range tags {
		out[i] = targets[Hash(tag)%uint64(len(targets))]
	}
	return strings.Join(out, ",")
}

func TestFindSelectDoNotAllocate(t *testing.T) {
	r := example004Router(t)
	if n := testing.AllocsPerRun(100, func() { r.Find("a.foo.com:6080", "/bar?x=1") }); n != 0 {
		t.Errorf("URLRouter.Find allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { r.Find("A.FOO.COM", "/bar") }); n != 0 {
		t.Errorf("URLRouter.Find (upper case) allocates %v times", n)
	}
	rr := NewRoundRobin()
	rr.Set("a", 2)
	rr.Set("b", 1)
	rr.SelectTag("t")
	if n := testing.AllocsPerRun(100, func() { rr.Select(); rr.SelectTag("t") }); n != 0 {
		t.Errorf("RoundRobin.Select allocates %v times", n)
	}
	lw := NewLeastWork()
	lw.Set("a", 1)
	if n := testing.AllocsPerRun(100, func() { lw.Select(); lw.Deselect("a") }); n != 0 {
		t.Errorf("LeastWork.Select allocates %v times", n)
	}
	h := NewHashing("a", "b")
	if n := testing.AllocsPerRun(100, func() { h.Select("tag") }); n != 0 {
		t.Errorf("Hashing.Select allocates %v times", n)
	}
}

func BenchmarkURLRouterFind(b *testing.B) {
	r := example004Router(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := r.Find("a.foo.com:6080", "/bar"); !ok {
			b.Fatal("no match")
		}
	}
}

func BenchmarkURLRouterFindPrefix(b *testing.B) {
	r := example004Router(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := r.Find("127.0.0.1:6080", "/hi/there/and/deeper"); !ok {
			b.Fatal("no match")
		}
	}
}

func BenchmarkURLRouterFindJS(b *testing.B) {
	rt := newJS(b)
	runJS(b, rt, `var router = new algo.URLRouter({'/hello': 8080, '/hi/*': 8081, 'foo.com/bar/*': 8080, '*.foo.com/bar': 8081});`)
	find, _ := goja.AssertFunction(runJS(b, rt, `(function(){ return router.find('a.foo.com:6080', '/bar') })`))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := find(goja.Undefined()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRoundRobinSelect(b *testing.B) {
	rr := NewRoundRobin()
	rr.Set("127.0.0.1:8080", 2)
	rr.Set("127.0.0.1:8081", 1)
	rr.Set("127.0.0.1:8082", 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := rr.Select(); !ok {
			b.Fatal("none")
		}
	}
}

func BenchmarkRoundRobinSelectJS(b *testing.B) {
	rt := newJS(b)
	runJS(b, rt, `var b = new algo.RoundRobinLoadBalancer({'127.0.0.1:8080': 2, '127.0.0.1:8081': 1, '127.0.0.1:8082': 1});`)
	sel, _ := goja.AssertFunction(runJS(b, rt, `(function(){ return b.select() })`))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sel(goja.Undefined()); err != nil {
			b.Fatal(err)
		}
	}
}
