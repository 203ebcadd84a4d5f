package scripts_test

import (
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
)

const counterScript = `pipy({_n: 0, _g: {count: 0}})
.pipeline('p')
  .onMessageStart(() => { _n++; _g.count++ })
  .replaceMessage(() => new Message(String(_n) + ',' + _g.count))
`

func TestContextPrimitivesPerSessionObjectsShared(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(counterScript)
	if got := h.runMessage(prog, "p", nil).body(); got != "1,1" {
		t.Errorf("first session: %q, want 1,1", got)
	}
	if got := h.runMessage(prog, "p", nil).body(); got != "1,2" {
		t.Errorf("second session: %q, want 1,2", got)
	}
	// The declared initial values are not changed by the sessions.
	m := prog.Root
	if len(m.VarNames) != 2 || m.VarNames[0] != "_n" || m.VarNames[1] != "_g" {
		t.Errorf("VarNames = %v", m.VarNames)
	}
	if n := m.VarInit[m.VarIndex["_n"]].ToInteger(); n != 0 {
		t.Errorf("initial _n changed to %d", n)
	}
}

func TestContextSameContextTwoSessionsShareVariables(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(counterScript)
	ctx := prog.NewContext(nil)
	h.runMessage(prog, "p", ctx)
	if got := h.runMessage(prog, "p", ctx).body(); got != "2,2" {
		t.Errorf("second session in the same context: %q, want 2,2", got)
	}
}

func TestContextAssigningNewObjectIsPerContext(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({_q: [1]})
.pipeline('p')
  .onMessageStart(() => { _q = [..._q, 2] })
  .replaceMessage(() => new Message(_q.join('+')))
`)
	for i := 0; i < 2; i++ {
		if got := h.runMessage(prog, "p", nil).body(); got != "1+2" {
			t.Errorf("session %d: %q, want 1+2", i, got)
		}
	}
}

func TestContextFunctionForm(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy(() => ({_n: 5}))
.pipeline('p')
  .replaceMessage(() => new Message(String(++_n)))
`)
	for i := 0; i < 2; i++ {
		if got := h.runMessage(prog, "p", nil).body(); got != "6" {
			t.Errorf("session %d: %q, want 6", i, got)
		}
	}
}

func TestContextFunctionCalledOnce(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`var calls = 0;
pipy(() => { calls++; return {_a: 1}; })
.pipeline('p').replaceMessage(() => new Message(String(_a)))
`)
	h.runMessage(prog, "p", nil)
	h.runMessage(prog, "p", nil)
	if n := global(t, prog, "calls").ToInteger(); n != 1 {
		t.Errorf("variables function called %d times, want 1", n)
	}
}

func TestContextNoArgument(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy().pipeline('p').replaceMessage(() => new Message('x'))`)
	if len(prog.Root.VarNames) != 0 {
		t.Errorf("pipy() declared %v", prog.Root.VarNames)
	}
	if got := h.runMessage(prog, "p", nil).body(); got != "x" {
		t.Errorf("got %q", got)
	}
}

func TestContextNullArgument(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy(null).pipeline('p')`)
	if len(prog.Root.VarNames) != 0 {
		t.Errorf("pipy(null) declared %v", prog.Root.VarNames)
	}
}

func TestContextFunctionNotReturningObject(t *testing.T) {
	for _, src := range []string{
		`pipy(() => 42)`,
		`pipy(() => 'abc')`,
		`pipy(() => undefined)`,
	} {
		h := newHarness(t)
		err := h.loadErr(src)
		if !strings.Contains(err.Error(), "function did not return an object") {
			t.Errorf("%s: %v", src, err)
		}
	}
}

func TestContextArgumentNotObject(t *testing.T) {
	h := newHarness(t)
	err := h.loadErr(`pipy(42)`)
	if !strings.Contains(err.Error(), "argument #1") {
		t.Errorf("pipy(42): %v", err)
	}
}

func TestContextPipyTwice(t *testing.T) {
	h := newHarness(t)
	err := h.loadErr("pipy();\npipy()")
	if !strings.Contains(err.Error(), "pipy() called twice") {
		t.Errorf("got %v", err)
	}
}

