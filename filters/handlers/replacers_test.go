package handlers_test

import (
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

func TestReplaceMessageArray(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p')
  .replaceMessage(() => [new Message('one'), null, new MessageStart({a: 1}), undefined, new Data('two'), new MessageEnd()])`)
	r := w.Session("p")
	r.Feed(&filters.MessageStart{}, filtertest.Data("ignored body"), filters.TheMessageEnd)
	want := "start null\nbody \"one\"\nend\nstart {\"a\":1}\nbody \"two\"\nend\n"
	if got := r.Summary(); got != want {
		t.Fatalf("got\n%s", got)
	}
}

func TestReplaceMessageFunctionGetsMessage(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p')
  .decodeHttpRequest()
  .replaceMessage(m => new Message({path: m.head.path, n: m.body.size}, m.body.toString().toUpperCase()))`)
	r := w.Session("p")
	r.FeedString("POST /q HTTP/1.1\r\nContent-Length: 5\r\n\r\nhe", "llo")
	want := "start {\"n\":5,\"path\":\"/q\"}\nbody \"HELLO\"\nend\n"
	if got := r.Summary(); got != want {
		t.Fatalf("got\n%s", got)
	}
}

func TestReplaceMessageNullAndSessionEnd(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('drop').replaceMessage()
.pipeline('end').replaceMessage(() => new SessionEnd())
.pipeline('str').replaceMessage(() => 'not an event')
.pipeline('arr').replaceMessage(() => [new Message('a'), 42, new Message('b')])`)
	r := w.Session("drop")
	r.Feed(filtertest.Data("outside"), &filters.MessageStart{}, filtertest.Data("x"), filters.TheMessageEnd, &filters.SessionEnd{})
	if got := r.Kinds(); got != "D(7) SE" {
		t.Fatalf("drop: %s", got)
	}
	r = w.Session("end")
	r.Feed(&filters.MessageStart{}, filters.TheMessageEnd)
	if got := r.Kinds(); got != "SE" || !r.S.Done() {
		t.Fatalf("end: %s", got)
	}
	r = w.Session("str")
	r.Feed(&filters.MessageStart{}, filters.TheMessageEnd)
	if got := r.Kinds(); got != "" || r.S.Aborted() {
		t.Fatalf("string: %s (aborted %v)", got, r.S.Aborted())
	}
	if !strings.Contains(w.LogText(), "[replaceMessage] not an Event object") {
		t.Fatalf("log: %s", w.LogText())
	}
	r = w.Session("arr")
	r.Feed(&filters.MessageStart{}, filters.TheMessageEnd)
	if got := r.Kinds(); got != "MS D(1) ME" {
		t.Fatalf("array with a non-event: %s", got)
	}
}

// A constant replacement is output again and again; downstream filters that
// consume Data in place must not eat the constant.
func TestReplaceConstantNotConsumed(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('data')
  .replaceData(new Data('GET / HTTP/1.1\r\n\r\n'))
  .decodeHttpRequest()
.pipeline('msg')
  .replaceMessage(new Message('GET /m HTTP/1.1\r\n\r\n'))
  .decodeHttpRequest()`)
	r := w.Session("data")
	r.FeedString("1", "2", "3")
	if got := r.Kinds(); got != "MS ME MS ME MS ME" {
		t.Fatalf("replaceData constant: %s", got)
	}
	r = w.Session("msg")
	for i := 0; i < 3; i++ {
		r.Feed(&filters.MessageStart{}, filters.TheMessageEnd)
	}
	if got := r.Kinds(); got != "MS ME MS ME MS ME" {
		t.Fatalf("replaceMessage constant: %s", got)
	}
}

