package filters_test

import (
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
)

func TestReplaceMessageArray(t *testing.T) {
	w := load(t, `pipy().pipeline('p')
  .replaceMessage(() => [new Message('one'), null, new MessageStart({a: 1}), undefined, new Data('two'), new MessageEnd()])`)
	r := w.session("p")
	r.feed(&filters.MessageStart{}, data("ignored body"), filters.TheMessageEnd)
	want := "start null\nbody \"one\"\nend\nstart {\"a\":1}\nbody \"two\"\nend\n"
	if got := r.summary(); got != want {
		t.Fatalf("got\n%s", got)
	}
}

func TestReplaceMessageFunctionGetsMessage(t *testing.T) {
	w := load(t, `pipy().pipeline('p')
  .decodeHttpRequest()
  .replaceMessage(m => new Message({path: m.head.path, n: m.body.size}, m.body.toString().toUpperCase()))`)
	r := w.session("p")
	r.feedString("POST /q HTTP/1.1\r\nContent-Length: 5\r\n\r\nhe", "llo")
	want := "start {\"n\":5,\"path\":\"/q\"}\nbody \"HELLO\"\nend\n"
	if got := r.summary(); got != want {
		t.Fatalf("got\n%s", got)
	}
}

func TestReplaceMessageNullAndSessionEnd(t *testing.T) {
	w := load(t, `pipy().pipeline('drop').replaceMessage()
.pipeline('end').replaceMessage(() => new SessionEnd())
.pipeline('str').replaceMessage(() => 'not an event')
.pipeline('arr').replaceMessage(() => [new Message('a'), 42, new Message('b')])`)
	r := w.session("drop")
	r.feed(data("outside"), &filters.MessageStart{}, data("x"), filters.TheMessageEnd, &filters.SessionEnd{})
	if got := r.kinds(); got != "D(7) SE" {
		t.Fatalf("drop: %s", got)
	}
	r = w.session("end")
	r.feed(&filters.MessageStart{}, filters.TheMessageEnd)
	if got := r.kinds(); got != "SE" || !r.s.Done() {
		t.Fatalf("end: %s", got)
	}
	r = w.session("str")
	r.feed(&filters.MessageStart{}, filters.TheMessageEnd)
	if got := r.kinds(); got != "" || r.s.Aborted() {
		t.Fatalf("string: %s (aborted %v)", got, r.s.Aborted())
	}
	if !strings.Contains(w.logText(), "[replaceMessage] not an Event object") {
		t.Fatalf("log: %s", w.logText())
	}
	r = w.session("arr")
	r.feed(&filters.MessageStart{}, filters.TheMessageEnd)
	if got := r.kinds(); got != "MS D(1) ME" {
		t.Fatalf("array with a non-event: %s", got)
	}
}

// A constant replacement is output again and again; downstream filters that
// consume Data in place must not eat the constant.
func TestReplaceConstantNotConsumed(t *testing.T) {
	w := load(t, `pipy().pipeline('data')
  .replaceData(new Data('GET / HTTP/1.1\r\n\r\n'))
  .decodeHttpRequest()
.pipeline('msg')
  .replaceMessage(new Message('GET /m HTTP/1.1\r\n\r\n'))
  .decodeHttpRequest()`)
	r := w.session("data")
	r.feedString("1", "2", "3")
	if got := r.kinds(); got != "MS ME MS ME MS ME" {
		t.Fatalf("replaceData constant: %s", got)
	}
	r = w.session("msg")
	for i := 0; i < 3; i++ {
		r.feed(&filters.MessageStart{}, filters.TheMessageEnd)
	}
	if got := r.kinds(); got != "MS ME MS ME MS ME" {
		t.Fatalf("replaceMessage constant: %s", got)
	}
}

