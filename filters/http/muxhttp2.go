package http

import (
	"fmt"

	"github.com/pipy-go/pipy/filters"
)

func init() { muxHttpVersion2 = newH2Upstream }

// h2MaxQueuedBytes bounds what a request waiting for a free stream may
// hold; past it the request fails with BufferOverflow.
const h2MaxQueuedBytes = 1 << 20

// h2Upstream is muxHttp version 2's upstream of one key: one HTTP/2
// connection whose streams carry the requests. When the peer allows no
// more concurrent streams, requests wait in order for one to close; when
// the connection goes away (GOAWAY, an error), the next request opens a
// new one while the old one finishes its streams.
type h2Upstream struct {
	t       *muxHttpTemplate
	key     string
	drop    func()
	cl      *h2Client   // where new streams go; nil before the first request
	conns   []*h2Client // every live connection, cl included
	waiting []*h2Waiting
	idle    *filters.Timer
	retired bool
}

func newH2Upstream(t *muxHttpTemplate, key string, drop func()) httpUpstream {
	return &h2Upstream{t: t, key: key, drop: drop}
}

// Exchange implements httpUpstream.
func (u *h2Upstream) Exchange(s *filters.Session, answer filters.Sink) filters.Sink {
	u.stopIdle()
	if cl := u.client(s); cl != nil && cl.available() && len(u.waiting) == 0 {
		return cl.open(answer, s)
	}
	w := &h2Waiting{u: u, s: s, answer: answer}
	u.waiting = append(u.waiting, w)
	return w
}

// client returns the connection new streams go to, opening one when there
// is none or the current one goes away.
func (u *h2Upstream) client(s *filters.Session) *h2Client {
	if cl := u.cl; cl != nil && !cl.c.ended && !cl.c.goingAway && !cl.c.peerAway {
		return cl
	}
	p := u.t.pipeline()
	if p == nil {
		s.Env().Log.Error(fmt.Sprintf("[muxHttp] unknown pipeline: %s", u.t.target))
		return nil
	}
	cl := newH2Client(p, s.Context.Derive())
	cl.onStreamClosed = u.streamClosed
	cl.onClosed = u.connClosed
	cl.onRefused = u.Exchange
	cl.onSettings = u.streamClosed
	u.cl = cl
	u.conns = append(u.conns, cl)
	return cl
}

// streamClosed lets waiting requests have the stream that closed, and
// starts the idle timer when nothing is left.
func (u *h2Upstream) streamClosed(cl *h2Client) {
	u.dispatch()
	u.maybeIdle()
}

// connClosed forgets an ended connection; requests still waiting get a
// new one (or fail when the target is gone).
func (u *h2Upstream) connClosed(cl *h2Client) {
	for i, c := range u.conns {
		if c == cl {
			u.conns = append(u.conns[:i], u.conns[i+1:]...)
			break
		}
	}
	if u.cl == cl {
		u.cl = nil
	}
	if len(u.waiting) > 0 {
		u.dispatch()
	}
	u.maybeIdle()
}

// dispatch gives streams to waiting requests, in order.
func (u *h2Upstream) dispatch() {
	for len(u.waiting) > 0 {
		w := u.waiting[0]
		if w.gone {
			u.waiting = u.waiting[1:]
			continue
		}
		cl := u.client(w.s)
		if cl == nil {
			u.waiting = u.waiting[1:]
			w.fail(filters.ConnectionRefused)
			continue
		}
		if !cl.available() {
			return
		}
		u.waiting = u.waiting[1:]
		w.start(cl.open(w.answer, w.s))
	}
}

// maybeIdle starts the idle timer once no connection carries a stream and
// nothing waits; a retired upstream ends at once instead.
func (u *h2Upstream) maybeIdle() {
	if len(u.waiting) > 0 {
		return
	}
	for _, cl := range u.conns {
		if !cl.idle() {
			return
		}
	}
	if u.retired || len(u.conns) == 0 {
		u.closeAll()
		return
	}
	if u.idle == nil {
		env := u.t.module.Program.Env
		u.idle = env.Loop.AfterFunc(u.t.idleTimeout(env), func() {
			u.idle = nil
			u.closeAll()
		})
	}
}

func (u *h2Upstream) stopIdle() {
	if u.idle != nil {
		u.idle.Stop()
		u.idle = nil
	}
}

// closeAll ends the idle connections and lets the template forget this
// upstream.
func (u *h2Upstream) closeAll() {
	u.stopIdle()
	conns := u.conns
	u.conns, u.cl = nil, nil
	for _, cl := range conns {
		cl.onClosed = nil
		cl.onRefused = nil
		cl.onStreamClosed = nil
		cl.onSettings = nil
		cl.close()
	}
	u.drop()
}

// Retire implements httpUpstream.
func (u *h2Upstream) Retire() {
	u.retired = true
	u.maybeIdle()
}

// h2Waiting is a request waiting for a stream: its events are held until
// one is free. Past MuxHttpBufferSize of body its source stops, as in
// version 1 (h1Exchange.checkBuffer): an HTTP/1 request's client
// connection, an HTTP/2 request's own context; past h2MaxQueuedBytes (a
// source that does not stop) it fails.
type h2Waiting struct {
	u       *h2Upstream
	s       *filters.Session
	answer  filters.Sink
	held    []filters.Event
	heldN   int
	h2      bool         // the request came over HTTP/2
	paused  bool         // its source is stopped
	req     filters.Sink // the stream, once started
	gone    bool         // failed or abandoned
	attempt int          // passed on to the request (h2Request.attempt)
}

func (w *h2Waiting) Input(evt filters.Event) {
	if w.req != nil {
		w.req.Input(evt)
		return
	}
	if w.gone {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	switch e := evt.(type) {
	case *filters.SessionEnd:
		w.gone = true
		w.release()
		return
	case *filters.MessageStart:
		w.h2 = isHTTP2(e.Head)
	case *filters.Data:
		w.heldN += e.Size()
		if w.heldN > h2MaxQueuedBytes {
			e.Release()
			w.fail(filters.BufferOverflow)
			return
		}
		if w.heldN > MuxHttpBufferSize && !w.paused {
			if w.h2 {
				w.paused = true
				w.s.Context.Pause()
			} else if ds := w.s.Downstream(); ds != nil {
				w.paused = true
				ds.PauseReading()
			}
		}
	}
	w.held = append(w.held, evt)
}

// resume undoes the pause of the request's source.
func (w *h2Waiting) resume() {
	if !w.paused {
		return
	}
	w.paused = false
	if w.h2 {
		w.s.Context.Resume()
	} else {
		w.s.Downstream().ResumeReading()
	}
}

// start hands the request to its stream.
func (w *h2Waiting) start(req filters.Sink) {
	w.req = req
	if r, ok := req.(*h2Request); ok {
		r.attempt = w.attempt
	}
	defer w.resume()
	held := w.held
	w.held = nil
	for _, e := range held {
		req.Input(e)
	}
}

// fail ends the request with err.
func (w *h2Waiting) fail(err filters.ErrorCode) {
	w.gone = true
	w.release()
	w.answer.Input(&filters.SessionEnd{Err: err})
}

func (w *h2Waiting) release() {
	w.resume()
	for _, e := range w.held {
		if d, ok := e.(*filters.Data); ok {
			d.Release()
		}
	}
	w.held = nil
}