func TestReplaceSessionEndKeepsSessionOpen(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').replaceSessionEnd(e => new Data('bye:' + e.error))
.pipeline('del').replaceSessionEnd()
.pipeline('keep').replaceSessionEnd(e => [new Data('last'), e])`)
	r := w.Session("p")
	r.Feed(filtertest.Data("a"), &filters.SessionEnd{Err: filters.ReadError})
	if got := r.BytesOut(); got != "abye:ReadError" {
		t.Fatalf("got %q", got)
	}
	if got := r.Kinds(); strings.Contains(got, "SE") || r.S.Done() {
		t.Fatalf("session ended: %s", got)
	}
	r = w.Session("del")
	r.Feed(&filters.SessionEnd{})
	if got := r.Kinds(); got != "" || r.S.Done() {
		t.Fatalf("deleted: %s", got)
	}
	r = w.Session("keep")
	r.Feed(&filters.SessionEnd{})
	if got := r.Kinds(); got != "D(4) SE" || !r.S.Done() {
		t.Fatalf("kept: %s", got)
	}
}

func TestReplaceMessageBody(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('str').replaceMessageBody(b => 'len=' + b.size)
.pipeline('data').replaceMessageBody(new Data('const'))
.pipeline('fn').replaceMessageBody(b => new Data('[' + b.toString() + ']'))`)
	r := w.Session("str")
	r.Feed(&filters.MessageStart{}, filtertest.Data("ab"), filtertest.Data("cde"), filters.TheMessageEnd, filtertest.Data("outside"))
	if got := r.Summary(); got != "start null\nbody \"len=5\"\nend\ndata \"outside\"\n" {
		t.Fatalf("string: %s", got)
	}
	// a MessageEnd without MessageStart: an empty body
	r = w.Session("str")
	r.Feed(filters.TheMessageEnd)
	if got := r.Kinds(); got != "D(5) ME" || r.BytesOut() != "len=0" {
		t.Fatalf("stray MessageEnd: %s %q", got, r.BytesOut())
	}
	r = w.Session("data")
	for i := 0; i < 2; i++ {
		r.Feed(&filters.MessageStart{}, filtertest.Data("x"), filters.TheMessageEnd)
	}
	if got := r.BytesOut(); got != "constconst" {
		t.Fatalf("constant: %q", got)
	}
	r = w.Session("fn")
	r.Feed(&filters.MessageStart{}, filtertest.Data("a"), filtertest.Data("b"), filters.TheMessageEnd)
	if got := r.Summary(); got != "start null\nbody \"[ab]\"\nend\n" {
		t.Fatalf("function: %s", got)
	}
}

func TestReplaceEventFilters(t *testing.T) {
	w := filtertest.Load(t, `pipy()
.pipeline('data').replaceData(d => d.size > 0 ? new Data('[' + d.toString() + ']') : d)
.pipeline('ms').replaceMessageStart(e => new MessageStart({seen: e.head === null}))
.pipeline('me').replaceMessageEnd(() => [new Data('!'), new MessageEnd()])
.pipeline('first').replaceSessionStart(e => new Data('FIRST:' + e.toString()))
.pipeline('firstdel').replaceSessionStart()`)
	r := w.Session("data")
	r.Feed(filtertest.Data("a"), filters.NewData(), &filters.MessageStart{}, filtertest.Data("b"), filters.TheMessageEnd)
	if got := r.BytesOut(); got != "[a][b]" || r.Kinds() != "D(3) D(0) MS D(3) ME" {
		t.Fatalf("replaceData: %q %s", got, r.Kinds())
	}
	r = w.Session("ms")
	r.Feed(&filters.MessageStart{}, filters.TheMessageEnd)
	if got := r.Summary(); got != "start {\"seen\":true}\nend\n" {
		t.Fatalf("replaceMessageStart: %s", got)
	}
	r = w.Session("me")
	r.Feed(&filters.MessageStart{}, filters.TheMessageEnd)
	if got := r.Summary(); got != "start null\nbody \"!\"\nend\n" {
		t.Fatalf("replaceMessageEnd: %s", got)
	}
	r = w.Session("first")
	r.FeedString("one", "two")
	if got := r.BytesOut(); got != "FIRST:onetwo" {
		t.Fatalf("replaceSessionStart: %q", got)
	}
	r = w.Session("firstdel")
	r.FeedString("one", "two")
	if got := r.BytesOut(); got != "two" {
		t.Fatalf("replaceSessionStart(): %q", got)
	}
}

func TestReplacerThrowAborts(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').replaceMessage(() => { throw new Error('nope') })`)
	r := w.Session("p")
	r.Feed(&filters.MessageStart{}, filters.TheMessageEnd, &filters.MessageStart{}, filters.TheMessageEnd)
	if got := r.Kinds(); got != "SE(RuntimeError)" {
		t.Fatalf("got %s", got)
	}
}