// checkAborted verifies that a session ended with a RuntimeError SessionEnd
// and that the error (containing want) was logged.
func checkAborted(t *testing.T, h *harness, out *sink, want string) {
	t.Helper()
	end := out.end()
	if end == nil {
		t.Fatalf("no SessionEnd in output (%s)", out.kinds())
	}
	if end.Err != filters.RuntimeError {
		t.Errorf("SessionEnd error %v, want RuntimeError", end.Err)
	}
	if len(out.events) != 1 {
		t.Errorf("output %s, want only the SessionEnd", out.kinds())
	}
	if !strings.Contains(end.Message, want) {
		t.Errorf("SessionEnd message %q does not contain %q", end.Message, want)
	}
	if !strings.Contains(h.log.String(), want) {
		t.Errorf("log does not contain %q:\n%s", want, h.log.String())
	}
}

func TestContextAssignUndeclaredThrowsReferenceError(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({_n: 0})
.pipeline('p')
  .onMessageStart(() => { undeclaredVar = 1 })
  .replaceMessage(() => new Message('not reached'))
`)
	out := h.runMessage(prog, "p", nil)
	checkAborted(t, h, out, "ReferenceError")
	if !strings.Contains(h.log.String(), "undeclaredVar") {
		t.Errorf("log does not name the variable:\n%s", h.log.String())
	}
	if v := runtimeOf(prog).Get("undeclaredVar"); v != nil {
		t.Errorf("assignment created a global: %v", v)
	}
}

func TestContextReadUndeclaredThrowsReferenceError(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy()
.pipeline('p')
  .replaceMessage(() => new Message(String(nope)))
`)
	out := h.runMessage(prog, "p", nil)
	checkAborted(t, h, out, "ReferenceError")
	if !strings.Contains(h.log.String(), "nope is not defined") {
		t.Errorf("log:\n%s", h.log.String())
	}
	// The location of the error is the script line.
	if !strings.Contains(h.log.String(), "main.js:3:") {
		t.Errorf("log has no location main.js:3:\n%s", h.log.String())
	}
}

// README §1.8: a callback error is logged with the source line, a caret and
// a backtrace.
func TestContextRuntimeErrorLogsSourceLine(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy()
.pipeline('p')
  .replaceMessage(() => new Message(String(nope)))
`)
	h.runMessage(prog, "p", nil)
	if !strings.Contains(h.log.String(), "ReferenceError: nope is not defined") {
		t.Fatalf("log:\n%s", h.log.String())
	}
	if !h.hasLogLine("Line 3:    .replaceMessage(() => new Message(String(nope)))") {
		t.Errorf("no source line in log:\n%s", h.log.String())
	}
	caret := false
	for _, l := range h.logLines() {
		caret = caret || strings.TrimSpace(l) == "^"
	}
	if !caret {
		t.Errorf("no caret line in log:\n%s", h.log.String())
	}
}

func TestContextUndefinedAndNullValues(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({_u: undefined, _z: null, _s: ''})
.pipeline('p')
  .onMessageStart(() => { _u = _u === undefined ? 'was undefined' : 'bad' })
  .replaceMessage(() => new Message(_u + ',' + String(_z) + ',' + _s.length))
`)
	if got := h.runMessage(prog, "p", nil).body(); got != "was undefined,null,0" {
		t.Errorf("got %q", got)
	}
}

func TestContextAbortDoesNotAffectOtherSessions(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({_g: {n: 0}})
.pipeline('p')
  .replaceMessage(() => ++_g.n === 1 ? new Message(String(boom)) : new Message('ok'))
`)
	if end := h.runMessage(prog, "p", nil).end(); end == nil || end.Err != filters.RuntimeError {
		t.Fatalf("first session not aborted: %v", end)
	}
	out := h.runMessage(prog, "p", nil)
	if out.body() != "ok" || out.end() != nil {
		t.Errorf("second session: %s %q", out.kinds(), out.body())
	}
}

func TestContextInputAfterAbortDropped(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({_g: {calls: 0}})
.pipeline('p')
  .onMessageStart(() => { _g.calls++; missing = 1 })
`)
	pl := pipelineOf(t, prog, "p")
	out := &sink{}
	h.env.Loop.Enter()
	s := pl.NewSession(prog.NewContext(nil), out)
	s.Input(&filters.MessageStart{})
	s.Input(filters.TheMessageEnd)
	s.Input(&filters.MessageStart{})
	s.Input(filters.TheMessageEnd)
	h.env.Loop.Leave()
	if !s.Aborted() {
		t.Errorf("session not aborted")
	}
	if out.kinds() != "SessionEnd" {
		t.Errorf("output %s", out.kinds())
	}
	g := prog.Root.VarInit[prog.Root.VarIndex["_g"]].ToObject(runtimeOf(prog))
	if n := g.Get("calls").ToInteger(); n != 1 {
		t.Errorf("callback ran %d times, want 1", n)
	}
}

