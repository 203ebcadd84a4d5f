package filters_test

import (
	"testing"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

// Input that a session drops (after it ended or was aborted) is released, so
// a connection still reading can reuse its buffer.
func TestSessionDropReleases(t *testing.T) {
	p, prog := filtertest.GoPipeline(passThrough{})
	prog.Env.Loop.Enter()
	s := p.NewSession(prog.NewContext(nil), &filtertest.ReleasingSink{})
	s.Input(filters.TheSessionEnd)
	bufs := filtertest.FeedPooled(s, "after the end")
	prog.Env.Loop.Leave()
	if n := bufs[0].Refs(); n != 1 {
		t.Fatalf("buffer has %d references after the session dropped it, want 1", n)
	}
}

// Sessions count themselves on their pipeline.
func TestSessionCounters(t *testing.T) {
	p, prog := filtertest.GoPipeline(passThrough{})
	prog.Env.Loop.Enter()
	defer prog.Env.Loop.Leave()
	a := p.NewSession(prog.NewContext(nil), filters.Discard)
	b := p.NewSession(prog.NewContext(nil), filters.Discard)
	if p.Allocated.Load() != 2 || p.ActiveN.Load() != 2 || prog.ActiveSessions() != 2 {
		t.Fatalf("allocated %d active %d", p.Allocated.Load(), p.ActiveN.Load())
	}
	done := 0
	a.OnEnd(func() { done++ })
	a.Input(filters.TheSessionEnd)
	a.Input(filters.TheSessionEnd)
	if !a.Done() || done != 1 || p.ActiveN.Load() != 1 {
		t.Fatalf("after end: done=%v calls=%d active=%d", a.Done(), done, p.ActiveN.Load())
	}
	b.Kill()
	b.Kill()
	if !b.Done() || p.ActiveN.Load() != 0 {
		t.Fatalf("after kill: active=%d", p.ActiveN.Load())
	}
}

// Contexts: root contexts copy declared values, derived ones snapshot the
// parent including injected variables, and both share the group.
func TestContextDerive(t *testing.T) {
	_, prog := filtertest.GoPipeline()
	m := prog.Root
	m.VarNames = []string{"_a"}
	m.VarIndex = map[string]int{"_a": 0}
	m.VarInit = nil // values are goja.Values; nil slots are fine here
	c := prog.NewContext(&filters.Inbound{ID: 7})
	c.Vars[0] = append(c.Vars[0], nil)
	c.Set(m, "_x", nil)
	d := c.Derive()
	if d.Group != c.Group || d.Inbound != c.Inbound || d.ID == c.ID {
		t.Fatalf("derived context: %+v", d)
	}
	if _, ok := d.Extra[0]["_x"]; !ok {
		t.Fatal("injected variable not copied")
	}
	d.Set(m, "_y", nil)
	if _, ok := c.Extra[0]["_y"]; ok {
		t.Fatal("derived context writes into its parent")
	}
	if e := prog.NewContext(nil); e.Group == c.Group {
		t.Fatal("root contexts share a group")
	}
}

// filters.Group notifications run each live waiter once; cancelled ones are dropped.
func TestGroupNotify(t *testing.T) {
	var g filters.Group
	var calls []string
	cancelA := g.Subscribe(func() { calls = append(calls, "a") })
	g.Subscribe(func() {
		calls = append(calls, "b")
		// subscribing during a notification waits for the next one
		g.Subscribe(func() { calls = append(calls, "c") })
	})
	g.Notify()
	cancelA()
	g.Notify()
	want := "a b b c"
	got := ""
	for i, c := range calls {
		if i > 0 {
			got += " "
		}
		got += c
	}
	if got != want {
		t.Fatalf("calls %q, want %q", got, want)
	}
}

// passThrough is a template whose filters pass every event on.
type passThrough struct{}

func (passThrough) New(_ *filters.Session, out filters.Sink) filters.Sink { return out }
