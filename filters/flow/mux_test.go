package flow_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
	"github.com/pipy-go/pipy/filters/flow"
)

const muxScript = `pipy({_key: '', _c: 0, _g: {made: 0, go: false}})
.pipeline('p')
  .mux('shared', () => _key)
.pipeline('shared')
  .onSessionStart(() => _g.made++)
  .replaceMessage(m => new Message(_key + '#' + (++_c) + ':' + m.body.toString()))
.pipeline('gated')
  .mux('gate', () => _key)
.pipeline('gate')
  .onSessionStart(() => _g.made++)
  .wait(() => _g.go)
  .replaceMessage(m => m.body.toString() === 'end' ? new SessionEnd() : new Message('ans:' + m.body.toString() + '#' + (++_c)))
.pipeline('nosel')
  .mux('shared')
`

// muxSession starts a session of pipeline name with _key set to key.
func muxSession(w *filtertest.World, name, key string) *filtertest.Rec {
	r := w.Session(name)
	r.Set("_key", key)
	return r
}

func muxRelease(w *filtertest.World, r *filtertest.Rec) {
	r.Run(func() {
		sharedObj(w, "_g").Set("go", true)
		r.Ctx.Group.Notify()
	})
}

func TestMuxSameKeySharesSession(t *testing.T) {
	w := filtertest.Load(t, muxScript)
	a := muxSession(w, "p", "k1")
	a.Feed(filtertest.Msg("a1")...)
	b := muxSession(w, "p", "k1")
	b.Feed(filtertest.Msg("b1")...)
	a.Feed(filtertest.Msg("a2")...)
	if got := a.BytesOut(); got != "k1#1:a1k1#3:a2" {
		t.Fatalf("a got %q", got)
	}
	if got := b.BytesOut(); got != "k1#2:b1" {
		t.Fatalf("b got %q", got)
	}
	if got := a.Kinds(); got != "MS D(7) ME MS D(7) ME" {
		t.Fatalf("a events %s", got)
	}
	// different key: a different shared session with its own counter
	c := muxSession(w, "p", "k2")
	c.Feed(filtertest.Msg("c1")...)
	if got := c.BytesOut(); got != "k2#1:c1" {
		t.Fatalf("c got %q", got)
	}
	if got := a.Get("_g"); got != `{"go":false,"made":2}` {
		t.Fatalf("_g = %s, want 2 shared sessions", got)
	}
	// the shared session's context is derived: the counter does not leak
	// into the sessions
	if got := a.Get("_c"); got != "0" {
		t.Fatalf("a._c = %s", got)
	}
}

func TestMuxNoSelectorOneSession(t *testing.T) {
	w := filtertest.Load(t, muxScript)
	a := muxSession(w, "nosel", "k1")
	a.Feed(filtertest.Msg("x")...)
	b := muxSession(w, "nosel", "k2")
	b.Feed(filtertest.Msg("y")...)
	if got := a.BytesOut() + "|" + b.BytesOut(); got != "k1#1:x|k1#2:y" {
		t.Fatalf("got %q", got)
	}
}

// The request is submitted whole at its MessageEnd as MessageStart,
// Data(body), MessageEnd.
func TestMuxCollectsWholeMessage(t *testing.T) {
	w := filtertest.Load(t, muxScript)
	a := muxSession(w, "p", "k")
	a.Feed(filtertest.Data("outside"), &filters.MessageStart{}, filtertest.Data("a"), filtertest.Data("b"))
	if len(a.Evts) != 0 {
		t.Fatalf("answer before MessageEnd: %s", a.Kinds())
	}
	a.Feed(filtertest.Data("c"), filters.TheMessageEnd, filtertest.Data("outside"))
	if got := a.Summary(); got != "start null\nbody \"k#1:abc\"\nend\n" {
		t.Fatalf("got:\n%s", got)
	}
}

func TestMuxAnswersFIFO(t *testing.T) {
	w := filtertest.Load(t, muxScript)
	a := muxSession(w, "gated", "k")
	b := muxSession(w, "gated", "k")
	a.Feed(filtertest.Msg("a1")...)
	b.Feed(filtertest.Msg("b1")...)
	a.Feed(filtertest.Msg("a2")...)
	if len(a.Evts)+len(b.Evts) != 0 {
		t.Fatal("answers before the gate opened")
	}
	muxRelease(w, a)
	if got := a.BytesOut(); got != "ans:a1#1ans:a2#3" {
		t.Fatalf("a got %q", got)
	}
	if got := b.BytesOut(); got != "ans:b1#2" {
		t.Fatalf("b got %q", got)
	}
	if err := a.WellFormed(); err != nil {
		t.Fatal(err)
	}
}

