package flow_test

import (
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

// sharedObj returns the object value of the root module's context variable
// name as declared by pipy({...}): objects are shared by every context, so
// setting a property on it is seen by every session (the _g idiom).
func sharedObj(w *filtertest.World, name string) *goja.Object {
	w.T.Helper()
	m := w.Prog.Root
	i, ok := m.VarIndex[name]
	if !ok {
		w.T.Fatalf("no variable %s", name)
	}
	o, ok := m.VarInit[i].(*goja.Object)
	if !ok {
		w.T.Fatalf("%s is not an object", name)
	}
	return o
}

const demuxScript = `pipy({_n: 0, _idx: -1, _g: {log: [], count: 0, go: false}})
.pipeline('counter')
  .demux('count')
.pipeline('count')
  .onMessageStart(() => { _g.log.push(_n); _n++ })
  .replaceMessage(m => new Message('n=' + _n + ':' + m.body.toString()))
.pipeline('ordered')
  .demux('slow')
.pipeline('slow')
  .onMessageStart(() => _idx = _g.count++)
  .wait(() => _idx > 0 || _g.go)
  .replaceMessage(m => new Message('#' + _idx + ':' + m.body.toString()))
.pipeline('multi')
  .demux('two')
.pipeline('two')
  .replaceMessage(m => [new Message('A' + m.body.toString()), new Message('B' + m.body.toString())])
.pipeline('ender')
  .demux('maybe-end')
.pipeline('maybe-end')
  .replaceMessage(m => m.body.toString() === 'kill' ? new SessionEnd() : [new Message('ok:' + m.body.toString()), new SessionEnd()])
.pipeline('cutter')
  .demux('maybe-cut')
.pipeline('maybe-cut')
  .replaceMessage(m => m.body.toString() === 'cut' ? [new MessageStart(), new Data('par'), new SessionEnd('reset')] : new Message('ok:' + m.body.toString()))
`

func TestDemuxDerivedContexts(t *testing.T) {
	w := filtertest.Load(t, demuxScript)
	r := w.Session("counter")
	r.Feed(filtertest.Msgs("a", "b")...)
	if got := r.Summary(); got != "start null\nbody \"n=1:a\"\nend\nstart null\nbody \"n=1:b\"\nend\n" {
		t.Fatalf("output:\n%s", got)
	}
	if got := r.Get("_g"); got != `{"count":0,"go":false,"log":[0,0]}` {
		t.Fatalf("_g = %s, want both sub-sessions to see _n === 0", got)
	}
	// changes made by the sub-sessions do not leak back
	if got := r.Get("_n"); got != "0" {
		t.Fatalf("parent _n = %s", got)
	}
	if err := r.WellFormed(); err != nil {
		t.Fatal(err)
	}
}

func TestDemuxAnswersInRequestOrder(t *testing.T) {
	w := filtertest.Load(t, demuxScript)
	r := w.Session("ordered")
	r.Feed(filtertest.Msgs("first", "second")...)
	// the second sub-session has answered, the first has not: nothing may
	// come out yet
	if len(r.Evts) != 0 {
		t.Fatalf("output before the first answer: %s", r.Summary())
	}
	if got := r.Get("_g"); got != `{"count":2,"go":false,"log":[]}` {
		t.Fatalf("_g = %s", got)
	}
	r.Run(func() {
		sharedObj(w, "_g").Set("go", true)
		r.Ctx.Group.Notify()
	})
	if got := r.Summary(); got != "start null\nbody \"#0:first\"\nend\nstart null\nbody \"#1:second\"\nend\n" {
		t.Fatalf("output:\n%s", got)
	}
	if r.S.Done() {
		t.Fatal("session ended without an input SessionEnd")
	}
}

// The oldest incomplete answer is streamed as it is produced.
func TestDemuxHeadAnswerStreamed(t *testing.T) {
	w := filtertest.Load(t, demuxScript)
	r := w.Session("ordered")
	r.Feed(&filters.MessageStart{}, filtertest.Data("x"))
	r.Run(func() {
		sharedObj(w, "_g").Set("go", true)
		r.Ctx.Group.Notify()
	})
	// the wait released MessageStart and Data, replaceMessage still
	// collects: nothing yet
	if len(r.Evts) != 0 {
		t.Fatalf("output before MessageEnd: %s", r.Kinds())
	}
	r.Feed(filters.TheMessageEnd)
	if got := r.Kinds(); got != "MS D(4) ME" {
		t.Fatalf("got %s", got)
	}
}

func TestDemuxOnlyFirstMessageForwarded(t *testing.T) {
	w := filtertest.Load(t, demuxScript)
	r := w.Session("multi")
	r.Feed(filtertest.Msgs("x", "y")...)
	if got := r.BytesOut(); got != "AxAy" {
		t.Fatalf("got %q (%s)", got, r.Kinds())
	}
	if got := r.Kinds(); got != "MS D(2) ME MS D(2) ME" {
		t.Fatalf("got %s", got)
	}
}

// A sub-session that outputs SessionEnd completes its slot without
// anything being forwarded; its SessionEnd is never forwarded.
func TestDemuxSubSessionEnd(t *testing.T) {
	w := filtertest.Load(t, demuxScript)
	r := w.Session("ender")
	r.Feed(filtertest.Msgs("a", "kill", "b")...)
	if got := r.BytesOut(); got != "ok:aok:b" {
		t.Fatalf("got %q", got)
	}
	if got := r.Kinds(); got != "MS D(4) ME MS D(4) ME" {
		t.Fatalf("got %s", got)
	}
}

// A sub-session that ends in the middle of its answer (an upstream reset
// mid-response) ends the stream there: the downstream gets its SessionEnd
// instead of waiting forever for a MessageEnd, and later answers are dropped.
func TestDemuxSubSessionCutMidAnswer(t *testing.T) {
	w := filtertest.Load(t, demuxScript)
	r := w.Session("cutter")
	r.Feed(filtertest.Msgs("a", "cut", "b")...)
	if got := r.BytesOut(); got != "ok:apar" {
		t.Fatalf("got %q (%s)", got, r.Kinds())
	}
	if got := r.Kinds(); !strings.HasPrefix(got, "MS D(4) ME MS D(3) SE") || strings.Count(got, "SE") != 1 {
		t.Fatalf("got %s, want the cut answer followed by one SessionEnd", got)
	}
}

// Data outside a message is dropped; Data after a MessageEnd does not reach
// the previous sub-session.
func TestDemuxDataOutsideMessages(t *testing.T) {
	w := filtertest.Load(t, demuxScript)
	r := w.Session("counter")
	r.Feed(filtertest.Data("before"))
	r.Feed(filtertest.Msg("a")...)
	r.Feed(filtertest.Data("between"))
	r.Feed(filtertest.Msg("b")...)
	if got := r.BytesOut(); got != "n=1:an=1:b" {
		t.Fatalf("got %q", got)
	}
}

func TestDemuxSessionEndAfterPendingAnswers(t *testing.T) {
	w := filtertest.Load(t, demuxScript)
	r := w.Session("ordered")
	r.Feed(filtertest.Msgs("first", "second")...)
	r.Feed(&filters.SessionEnd{})
	if len(r.Evts) != 0 {
		t.Fatalf("output before the answers: %s", r.Kinds())
	}
	// input after SessionEnd is ignored: no third sub-session
	r.Feed(filtertest.Msg("third")...)
	if got := r.Get("_g"); !strings.Contains(got, `"count":2`) {
		t.Fatalf("_g = %s: input after SessionEnd made a sub-session", got)
	}
	r.Run(func() {
		sharedObj(w, "_g").Set("go", true)
		r.Ctx.Group.Notify()
	})
	if got := r.Kinds(); got != "MS D(8) ME MS D(9) ME SE" {
		t.Fatalf("got %s", got)
	}
	if got := r.BytesOut(); got != "#0:first#1:second" {
		t.Fatalf("got %q", got)
	}
	if !r.S.Done() {
		t.Fatal("session not done")
	}
}

func TestDemuxSessionEndWithNothingPending(t *testing.T) {
	w := filtertest.Load(t, demuxScript)
	r := w.Session("counter")
	r.Feed(filtertest.Msg("a")...)
	r.Feed(&filters.SessionEnd{})
	if got := r.Kinds(); got != "MS D(5) ME SE" {
		t.Fatalf("got %s", got)
	}
	r = w.Session("counter")
	r.Feed(&filters.SessionEnd{})
	if got := r.Kinds(); got != "SE" {
		t.Fatalf("empty session: %s", got)
	}
}

func TestDemuxUnknownPipelineIsLoadError(t *testing.T) {
	err := filtertest.LoadErr(t, `pipy().pipeline('p').demux('nope')`)
	if err == nil || !strings.Contains(err.Error(), "pipeline not found: nope") {
		t.Fatalf("err = %v", err)
	}
}

// The sub-sessions end with the parent session.
func TestDemuxSubSessionsEndWithParent(t *testing.T) {
	w := filtertest.Load(t, demuxScript)
	r := w.Session("ordered")
	r.Feed(filtertest.Msgs("first", "second")...)
	slow := w.Pipeline("slow")
	if n := slow.ActiveN.Load(); n != 2 {
		t.Fatalf("%d active sub-sessions, want 2", n)
	}
	r.Run(func() { r.S.Kill() })
	if n := slow.ActiveN.Load(); n != 0 {
		t.Fatalf("%d sub-sessions still active after the parent ended", n)
	}
}

// A sub-session whose answer has been delivered is not needed any more; it
// must not stay open (with e.g. its upstream connection) for ever.
func TestDemuxCompletedSubSessionsEnd(t *testing.T) {
	w := filtertest.Load(t, demuxScript)
	r := w.Session("counter")
	r.Feed(filtertest.Msgs("a", "b")...)
	r.Feed(&filters.SessionEnd{})
	if got := r.Kinds(); got != "MS D(5) ME MS D(5) ME SE" {
		t.Fatalf("got %s", got)
	}
	if n := w.Pipeline("count").ActiveN.Load(); n != 0 {
		t.Fatalf("%d demux sub-sessions still active after their answers were delivered and the parent ended", n)
	}
}
