package filters_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/scripts"
)

// writeModules writes pipy.js and the other files into a temporary root
// directory and returns the path of pipy.js.
func writeModules(t testing.TB, src string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "pipy.js")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// loadModules is load with extra module files next to pipy.js.
func loadModules(t testing.TB, src string, files map[string]string) *world {
	t.Helper()
	w := &world{t: t}
	w.env = &filters.Env{
		Loop: filters.NewLoop(),
		Log: hclog.New(&hclog.LoggerOptions{
			Output: syncWriter{&w.mu, &w.logs}, Level: hclog.Trace, DisableTime: true,
		}),
		Print: func(line string) {
			w.mu.Lock()
			w.prints = append(w.prints, line)
			w.mu.Unlock()
		},
	}
	prog, err := scripts.Load(writeModules(t, src, files), w.env)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	w.prog = prog
	return w
}

func loadModulesErr(t testing.TB, src string, files map[string]string) error {
	t.Helper()
	env := &filters.Env{Loop: filters.NewLoop(), Log: hclog.NewNullLogger(), Print: func(string) {}}
	_, err := scripts.Load(writeModules(t, src, files), env)
	return err
}

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
	w := loadModules(t, useRoot, map[string]string{"mod.js": useModule})
	for _, c := range []struct{ pipeline, want string }{
		{"two", `[["a","b"],"/mod.js","modvar",1,"x"]`},
		{"fn", `[["rootvar!"],"/mod.js","modvar",1,"x"]`},
		{"fnarr", `[[1,"x"],"/mod.js","modvar",1,"x"]`},
		{"arr", `[["only"],"/mod.js","modvar",1,"x"]`},
		{"single", `[["solo"],"/mod.js","modvar",1,"x"]`},
		{"none", `[null,"/mod.js","modvar",1,"x"]`},
	} {
		r := w.session(c.pipeline)
		r.feed(msg("x")...)
		if got := r.bytesOut(); got != c.want {
			t.Errorf("%s: got %s, want %s", c.pipeline, got, c.want)
		}
		if got := r.kinds(); got != "MS D("+itoaT(len(c.want))+") ME" {
			t.Errorf("%s: events %s", c.pipeline, got)
		}
		// the caller's own variable is untouched
		if got := r.get("_m"); got != `"rootvar"` {
			t.Errorf("%s: _m = %s", c.pipeline, got)
		}
	}
}

func itoaT(i int) string { return strconv.Itoa(i) }

// The sub-session shares the context: the target module's variables live
// in the caller's context, so a second session in the same context sees
// the value left by the first.
func TestUseSharesContext(t *testing.T) {
	w := loadModules(t, useRoot, map[string]string{"mod.js": useModule})
	r := w.session("two")
	r.feed(msg("1")...)
	r2 := &rec{w: w, ctx: r.ctx}
	r2.run(func() { r2.s = w.pipeline("two").NewSession(r.ctx, r2) })
	r2.feed(msg("2")...)
	if got := r2.bytesOut(); got != `[["a","b"],"/mod.js","modvar",2,"2"]` {
		t.Fatalf("got %s", got)
	}
	// a fresh root context starts over
	r3 := w.session("two")
	r3.feed(msg("3")...)
	if got := r3.bytesOut(); got != `[["a","b"],"/mod.js","modvar",1,"3"]` {
		t.Fatalf("got %s", got)
	}
}

// Every event, SessionEnd included, goes through the sub-session; its
// output goes downstream; input after SessionEnd is ignored.
func TestUseForwardsEvents(t *testing.T) {
	w := loadModules(t, useRoot, map[string]string{"mod.js": useModule})
	r := w.session("raw")
	r.feedString("a", "b")
	r.feed(&filters.SessionEnd{})
	r.feedString("c")
	if got := r.bytesOut(); got != "/pipy.js:rootvar:<a>/pipy.js:rootvar:<b>" {
		t.Fatalf("got %q", got)
	}
	if got := r.kinds(); got != "D(20) D(20) SE" {
		t.Fatalf("got %s", got)
	}
	if !r.s.Done() {
		t.Fatal("not done")
	}
}

func TestUseMissingModule(t *testing.T) {
	err := loadModulesErr(t, `pipy().pipeline('p').use('missing.js', 'p')`, nil)
	if err == nil || !strings.Contains(err.Error(), "missing.js") {
		t.Fatalf("err = %v, want it to name missing.js", err)
	}
	if !strings.Contains(err.Error(), "cannot load module /missing.js") {
		t.Fatalf("err = %v", err)
	}
}

func TestUseUnknownPipeline(t *testing.T) {
	err := loadModulesErr(t, `pipy().pipeline('p').use('mod.js', 'nope')`, map[string]string{"mod.js": useModule})
	if err == nil || !strings.Contains(err.Error(), "pipeline not found: nope") {
		t.Fatalf("err = %v", err)
	}
}

// A module used twice is loaded once.
func TestUseModuleLoadedOnce(t *testing.T) {
	w := loadModules(t, `pipy().pipeline('a').use('mod.js', 'p').pipeline('b').use('./mod.js', 'raw')`,
		map[string]string{"mod.js": `globalThis.loads = (globalThis.loads || 0) + 1;
` + useModule})
	if n := len(w.prog.Modules); n != 2 {
		t.Fatalf("%d modules", n)
	}
	if got := w.rt().Get("loads").ToInteger(); got != 1 {
		t.Fatalf("module evaluated %d times", got)
	}
}
