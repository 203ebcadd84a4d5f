package filters_test

import (
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
)

// sharedObj returns the object value of the root module's context variable
// name as declared by pipy({...}): objects are shared by every context, so
// setting a property on it is seen by every session (the _g idiom).
func sharedObj(w *world, name string) *goja.Object {
	w.t.Helper()
	m := w.prog.Root
	i, ok := m.VarIndex[name]
	if !ok {
		w.t.Fatalf("no variable %s", name)
	}
	o, ok := m.VarInit[i].(*goja.Object)
	if !ok {
		w.t.Fatalf("%s is not an object", name)
	}
	return o
}

// msg returns the events of one message with the given body.
func msg(body string) []filters.Event {
	return []filters.Event{&filters.MessageStart{}, data(body), filters.TheMessageEnd}
}

func msgs(bodies ...string) []filters.Event {
	var evts []filters.Event
	for _, b := range bodies {
		evts = append(evts, msg(b)...)
	}
	return evts
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
	w := load(t, demuxScript)
	r := w.session("counter")
	r.feed(msgs("a", "b")...)
	if got := r.summary(); got != "start null\nbody \"n=1:a\"\nend\nstart null\nbody \"n=1:b\"\nend\n" {
		t.Fatalf("output:\n%s", got)
	}
	if got := r.get("_g"); got != `{"count":0,"go":false,"log":[0,0]}` {
		t.Fatalf("_g = %s, want both sub-sessions to see _n === 0", got)
	}
	// changes made by the sub-sessions do not leak back
	if got := r.get("_n"); got != "0" {
		t.Fatalf("parent _n = %s", got)
	}
	if err := r.wellFormed(); err != nil {
		t.Fatal(err)
	}
}

func TestDemuxAnswersInRequestOrder(t *testing.T) {
	w := load(t, demuxScript)
	r := w.session("ordered")
	r.feed(msgs("first", "second")...)
	// the second sub-session has answered, the first has not: nothing may
	// come out yet
	if len(r.evts) != 0 {
		t.Fatalf("output before the first answer: %s", r.summary())
	}
	if got := r.get("_g"); got != `{"count":2,"go":false,"log":[]}` {
		t.Fatalf("_g = %s", got)
	}
	r.run(func() {
		sharedObj(w, "_g").Set("go", true)
		r.ctx.Group.Notify()
	})
	if got := r.summary(); got != "start null\nbody \"#0:first\"\nend\nstart null\nbody \"#1:second\"\nend\n" {
		t.Fatalf("output:\n%s", got)
	}
	if r.s.Done() {
		t.Fatal("session ended without an input SessionEnd")
	}
}

// The oldest incomplete answer is streamed as it is produced.
func TestDemuxHeadAnswerStreamed(t *testing.T) {
	w := load(t, demuxScript)
	r := w.session("ordered")
	r.feed(&filters.MessageStart{}, data("x"))
	r.run(func() {
		sharedObj(w, "_g").Set("go", true)
		r.ctx.Group.Notify()
	})
	// the wait released MessageStart and Data, replaceMessage still
	// collects: nothing yet
	if len(r.evts) != 0 {
		t.Fatalf("output before MessageEnd: %s", r.kinds())
	}
	r.feed(filters.TheMessageEnd)
	if got := r.kinds(); got != "MS D(4) ME" {
		t.Fatalf("got %s", got)
	}
}

func TestDemuxOnlyFirstMessageForwarded(t *testing.T) {
	w := load(t, demuxScript)
	r := w.session("multi")
	r.feed(msgs("x", "y")...)
	if got := r.bytesOut(); got != "AxAy" {
		t.Fatalf("got %q (%s)", got, r.kinds())
	}
	if got := r.kinds(); got != "MS D(2) ME MS D(2) ME" {
		t.Fatalf("got %s", got)
	}
}

// A sub-session that outputs SessionEnd completes its slot without
// anything being forwarded; its SessionEnd is never forwarded.
func TestDemuxSubSessionEnd(t *testing.T) {
	w := load(t, demuxScript)
	r := w.session("ender")
	r.feed(msgs("a", "kill", "b")...)
	if got := r.bytesOut(); got != "ok:aok:b" {
		t.Fatalf("got %q", got)
	}
	if got := r.kinds(); got != "MS D(4) ME MS D(4) ME" {
		t.Fatalf("got %s", got)
	}
}

