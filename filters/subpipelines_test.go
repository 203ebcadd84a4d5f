package filters_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
)

const linkScript = `pipy({_route: '', _g: {evals: 0}})
.pipeline('p')
  .link('a', () => (_g.evals++, _route === 'a'), 'b', () => (_g.evals++, _route === 'b'))
.pipeline('a')
  .onData(() => _route = 'seen by a')
  .replaceData(d => d.size > 0 ? new Data('A:' + d.toString() + ';') : d)
.pipeline('b')
  .replaceData(d => d.size > 0 ? new Data('B:' + d.toString() + ';') : d)
`

func TestLinkRouteChosenOnceBufferedReplayed(t *testing.T) {
	w := load(t, linkScript)
	r := w.session("p")
	r.feedString("1", "2")
	if len(r.evts) != 0 {
		t.Fatalf("output before a route was chosen: %s", r.kinds())
	}
	if got := r.get("_g"); got != `{"evals":4}` {
		t.Fatalf("conditions evaluated: %s", got)
	}
	r.set("_route", "a")
	r.feedString("3")
	if got := r.bytesOut(); got != "A:1;A:2;A:3;" {
		t.Fatalf("after routing: %q", got)
	}
	// the sub-session shares the context
	if got := r.get("_route"); got != `"seen by a"` {
		t.Fatalf("_route = %s, want the value set by the linked session", got)
	}
	// the choice is final
	r.set("_route", "b")
	r.feedString("4")
	r.feed(&filters.SessionEnd{})
	if got := r.bytesOut(); got != "A:1;A:2;A:3;A:4;" {
		t.Fatalf("route changed: %q", got)
	}
	if got := r.get("_g"); got != `{"evals":5}` {
		t.Fatalf("conditions evaluated after the choice: %s", got)
	}
	if got := r.kinds(); !strings.HasSuffix(got, "SE") || !r.s.Done() {
		t.Fatalf("SessionEnd did not come through: %s", got)
	}
	r.feedString("5")
	if strings.Contains(r.bytesOut(), "5") {
		t.Fatal("input after SessionEnd reached the output")
	}
}

func TestLinkSecondRouteAndFallback(t *testing.T) {
	w := load(t, linkScript)
	r := w.session("p")
	r.set("_route", "b")
	r.feedString("x")
	if got := r.bytesOut(); got != "B:x;" {
		t.Fatalf("got %q", got)
	}
	w = load(t, `pipy({_route: ''})
.pipeline('p').link('a', () => _route === 'a', 'b')
.pipeline('a').replaceData(() => new Data('A'))
.pipeline('b').replaceData(() => new Data('B'))`)
	r = w.session("p")
	r.feedString("x")
	if got := r.bytesOut(); got != "B" {
		t.Fatalf("unconditional fallback: %q", got)
	}
}

// A SessionEnd buffered while no route holds is replayed too.
func TestLinkBufferedSessionEnd(t *testing.T) {
	w := load(t, linkScript)
	r := w.session("p")
	r.feedString("1")
	r.feed(&filters.SessionEnd{})
	r.feedString("ignored")
	if len(r.evts) != 0 {
		t.Fatalf("output: %s", r.kinds())
	}
}

func TestLinkConditionThrows(t *testing.T) {
	w := load(t, `pipy().pipeline('p').link('a', () => nope).pipeline('a')`)
	r := w.session("p")
	r.feedString("x")
	if got := r.kinds(); got != "SE(RuntimeError)" {
		t.Fatalf("got %s", got)
	}
	if !strings.Contains(w.logText(), "nope is not defined") {
		t.Fatalf("log: %s", w.logText())
	}
}

const forkScript = `pipy({_tag: 'parent', _g: {log: []}})
.pipeline('derived')
  .fork('sub', [{_tag: 'x', _n: 1}, {_tag: 'y', _n: 2}])
.pipeline('sub')
  .decodeHttpRequest()
  .onMessage(m => (_g.log.push(_tag + _n + m.head.path + ':' + m.body.toString()), _tag = 'sub-changed'))
  .replaceMessage(new Message('SUB OUTPUT'))
.pipeline('shared')
  .fork('tagger')
.pipeline('tagger')
  .onData(d => (_g.log.push(_tag + ':' + d.toString()), _tag = 'changed'))
  .replaceData(new Data('TAGGER OUTPUT'))
.pipeline('mixed')
  .fork('logger', [{_tag: 'obj'}, 'str', null, {_tag: 'obj2'}])
.pipeline('logger')
  .onData(d => _g.log.push(_tag))
.pipeline('fn')
  .fork('adder', () => (_g.log.push('called'), {_n: 40}))
.pipeline('adder')
  .onData(d => _g.log.push(_tag + (_n + 2)))
.pipeline('badfn')
  .fork('logger', () => 42)
`

