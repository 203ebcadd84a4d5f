package flow_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
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
	w := filtertest.Load(t, linkScript)
	r := w.Session("p")
	r.FeedString("1", "2")
	if len(r.Evts) != 0 {
		t.Fatalf("output before a route was chosen: %s", r.Kinds())
	}
	if got := r.Get("_g"); got != `{"evals":4}` {
		t.Fatalf("conditions evaluated: %s", got)
	}
	r.Set("_route", "a")
	r.FeedString("3")
	if got := r.BytesOut(); got != "A:1;A:2;A:3;" {
		t.Fatalf("after routing: %q", got)
	}
	// the sub-session shares the context
	if got := r.Get("_route"); got != `"seen by a"` {
		t.Fatalf("_route = %s, want the value set by the linked session", got)
	}
	// the choice is final
	r.Set("_route", "b")
	r.FeedString("4")
	r.Feed(&filters.SessionEnd{})
	if got := r.BytesOut(); got != "A:1;A:2;A:3;A:4;" {
		t.Fatalf("route changed: %q", got)
	}
	if got := r.Get("_g"); got != `{"evals":5}` {
		t.Fatalf("conditions evaluated after the choice: %s", got)
	}
	if got := r.Kinds(); !strings.HasSuffix(got, "SE") || !r.S.Done() {
		t.Fatalf("SessionEnd did not come through: %s", got)
	}
	r.FeedString("5")
	if strings.Contains(r.BytesOut(), "5") {
		t.Fatal("input after SessionEnd reached the output")
	}
}

func TestLinkSecondRouteAndFallback(t *testing.T) {
	w := filtertest.Load(t, linkScript)
	r := w.Session("p")
	r.Set("_route", "b")
	r.FeedString("x")
	if got := r.BytesOut(); got != "B:x;" {
		t.Fatalf("got %q", got)
	}
	w = filtertest.Load(t, `pipy({_route: ''})
.pipeline('p').link('a', () => _route === 'a', 'b')
.pipeline('a').replaceData(() => new Data('A'))
.pipeline('b').replaceData(() => new Data('B'))`)
	r = w.Session("p")
	r.FeedString("x")
	if got := r.BytesOut(); got != "B" {
		t.Fatalf("unconditional fallback: %q", got)
	}
}

// A SessionEnd buffered while no route holds is replayed too.
func TestLinkBufferedSessionEnd(t *testing.T) {
	w := filtertest.Load(t, linkScript)
	r := w.Session("p")
	r.FeedString("1")
	r.Feed(&filters.SessionEnd{})
	r.FeedString("ignored")
	if len(r.Evts) != 0 {
		t.Fatalf("output: %s", r.Kinds())
	}
}