func TestContextGlobalsResolve(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({_x: 1})
.pipeline('p')
  .replaceMessage(() => new Message(
    JSON.stringify({a: Math.max(_x, 2)}) + ',' + typeof algo.URLRouter + ',' +
    typeof Data + ',' + typeof console.log + ',' + parseInt('7') + ',' + typeof undefined))
`)
	if got := h.runMessage(prog, "p", nil).body(); got != `{"a":2},function,function,function,7,undefined` {
		t.Errorf("got %q", got)
	}
}

func TestContextLocalsShadowVariables(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({_n: 1})
.pipeline('p')
  .replaceMessage(msg => ((_n) => new Message(String(_n) + (msg instanceof Message)))(42))
`)
	if got := h.runMessage(prog, "p", nil).body(); got != "42true" {
		t.Errorf("got %q", got)
	}
}

func TestContextVariablesShadowGlobals(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({JSON: 'mine'})
.pipeline('p')
  .replaceMessage(() => new Message(String(JSON)))
`)
	if got := h.runMessage(prog, "p", nil).body(); got != "mine" {
		t.Errorf("got %q", got)
	}
}

func TestContextTopLevelDeclarationsUsableInCallbacks(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`var base = 10;
function add(x) { return x + base; }
const k = 100;
pipy({_n: 1})
.pipeline('p')
  .replaceMessage(() => new Message(String(add(_n) + k)))
`)
	if got := h.runMessage(prog, "p", nil).body(); got != "111" {
		t.Errorf("got %q", got)
	}
}

func TestContextFunctionVariableResolvesInCallingSession(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({_n: 0, _f: x => x + _n})
.pipeline('p')
  .onMessageStart(() => { _n = 5 })
  .replaceMessage(() => new Message(String(_f(1))))
`)
	if got := h.runMessage(prog, "p", nil).body(); got != "6" {
		t.Errorf("got %q", got)
	}
}

func TestContextFilename(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`var atLoad = __filename;
pipy()
.pipeline('p')
  .replaceMessage(() => new Message(__filename))
`)
	if got := h.runMessage(prog, "p", nil).body(); got != "/main.js" {
		t.Errorf("__filename in callback = %q", got)
	}
	if got := global(t, prog, "atLoad").String(); got != "/main.js" {
		t.Errorf("__filename at load = %q", got)
	}
	if prog.Root.Name != "/main.js" {
		t.Errorf("module name %q", prog.Root.Name)
	}
}

func TestContextArgvUndefinedWithoutUse(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy()
.pipeline('p')
  .replaceMessage(() => new Message(String(__argv == null)))
`)
	if got := h.runMessage(prog, "p", nil).body(); got != "true" {
		t.Errorf("got %q", got)
	}
}

const inboundScript = `pipy()
.pipeline('p')
  .replaceMessage(() => new Message(__inbound === null ? 'null' :
    [__inbound.id, __inbound.remoteAddress, __inbound.remotePort,
     __inbound.localAddress, __inbound.localPort, typeof __inbound.remotePort].join(',')))
`

func TestContextInboundNull(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(inboundScript)
	if got := h.runMessage(prog, "p", nil).body(); got != "null" {
		t.Errorf("got %q", got)
	}
}

func TestContextInbound(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(inboundScript)
	in := &filters.Inbound{ID: 7, RemoteAddr: "1.2.3.4", RemotePort: 5, LocalAddr: "127.0.0.1", LocalPort: 8080}
	ctx := prog.NewContext(in)
	if got := h.runMessage(prog, "p", ctx).body(); got != "7,1.2.3.4,5,127.0.0.1,8080,number" {
		t.Errorf("got %q", got)
	}
	// Derived contexts inherit __inbound.
	if got := h.runMessage(prog, "p", ctx.Derive()).body(); got != "7,1.2.3.4,5,127.0.0.1,8080,number" {
		t.Errorf("derived: got %q", got)
	}
}

func TestContextBuiltinsReadOnly(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy()
.pipeline('p')
  .onMessageStart(() => { __filename = 'x' })
  .replaceMessage(() => new Message(__filename))
`)
	out := h.runMessage(prog, "p", nil)
	if out.body() != "/main.js" {
		t.Errorf("got %s %q", out.kinds(), out.body())
	}
}