func TestMuxBufferOverflow(t *testing.T) {
	w := filtertest.Load(t, muxScript)
	a := muxSession(w, "gated", "k")
	b := muxSession(w, "gated", "k")
	for i := 0; i < 60; i++ {
		a.Feed(filtertest.Msg("a")...)
	}
	for i := 0; i < flow.MuxMaxOutstanding-60; i++ {
		b.Feed(filtertest.Msg("b")...)
	}
	if strings.Contains(w.LogText(), "buffer overflow") {
		t.Fatal("overflow at 100 outstanding requests")
	}
	if len(a.Evts)+len(b.Evts) != 0 {
		t.Fatalf("output: a %s b %s", a.Kinds(), b.Kinds())
	}
	c := muxSession(w, "gated", "k")
	c.Feed(filtertest.Msg("c")...)
	for name, r := range map[string]*filtertest.Rec{"a": a, "b": b, "c": c} {
		if got := r.Kinds(); got != "SE(BufferOverflow)" {
			t.Errorf("%s got %s", name, got)
		}
		if !r.S.Done() {
			t.Errorf("%s not done", name)
		}
	}
	if n := strings.Count(w.LogText(), "[mux] buffer overflow"); n != 1 {
		t.Fatalf("logged %d times:\n%s", n, w.LogText())
	}
}

// After an overflow the requests already given to the shared session are
// still in it; their answers must not be handed to the owners of later
// requests.
func TestMuxAnswersAfterOverflowNotMisrouted(t *testing.T) {
	w := filtertest.Load(t, muxScript)
	a := muxSession(w, "gated", "k")
	for i := 0; i <= flow.MuxMaxOutstanding; i++ {
		a.Feed(filtertest.Msg("a")...)
	}
	if got := a.Kinds(); got != "SE(BufferOverflow)" {
		t.Fatalf("a got %s", got)
	}
	d := muxSession(w, "gated", "k")
	d.Feed(filtertest.Msg("d")...)
	muxRelease(w, d) // the new shared session's context is derived from d's
	if got := d.BytesOut(); !strings.HasPrefix(got, "ans:d#") {
		t.Fatalf("after a buffer overflow the shared session keeps the dropped requests; "+
			"the next owner receives their answers: d got %q, want the answer to \"d\"", got)
	}
}

func TestMuxSharedSessionEndReachesAllWaiting(t *testing.T) {
	w := filtertest.Load(t, muxScript)
	a := muxSession(w, "gated", "k")
	b := muxSession(w, "gated", "k")
	a.Feed(filtertest.Msg("end")...)
	b.Feed(filtertest.Msg("x")...)
	muxRelease(w, a)
	if got := a.Kinds(); got != "SE" {
		t.Fatalf("a got %s", got)
	}
	if got := b.Kinds(); got != "SE" {
		t.Fatalf("b got %s", got)
	}
	// the next request makes a new shared session (counter starts over)
	c := muxSession(w, "gated", "k")
	c.Feed(filtertest.Msg("y")...)
	if got := c.BytesOut(); got != "ans:y#1" {
		t.Fatalf("c got %q", got)
	}
	if got := c.Get("_g"); got != `{"go":true,"made":2}` {
		t.Fatalf("_g = %s", got)
	}
}

// Input SessionEnd: the outstanding answers are delivered first, then
// SessionEnd is output.
func TestMuxSessionEndAfterAnswers(t *testing.T) {
	w := filtertest.Load(t, muxScript)
	a := muxSession(w, "gated", "k")
	a.Feed(filtertest.Msg("1")...)
	a.Feed(filtertest.Msg("2")...)
	a.Feed(&filters.SessionEnd{})
	a.Feed(filtertest.Msg("ignored")...)
	if len(a.Evts) != 0 {
		t.Fatalf("output before the answers: %s", a.Kinds())
	}
	muxRelease(w, a)
	if got := a.Kinds(); got != "MS D(7) ME MS D(7) ME SE" {
		t.Fatalf("got %s (%q)", got, a.BytesOut())
	}
	if got := a.BytesOut(); got != "ans:1#1ans:2#2" {
		t.Fatalf("got %q", got)
	}
	// nothing outstanding: SessionEnd at once
	b := muxSession(w, "p", "k")
	b.Feed(filtertest.Msg("x")...)
	b.Feed(&filters.SessionEnd{})
	if got := b.Kinds(); got != "MS D(5) ME SE" {
		t.Fatalf("b got %s", got)
	}
}

