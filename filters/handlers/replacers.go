package handlers

import (
	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
)

// Replacers substitute events with a replacement value or what a function
// returns for them (see EmitValue for how values become events).

func init() {
	const param = "Replacement events or a callback function that returns replacement events"
	filters.Register(&filters.Spec{
		Name: "replaceSessionStart", Args: "callback", Description: "Replaces the initial event in a session",
		Params: []filters.Param{{Name: "callback", Type: "object|function", Help: param}},
		Make: func(a *filters.Args) (filters.Template, error) {
			return &replaceEventTemplate{name: "replaceSessionStart", r: filters.NewLazy(a.Get(0)), sel: selector{first: true}}, nil
		},
	})
	for _, x := range []struct {
		name, desc string
		kind       filters.EventKind
	}{
		{"replaceData", "Replaces a Data event", filters.KindData},
		{"replaceMessageStart", "Replaces a MessageStart event", filters.KindMessageStart},
		{"replaceMessageEnd", "Replaces a MessageEnd event", filters.KindMessageEnd},
		{"replaceSessionEnd", "Replaces a SessionEnd event", filters.KindSessionEnd},
	} {
		x := x
		filters.Register(&filters.Spec{
			Name: x.name, Args: "[replacement]", Description: x.desc,
			Params: []filters.Param{{Name: "replacement", Type: "object|function", Help: param}},
			Make: func(a *filters.Args) (filters.Template, error) {
				return &replaceEventTemplate{name: x.name, r: filters.NewLazy(a.Get(0)), sel: selector{kind: x.kind}}, nil
			},
		})
	}
	filters.Register(&filters.Spec{
		Name: "replaceMessageBody", Args: "[replacement]", Description: "Replaces an entire message body",
		Params: []filters.Param{{Name: "callback", Type: "object|function", Help: param}},
		Make: func(a *filters.Args) (filters.Template, error) {
			return &replaceMessageTemplate{name: "replaceMessageBody", r: filters.NewLazy(a.Get(0)), bodyOnly: true}, nil
		},
	})
	filters.Register(&filters.Spec{
		Name: "replaceMessage", Args: "[replacement]", Description: "Replaces a complete message including the head and the body",
		Params: []filters.Param{{Name: "callback", Type: "object|function", Help: param}},
		Make: func(a *filters.Args) (filters.Template, error) {
			t := &replaceMessageTemplate{name: "replaceMessage", r: filters.NewLazy(a.Get(0))}
			if t.r.Fn == nil {
				if m, ok := filters.Unwrap(t.r.Value).(*filters.Message); ok {
					t.constant = m
					t.constStart = &filters.MessageStart{Head: filters.HeadOf(m.Head)}
				}
			}
			return t, nil
		},
	})
}

type replaceEventTemplate struct {
	name string
	r    filters.Lazy
	sel  selector
}

func (t *replaceEventTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &replaceEvent{t: t, s: s, out: out}
}

type replaceEvent struct {
	t       *replaceEventTemplate
	s       *filters.Session
	out     filters.Sink
	started bool
	ended   bool
}

func (f *replaceEvent) Input(evt filters.Event) {
	if f.ended {
		return
	}
	if evt.Kind() == filters.KindSessionEnd {
		f.ended = true
	}
	if !f.t.sel.match(evt, &f.started) {
		f.out.Input(evt)
		return
	}
	v := f.t.r.Value
	if f.t.r.Fn != nil {
		var err error
		if v, err = f.s.Call(f.t.r.Fn, f.s.Script().EventValue(evt)); err != nil {
			f.s.Abort(err)
			return
		}
	}
	filters.EmitValue(f.s, f.t.name, v, f.out)
}

type replaceMessageTemplate struct {
	name       string
	r          filters.Lazy
	bodyOnly   bool
	constant   *filters.Message      // a constant replacement Message (replaceMessage)
	constStart *filters.MessageStart // its MessageStart, shared: heads are not consumed
}

func (t *replaceMessageTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &replaceMessage{t: t, s: s, out: out}
}

type replaceMessage struct {
	t     *replaceMessageTemplate
	s     *filters.Session
	out   filters.Sink
	msg   filters.Collector
	ended bool
}

func (f *replaceMessage) Input(evt filters.Event) {
	if f.ended {
		return
	}
	switch e := evt.(type) {
	case *filters.MessageStart:
		f.msg.Begin(e)
		if f.t.bodyOnly {
			f.out.Input(e)
		}
		return
	case *filters.Data:
		if !f.msg.Inside() {
			f.out.Input(e)
			return
		}
		if f.t.r.Fn != nil {
			f.msg.Add(e)
		}
		e.Release()
		return
	case *filters.MessageEnd:
		if !f.msg.Inside() && !f.t.bodyOnly {
			f.out.Input(e)
			return
		}
		if c := f.t.constant; c != nil {
			f.msg.Drop()
			f.out.Input(f.t.constStart)
			if c.Body != nil {
				f.out.Input(c.Body.Clone())
			}
			f.out.Input(filters.TheMessageEnd)
			return
		}
		start, body := f.msg.Take()
		v := f.t.r.Value
		if f.t.r.Fn != nil {
			rt := f.s.Script()
			var arg goja.Value
			if f.t.bodyOnly {
				arg = rt.EventValue(body)
			} else {
				var head goja.Value
				if start != nil {
					head = rt.HeadValue(start.Head)
				}
				arg = rt.MessageValue(&filters.Message{Head: head, Body: body})
			}
			var err error
			if v, err = f.s.Call(f.t.r.Fn, arg); err != nil {
				f.s.Abort(err)
				return
			}
		}
		if f.t.bodyOnly {
			if str, ok := exportString(v); ok {
				f.out.Input(filters.NewDataString(str))
			} else {
				filters.EmitValue(f.s, f.t.name, v, f.out)
			}
			f.out.Input(e)
			return
		}
		filters.EmitValue(f.s, f.t.name, v, f.out)
		return
	case *filters.SessionEnd:
		f.ended = true
	}
	f.out.Input(evt)
}

func exportString(v goja.Value) (string, bool) {
	if v == nil {
		return "", false
	}
	s, ok := v.Export().(string)
	return s, ok
}
