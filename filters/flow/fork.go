package flow

import (
	"github.com/pipy-go/pipy/filters"

	"fmt"
	"strconv"

	"github.com/dop251/goja"
)

type forkTemplate struct {
	target string
	module *filters.Module
	data   filters.Lazy
}

func (t *forkTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &fork{t: t, s: s, out: out}
}

// fork sends a copy of every event to one or more sub-sessions, then passes
// the original on. Sub-session output is discarded.
type fork struct {
	t       *forkTemplate
	s       *filters.Session
	out     filters.Sink
	subs    []*filters.Session
	started bool
	ended   bool
	broken  bool
}

func (f *fork) start() bool {
	f.started = true
	f.s.OnEnd(func() {
		for _, sub := range f.subs {
			sub.End(filters.NoError)
		}
	})
	p := f.t.module.Named[f.t.target]
	if p == nil {
		f.s.Env().Log.Error("[fork] unknown pipeline: " + f.t.target)
		f.broken = true
		return false
	}
	if !f.t.data.IsSet() {
		f.subs = append(f.subs, p.NewSession(f.s.Context, filters.Discard))
		return true
	}
	v, err := f.t.data.Eval(f.s)
	if err != nil {
		f.s.Abort(err)
		return false
	}
	o, ok := v.(*goja.Object)
	if !ok {
		f.s.Abort(fmt.Errorf("[fork] invalid session data"))
		return false
	}
	m := f.t.module
	add := func(e goja.Value) {
		if eo, ok := e.(*goja.Object); ok && filters.Unwrap(e) == nil {
			ctx := f.s.Context.Derive()
			for _, k := range eo.Keys() {
				ctx.Set(m, k, eo.Get(k))
			}
			f.subs = append(f.subs, p.NewSession(ctx, filters.Discard))
			return
		}
		f.subs = append(f.subs, p.NewSession(f.s.Context, filters.Discard))
	}
	if o.ClassName() == "Array" {
		n := int(o.Get("length").ToInteger())
		for i := 0; i < n; i++ {
			add(o.Get(strconv.Itoa(i)))
		}
	} else {
		add(o)
	}
	return true
}

func (f *fork) Input(evt filters.Event) {
	if f.ended || f.broken {
		return
	}
	if !f.started && !f.start() {
		return
	}
	if evt.Kind() == filters.KindSessionEnd {
		f.ended = true
	}
	for _, sub := range f.subs {
		if d, ok := evt.(*filters.Data); ok {
			sub.Input(d.Clone())
		} else {
			sub.Input(evt)
		}
		if f.s.Aborted() {
			return
		}
	}
	f.out.Input(evt)
}
