package filters

import (
	"testing"

	"github.com/hashicorp/go-hclog"
)

// goPipeline builds a pipeline of script-free templates, for tests of the
// engine without a JavaScript runtime.
func goPipeline(tpls ...Template) (*Pipeline, *Program) {
	env := &Env{Loop: NewLoop(), Log: hclog.NewNullLogger(), Print: func(string) {}}
	prog := &Program{Env: env, ByName: map[string]*Module{}}
	m := &Module{Name: "/test.js", Program: prog, Named: map[string]*Pipeline{}, VarIndex: map[string]int{}}
	prog.Modules = []*Module{m}
	prog.Root = m
	p := &Pipeline{Name: "p", Module: m}
	for _, t := range tpls {
		p.Filters = append(p.Filters, &FilterDecl{Template: t})
	}
	m.Named["p"] = p
	m.Pipelines = []*Pipeline{p}
	return p, prog
}

// releasingSink records the bytes of Data events and releases them, as a
// connection does once written.
type releasingSink struct {
	bytes []byte
	kinds []EventKind
}

func (s *releasingSink) Input(evt Event) {
	s.kinds = append(s.kinds, evt.Kind())
	if d, ok := evt.(*Data); ok {
		s.bytes = d.AppendTo(s.bytes)
		d.Release()
	}
}

// feedPooled puts in into pooled buffers (one per part) the way a connection
// does, inputs them and returns the buffers, each still holding the reader's
// reference.
func feedPooled(s *Session, parts ...string) []*Buffer {
	var bufs []*Buffer
	for _, p := range parts {
		b := GetBuffer()
		n := copy(b.B, p)
		s.Input(NewDataBuffer(b, 0, n))
		s.Input(NewData())
		bufs = append(bufs, b)
	}
	return bufs
}

// Decoders and encoders hand every pooled reference on or release it: once
// the output is written (released), only the reader's reference is left.
func TestCodecsReleasePooledBuffers(t *testing.T) {
	req := "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" +
		"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n" +
		"GET /c HTTP/1.1\r\n\r\n"
	pipelines := map[string][]Template{
		"decode":        {&httpDecoderTemplate{}},
		"decode+encode": {&httpDecoderTemplate{}, &httpEncoderTemplate{response: true}},
		"encodeRequest": {&httpDecoderTemplate{}, &httpEncoderTemplate{}},
		"dummy":         {&httpDecoderTemplate{}, dummyTemplate{}},
	}
	splits := [][]string{{req}}
	for i := 1; i < len(req); i += 7 {
		splits = append(splits, []string{req[:i], req[i:]})
	}
	for name, tpls := range pipelines {
		for _, parts := range splits {
			p, prog := goPipeline(tpls...)
			sink := &releasingSink{}
			prog.Env.Loop.Enter()
			s := p.NewSession(prog.NewContext(nil), sink)
			bufs := feedPooled(s, parts...)
			prog.Env.Loop.Leave()
			for i, b := range bufs {
				if n := b.refs.Load(); n != 1 {
					t.Fatalf("%s, split %d: buffer %d has %d references after the output was released, want 1", name, len(parts[0]), i, n)
				}
				b.Release()
			}
		}
	}
}

// A protocol error releases what the decoder holds too.
func TestDecoderFailReleases(t *testing.T) {
	p, prog := goPipeline(&httpDecoderTemplate{})
	sink := &releasingSink{}
	prog.Env.Loop.Enter()
	s := p.NewSession(prog.NewContext(nil), sink)
	bufs := feedPooled(s, "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab", "cBAD LINE\r\n\r\nmore")
	prog.Env.Loop.Leave()
	if k := sink.kinds[len(sink.kinds)-1]; k != KindSessionEnd {
		t.Fatalf("last event %v", k)
	}
	for i, b := range bufs {
		if n := b.refs.Load(); n != 1 {
			t.Fatalf("buffer %d has %d references, want 1", i, n)
		}
	}
}

// Input that a session drops (after it ended or was aborted) is released, so
// a connection still reading can reuse its buffer.
func TestSessionDropReleases(t *testing.T) {
	p, prog := goPipeline(&httpDecoderTemplate{})
	prog.Env.Loop.Enter()
	s := p.NewSession(prog.NewContext(nil), &releasingSink{})
	s.Input(TheSessionEnd)
	bufs := feedPooled(s, "after the end")
	prog.Env.Loop.Leave()
	if n := bufs[0].refs.Load(); n != 1 {
		t.Fatalf("buffer has %d references after the session dropped it, want 1", n)
	}
}

// Sessions count themselves on their pipeline.
func TestSessionCounters(t *testing.T) {
	p, prog := goPipeline(&httpDecoderTemplate{})
	prog.Env.Loop.Enter()
	defer prog.Env.Loop.Leave()
	a := p.NewSession(prog.NewContext(nil), Discard)
	b := p.NewSession(prog.NewContext(nil), Discard)
	if p.Allocated.Load() != 2 || p.ActiveN.Load() != 2 || prog.ActiveSessions() != 2 {
		t.Fatalf("allocated %d active %d", p.Allocated.Load(), p.ActiveN.Load())
	}
	done := 0
	a.OnEnd(func() { done++ })
	a.Input(TheSessionEnd)
	a.Input(TheSessionEnd)
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
	_, prog := goPipeline()
	m := prog.Root
	m.VarNames = []string{"_a"}
	m.VarIndex = map[string]int{"_a": 0}
	m.VarInit = nil // values are goja.Values; nil slots are fine here
	c := prog.NewContext(&Inbound{ID: 7})
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

// Group notifications run each live waiter once; cancelled ones are dropped.
func TestGroupNotify(t *testing.T) {
	var g Group
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