func TestLinkConditionThrows(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').link('a', () => nope).pipeline('a')`)
	r := w.Session("p")
	r.FeedString("x")
	if got := r.Kinds(); got != "SE(RuntimeError)" {
		t.Fatalf("got %s", got)
	}
	if !strings.Contains(w.LogText(), "nope is not defined") {
		t.Fatalf("log: %s", w.LogText())
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
	w := filtertest.Load(t, forkScript)
	r := w.Session("derived")
	in := []string{"POST /p HTTP/1.1\r\nContent-", "Length: 3\r\n\r\nab", "c"}
	r.FeedString(in...)
	r.Feed(&filters.SessionEnd{})
	// the original passes unchanged, each Data as it came, after the copies
	if got := r.BytesOut(); got != strings.Join(in, "") {
		t.Fatalf("original output %q", got)
	}
	if got := r.Kinds(); got != fmt.Sprintf("D(%d) D(%d) D(1) SE", len(in[0]), len(in[1])) {
		t.Fatalf("events %s", got)
	}
	// each sub-session got its own copy (the decoder consumed it in place)
	// and its own derived context with injected variables
	if got := r.Get("_g"); got != `{"log":["x1/p:abc","y2/p:abc"]}` {
		t.Fatalf("log %s", got)
	}
	// derived contexts are independent of the parent
	if got := r.Get("_tag"); got != `"parent"` {
		t.Fatalf("parent _tag = %s", got)
	}
	if strings.Contains(r.BytesOut(), "SUB") {
		t.Fatal("sub-session output reached the parent's output")
	}
}

func TestForkSharedContext(t *testing.T) {
	w := filtertest.Load(t, forkScript)
	r := w.Session("shared")
	r.FeedString("a", "b")
	if got := r.BytesOut(); got != "ab" {
		t.Fatalf("output %q", got)
	}
	if got := r.Get("_g"); got != `{"log":["parent:a","changed:b"]}` {
		t.Fatalf("log %s", got)
	}
	if got := r.Get("_tag"); got != `"changed"` {
		t.Fatalf("shared context not written: _tag = %s", got)
	}
}

func TestForkArrayMixedAndFunction(t *testing.T) {
	w := filtertest.Load(t, forkScript)
	r := w.Session("mixed")
	r.Set("_tag", "now")
	r.FeedString("a")
	if got := r.Get("_g"); got != `{"log":["obj","now","now","obj2"]}` {
		t.Fatalf("mixed: %s", got)
	}
	w = filtertest.Load(t, forkScript)
	r = w.Session("fn")
	r.Set("_tag", "late") // derived contexts snapshot the current values
	r.FeedString("a", "b")
	if got := r.Get("_g"); got != `{"log":["called","late42","late42"]}` {
		t.Fatalf("function: %s", got)
	}
	w = filtertest.Load(t, forkScript)
	r = w.Session("badfn")
	r.FeedString("a", "b")
	if got := r.Kinds(); got != "SE(RuntimeError)" {
		t.Fatalf("invalid session data: %s", got)
	}
	if !strings.Contains(w.LogText(), "[fork] invalid session data") {
		t.Fatalf("log: %s", w.LogText())
	}
}

// Sub-sessions live until the fork's session ends: they get the SessionEnd.
func TestForkSubSessionsEnd(t *testing.T) {
	w := filtertest.Load(t, `pipy({_g: {ends: 0}})
.pipeline('p').fork('s', [{}, {}])
.pipeline('s').onSessionEnd(() => _g.ends++)`)
	r := w.Session("p")
	pl := w.Pipeline("s")
	r.FeedString("x")
	if n := pl.ActiveN.Load(); n != 2 {
		t.Fatalf("active sub-sessions = %d", n)
	}
	r.Feed(&filters.SessionEnd{})
	if got := r.Get("_g"); got != `{"ends":2}` {
		t.Fatalf("ends %s", got)
	}
	if n := pl.ActiveN.Load(); n != 0 {
		t.Fatalf("active sub-sessions after end = %d", n)
	}
	r.Feed(&filters.SessionEnd{})
	if got := r.Get("_g"); got != `{"ends":2}` {
		t.Fatalf("second SessionEnd reached the sub-sessions: %s", got)
	}
}

const waitScript = `pipy({_ok: false, _g: {checks: 0}})
.pipeline('p').wait(() => (_g.checks++, _ok))`

func TestWaitReleasedOnNotify(t *testing.T) {
	w := filtertest.Load(t, waitScript)
	r := w.Session("p")
	r.FeedString("a", "b")
	if len(r.Evts) != 0 {
		t.Fatalf("output while waiting: %s", r.Kinds())
	}
	// a notification with the condition still false changes nothing
	r.Run(func() { r.Ctx.Group.Notify() })
	if len(r.Evts) != 0 {
		t.Fatalf("output after a false notification: %s", r.Kinds())
	}
	// the condition becomes true without a notification: still held
	r.Set("_ok", true)
	if len(r.Evts) != 0 {
		t.Fatalf("released without an event or notification")
	}
	r.Run(func() { r.Ctx.Group.Notify() })
	if got := r.BytesOut(); got != "ab" {
		t.Fatalf("after notify: %q", got)
	}
	checks := r.Get("_g")
	// pass-through from now on, condition never evaluated again
	r.Set("_ok", false)
	r.FeedString("c")
	r.Run(func() { r.Ctx.Group.Notify() })
	if got := r.BytesOut(); got != "abc" {
		t.Fatalf("pass-through: %q", got)
	}
	if got := r.Get("_g"); got != checks {
		t.Fatalf("condition evaluated after release: %s -> %s", checks, got)
	}
}

func TestWaitReleasedOnEvent(t *testing.T) {
	w := filtertest.Load(t, waitScript)
	r := w.Session("p")
	r.FeedString("a")
	r.Set("_ok", true)
	r.FeedString("b")
	if got := r.BytesOut(); got != "ab" {
		t.Fatalf("got %q", got)
	}
}

func TestWaitBuffersSessionEnd(t *testing.T) {
	w := filtertest.Load(t, waitScript)
	r := w.Session("p")
	r.Feed(filtertest.Data("a"), &filters.MessageStart{}, filters.TheMessageEnd, &filters.SessionEnd{})
	r.FeedString("after end")
	r.Set("_ok", true)
	r.Run(func() { r.Ctx.Group.Notify() })
	if got := r.Kinds(); got != "D(1) MS ME SE" {
		t.Fatalf("got %s", got)
	}
	if !r.S.Done() {
		t.Fatal("session not done")
	}
}

// Notifications reach waiters in every context of the group: a derived
// context (as made by fork) shares the root's group.
func TestWaitGroupOfDerivedContext(t *testing.T) {
	w := filtertest.Load(t, waitScript)
	p := w.Pipeline("p")
	var r filtertest.Rec
	r.W = w
	w.Env.Loop.Enter()
	root := w.Prog.NewContext(nil)
	r.Ctx = root.Derive()
	r.S = p.NewSession(r.Ctx, &r)
	w.Env.Loop.Leave()
	r.FeedString("x")
	r.Set("_ok", true)
	r.Run(func() { root.Group.Notify() })
	if got := r.BytesOut(); got != "x" {
		t.Fatalf("got %q", got)
	}
}

func TestWaitConditionThrows(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').wait(() => missing)`)
	r := w.Session("p")
	r.FeedString("a", "b")
	r.Run(func() { r.Ctx.Group.Notify() })
	if got := r.Kinds(); got != "SE(RuntimeError)" {
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
	w := filtertest.Load(t, `pipy({_g: {ends: 0}})
.pipeline('closing').fork('sub').replaceMessage(() => new SessionEnd)
.pipeline('aborting').fork('sub').onData(() => oops)
.pipeline('linked').link('sub').replaceMessage(() => new SessionEnd)
.pipeline('sub').onSessionEnd(() => _g.ends++)`)
	sub := w.Pipeline("sub")
	for _, name := range []string{"closing", "aborting", "linked"} {
		r := w.Session(name)
		r.Feed(&filters.MessageStart{}, filtertest.Data("x"), filters.TheMessageEnd)
		if !r.S.Done() {
			t.Fatalf("%s: parent not done: %s", name, r.Kinds())
		}
		// what a listener does when the client closes later: the session
		// is done, so the SessionEnd is dropped
		r.Feed(&filters.SessionEnd{})
		if n := sub.ActiveN.Load(); n != 0 {
			t.Errorf("%s: %d sub-session(s) still active after the parent ended", name, n)
		}
	}
	if n := w.Prog.ActiveSessions(); n != 0 {
		t.Errorf("program reports %d active sessions", n)
	}
}
