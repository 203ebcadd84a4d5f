package filters

import "fmt"

// NewDemux returns the sink that gives each message of session s its own
// sub-session of the pipeline target returns (called at each MessageStart,
// so a reload of the module is seen; nil aborts s with an unknown pipeline
// error naming name) with a context derived from s's, and puts the answers
// back in request order on out: the oldest unfinished answer is streamed as
// it comes, later ones are held until their turn. A message's Data reach
// its sub-session until its MessageEnd, so a message left open (an HTTP
// upgrade) carries a stream. Only each sub-session's first message is
// passed on. This is the demux filter, and the HTTP/1 half of demuxHttp.
func NewDemux(s *Session, name string, target func() *Pipeline, out Sink) Sink {
	return &demux{name: name, target: target, s: s, out: out}
}

// NewAnsweringDemux is NewDemux for a server that owes every request an
// answer: when a sub-session ends without starting one, answer gets its
// SessionEnd and a sink taking the answer in its place (demuxHttp's 502).
func NewAnsweringDemux(s *Session, name string, target func() *Pipeline, out Sink, answer func(end *SessionEnd, to Sink)) Sink {
	return &demux{name: name, target: target, s: s, out: out, answer: answer}
}

// demux is NewDemux's sink.
type demux struct {
	name      string
	target    func() *Pipeline
	answer    func(end *SessionEnd, to Sink) // NewAnsweringDemux's
	s         *Session
	out       Sink
	queue     []*demuxSub // answers not yet complete, oldest first
	current   *demuxSub   // the sub-session receiving input
	ended     bool        // input SessionEnd seen
	closed    bool        // SessionEnd output
	advancing bool        // advance is running
	hooked    bool
}

type demuxSub struct {
	d        *demux
	s        *Session
	held     []Event
	complete bool
	started  bool // output a MessageStart
	// cut is the SessionEnd of a sub-session that ended after its answer's
	// MessageStart but before its MessageEnd (an upstream reset
	// mid-response, say). The answer can never be completed, so when its
	// turn comes the downstream gets this SessionEnd instead of waiting
	// forever. A sub-session that ends without any output just gives up
	// its turn, as the spec says.
	cut Event
}

func (f *demux) Input(evt Event) {
	if f.ended {
		if d, ok := evt.(*Data); ok {
			d.Release()
		}
		return
	}
	switch e := evt.(type) {
	case *MessageStart:
		p := f.target()
		if p == nil {
			f.s.Abort(fmt.Errorf("[demux] unknown pipeline: %s", f.name))
			return
		}
		if !f.hooked {
			f.hooked = true
			f.s.OnEnd(func() {
				for _, sub := range f.queue {
					sub.s.End(NoError)
				}
			})
		}
		sub := &demuxSub{d: f}
		f.queue = append(f.queue, sub)
		f.current = sub
		sub.s = p.NewSession(f.s.Context.Derive(), sub)
		sub.s.Input(e)
	case *Data:
		if f.current != nil {
			f.current.s.Input(e)
		} else {
			e.Release()
		}
	case *MessageEnd:
		if cur := f.current; cur != nil {
			f.current = nil
			cur.s.Input(e)
		}
	case *SessionEnd:
		f.ended = true
		f.maybeClose()
	}
}

// Input receives the sub-session's output.
func (sub *demuxSub) Input(evt Event) {
	f := sub.d
	if sub.complete {
		if d, ok := evt.(*Data); ok {
			d.Release()
		}
		return
	}
	head := len(f.queue) > 0 && f.queue[0] == sub
	switch evt.Kind() {
	case KindSessionEnd:
		if !sub.started && f.answer != nil {
			f.answer(evt.(*SessionEnd), sub)
			if sub.complete {
				return
			}
		}
		sub.complete = true
		if sub.started {
			sub.cut = evt
		}
	case KindMessageEnd:
		sub.complete = true
		sub.deliver(evt, head)
	default:
		if evt.Kind() == KindMessageStart {
			sub.started = true
		}
		sub.deliver(evt, head)
	}
	if sub.complete && head {
		f.advance()
	}
}

// deliver outputs an event of the answer at the head of the queue, and
// holds it otherwise. The head's events wait too while some it produced
// earlier are still being flushed: delivering one may lead back here (an
// HTTP response encoder telling its request decoder how a held request was
// answered makes the decoder end that request, whose sub-session then
// ends its answer), and that later event must not overtake them.
func (sub *demuxSub) deliver(evt Event, head bool) {
	if head && len(sub.held) == 0 {
		sub.d.out.Input(evt)
	} else {
		sub.held = append(sub.held, evt)
	}
}

// advance flushes what the answer at the head of the queue has produced so
// far and pops it when it is complete, on to the next. Events added to a
// head's held list while it is flushed are flushed in turn; an advance
// asked for while one runs is left to the running one.
func (f *demux) advance() {
	if f.advancing {
		return
	}
	f.advancing = true
	for len(f.queue) > 0 {
		head := f.queue[0]
		for len(head.held) > 0 {
			e := head.held[0]
			head.held[0] = nil
			head.held = head.held[1:]
			f.out.Input(e)
		}
		if !head.complete {
			break
		}
		f.queue[0] = nil
		f.queue = f.queue[1:]
		// Its answer is through; later output would be dropped anyway.
		head.s.End(NoError)
		if head.cut != nil {
			f.advancing = false
			f.cutOff(head.cut)
			return
		}
	}
	f.advancing = false
	f.maybeClose()
}

// cutOff ends the stream after an answer that was cut short: the answers
// queued behind it are dropped with their sub-sessions, further input is
// ignored and the downstream gets the sub-session's SessionEnd.
func (f *demux) cutOff(end Event) {
	for _, sub := range f.queue {
		for _, e := range sub.held {
			if d, ok := e.(*Data); ok {
				d.Release()
			}
		}
		sub.held = nil
		sub.complete = true
		sub.s.End(NoError)
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
		f.out.Input(TheSessionEnd)
	}
}
