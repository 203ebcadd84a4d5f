package flow

import (
	"github.com/pipy-go/pipy/filters"

	"fmt"

	"github.com/dop251/goja"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "mux", Args: "target[, selector]", Description: "Sends messages from different sessions to a shared pipeline session",
		Params: []filters.Param{
			{Name: "target", Type: "string", Help: "Name of the pipeline to send messages to"},
			{Name: "selector", Type: "function", Help: "Callback function that gives the name of a session for reuse"},
		},
		Make: func(a *filters.Args) (filters.Template, error) {
			name, err := requireString(a, 0)
			if err != nil {
				return nil, err
			}
			sel, err := a.Func(1)
			if err != nil {
				return nil, err
			}
			return &muxTemplate{target: name, module: a.Module, selector: sel, pool: map[string]*muxShared{}}, nil
		},
		Sub: filters.FirstArg,
	})
}

// Limits of a shared mux session.
const MuxMaxOutstanding = 100

// muxTemplate owns the pool of shared sessions of one mux() declaration.
type muxTemplate struct {
	target   string
	module   *filters.Module
	selector goja.Callable
	pool     map[string]*muxShared
	retired  bool // the program was retired: unused shared sessions end at once
}

// Retire implements filters.Retirer: shared sessions nobody uses end now,
// the others when their last user leaves, instead of after an idle time.
func (t *muxTemplate) Retire() {
	t.retired = true
	for key, sh := range t.pool {
		if sh.users == 0 {
			delete(t.pool, key)
			sh.idle.Stop()
			sh.idle = nil
			sh.s.End(filters.NoError)
		}
	}
}

// muxShared is one shared session and the requests waiting for its answers.
type muxShared struct {
	t       *muxTemplate
	key     string
	s       *filters.Session
	waiting []*mux // owners of outstanding requests, oldest first
	users   int
	idle    *filters.Timer
}

func (t *muxTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &mux{t: t, s: s, out: out}
}

// mux collects each message of its session and submits it whole to a
// shared session; answers come back first in, first out.
type mux struct {
	t           *muxTemplate
	s           *filters.Session
	out         filters.Sink
	key         string
	keyed       bool
	shared      *muxShared
	msg         filters.Collector
	outstanding int
	ended       bool // input SessionEnd seen
	closed      bool // SessionEnd output
}

func (f *mux) Input(evt filters.Event) {
	if f.ended {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	if !f.keyed {
		f.keyed = true
		if f.t.selector != nil {
			v, err := f.s.Call(f.t.selector)
			if err != nil {
				f.s.Abort(err)
				return
			}
			f.key = "undefined"
			if v != nil {
				f.key = v.String()
			}
		}
		f.s.OnEnd(f.release)
	}
	switch e := evt.(type) {
	case *filters.MessageStart:
		f.msg.Begin(e)
	case *filters.Data:
		f.msg.Add(e)
		e.Release()
	case *filters.MessageEnd:
		if f.msg.Inside() {
			start, body := f.msg.Take()
			f.submit(start, body)
		}
	case *filters.SessionEnd:
		f.ended = true
		f.maybeClose()
	}
}

// sharedSession returns the live shared session for the key, making one
// (with a context derived from this session's) when needed.
func (f *mux) sharedSession() *muxShared {
	sh := f.t.pool[f.key]
	if sh != nil && !sh.s.Done() {
		if f.shared != sh {
			f.useShared(sh)
		}
		return sh
	}
	p := f.t.module.Named[f.t.target]
	if p == nil {
		return nil
	}
	sh = &muxShared{t: f.t, key: f.key}
	sh.s = p.NewSession(f.s.Context.Derive(), filters.SinkFunc(sh.answer))
	f.t.pool[f.key] = sh
	f.useShared(sh)
	return sh
}

func (f *mux) useShared(sh *muxShared) {
	if f.shared != nil {
		f.shared.unuse()
	}
	f.shared = sh
	sh.users++
	sh.idle.Stop()
	sh.idle = nil
}

func (f *mux) submit(start *filters.MessageStart, body *filters.Data) {
	sh := f.sharedSession()
	if sh == nil {
		f.s.Abort(fmt.Errorf("[mux] unknown pipeline: %s", f.t.target))
		return
	}
	if len(sh.waiting) >= MuxMaxOutstanding {
		f.s.Env().Log.Error("[mux] buffer overflow")
		// The shared session still holds the dropped requests: retire it,
		// so their answers cannot reach later requests.
		if f.t.pool[f.key] == sh {
			delete(f.t.pool, f.key)
		}
		waiting := sh.waiting
		sh.waiting = nil
		sh.s.End(filters.NoError)
		for _, w := range waiting {
			w.outstanding--
			w.deliver(&filters.SessionEnd{Err: filters.BufferOverflow})
		}
		f.deliver(&filters.SessionEnd{Err: filters.BufferOverflow})
		return
	}
	sh.waiting = append(sh.waiting, f)
	f.outstanding++
	sh.s.Input(&filters.MessageStart{Head: start.Head})
	if body.Size() > 0 {
		sh.s.Input(body)
	}
	sh.s.Input(filters.TheMessageEnd)
}

// answer routes the shared session's output to the owner of the oldest
// outstanding request.
func (sh *muxShared) answer(evt filters.Event) {
	if evt.Kind() == filters.KindSessionEnd {
		waiting := sh.waiting
		sh.waiting = nil
		for _, w := range waiting {
			w.outstanding--
			w.deliver(evt)
		}
		if sh.t.pool[sh.key] == sh {
			delete(sh.t.pool, sh.key)
		}
		sh.idle.Stop()
		return
	}
	if len(sh.waiting) == 0 {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	w := sh.waiting[0]
	if evt.Kind() == filters.KindMessageEnd {
		sh.waiting[0] = nil
		sh.waiting = sh.waiting[1:]
		w.outstanding--
		w.deliver(evt)
		w.maybeClose()
		return
	}
	w.deliver(evt)
}

func (f *mux) deliver(evt filters.Event) {
	if f.closed {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	if evt.Kind() == filters.KindSessionEnd {
		f.closed = true
	}
	f.out.Input(evt)
}

// maybeClose ends the session's output once its input has ended and all of
// its answers have been delivered.
func (f *mux) maybeClose() {
	if f.ended && f.outstanding == 0 && !f.closed {
		f.closed = true
		f.out.Input(filters.TheSessionEnd)
	}
}

// release gives up this session's share of the shared session.
func (f *mux) release() {
	if f.shared != nil {
		f.shared.unuse()
		f.shared = nil
	}
}

// unuse drops one user; the last one arms the idle timer that ends the
// shared session unless it is used again.
func (sh *muxShared) unuse() {
	sh.users--
	if sh.users > 0 || sh.s.Done() {
		return
	}
	if sh.t.retired {
		if sh.t.pool[sh.key] == sh {
			delete(sh.t.pool, sh.key)
		}
		sh.s.End(filters.NoError)
		return
	}
	sh.idle.Stop()
	sh.idle = sh.s.Env().Loop.AfterFunc(sh.s.Env().MuxIdle(), func() {
		if sh.users == 0 {
			if sh.t.pool[sh.key] == sh {
				delete(sh.t.pool, sh.key)
			}
			sh.s.End(filters.NoError)
		}
	})
}