func TestForkDerivedContextsAndCopies(t *testing.T) {
	w := load(t, forkScript)
	r := w.session("derived")
	in := []string{"POST /p HTTP/1.1\r\nContent-", "Length: 3\r\n\r\nab", "c"}
	r.feedString(in...)
	r.feed(&filters.SessionEnd{})
	// the original passes unchanged, each Data as it came, after the copies
	if got := r.bytesOut(); got != strings.Join(in, "") {
		t.Fatalf("original output %q", got)
	}
	if got := r.kinds(); got != fmt.Sprintf("D(%d) D(%d) D(1) SE", len(in[0]), len(in[1])) {
		t.Fatalf("events %s", got)
	}
	// each sub-session got its own copy (the decoder consumed it in place)
	// and its own derived context with injected variables
	if got := r.get("_g"); got != `{"log":["x1/p:abc","y2/p:abc"]}` {
		t.Fatalf("log %s", got)
	}
	// derived contexts are independent of the parent
	if got := r.get("_tag"); got != `"parent"` {
		t.Fatalf("parent _tag = %s", got)
	}
	if strings.Contains(r.bytesOut(), "SUB") {
		t.Fatal("sub-session output reached the parent's output")
	}
}

func TestForkSharedContext(t *testing.T) {
	w := load(t, forkScript)
	r := w.session("shared")
	r.feedString("a", "b")
	if got := r.bytesOut(); got != "ab" {
		t.Fatalf("output %q", got)
	}
	if got := r.get("_g"); got != `{"log":["parent:a","changed:b"]}` {
		t.Fatalf("log %s", got)
	}
	if got := r.get("_tag"); got != `"changed"` {
		t.Fatalf("shared context not written: _tag = %s", got)
	}
}

func TestForkArrayMixedAndFunction(t *testing.T) {
	w := load(t, forkScript)
	r := w.session("mixed")
	r.set("_tag", "now")
	r.feedString("a")
	if got := r.get("_g"); got != `{"log":["obj","now","now","obj2"]}` {
		t.Fatalf("mixed: %s", got)
	}
	w = load(t, forkScript)
	r = w.session("fn")
	r.set("_tag", "late") // derived contexts snapshot the current values
	r.feedString("a", "b")
	if got := r.get("_g"); got != `{"log":["called","late42","late42"]}` {
		t.Fatalf("function: %s", got)
	}
	w = load(t, forkScript)
	r = w.session("badfn")
	r.feedString("a", "b")
	if got := r.kinds(); got != "SE(RuntimeError)" {
		t.Fatalf("invalid session data: %s", got)
	}
	if !strings.Contains(w.logText(), "[fork] invalid session data") {
		t.Fatalf("log: %s", w.logText())
	}
}

// Sub-sessions live until the fork's session ends: they get the SessionEnd.
func TestForkSubSessionsEnd(t *testing.T) {
	w := load(t, `pipy({_g: {ends: 0}})
.pipeline('p').fork('s', [{}, {}])
.pipeline('s').onSessionEnd(() => _g.ends++)`)
	r := w.session("p")
	pl := w.pipeline("s")
	r.feedString("x")
	if n := pl.ActiveN.Load(); n != 2 {
		t.Fatalf("active sub-sessions = %d", n)
	}
	r.feed(&filters.SessionEnd{})
	if got := r.get("_g"); got != `{"ends":2}` {
		t.Fatalf("ends %s", got)
	}
	if n := pl.ActiveN.Load(); n != 0 {
		t.Fatalf("active sub-sessions after end = %d", n)
	}
	r.feed(&filters.SessionEnd{})
	if got := r.get("_g"); got != `{"ends":2}` {
		t.Fatalf("second SessionEnd reached the sub-sessions: %s", got)
	}
}

const waitScript = `pipy({_ok: false, _g: {checks: 0}})
.pipeline('p').wait(() => (_g.checks++, _ok))`

