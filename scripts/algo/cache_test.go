package algo

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCache(t *testing.T) {
	var c Cache[string, int]
	if _, ok := c.Get("a"); ok || c.Len() != 0 {
		t.Fatal("zero Cache not empty")
	}
	calls := 0
	alloc := func(k string) int { calls++; return len(k) }
	if v := c.GetOrAllocate("abc", alloc); v != 3 || calls != 1 {
		t.Errorf("GetOrAllocate = %d (%d calls)", v, calls)
	}
	if v := c.GetOrAllocate("abc", alloc); v != 3 || calls != 1 {
		t.Errorf("GetOrAllocate again = %d (%d calls)", v, calls)
	}
	c.Set("x", 10)
	c.Set("y", 20)
	c.Set("abc", 30) // keeps its place
	if v, ok := c.Delete("x"); !ok || v != 10 {
		t.Errorf("Delete = %d, %v", v, ok)
	}
	if _, ok := c.Delete("x"); ok {
		t.Error("Delete twice")
	}
	c.Set("x", 11) // goes last
	var freed []string
	c.Clear(func(k string, v int) { freed = append(freed, fmt.Sprint(k, "=", v)) })
	if got := strings.Join(freed, " "); got != "abc=30 y=20 x=11" || c.Len() != 0 {
		t.Errorf("Clear freed %s, Len %d", got, c.Len())
	}
	c.Set("a", 1)
	c.Clear(nil)
	if c.Len() != 0 {
		t.Error("Clear(nil) left entries")
	}
}

func TestCachePanics(t *testing.T) {
	var c Cache[int, int]
	func() {
		defer func() { recover() }()
		c.GetOrAllocate(1, func(int) int { panic("boom") })
	}()
	if _, ok := c.Get(1); ok {
		t.Error("a panicking allocate stored a value")
	}
	for i := range 4 {
		c.Set(i, i)
	}
	func() {
		defer func() { recover() }()
		c.Clear(func(k, _ int) {
			if k == 1 {
				panic("boom")
			}
		})
	}()
	if c.Len() != 2 {
		t.Errorf("after a panicking free, Len = %d; want 2", c.Len())
	}
	if _, ok := c.Get(2); !ok {
		t.Error("entry 2 lost")
	}
	// free may add entries: they are cleared too.
	added := false
	c.Clear(func(k, _ int) {
		if !added {
			added = true
			c.Set(100, 100)
		}
	})
	if c.Len() != 0 {
		t.Errorf("Len = %d after Clear", c.Len())
	}
}

func TestJSCache(t *testing.T) {
	rt := newJS(t)
	tests := []struct{ src, want string }{
		{`var n = 0, log = [];
		  var c = new algo.Cache(k => (n++, k === 'missing' ? null : k === 'undef' ? undefined : 'v:' + String(k)),
		                         (k, v) => log.push(String(k) + '=' + String(v)));
		  [c.get('a'), c.get('a'), n].join()`, "v:a,v:a,1"},
		{`[c.get('missing'), c.get('missing'), c.get('undef'), c.get('undef'), n].map(String).join()`, "null,null,undefined,undefined,3"},
		{`c.get(1); c.get(1.0); c.get('1'); n`, "5"},
		{`c.get(NaN); c.get(0/0); c.get(0); c.get(-0); n`, "7"},
		{`var o1 = {}, o2 = {}; c.get(o1); c.get(o1); c.get(o2); n`, "9"},
		{`c.get(true); c.get(null); c.get(undefined); c.get(); n`, "12"},
		{`c.clear(); log.join(' ')`, "a=v:a missing=null undef=undefined 1=v:1 1=v:1 NaN=v:NaN 0=v:0 [object Object]=v:[object Object] [object Object]=v:[object Object] true=v:true null=v:null undefined=v:undefined"},
		{`c.get('a'); n`, "13"},
		// Without free, clear just empties; without allocate, a miss is undefined.
		{`var c2 = new algo.Cache(k => k * 2); c2.get(2) + ' ' + c2.clear() + ' ' + c2.get(3)`, "4 undefined 6"},
		{`var c3 = new algo.Cache(); String(c3.get('x')) + ' ' + String(new algo.Cache(null, null).get(1))`, "undefined undefined"},
		// Exceptions propagate; nothing is stored.
		{`var m = 0; var c4 = new algo.Cache(k => { m++; throw new Error('no ' + k) });
		  var e1; try { c4.get('k') } catch (e) { e1 = e.message }
		  try { c4.get('k') } catch (e) {}
		  e1 + ' ' + m`, "no k 2"},
		{`var c5 = new algo.Cache(k => k, (k, v) => { if (k === 2) throw 'stop' }); c5.get(1); c5.get(2); c5.get(3);
		  var r; try { c5.clear() } catch (e) { r = e } r`, "stop"},
		{`var freed = []; var c6 = new algo.Cache(k => k, (k, v) => freed.push(k)); c6.get('a'); c6.get('b');
		  c6.clear(); c6.clear(); freed.join()`, "a,b"},
		// Reentrant allocate.
		{`var c7 = new algo.Cache(k => k > 0 ? c7.get(k - 1) + 1 : 0); c7.get(5) + ' ' + c7.get(3)`, "5 3"},
		// Class shape and argument checks.
		{`(c instanceof algo.Cache) + ' ' + algo.Cache.name + ' ' + algo.Cache.length + ' ' + Object.keys(c).length`, "true Cache 1 0"},
		{`algo.Cache(k => 1).get(0)`, "1"},
		{`try { new algo.Cache(1) } catch (e) { (e instanceof TypeError) + ' ' + e.message }`, "true Cache: argument #1 expects a function"},
		{`try { new algo.Cache(k => k, 'x') } catch (e) { e.message }`, "Cache: argument #2 expects a function"},
	}
	for _, tc := range tests {
		if got := runJS(t, rt, tc.src).String(); got != tc.want {
			t.Errorf("%s\n = %s\nwant %s", tc.src, got, tc.want)
		}
	}
	// A Go error thrown by a callback keeps its identity.
	rt.Set("fail", func() { panic(rt.NewGoError(errTest)) })
	if _, err := rt.RunString(`new algo.Cache(k => fail()).get(1)`); !errors.Is(err, errTest) {
		t.Errorf("error %v does not wrap errTest", err)
	}
}

var errTest = errors.New("test error")

// TestJSCacheExample015 mirrors example 015: a missing file is cached as
// null, and `_file !== undefined` holds for it.
func TestJSCacheExample015(t *testing.T) {
	rt := newJS(t)
	got := runJS(t, rt, `
		var opened = [];
		var http = { File: { from: p => (opened.push(p), p === 'www/index.html' ? { path: p } : null) } };
		var _cache = new algo.Cache(path => http.File.from('www' + path));
		var out = [];
		for (var p of ['/index.html', '/nope', '/index.html', '/nope']) {
			var _file = _cache.get(p);
			out.push(_file !== undefined ? (_file ? _file.path : '404') : 'wait');
		}
		out.join() + ' ' + opened.join()`).String()
	if want := "www/index.html,404,www/index.html,404 www/index.html,www/nope"; got != want {
		t.Errorf("got %s; want %s", got, want)
	}
}
