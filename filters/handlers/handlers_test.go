package handlers_test

import (
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

func TestOnMessageHeadAndWholeBody(t *testing.T) {
	w := filtertest.Load(t, `pipy({_g: {log: []}})
.pipeline('p')
  .decodeHttpRequest()
  .onMessage(m => _g.log.push([m.head.method, m.head.path, m.head.protocol, m.head.headers.host, m.body.toString(), m.body.size]))
  .onMessageBody(b => _g.log.push('body:' + b.toString()))`)
	r := w.Session("p")
	r.FeedString("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello", " ", "world",
		"GET /y HTTP/1.1\r\n\r\n")
	want := `{"log":[["POST","/x","HTTP/1.1","h","hello world",11],"body:hello world",["GET","/y","HTTP/1.1",null,"",0],"body:"]}`
	if got := r.Get("_g"); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// events pass through unchanged
	if got := r.Kinds(); got != "MS D(5) D(1) D(5) ME MS ME" {
		t.Fatalf("events %s", got)
	}
	if got := r.BytesOut(); got != "hello world" {
		t.Fatalf("body %q", got)
	}
}

func TestOnEventHandlers(t *testing.T) {
	w := filtertest.Load(t, `pipy({_g: {log: []}})
.pipeline('p')
  .onSessionStart(e => _g.log.push('start:' + (e instanceof Data ? 'Data' : 'other')))
  .onData(d => _g.log.push('data:' + d.size))
  .onMessageStart(e => _g.log.push('ms:' + JSON.stringify(e.head)))
  .onMessageEnd(() => _g.log.push('me'))
  .onSessionEnd(e => _g.log.push('se:' + e.error))`)
	r := w.Session("p")
	r.Feed(filtertest.Data("ab"), filters.NewData(), &filters.MessageStart{}, filtertest.Data("c"), filters.TheMessageEnd,
		&filters.SessionEnd{Err: filters.ReadError}, filtertest.Data("late"))
	want := `{"log":["start:Data","data:2","data:0","ms:null","data:1","me","se:ReadError"]}`
	if got := r.Get("_g"); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := r.Kinds(); got != "D(2) D(0) MS D(1) ME SE(ReadError)" {
		t.Fatalf("events %s", got)
	}
}

// Handlers see the live head: changing it changes what the next filters see.
func TestOnMessageStartModifiesHead(t *testing.T) {
	w := filtertest.Load(t, `pipy()
.pipeline('p')
  .decodeHttpRequest()
  .onMessageStart(e => (e.head.headers['x-added'] = 'yes', e.head.path = '/rewritten'))
  .encodeHttpRequest()`)
	r := w.Session("p")
	r.FeedString("GET /orig HTTP/1.1\r\nHost: h\r\n\r\n")
	want := "GET /rewritten HTTP/1.1\r\nhost: h\r\nx-added: yes\r\nContent-Length: 0\r\n\r\n"
	if got := r.BytesOut(); got != want {
		t.Fatalf("got %q", got)
	}
}

func TestHandlerThrowAborts(t *testing.T) {
	for _, cb := range []string{
		`d => { _g.calls++; throw new Error('boom') }`,
		`d => (_g.calls++, undefinedThing.x)`,
	} {
		w := filtertest.Load(t, `pipy({_g: {calls: 0}})
.pipeline('p')
  .onData(`+cb+`)
  .onSessionEnd(() => _g.calls += 100)`)
		r := w.Session("p")
		r.FeedString("a")
		if got := r.Kinds(); got != "SE(RuntimeError)" {
			t.Fatalf("%s: got %s", cb, got)
		}
		if !r.S.Aborted() || !r.S.Done() {
			t.Fatalf("%s: aborted=%v done=%v", cb, r.S.Aborted(), r.S.Done())
		}
		// later input is dropped: the callback does not run again, and the
		// SessionEnd written by the abort bypassed the rest of the pipeline
		r.Feed(filtertest.Data("b"), &filters.SessionEnd{})
		if got := r.Kinds(); got != "SE(RuntimeError)" {
			t.Fatalf("%s: after abort: %s", cb, got)
		}
		if got := r.Get("_g"); got != `{"calls":1}` {
			t.Fatalf("%s: calls %s", cb, got)
		}
		log := w.LogText()
		if !strings.Contains(log, "boom") && !strings.Contains(log, "undefinedThing is not defined") {
			t.Fatalf("%s: error not logged: %s", cb, log)
		}
	}
}

// An abort in one session leaves other sessions of the same pipeline alone.
func TestHandlerThrowIsolated(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').onData(d => { if (d.toString() === 'bad') throw new Error('x') })`)
	a, b := w.Session("p"), w.Session("p")
	a.FeedString("bad")
	b.FeedString("good")
	if a.Kinds() != "SE(RuntimeError)" || b.Kinds() != "D(4)" {
		t.Fatalf("a=%s b=%s", a.Kinds(), b.Kinds())
	}
}
