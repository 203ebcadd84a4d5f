package flow_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

const useModule = `pipy({_m: 'modvar', _cnt: 0})
.pipeline('p')
  .onMessageStart(() => _cnt++)
  .replaceMessage(m => new Message(JSON.stringify([__argv, __filename, _m, _cnt, m.body.toString()])))
.pipeline('raw')
  .replaceData(d => d.size > 0 ? new Data('<' + d.toString() + '>') : d)
`

const useRoot = `pipy({_m: 'rootvar'})
.pipeline('two')
  .use('mod.js', 'p', 'a', 'b')
.pipeline('fn')
  .use('./mod.js', 'p', () => _m + '!')
.pipeline('fnarr')
  .use('/mod.js', 'p', () => [1, 'x'])
.pipeline('arr')
  .use('mod.js', 'p', ['only'])
.pipeline('single')
  .use('mod.js', 'p', 'solo')
.pipeline('none')
  .use('mod.js', 'p')
.pipeline('raw')
  .use('mod.js', 'raw')
  .replaceData(d => d.size > 0 ? new Data(__filename + ':' + _m + ':' + d.toString()) : d)
`

func TestUseArgvFilenameAndModuleVariables(t *testing.T) {
	w := filtertest.LoadModules(t, useRoot, map[string]string{"mod.js": useModule})
	for _, c := range []struct{ pipeline, want string }{
		{"two", `[["a","b"],"/mod.js","modvar",1,"x"]`},
		{"fn", `[["rootvar!"],"/mod.js","modvar",1,"x"]`},
		{"fnarr", `[[1,"x"],"/mod.js","modvar",1,"x"]`},
		{"arr", `[["only"],"/mod.js","modvar",1,"x"]`},
		{"single", `[["solo"],"/mod.js","modvar",1,"x"]`},
		{"none", `[null,"/mod.js","modvar",1,"x"]`},
	} {
		r := w.Session(c.pipeline)
		r.Feed(filtertest.Msg("x")...)
		if got := r.BytesOut(); got != c.want {
			t.Errorf("%s: got %s, want %s", c.pipeline, got, c.want)
		}
		if got := r.Kinds(); got != "MS D("+itoaT(len(c.want))+") ME" {
			t.Errorf("%s: events %s", c.pipeline, got)
		}
		// the caller's own variable is untouched
		if got := r.Get("_m"); got != `"rootvar"` {
			t.Errorf("%s: _m = %s", c.pipeline, got)
		}
	}
}

func itoaT(i int) string { return strconv.Itoa(i) }

// The sub-session shares the context: the target module's variables live
// in the caller's context, so a second session in the same context sees
// the value left by the first.
func TestUseSharesContext(t *testing.T) {
	w := filtertest.LoadModules(t, useRoot, map[string]string{"mod.js": useModule})
	r := w.Session("two")
	r.Feed(filtertest.Msg("1")...)
	r2 := &filtertest.Rec{W: w, Ctx: r.Ctx}
	r2.Run(func() { r2.S = w.Pipeline("two").NewSession(r.Ctx, r2) })
	r2.Feed(filtertest.Msg("2")...)
	if got := r2.BytesOut(); got != `[["a","b"],"/mod.js","modvar",2,"2"]` {
		t.Fatalf("got %s", got)
	}
	// a fresh root context starts over
	r3 := w.Session("two")
	r3.Feed(filtertest.Msg("3")...)
	if got := r3.BytesOut(); got != `[["a","b"],"/mod.js","modvar",1,"3"]` {
		t.Fatalf("got %s", got)
	}
}

// Every event, SessionEnd included, goes through the sub-session; its
// output goes downstream; input after SessionEnd is ignored.
func TestUseForwardsEvents(t *testing.T) {
	w := filtertest.LoadModules(t, useRoot, map[string]string{"mod.js": useModule})
	r := w.Session("raw")
	r.FeedString("a", "b")
	r.Feed(&filters.SessionEnd{})
	r.FeedString("c")
	if got := r.BytesOut(); got != "/pipy.js:rootvar:<a>/pipy.js:rootvar:<b>" {
		t.Fatalf("got %q", got)
	}
	if got := r.Kinds(); got != "D(20) D(20) SE" {
		t.Fatalf("got %s", got)
	}
	if !r.S.Done() {
		t.Fatal("not done")
	}
}

func TestUseMissingModule(t *testing.T) {
	err := filtertest.LoadModulesErr(t, `pipy().pipeline('p').use('missing.js', 'p')`, nil)
	if err == nil || !strings.Contains(err.Error(), "missing.js") {
		t.Fatalf("err = %v, want it to name missing.js", err)
	}
	if !strings.Contains(err.Error(), "cannot load module /missing.js") {
		t.Fatalf("err = %v", err)
	}
}

func TestUseUnknownPipeline(t *testing.T) {
	err := filtertest.LoadModulesErr(t, `pipy().pipeline('p').use('mod.js', 'nope')`, map[string]string{"mod.js": useModule})
	if err == nil || !strings.Contains(err.Error(), "pipeline not found: nope") {
		t.Fatalf("err = %v", err)
	}
}

// A module used twice is loaded once.
func TestUseModuleLoadedOnce(t *testing.T) {
	w := filtertest.LoadModules(t, `pipy().pipeline('a').use('mod.js', 'p').pipeline('b').use('./mod.js', 'raw')`,
		map[string]string{"mod.js": `globalThis.loads = (globalThis.loads || 0) + 1;
` + useModule})
	if n := len(w.Prog.Modules); n != 2 {
		t.Fatalf("%d modules", n)
	}
	if got := w.RT().Get("loads").ToInteger(); got != 1 {
		t.Fatalf("module evaluated %d times", got)
	}
}
