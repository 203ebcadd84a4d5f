package filters

import "github.com/dop251/goja"

// Handlers call a script function for some events and pass every event on
// unchanged; the function's return value is ignored.

func init() {
	for _, h := range []struct {
		name, desc, param string
		kind              EventKind
		first             bool
	}{
		{"onSessionStart", "Handles the initial event in a session", "Callback function that receives the initial event", 0, true},
		{"onData", "Handles a Data event", "Callback function that receives a Data event", KindData, false},
		{"onMessageStart", "Handles a MessageStart event", "Callback function that receives a MessageStart event", KindMessageStart, false},
		{"onMessageEnd", "Handles a MessageEnd event", "Callback function that receives a MessageEnd event", KindMessageEnd, false},
		{"onSessionEnd", "Handles a SessionEnd event", "Callback function that receives a SessionEnd event", KindSessionEnd, false},
	} {
		h := h
		Register(&Spec{
			Name: h.name, Args: "callback", Description: h.desc,
			Params: []Param{{"callback", "function", h.param}},
			Make: func(a *Args) (Template, error) {
				fn, err := a.RequireFunc(0)
				if err != nil {
					return nil, err
				}
				return &onEventTemplate{fn: fn, sel: selector{kind: h.kind, first: h.first}}, nil
			},
		})
	}
	Register(&Spec{
		Name: "onMessageBody", Args: "callback", Description: "Handles a complete message body",
		Params: []Param{{"callback", "function", "Callback function that receives a complete message body"}},
		Make: func(a *Args) (Template, error) {
			fn, err := a.RequireFunc(0)
			if err != nil {
				return nil, err
			}
			return &onMessageTemplate{fn: fn, bodyOnly: true}, nil
		},
	})
	Register(&Spec{
		Name: "onMessage", Args: "callback", Description: "Handles a complete message including the head and the body",
		Params: []Param{{"callback", "function", "Callback function that receives a complete message"}},
		Make: func(a *Args) (Template, error) {
			fn, err := a.RequireFunc(0)
			if err != nil {
				return nil, err
			}
			return &onMessageTemplate{fn: fn}, nil
		},
	})
}

type onEventTemplate struct {
	fn  goja.Callable
	sel selector
}

func (t *onEventTemplate) New(s *Session, out Sink) Sink {
	return &onEvent{t: t, s: s, out: out}
}

type onEvent struct {
	t       *onEventTemplate
	s       *Session
	out     Sink
	started bool
	ended   bool
}

func (f *onEvent) Input(evt Event) {
	if f.ended {
		return
	}
	if f.t.sel.match(evt, &f.started) {
		if _, err := f.s.Call(f.t.fn, f.s.Script().EventValue(evt)); err != nil {
			f.s.Abort(err)
			return
		}
	}
	if evt.Kind() == KindSessionEnd {
		f.ended = true
	}
	f.out.Input(evt)
}

type onMessageTemplate struct {
	fn       goja.Callable
	bodyOnly bool
}

func (t *onMessageTemplate) New(s *Session, out Sink) Sink {
	return &onMessage{t: t, s: s, out: out}
}

type onMessage struct {
	t     *onMessageTemplate
	s     *Session
	out   Sink
	msg   Collector
	ended bool
}

func (f *onMessage) Input(evt Event) {
	if f.ended {
		return
	}
	switch e := evt.(type) {
	case *MessageStart:
		f.msg.Begin(e)
	case *Data:
		f.msg.Add(e)
	case *MessageEnd:
		start, body := f.msg.Take()
		rt := f.s.Script()
		var arg goja.Value
		if f.t.bodyOnly {
			arg = rt.EventValue(body)
		} else {
			var head goja.Value
			if start != nil {
				head = rt.HeadValue(start.Head)
				if start.Head != nil {
					start.Head = head
				}
			}
			arg = rt.MessageValue(&Message{Head: head, Body: body})
		}
		if _, err := f.s.Call(f.t.fn, arg); err != nil {
			f.s.Abort(err)
			return
		}
	case *SessionEnd:
		f.ended = true
	}
	f.out.Input(evt)
}

// selector picks the events a handler or replacer acts on: the first event
// of the session, or every event of one kind.
type selector struct {
	kind  EventKind
	first bool
}

// match reports whether evt is picked; started tracks the first event.
func (s selector) match(evt Event, started *bool) bool {
	if s.first {
		hit := !*started
		*started = true
		return hit
	}
	return evt.Kind() == s.kind
}
