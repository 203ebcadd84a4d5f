// Package handlers holds the filters that call script callbacks on events
// (onSessionStart, onData, onMessageStart, onMessageEnd, onSessionEnd,
// onMessageBody, onMessage) and those that replace events with what a
// callback or a constant gives (replaceSessionStart ... replaceMessage).
package handlers

import (
	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
)

// Handlers call a script function for some events and pass every event on
// unchanged; the function's return value is ignored.

func init() {
	for _, h := range []struct {
		name, desc, param string
		kind              filters.EventKind
		first             bool
	}{
		{"onSessionStart", "Handles the initial event in a session", "Callback function that receives the initial event", 0, true},
		{"onData", "Handles a Data event", "Callback function that receives a Data event", filters.KindData, false},
		{"onMessageStart", "Handles a MessageStart event", "Callback function that receives a MessageStart event", filters.KindMessageStart, false},
		{"onMessageEnd", "Handles a MessageEnd event", "Callback function that receives a MessageEnd event", filters.KindMessageEnd, false},
		{"onSessionEnd", "Handles a SessionEnd event", "Callback function that receives a SessionEnd event", filters.KindSessionEnd, false},
	} {
		h := h
		filters.Register(&filters.Spec{
			Name: h.name, Args: "callback", Description: h.desc,
			Params: []filters.Param{{Name: "callback", Type: "function", Help: h.param}},
			Make: func(a *filters.Args) (filters.Template, error) {
				fn, err := a.RequireFunc(0)
				if err != nil {
					return nil, err
				}
				return &onEventTemplate{fn: fn, sel: selector{kind: h.kind, first: h.first}}, nil
			},
		})
	}
	filters.Register(&filters.Spec{
		Name: "onMessageBody", Args: "callback", Description: "Handles a complete message body",
		Params: []filters.Param{{Name: "callback", Type: "function", Help: "Callback function that receives a complete message body"}},
		Make: func(a *filters.Args) (filters.Template, error) {
			fn, err := a.RequireFunc(0)
			if err != nil {
				return nil, err
			}
			return &onMessageTemplate{fn: fn, bodyOnly: true}, nil
		},
	})
	filters.Register(&filters.Spec{
		Name: "onMessage", Args: "callback", Description: "Handles a complete message including the head and the body",
		Params: []filters.Param{{Name: "callback", Type: "function", Help: "Callback function that receives a complete message"}},
		Make: func(a *filters.Args) (filters.Template, error) {
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

func (t *onEventTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &onEvent{t: t, s: s, out: out}
}

type onEvent struct {
	t       *onEventTemplate
	s       *filters.Session
	out     filters.Sink
	started bool
	ended   bool
}

func (f *onEvent) Input(evt filters.Event) {
	if f.ended {
		return
	}
	if f.t.sel.match(evt, &f.started) {
		if _, err := f.s.Call(f.t.fn, f.s.Script().EventValue(evt)); err != nil {
			f.s.Abort(err)
			return
		}
	}
	if evt.Kind() == filters.KindSessionEnd {
		f.ended = true
	}
	f.out.Input(evt)
}

type onMessageTemplate struct {
	fn       goja.Callable
	bodyOnly bool
}

func (t *onMessageTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &onMessage{t: t, s: s, out: out}
}

type onMessage struct {
	t     *onMessageTemplate
	s     *filters.Session
	out   filters.Sink
	msg   filters.Collector
	ended bool
}

func (f *onMessage) Input(evt filters.Event) {
	if f.ended {
		return
	}
	switch e := evt.(type) {
	case *filters.MessageStart:
		f.msg.Begin(e)
	case *filters.Data:
		f.msg.Add(e)
	case *filters.MessageEnd:
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
			arg = rt.MessageValue(&filters.Message{Head: head, Body: body})
		}
		if _, err := f.s.Call(f.t.fn, arg); err != nil {
			f.s.Abort(err)
			return
		}
	case *filters.SessionEnd:
		f.ended = true
	}
	f.out.Input(evt)
}

// selector picks the events a handler or replacer acts on: the first event
// of the session, or every event of one kind.
type selector struct {
	kind  filters.EventKind
	first bool
}

// match reports whether evt is picked; started tracks the first event.
func (s selector) match(evt filters.Event, started *bool) bool {
	if s.first {
		hit := !*started
		*started = true
		return hit
	}
	return evt.Kind() == s.kind
}