func TestContextForkInjectedVariables(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({_n: 1})
.pipeline('p')
  .onMessageStart(() => { _x += '!'; _n++ })
  .replaceMessage(() => new Message(_x + ',' + _n))
`)
	rt := runtimeOf(prog)
	parent := prog.NewContext(nil)
	child := parent.Derive()
	child.Set(prog.Root, "_x", rt.ToValue("hi"))
	child.Set(prog.Root, "_n", rt.ToValue(10))
	if got := h.runMessage(prog, "p", child).body(); got != "hi!,11" {
		t.Errorf("got %q", got)
	}
	if v := child.Extra[prog.Root.Index]["_x"].String(); v != "hi!" {
		t.Errorf("injected variable after the session: %q", v)
	}
	// The parent is unaffected: it has no _x, and its _n is still 1.
	if parent.Extra != nil && parent.Extra[prog.Root.Index] != nil {
		t.Errorf("parent got extra variables %v", parent.Extra[prog.Root.Index])
	}
	if n := parent.Vars[prog.Root.Index][prog.Root.VarIndex["_n"]].ToInteger(); n != 1 {
		t.Errorf("parent _n = %d", n)
	}
	// A context derived from the child inherits the injected variable.
	if got := h.runMessage(prog, "p", child.Derive()).body(); got != "hi!!,12" {
		t.Errorf("grandchild: got %q", got)
	}
	// Without the injection the name is unknown.
	out := h.runMessage(prog, "p", parent.Derive())
	if end := out.end(); end == nil || end.Err != filters.RuntimeError {
		t.Errorf("session without _x: %s", out.kinds())
	}
}

func TestContextDeriveSnapshot(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(counterScript)
	parent := prog.NewContext(nil)
	h.runMessage(prog, "p", parent) // parent _n = 1, _g.count = 1
	child := parent.Derive()
	if got := h.runMessage(prog, "p", child).body(); got != "2,2" {
		t.Errorf("child: %q", got)
	}
	if got := h.runMessage(prog, "p", parent).body(); got != "2,3" {
		t.Errorf("parent after child: %q", got)
	}
}

// fork runs the sub-session inside the parent's processing: the current
// context switches to the derived one and back.
func TestContextNestedSessionsViaFork(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({_n: 0, _g: {seen: []}})
.pipeline('p')
  .onMessageStart(() => { _n = 1 })
  .fork('child', [{_x: 'a'}, {_x: 'b'}, 'shared'])
  .replaceMessage(() => new Message(String(_n) + ':' + _g.seen.join(',')))
.pipeline('child')
  .onMessageStart(() => { _g.seen.push(_x + _n); _n += 10 })
`)
	// The third element is not an object: that sub-session shares the
	// parent's context, so _x is unknown there and the sub-session aborts,
	// while its _n += 10 never happens. The parent is unaffected by the
	// derived ones (it keeps _n = 1).
	out := h.runMessage(prog, "p", nil)
	if got := out.body(); got != "1:a1,b1" {
		t.Errorf("got %q (%s)", got, out.kinds())
	}
	if out.end() != nil {
		t.Errorf("parent session ended: %v", out.end())
	}
	if !strings.Contains(h.log.String(), "_x is not defined") {
		t.Errorf("shared sub-session did not fail on _x:\n%s", h.log.String())
	}
}

func TestContextSharedViaLink(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({_n: 0})
.pipeline('p')
  .onMessageStart(() => { _n = 1 })
  .link('sub')
.pipeline('sub')
  .onMessageStart(() => { _n++ })
  .replaceMessage(() => new Message(String(_n)))
`)
	ctx := prog.NewContext(nil)
	if got := h.runMessage(prog, "p", ctx).body(); got != "2" {
		t.Errorf("got %q", got)
	}
	if n := ctx.Vars[prog.Root.Index][prog.Root.VarIndex["_n"]].ToInteger(); n != 2 {
		t.Errorf("linked session did not write the shared context: _n = %d", n)
	}
}