// A sub-session that ends in the middle of its answer (an upstream reset
// mid-response) ends the stream there: the downstream gets its SessionEnd
// instead of waiting forever for a MessageEnd, and later answers are dropped.
func TestDemuxSubSessionCutMidAnswer(t *testing.T) {
	w := load(t, demuxScript)
	r := w.session("cutter")
	r.feed(msgs("a", "cut", "b")...)
	if got := r.bytesOut(); got != "ok:apar" {
		t.Fatalf("got %q (%s)", got, r.kinds())
	}
	if got := r.kinds(); !strings.HasPrefix(got, "MS D(4) ME MS D(3) SE") || strings.Count(got, "SE") != 1 {
		t.Fatalf("got %s, want the cut answer followed by one SessionEnd", got)
	}
}

// Data outside a message is dropped; Data after a MessageEnd does not reach
// the previous sub-session.
func TestDemuxDataOutsideMessages(t *testing.T) {
	w := load(t, demuxScript)
	r := w.session("counter")
	r.feed(data("before"))
	r.feed(msg("a")...)
	r.feed(data("between"))
	r.feed(msg("b")...)
	if got := r.bytesOut(); got != "n=1:an=1:b" {
		t.Fatalf("got %q", got)
	}
}

func TestDemuxSessionEndAfterPendingAnswers(t *testing.T) {
	w := load(t, demuxScript)
	r := w.session("ordered")
	r.feed(msgs("first", "second")...)
	r.feed(&filters.SessionEnd{})
	if len(r.evts) != 0 {
		t.Fatalf("output before the answers: %s", r.kinds())
	}
	// input after SessionEnd is ignored: no third sub-session
	r.feed(msg("third")...)
	if got := r.get("_g"); !strings.Contains(got, `"count":2`) {
		t.Fatalf("_g = %s: input after SessionEnd made a sub-session", got)
	}
	r.run(func() {
		sharedObj(w, "_g").Set("go", true)
		r.ctx.Group.Notify()
	})
	if got := r.kinds(); got != "MS D(8) ME MS D(9) ME SE" {
		t.Fatalf("got %s", got)
	}
	if got := r.bytesOut(); got != "#0:first#1:second" {
		t.Fatalf("got %q", got)
	}
	if !r.s.Done() {
		t.Fatal("session not done")
	}
}

func TestDemuxSessionEndWithNothingPending(t *testing.T) {
	w := load(t, demuxScript)
	r := w.session("counter")
	r.feed(msg("a")...)
	r.feed(&filters.SessionEnd{})
	if got := r.kinds(); got != "MS D(5) ME SE" {
		t.Fatalf("got %s", got)
	}
	r = w.session("counter")
	r.feed(&filters.SessionEnd{})
	if got := r.kinds(); got != "SE" {
		t.Fatalf("empty session: %s", got)
	}
}

func TestDemuxUnknownPipelineIsLoadError(t *testing.T) {
	err := loadErr(t, `pipy().pipeline('p').demux('nope')`)
	if err == nil || !strings.Contains(err.Error(), "pipeline not found: nope") {
		t.Fatalf("err = %v", err)
	}
}

// The sub-sessions end with the parent session.
func TestDemuxSubSessionsEndWithParent(t *testing.T) {
	w := load(t, demuxScript)
	r := w.session("ordered")
	r.feed(msgs("first", "second")...)
	slow := w.pipeline("slow")
	if n := slow.ActiveN.Load(); n != 2 {
		t.Fatalf("%d active sub-sessions, want 2", n)
	}
	r.run(func() { r.s.Kill() })
	if n := slow.ActiveN.Load(); n != 0 {
		t.Fatalf("%d sub-sessions still active after the parent ended", n)
	}
}

// A sub-session whose answer has been delivered is not needed any more; it
// must not stay open (with e.g. its upstream connection) for ever.
func TestDemuxCompletedSubSessionsEnd(t *testing.T) {
	w := load(t, demuxScript)
	r := w.session("counter")
	r.feed(msgs("a", "b")...)
	r.feed(&filters.SessionEnd{})
	if got := r.kinds(); got != "MS D(5) ME MS D(5) ME SE" {
		t.Fatalf("got %s", got)
	}
	if n := w.pipeline("count").ActiveN.Load(); n != 0 {
		t.Fatalf("%d demux sub-sessions still active after their answers were delivered and the parent ended", n)
	}
}