func TestWaitReleasedOnNotify(t *testing.T) {
	w := load(t, waitScript)
	r := w.session("p")
	r.feedString("a", "b")
	if len(r.evts) != 0 {
		t.Fatalf("output while waiting: %s", r.kinds())
	}
	// a notification with the condition still false changes nothing
	r.run(func() { r.ctx.Group.Notify() })
	if len(r.evts) != 0 {
		t.Fatalf("output after a false notification: %s", r.kinds())
	}
	// the condition becomes true without a notification: still held
	r.set("_ok", true)
	if len(r.evts) != 0 {
		t.Fatalf("released without an event or notification")
	}
	r.run(func() { r.ctx.Group.Notify() })
	if got := r.bytesOut(); got != "ab" {
		t.Fatalf("after notify: %q", got)
	}
	checks := r.get("_g")
	// pass-through from now on, condition never evaluated again
	r.set("_ok", false)
	r.feedString("c")
	r.run(func() { r.ctx.Group.Notify() })
	if got := r.bytesOut(); got != "abc" {
		t.Fatalf("pass-through: %q", got)
	}
	if got := r.get("_g"); got != checks {
		t.Fatalf("condition evaluated after release: %s -> %s", checks, got)
	}
}

func TestWaitReleasedOnEvent(t *testing.T) {
	w := load(t, waitScript)
	r := w.session("p")
	r.feedString("a")
	r.set("_ok", true)
	r.feedString("b")
	if got := r.bytesOut(); got != "ab" {
		t.Fatalf("got %q", got)
	}
}

func TestWaitBuffersSessionEnd(t *testing.T) {
	w := load(t, waitScript)
	r := w.session("p")
	r.feed(data("a"), &filters.MessageStart{}, filters.TheMessageEnd, &filters.SessionEnd{})
	r.feedString("after end")
	r.set("_ok", true)
	r.run(func() { r.ctx.Group.Notify() })
	if got := r.kinds(); got != "D(1) MS ME SE" {
		t.Fatalf("got %s", got)
	}
	if !r.s.Done() {
		t.Fatal("session not done")
	}
}

// Notifications reach waiters in every context of the group: a derived
// context (as made by fork) shares the root's group.
func TestWaitGroupOfDerivedContext(t *testing.T) {
	w := load(t, waitScript)
	p := w.pipeline("p")
	var r rec
	r.w = w
	w.env.Loop.Enter()
	root := w.prog.NewContext(nil)
	r.ctx = root.Derive()
	r.s = p.NewSession(r.ctx, &r)
	w.env.Loop.Leave()
	r.feedString("x")
	r.set("_ok", true)
	r.run(func() { root.Group.Notify() })
	if got := r.bytesOut(); got != "x" {
		t.Fatalf("got %q", got)
	}
}

func TestWaitConditionThrows(t *testing.T) {
	w := load(t, `pipy().pipeline('p').wait(() => missing)`)
	r := w.session("p")
	r.feedString("a", "b")
	r.run(func() { r.ctx.Group.Notify() })
	if got := r.kinds(); got != "SE(RuntimeError)" {
		t.Fatalf("got %s", got)
	}
}

// When a session ends because a later filter output its SessionEnd (an
// encoder closing the connection, a task's replaceMessage(() => new
// SessionEnd)), or because it was aborted, the input SessionEnd never
// reaches the fork/link filters upstream: their sub-sessions must still be
// ended, or they count as active forever (Worker.Shutdown drains on
// Program.ActiveSessions, the status dump lists them).
func TestSubSessionsEndWithParent(t *testing.T) {
	w := load(t, `pipy({_g: {ends: 0}})
.pipeline('closing').fork('sub').replaceMessage(() => new SessionEnd)
.pipeline('aborting').fork('sub').onData(() => oops)
.pipeline('linked').link('sub').replaceMessage(() => new SessionEnd)
.pipeline('sub').onSessionEnd(() => _g.ends++)`)
	sub := w.pipeline("sub")
	for _, name := range []string{"closing", "aborting", "linked"} {
		r := w.session(name)
		r.feed(&filters.MessageStart{}, data("x"), filters.TheMessageEnd)
		if !r.s.Done() {
			t.Fatalf("%s: parent not done: %s", name, r.kinds())
		}
		// what a listener does when the client closes later: the session
		// is done, so the SessionEnd is dropped
		r.feed(&filters.SessionEnd{})
		if n := sub.ActiveN.Load(); n != 0 {
			t.Errorf("%s: %d sub-session(s) still active after the parent ended", name, n)
		}
	}
	if n := w.prog.ActiveSessions(); n != 0 {
		t.Errorf("program reports %d active sessions", n)
	}
}
