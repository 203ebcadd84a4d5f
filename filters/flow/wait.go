package flow

import (
	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "wait", Args: "condition", Description: "Buffers up events until a condition is fulfilled",
		Params: []filters.Param{{Name: "condition", Type: "function", Help: "Callback function that returns whether the condition is fulfilled"}},
		Make: func(a *filters.Args) (filters.Template, error) {
			fn, err := a.RequireFunc(0)
			if err != nil {
				return nil, err
			}
			return &waitTemplate{cond: fn}, nil
		},
	})
}

type waitTemplate struct{ cond goja.Callable }

func (t *waitTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &wait{t: t, s: s, out: out}
}

// wait holds events back until its condition is true, re-checking at each
// event and whenever the context group is notified.
type wait struct {
	t         *waitTemplate
	s         *filters.Session
	out       filters.Sink
	fulfilled bool
	buffer    []filters.Event
	cancel    func()
	ended     bool
}

func (f *wait) check() bool {
	v, err := f.s.Call(f.t.cond)
	if err != nil {
		f.s.Abort(err)
		return false
	}
	return v.ToBoolean()
}

func (f *wait) release() {
	f.fulfilled = true
	if f.cancel != nil {
		f.cancel()
		f.cancel = nil
	}
	buf := f.buffer
	f.buffer = nil
	for _, e := range buf {
		f.out.Input(e)
	}
}

func (f *wait) Input(evt filters.Event) {
	if f.fulfilled {
		if !f.ended {
			if evt.Kind() == filters.KindSessionEnd {
				f.ended = true
			}
			f.out.Input(evt)
		}
		return
	}
	if f.ended || f.s.Aborted() {
		return
	}
	if evt.Kind() == filters.KindSessionEnd {
		f.ended = true
	}
	f.buffer = append(f.buffer, evt)
	if f.check() {
		f.release()
		return
	}
	if f.cancel == nil && !f.s.Aborted() {
		f.cancel = f.s.Context.Group.Subscribe(func() {
			if !f.fulfilled && !f.s.Aborted() && !f.s.Done() && f.check() {
				f.release()
			}
		})
		f.s.OnEnd(func() {
			if f.cancel != nil {
				f.cancel()
				f.cancel = nil
			}
		})
	}
}
