package flow

import (
	"fmt"

	"github.com/pipy-go/pipy/filters"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "demux", Args: "target", Description: "Sends messages to a different pipeline with each one in its own session and context",
		Params: []filters.Param{{Name: "target", Type: "string", Help: "Name of the pipeline to send messages to"}},
		Make: func(a *filters.Args) (filters.Template, error) {
			name, err := requireString(a, 0)
			if err != nil {
				return nil, err
			}
			return &demuxTemplate{target: name, module: a.Module}, nil
		},
		Sub: filters.FirstArg,
	})
}

type demuxTemplate struct {
	target string
	module *filters.Module
}

func (t *demuxTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &demux{t: t, s: s, out: out}
}

// demux gives each message its own sub-session with a derived context and
// puts the answers back in request order: the oldest unfinished answer is
// streamed as it comes, later ones are held until their turn. Only each
// sub-session's first message is passed on.
type demux struct {
	t       *demuxTemplate
	s       *filters.Session
	out     filters.Sink
	queue   []*demuxSub // answers not yet complete, oldest first
	current *demuxSub   // the sub-session receiving input
	ended   bool        // input SessionEnd seen
	closed  bool        // SessionEnd output
	hooked  bool
}

type demuxSub struct {
	d        *demux
	s        *filters.Session
	held     []filters.Event
	complete bool
	started  bool // output a MessageStart
	// cut is the SessionEnd of a sub-session that ended after its answer's
	// MessageStart but before its MessageEnd (an upstream reset
	// mid-response, say). The answer can never be completed, so when its
	// turn comes the downstream gets this SessionEnd instead of waiting
	// forever. A sub-session that ends without any output just gives up
	// its turn, as the spec says.
	cut filters.Event
}

func (f *demux) Input(evt filters.Event) {
	if f.ended {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	switch e := evt.(type) {
	case *filters.MessageStart:
		p := f.t.module.Named[f.t.target]
		if p == nil {
			f.s.Abort(fmt.Errorf("[demux] unknown pipeline: %s", f.t.target))
			return
		}
		if !f.hooked {
			f.hooked = true
			f.s.OnEnd(func() {
				for _, sub := range f.queue {
					sub.s.End(filters.NoError)
				}
			})
		}
		sub := &demuxSub{d: f}
		f.queue = append(f.queue, sub)
		f.current = sub
		sub.s = p.NewSession(f.s.Context.Derive(), sub)
		sub.s.Input(e)
	case *filters.Data:
		if f.current != nil {
			f.current.s.Input(e)
		} else {
			e.Release()
		}
	case *filters.MessageEnd:
		if cur := f.current; cur != nil {
			f.current = nil
			cur.s.Input(e)
		}
	case *filters.SessionEnd:
		f.ended = true
		f.maybeClose()
	}
}

// Input receives the sub-session's output.
func (sub *demuxSub) Input(evt filters.Event) {
	f := sub.d
	if sub.complete {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	head := len(f.queue) > 0 && f.queue[0] == sub
	switch evt.Kind() {
	case filters.KindSessionEnd:
		sub.complete = true
		if sub.started {
			sub.cut = evt
		}
	case filters.KindMessageEnd:
		sub.complete = true
		sub.deliver(evt, head)
	default:
		if evt.Kind() == filters.KindMessageStart {
			sub.started = true
		}
		sub.deliver(evt, head)
	}
	if sub.complete && head {
		f.advance()
	}
}

func (sub *demuxSub) deliver(evt filters.Event, head bool) {
	if head {
		sub.d.out.Input(evt)
	} else {
		sub.held = append(sub.held, evt)
	}
}

// advance pops completed answers off the queue, flushing what the next ones
// have produced so far.
func (f *demux) advance() {
	for len(f.queue) > 0 && f.queue[0].complete {
		done := f.queue[0]
		f.queue[0] = nil
		f.queue = f.queue[1:]
		// Its answer is through; later output would be dropped anyway.
		done.s.End(filters.NoError)
		if done.cut != nil {
			f.cutOff(done.cut)
			return
		}
		if len(f.queue) == 0 {
			break
		}
		next := f.queue[0]
		held := next.held
		next.held = nil
		for _, e := range held {
			f.out.Input(e)
		}
	}
	f.maybeClose()
}

// cutOff ends the stream after an answer that was cut short: the answers
// queued behind it are dropped with their sub-sessions, further input is
// ignored and the downstream gets the sub-session's SessionEnd.
func (f *demux) cutOff(end filters.Event) {
	for _, sub := range f.queue {
		for _, e := range sub.held {
			if d, ok := e.(*filters.Data); ok {
				d.Release()
			}
		}
		sub.held = nil
		sub.complete = true
		sub.s.End(filters.NoError)
	}
	f.queue = nil
	f.current = nil
	f.ended = true
	if !f.closed {
		f.closed = true
		f.out.Input(end)
	}
}

// maybeClose outputs SessionEnd once the input has ended and every pending
// answer has been delivered.
func (f *demux) maybeClose() {
	if f.ended && len(f.queue) == 0 && !f.closed {
		f.closed = true
		f.out.Input(filters.TheSessionEnd)
	}
}