// A shared session outlives the sessions using it (it is only ended after
// MuxIdleTimeout of idleness): a later session with the same key reuses it.
func TestMuxSharedSessionKeptAfterUsersEnd(t *testing.T) {
	w := filtertest.Load(t, muxScript)
	a := muxSession(w, "p", "k")
	a.Feed(filtertest.Msg("a")...)
	a.Feed(&filters.SessionEnd{})
	b := muxSession(w, "p", "k")
	b.Feed(filtertest.Msg("b")...)
	b.Feed(&filters.SessionEnd{})
	if !a.S.Done() || !b.S.Done() {
		t.Fatal("sessions not done")
	}
	c := muxSession(w, "p", "k")
	c.Feed(filtertest.Msg("c")...)
	if got := c.BytesOut(); got != "k#3:c" {
		t.Fatalf("c got %q, want the counter of the same shared session", got)
	}
	if got := c.Get("_g"); got != `{"go":false,"made":1}` {
		t.Fatalf("_g = %s", got)
	}
	if n := w.Pipeline("shared").ActiveN.Load(); n != 1 {
		t.Fatalf("active shared sessions = %d", n)
	}
}

// A shared session nobody uses ends after the environment's MuxIdleTimeout
// (10 s by default; shortened here).
func TestMuxIdleSharedSessionEnds(t *testing.T) {
	t.Parallel()
	w := filtertest.Load(t, muxScript)
	const idle = 400 * time.Millisecond
	w.Env.MuxIdleTimeout = idle
	a := muxSession(w, "p", "k")
	a.Feed(filtertest.Msg("a")...)
	a.Feed(&filters.SessionEnd{})
	shared := w.Pipeline("shared")
	time.Sleep(idle / 4)
	var n int64
	a.Run(func() { n = shared.ActiveN.Load() })
	if n != 1 {
		t.Fatalf("shared session ended early (%d active)", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		a.Run(func() { n = shared.ActiveN.Load() })
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("idle shared session not ended")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b := muxSession(w, "p", "k")
	b.Feed(filtertest.Msg("b")...)
	if got := b.BytesOut(); got != "k#1:b" {
		t.Fatalf("b got %q, want a new shared session", got)
	}
}

// A session that goes away with a request outstanding keeps its place in
// the queue: its answer is dropped, the next owner gets its own answer.
func TestMuxOwnerGoneAnswerDropped(t *testing.T) {
	w := filtertest.Load(t, muxScript)
	a := muxSession(w, "gated", "k")
	b := muxSession(w, "gated", "k")
	a.Feed(filtertest.Msg("a")...)
	b.Feed(filtertest.Msg("b")...)
	a.Run(func() { a.S.Kill() })
	muxRelease(w, a)
	if got := b.BytesOut(); got != "ans:b#2" {
		t.Fatalf("b got %q", got)
	}
	if got := a.Kinds(); got != "" {
		t.Fatalf("a got %s after it was killed", got)
	}
}

// When its program is retired (a reload), a mux's shared session that
// nobody uses ends at once, and one still in use ends with its last user,
// instead of after the idle time.
func TestMuxRetireEndsSharedSessions(t *testing.T) {
	w := filtertest.Load(t, muxScript)
	shared := w.Pipeline("shared")
	active := func(r *filtertest.Rec) (n int64) {
		r.Run(func() { n = shared.ActiveN.Load() })
		return n
	}
	idle := muxSession(w, "p", "idle")
	idle.Feed(filtertest.Msg("a")...)
	idle.Feed(&filters.SessionEnd{})
	busy := muxSession(w, "p", "busy")
	busy.Feed(filtertest.Msg("b")...)
	if n := active(busy); n != 2 {
		t.Fatalf("shared sessions before the retirement: %d, want 2", n)
	}
	retirer, ok := w.Pipeline("p").Filters[0].Template.(filters.Retirer)
	if !ok {
		t.Fatal("mux's template does not implement filters.Retirer")
	}
	busy.Run(retirer.Retire)
	if n := active(busy); n != 1 {
		t.Fatalf("after the retirement: %d shared sessions, want 1 (the one in use)", n)
	}
	busy.Feed(filtertest.Msg("c")...)
	if got := busy.BytesOut(); got != "busy#1:bbusy#2:c" {
		t.Errorf("the session in use answered %q", got)
	}
	busy.Feed(&filters.SessionEnd{})
	if n := active(busy); n != 0 {
		t.Fatalf("after its last user left: %d shared sessions, want 0", n)
	}
}
