package filters

import "github.com/dop251/goja"

// Replacers substitute events with a replacement value or what a function
// returns for them (see EmitValue for how values become events).

func init() {
	const param = "Replacement events or a callback function that returns replacement events"
	Register(&Spec{
		Name: "replaceSessionStart", Args: "callback", Description: "Replaces the initial event in a session",
		Params: []Param{{"callback", "object|function", param}},
		Make: func(a *Args) (Template, error) {
			return &replaceEventTemplate{name: "replaceSessionStart", r: NewLazy(a.Get(0)), sel: selector{first: true}}, nil
		},
	})
	for _, x := range []struct {
		name, desc string
		kind       EventKind
	}{
		{"replaceData", "Replaces a Data event", KindData},
		{"replaceMessageStart", "Replaces a MessageStart event", KindMessageStart},
		{"replaceMessageEnd", "Replaces a MessageEnd event", KindMessageEnd},
		{"replaceSessionEnd", "Replaces a SessionEnd event", KindSessionEnd},
	} {
		x := x
		Register(&Spec{
			Name: x.name, Args: "[replacement]", Description: x.desc,
			Params: []Param{{"replacement", "object|function", param}},
			Make: func(a *Args) (Template, error) {
				return &replaceEventTemplate{name: x.name, r: NewLazy(a.Get(0)), sel: selector{kind: x.kind}}, nil
			},
		})
	}
	Register(&Spec{
		Name: "replaceMessageBody", Args: "[replacement]", Description: "Replaces an entire message body",
		Params: []Param{{"callback", "object|function", param}},
		Make: func(a *Args) (Template, error) {
			return &replaceMessageTemplate{name: "replaceMessageBody", r: NewLazy(a.Get(0)), bodyOnly: true}, nil
		},
	})
	Register(&Spec{
		Name: "replaceMessage", Args: "[replacement]", Description: "Replaces a complete message including the head and the body",
		Params: []Param{{"callback", "object|function", param}},
		Make: func(a *Args) (Template, error) {
			t := &replaceMessageTemplate{name: "replaceMessage", r: NewLazy(a.Get(0))}
			if t.r.Fn == nil {
				if m, ok := Unwrap(t.r.Value).(*Message); ok {
					t.constant = m
					t.constStart = &MessageStart{Head: HeadOf(m.Head)}
				}
			}
			return t, nil
		},
	})
}

type replaceEventTemplate struct {
	name string
	r    Lazy
	sel  selector
}

func (t *replaceEventTemplate) New(s *Session, out Sink) Sink {
	return &replaceEvent{t: t, s: s, out: out}
}

type replaceEvent struct {
	t       *replaceEventTemplate
	s       *Session
	out     Sink
	started bool
	ended   bool
}

func (f *replaceEvent) Input(evt Event) {
	if f.ended {
		return
	}
	if evt.Kind() == KindSessionEnd {
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
	EmitValue(f.s, f.t.name, v, f.out)
}

type replaceMessageTemplate struct {
	name       string
	r          Lazy
	bodyOnly   bool
	constant   *Message      // a constant replacement Message (replaceMessage)
	constStart *MessageStart // its MessageStart, shared: heads are not consumed
}

func (t *replaceMessageTemplate) New(s *Session, out Sink) Sink {
	return &replaceMessage{t: t, s: s, out: out}
}

type replaceMessage struct {
	t     *replaceMessageTemplate
	s     *Session
	out   Sink
	msg   Collector
	ended bool
}

func (f *replaceMessage) Input(evt Event) {
	if f.ended {
		return
	}
	switch e := evt.(type) {
	case *MessageStart:
		f.msg.Begin(e)
		if f.t.bodyOnly {
			f.out.Input(e)
		}
		return
	case *Data:
		if !f.msg.Inside() {
			f.out.Input(e)
			return
		}
		if f.t.r.Fn != nil {
			f.msg.Add(e)
		}
		e.Release()
		return
	case *MessageEnd:
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
			f.out.Input(TheMessageEnd)
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
				arg = rt.MessageValue(&Message{Head: head, Body: body})
			}
			var err error
			if v, err = f.s.Call(f.t.r.Fn, arg); err != nil {
				f.s.Abort(err)
				return
			}
		}
		if f.t.bodyOnly {
			if str, ok := exportString(v); ok {
				f.out.Input(NewDataString(str))
			} else {
				EmitValue(f.s, f.t.name, v, f.out)
			}
			f.out.Input(e)
			return
		}
		EmitValue(f.s, f.t.name, v, f.out)
		return
	case *SessionEnd:
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
