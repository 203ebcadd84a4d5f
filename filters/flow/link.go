// Package flow holds the filters that route a stream into other pipelines:
// link (the whole session to the first pipeline whose condition holds),
// fork (copies to sub-sessions), demux (a sub-session per message), mux
// (messages of many sessions into a shared one), use (a pipeline of another
// module) and wait (buffer until a condition holds).
package flow

import (
	"github.com/pipy-go/pipy/filters"

	"fmt"

	"github.com/dop251/goja"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "link", Args: "target[, when[, target2[, when2, ...]]]", Description: "Sends events to a different pipeline",
		Params: []filters.Param{
			{Name: "target", Type: "string", Help: "Name of the pipeline to send events to"},
			{Name: "when", Type: "function", Help: "Callback function that returns true if a target should be chosen"},
		},
		Make: makeLink,
		Sub:  filters.EveryOtherArg,
	})
	filters.Register(&filters.Spec{
		Name: "fork", Args: "target[, sessionData]", Description: "Sends copies of events to other pipeline sessions",
		Params: []filters.Param{
			{Name: "target", Type: "string", Help: "Name of the pipeline to send event copies to"},
			{Name: "sessionData", Type: "object/array/function", Help: "Data of `this` in the forked sessions"},
		},
		Make: func(a *filters.Args) (filters.Template, error) {
			name, err := requireString(a, 0)
			if err != nil {
				return nil, err
			}
			t := &forkTemplate{target: name, module: a.Module}
			if a.Has(1) {
				t.data = filters.NewLazy(a.Get(1))
				if t.data.Fn == nil {
					if _, ok := t.data.Value.(*goja.Object); !ok {
						return nil, a.Errorf("argument #2 expects an object, an array or a function")
					}
				}
			}
			return t, nil
		},
		Sub:  filters.FirstArg,
		Fork: true,
	})
}

func requireString(a *filters.Args, i int) (string, error) {
	if err := a.Require(i + 1); err != nil {
		return "", err
	}
	return a.String(i)
}

type linkRoute struct {
	target string
	when   goja.Callable
}

type linkTemplate struct {
	routes []linkRoute
	module *filters.Module
}

func makeLink(a *filters.Args) (filters.Template, error) {
	if err := a.Require(1); err != nil {
		return nil, err
	}
	t := &linkTemplate{module: a.Module}
	for i := 0; i < a.Len(); {
		name, err := a.String(i)
		if err != nil {
			return nil, err
		}
		r := linkRoute{target: name}
		i++
		if i < a.Len() {
			if fn, ok := goja.AssertFunction(a.Get(i)); ok {
				r.when = fn
				i++
			} else if _, isStr := a.Get(i).Export().(string); !isStr {
				return nil, a.Errorf("argument #%d expects a function", i+1)
			}
		}
		t.routes = append(t.routes, r)
	}
	return t, nil
}

func (t *linkTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &link{t: t, s: s, out: out}
}

// link routes the whole session to the first pipeline whose condition holds,
// buffering events until one does.
type link struct {
	t      *linkTemplate
	s      *filters.Session
	out    filters.Sink
	sub    *filters.Session
	buffer []filters.Event
	ended  bool
}

func (f *link) Input(evt filters.Event) {
	if f.sub != nil {
		f.sub.Input(evt)
		return
	}
	if f.ended {
		return
	}
	for _, r := range f.t.routes {
		ok := r.when == nil
		if !ok {
			v, err := f.s.Call(r.when)
			if err != nil {
				f.s.Abort(err)
				return
			}
			ok = v.ToBoolean()
		}
		if !ok {
			continue
		}
		p := f.t.module.Named[r.target]
		if p == nil {
			f.s.Abort(fmt.Errorf("[link] unknown pipeline: %s", r.target))
			return
		}
		f.sub = p.NewSession(f.s.Context, f.out)
		sub := f.sub
		f.s.OnEnd(func() { sub.End(filters.NoError) })
		buf := f.buffer
		f.buffer = nil
		for _, e := range buf {
			f.sub.Input(e)
		}
		f.sub.Input(evt)
		return
	}
	if evt.Kind() == filters.KindSessionEnd {
		f.ended = true
	}
	f.buffer = append(f.buffer, evt)
}
