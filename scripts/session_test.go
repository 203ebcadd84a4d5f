package scripts_test

import (
	"encoding/json"
	"testing"

	"github.com/pipy-go/pipy/filters"
)

// ctxVar returns a root-module context variable of ctx as JSON.
func ctxVar(t *testing.T, prog *filters.Program, ctx *filters.Context, name string) string {
	t.Helper()
	m := prog.Root
	i, ok := m.VarIndex[name]
	if !ok {
		t.Fatalf("no variable %s", name)
	}
	v := ctx.Vars[m.Index][i]
	if v == nil {
		return "undefined"
	}
	b, err := json.Marshal(v.Export())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return string(b)
}

const sessionScript = `pipy({_seen: [], _r: null, _s: null})
.pipeline('p')
  .onMessage(m => _seen.push(m.body ? m.body.toString() : null))
  .onData(d => _seen.push('data:' + d.toString()))
.pipeline('main')
  .onMessageStart(() => {
    _seen = [];
    const s = new Session(__filename, 'p');
    const r = [];
    s.input(new Message('x'));
    r.push(_seen.join(','), s.done);
    s.input([new MessageStart(), new Data('y'), new MessageEnd()], new Message('z'));
    r.push(_seen.join(','), s.done);
    s.input(new SessionEnd());
    r.push(s.done);
    s.input(new Message('after'));
    r.push(_seen.join(','));
    _r = r;
  })
.pipeline('errors')
  .onMessageStart(() => {
    const r = [];
    const tryIt = f => { try { f(); r.push('ok'); } catch (e) { r.push(e.message); } };
    tryIt(() => new Session('x', 'p'));
    tryIt(() => new Session(__filename, 'y'));
    tryIt(() => new Session('/main.js', 'p'));
    tryIt(() => new Session('main.js', 'p'));
    const s = new Session(__filename, 'p');
    tryIt(() => s.input(42));
    tryIt(() => s.input('str'));
    tryIt(() => s.input([new Data('a'), {}]));
    tryIt(() => s.input(null));
    r.push(_seen.join(','));
    _r = r;
  })
.pipeline('addr')
  .onMessageStart(() => {
    const s = new Session(__filename, 'p');
    _r = [s.remoteAddress, s.remotePort, s.localAddress, s.localPort, s.done];
  })
`

func TestSessionSharesCallerContext(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(sessionScript)
	ctx := prog.NewContext(nil)
	h.runMessage(prog, "main", ctx)
	want := `["data:x,x",false,"data:x,x,data:y,y,data:z,z",false,true,"data:x,x,data:y,y,data:z,z"]`
	if got := ctxVar(t, prog, ctx, "_r"); got != want {
		t.Fatalf("_r = %s\nwant %s", got, want)
	}
	// a fresh context does not see it
	other := prog.NewContext(nil)
	if got := ctxVar(t, prog, other, "_seen"); got != "[]" {
		t.Fatalf("other context _seen = %s", got)
	}
	if n := pipelineOf(t, prog, "p").ActiveN.Load(); n != 0 {
		t.Fatalf("%d sessions of p still active", n)
	}
}

func TestSessionErrors(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(sessionScript)
	ctx := prog.NewContext(nil)
	out := h.runMessage(prog, "errors", ctx)
	want := `["module not found: x","pipeline not found: y","ok","ok",` +
		`"not an Event object","not an Event object","not an Event object","not an Event object","data:a"]`
	if got := ctxVar(t, prog, ctx, "_r"); got != want {
		t.Fatalf("_r = %s\nwant %s", got, want)
	}
	if se := out.end(); se != nil {
		t.Fatalf("caller aborted: %v", se)
	}
}

func TestSessionInboundAddresses(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(sessionScript)
	ctx := prog.NewContext(nil)
	h.runMessage(prog, "addr", ctx)
	if got := ctxVar(t, prog, ctx, "_r"); got != `["",0,"",0,false]` {
		t.Fatalf("no inbound: %s", got)
	}
	ctx = prog.NewContext(&filters.Inbound{RemoteAddr: "10.0.0.1", RemotePort: 5555, LocalAddr: "127.0.0.1", LocalPort: 8080})
	h.runMessage(prog, "addr", ctx)
	if got := ctxVar(t, prog, ctx, "_r"); got != `["10.0.0.1",5555,"127.0.0.1",8080,false]` {
		t.Fatalf("inbound: %s", got)
	}
}

// The session's output is discarded, and it is done once its pipeline
// outputs SessionEnd by itself.
func TestSessionDoneWhenPipelineEnds(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({_r: null})
.pipeline('ender')
  .replaceMessage(() => [new Message('out'), new SessionEnd()])
.pipeline('main')
  .onMessageStart(() => {
    const s = new Session(__filename, 'ender');
    const r = [s.done];
    s.input(new Message('in'));
    r.push(s.done);
    _r = r;
  })
`)
	ctx := prog.NewContext(nil)
	out := h.runMessage(prog, "main", ctx)
	if got := ctxVar(t, prog, ctx, "_r"); got != `[false,true]` {
		t.Fatalf("_r = %s", got)
	}
	if got := out.kinds(); got != "MessageStart MessageEnd" {
		t.Fatalf("caller output %s", got)
	}
}

func TestRepeat(t *testing.T) {
	h := newHarness(t)
	got := h.results(`
t('falsy', () => { const a = []; const last = repeat(i => (a.push(i), i < 3 ? 'more' + i : 0)); return a.join(',') + '|' + last; });
t('count', () => { const a = []; const last = repeat(3, i => (a.push(i), 'v' + i)); return a.join(',') + '|' + last; });
t('countFalsy', () => { const a = []; const last = repeat(5, i => (a.push(i), i < 1)); return a.join(',') + '|' + last; });
t('zero', () => String(repeat(0, i => 'x')));
t('first', () => { let n = 0; const last = repeat(() => (n++, null)); return n + '|' + last; });
t('notFn', () => repeat(3));
`)
	checkResults(t, got, map[string]any{
		"falsy":      "0,1,2,3|0",
		"count":      "0,1,2|v2",
		"countFalsy": "0,1|false",
		"zero":       "undefined",
		"first":      "1|null",
		"notFn":      "ERR:repeat: expects a function",
	})
}
