package filters

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// A panic in a timer callback is recovered and reported; the loop stays
// usable (its lock was released).
func TestLoopRecoversTimerPanic(t *testing.T) {
	l := NewLoop()
	got := make(chan string, 1)
	l.OnPanic = func(v any, stack []byte) {
		got <- v.(string) + "|" + string(stack)
	}
	l.Run(func() { l.AfterFunc(time.Millisecond, func() { panic("tick") }) })
	select {
	case s := <-got:
		if !strings.HasPrefix(s, "tick|") || !strings.Contains(s, "panic_test.go") {
			t.Errorf("reported %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("panic not reported")
	}
	done := make(chan struct{})
	go l.Run(func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("loop still locked after the panic")
	}
	if n := l.Counters.Errors.Load(); n != 1 {
		t.Errorf("errors = %d, want 1", n)
	}
}

// A panic in a filter aborts the innermost session that was running it:
// the session outputs SessionEnd(RuntimeError) and drops later input.
func TestSessionRecoversFilterPanic(t *testing.T) {
	loop := NewLoop()
	p := &Pipeline{Name: "p", Module: &Module{Program: &Program{Env: &Env{Loop: loop, Log: hclog.NewNullLogger()}}}}
	p.Filters = []*FilterDecl{{Name: "boom", Template: templateFunc(func(s *Session, out Sink) Sink {
		return SinkFunc(func(evt Event) {
			if evt.Kind() == KindData {
				panic("boom")
			}
			out.Input(evt)
		})
	})}}
	var out []string
	s := p.NewSession(&Context{}, SinkFunc(func(evt Event) {
		if e, ok := evt.(*SessionEnd); ok {
			out = append(out, "SessionEnd:"+e.Err.String())
			if !strings.Contains(e.Message, "panic in pipeline p: boom") {
				t.Errorf("message %q", e.Message)
			}
			return
		}
		out = append(out, evt.Kind().String())
	}))
	loop.Run(func() {
		s.Input(&MessageStart{})
		s.Input(NewDataString("x"))
		s.Input(TheMessageEnd)
	})
	if got := strings.Join(out, " "); got != "MessageStart SessionEnd:RuntimeError" {
		t.Errorf("output %q", got)
	}
	if !s.Aborted() || p.ActiveN.Load() != 0 {
		t.Errorf("aborted=%v active=%d", s.Aborted(), p.ActiveN.Load())
	}
}

type templateFunc func(s *Session, out Sink) Sink

func (f templateFunc) New(s *Session, out Sink) Sink { return f(s, out) }

// A filter that panics while its session is being made leaves a session
// that has ended with RuntimeError; hooks registered later run at once.
func TestNewSessionRecoversTemplatePanic(t *testing.T) {
	loop := NewLoop()
	p := &Pipeline{Name: "p", Module: &Module{Program: &Program{Env: &Env{Loop: loop, Log: hclog.NewNullLogger()}}}}
	p.Filters = []*FilterDecl{{Name: "broken", Template: templateFunc(func(*Session, Sink) Sink { panic("cannot make") })}}
	var out []string
	var s *Session
	ended := false
	loop.Run(func() {
		s = p.NewSession(&Context{}, SinkFunc(func(evt Event) {
			if e, ok := evt.(*SessionEnd); ok {
				out = append(out, e.Err.String())
			}
		}))
		s.OnEnd(func() { ended = true })
		s.Input(NewDataString("dropped"))
	})
	if len(out) != 1 || out[0] != "RuntimeError" || !ended || !s.Done() || p.ActiveN.Load() != 0 {
		t.Fatalf("output %q, ended=%v done=%v active=%d", out, ended, s.Done(), p.ActiveN.Load())
	}
}