func TestReplaceSessionEndKeepsSessionOpen(t *testing.T) {
	w := load(t, `pipy().pipeline('p').replaceSessionEnd(e => new Data('bye:' + e.error))
.pipeline('del').replaceSessionEnd()
.pipeline('keep').replaceSessionEnd(e => [new Data('last'), e])`)
	r := w.session("p")
	r.feed(data("a"), &filters.SessionEnd{Err: filters.ReadError})
	if got := r.bytesOut(); got != "abye:ReadError" {
		t.Fatalf("got %q", got)
	}
	if got := r.kinds(); strings.Contains(got, "SE") || r.s.Done() {
		t.Fatalf("session ended: %s", got)
	}
	r = w.session("del")
	r.feed(&filters.SessionEnd{})
	if got := r.kinds(); got != "" || r.s.Done() {
		t.Fatalf("deleted: %s", got)
	}
	r = w.session("keep")
	r.feed(&filters.SessionEnd{})
	if got := r.kinds(); got != "D(4) SE" || !r.s.Done() {
		t.Fatalf("kept: %s", got)
	}
}

func TestReplaceMessageBody(t *testing.T) {
	w := load(t, `pipy().pipeline('str').replaceMessageBody(b => 'len=' + b.size)
.pipeline('data').replaceMessageBody(new Data('const'))
.pipeline('fn').replaceMessageBody(b => new Data('[' + b.toString() + ']'))`)
	r := w.session("str")
	r.feed(&filters.MessageStart{}, data("ab"), data("cde"), filters.TheMessageEnd, data("outside"))
	if got := r.summary(); got != "start null\nbody \"len=5\"\nend\ndata \"outside\"\n" {
		t.Fatalf("string: %s", got)
	}
	// a MessageEnd without MessageStart: an empty body
	r = w.session("str")
	r.feed(filters.TheMessageEnd)
	if got := r.kinds(); got != "D(5) ME" || r.bytesOut() != "len=0" {
		t.Fatalf("stray MessageEnd: %s %q", got, r.bytesOut())
	}
	r = w.session("data")
	for i := 0; i < 2; i++ {
		r.feed(&filters.MessageStart{}, data("x"), filters.TheMessageEnd)
	}
	if got := r.bytesOut(); got != "constconst" {
		t.Fatalf("constant: %q", got)
	}
	r = w.session("fn")
	r.feed(&filters.MessageStart{}, data("a"), data("b"), filters.TheMessageEnd)
	if got := r.summary(); got != "start null\nbody \"[ab]\"\nend\n" {
		t.Fatalf("function: %s", got)
	}
}

func TestReplaceEventFilters(t *testing.T) {
	w := load(t, `pipy()
.pipeline('data').replaceData(d => d.size > 0 ? new Data('[' + d.toString() + ']') : d)
.pipeline('ms').replaceMessageStart(e => new MessageStart({seen: e.head === null}))
.pipeline('me').replaceMessageEnd(() => [new Data('!'), new MessageEnd()])
.pipeline('first').replaceSessionStart(e => new Data('FIRST:' + e.toString()))
.pipeline('firstdel').replaceSessionStart()`)
	r := w.session("data")
	r.feed(data("a"), filters.NewData(), &filters.MessageStart{}, data("b"), filters.TheMessageEnd)
	if got := r.bytesOut(); got != "[a][b]" || r.kinds() != "D(3) D(0) MS D(3) ME" {
		t.Fatalf("replaceData: %q %s", got, r.kinds())
	}
	r = w.session("ms")
	r.feed(&filters.MessageStart{}, filters.TheMessageEnd)
	if got := r.summary(); got != "start {\"seen\":true}\nend\n" {
		t.Fatalf("replaceMessageStart: %s", got)
	}
	r = w.session("me")
	r.feed(&filters.MessageStart{}, filters.TheMessageEnd)
	if got := r.summary(); got != "start null\nbody \"!\"\nend\n" {
		t.Fatalf("replaceMessageEnd: %s", got)
	}
	r = w.session("first")
	r.feedString("one", "two")
	if got := r.bytesOut(); got != "FIRST:onetwo" {
		t.Fatalf("replaceSessionStart: %q", got)
	}
	r = w.session("firstdel")
	r.feedString("one", "two")
	if got := r.bytesOut(); got != "two" {
		t.Fatalf("replaceSessionStart(): %q", got)
	}
}

func TestReplacerThrowAborts(t *testing.T) {
	w := load(t, `pipy().pipeline('p').replaceMessage(() => { throw new Error('nope') })`)
	r := w.session("p")
	r.feed(&filters.MessageStart{}, filters.TheMessageEnd, &filters.MessageStart{}, filters.TheMessageEnd)
	if got := r.kinds(); got != "SE(RuntimeError)" {
		t.Fatalf("got %s", got)
	}
}
