package http

import (
	"strconv"
	"strings"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/http/h2"
)

// h2Client is an HTTP/2 connection to an upstream (muxHttp version 2),
// carried by one session of the target pipeline (usually connect, which
// offers h2 by ALPN when it speaks TLS): each request is a stream.
type h2Client struct {
	c  *h2Conn
	up *filters.Session
	// onStreamClosed runs when a stream closes, so that waiting requests
	// can take its place; onClosed when the connection has ended.
	onStreamClosed func(cl *h2Client)
	onClosed       func(cl *h2Client)
	// onRefused sends a refused request again: it returns the sink taking
	// the request's events, whose answer goes to answer (as
	// httpUpstream.Exchange).
	onRefused func(s *filters.Session, answer filters.Sink) filters.Sink
	// Until the peer's SETTINGS frame (the first of its preface) is read,
	// its concurrent-stream limit is unknown: one stream goes, the others
	// wait (a server allowing fewer than they are would refuse them).
	// settingsHdr is that frame's header, peerRead what was read of the
	// peer so far; onSettings runs once the frame is applied.
	settled     bool
	settingsHdr [9]byte
	peerRead    int
	onSettings  func(cl *h2Client)
}

// newH2Client starts a session of p in ctx and speaks HTTP/2 over it.
func newH2Client(p *filters.Pipeline, ctx *filters.Context) *h2Client {
	cl := &h2Client{}
	ctx.ALPN = []string{"h2"}
	cl.up = p.NewSession(ctx, filters.SinkFunc(cl.fromUpstream))
	cl.c = newH2Conn(cl, false, cl.up, cl.up, "muxHttp", DefaultMaxStreams)
	if p.Encrypts() {
		cl.c.scheme = "https"
	}
	cl.c.start()
	return cl
}

// fromUpstream takes the bytes the upstream sends.
func (cl *h2Client) fromUpstream(evt filters.Event) {
	switch e := evt.(type) {
	case *filters.Data:
		if cl.settled {
			cl.c.input(e)
			return
		}
		if cl.peerRead < len(cl.settingsHdr) {
			e.Peek(cl.settingsHdr[cl.peerRead:])
		}
		cl.peerRead += e.Size()
		cl.c.input(e)
		if n := len(cl.settingsHdr); cl.peerRead >= n && !cl.c.ended {
			h := cl.settingsHdr
			if cl.peerRead >= n+(int(h[0])<<16|int(h[1])<<8|int(h[2])) {
				cl.settled = true
				if cl.onSettings != nil {
					cl.onSettings(cl)
				}
			}
		}
	case *filters.SessionEnd:
		cl.c.peerEnded(e)
	}
}

// available reports whether a new stream may be opened now.
func (cl *h2Client) available() bool {
	c := cl.c
	return !c.ended && !c.goingAway && !c.peerAway && uint32(c.active) < c.peerMaxStreams && c.nextID < 1<<31-1 &&
		(cl.settled || c.active == 0)
}

// idle reports whether no stream is open.
func (cl *h2Client) idle() bool { return cl.c.active == 0 }

// close ends the connection after its streams (GOAWAY), or at once when
// none is open.
func (cl *h2Client) close() {
	cl.c.goAway()
}

// open starts a stream for one request. The request's events go to the
// returned sink; the answer's events (MessageStart with a *ResponseHead,
// Data, MessageEnd with the trailers, or a SessionEnd with the error that
// cut it) go to answer. headOnly: the request is HEAD, its answer has no
// body. ctx is the requester's: while something pauses it (a slow client
// of the answer, see filters.Context.Pause), the stream's window is not
// opened again, so the upstream stops sending on this stream only. ctx is
// also the source of the request: while too much of its body waits for the
// peer's window, ctx is paused (and with it, for an HTTP/1 request, the
// reading of its client's connection: see h2Request).
func (cl *h2Client) open(answer filters.Sink, s *filters.Session) filters.Sink {
	ctx := s.Context
	c := cl.c
	cs := &h2ClientStream{cl: cl, ctx: ctx}
	st := &cs.st
	c.addStream(st, 0, cs) // its id comes with its HEADERS frame
	st.toPeer = answer
	st.source = ctx
	ctx.AddValve(h2WindowValve{st})
	cs.req = h2Request{h2Outgoing: h2Outgoing{st: st, request: true}, s: s}
	return &cs.req
}

// retry implements h2Retrier: a refused request goes again, once, on the
// upstream's current connection (a new one when this one goes away), with
// what it sent so far; later events follow it there.
func (cs *h2ClientStream) retry(st *h2Stream) bool {
	r := &cs.req
	if r.noReplay || r.attempt > 0 || cs.cl.onRefused == nil || len(r.replay) == 0 {
		return false
	}
	answer := st.toPeer
	events := r.replay
	r.replay, r.noReplay = nil, true
	next := cs.cl.onRefused(r.s, answer)
	switch n := next.(type) {
	case *h2Request:
		n.attempt = r.attempt + 1
	case *h2Waiting:
		n.attempt = r.attempt + 1
	}
	r.redirected = next
	for _, e := range events {
		next.Input(e)
	}
	return true
}

// h2ClientStream is one request's stream, its writer and its owner in one
// allocation.
type h2ClientStream struct {
	st  h2Stream
	req h2Request
	cl  *h2Client
	ctx *filters.Context
}

// streamClosed implements h2StreamOwner: the requester's context forgets
// the stream, and the pool may give the stream's place to a waiting
// request.
func (cs *h2ClientStream) streamClosed(st *h2Stream, _ filters.ErrorCode) {
	cs.req.dropReplay()
	cs.ctx.RemoveValve(h2WindowValve{st})
	if r := &cs.req; r.reading != nil {
		cs.ctx.RemoveValve(r.reading)
		r.reading = nil
	}
	if cs.cl.onStreamClosed != nil {
		cs.cl.onStreamClosed(cs.cl)
	}
}

// readingValve stops the reading of a client's connection (an HTTP/1
// requester's, whose requests come in order) while its context is paused.
type readingValve struct{ ds filters.Downstream }

// Pause implements filters.Valve.
func (v readingValve) Pause() { v.ds.PauseReading() }

// Resume implements filters.Valve.
func (v readingValve) Resume() { v.ds.ResumeReading() }

// h2WindowValve pauses what the peer sends on a stream by holding back its
// WINDOW_UPDATEs.
type h2WindowValve struct{ st *h2Stream }

// Pause implements filters.Valve. The pause the stream's own request
// causes (its body waits for the peer's window: st.pausing, see
// h2Stream.source) does not hold the answer's window: a peer that answers
// as it reads (a bidirectional stream) would wait for it while the request
// waits for the peer.
func (v h2WindowValve) Pause() {
	if !v.st.pausing {
		v.st.holdWindow++
	}
}

// Resume implements filters.Valve.
func (v h2WindowValve) Resume() {
	st := v.st
	if st.holdWindow > 0 {
		st.holdWindow--
	}
	if st.holdWindow == 0 && !st.closed {
		st.c.enter()
		st.openWindow()
		st.c.leave()
	}
}

func (cl *h2Client) closed(c *h2Conn) {
	if cl.onClosed != nil {
		cl.onClosed(cl)
	}
}

// headers takes the answer's head, or its trailers.
func (cl *h2Client) headers(c *h2Conn, blk *h2.Block) *h2.Error {
	st := c.streams[blk.StreamID]
	if st == nil {
		return &h2.Error{Code: h2.ErrCodeStreamClosed, Stream: true, StreamID: blk.StreamID, Reason: "HEADERS on a closed stream"}
	}
	if st.remoteStarted {
		if st.remoteEnded {
			return &h2.Error{Code: h2.ErrCodeStreamClosed, Stream: true, StreamID: st.id, Reason: "HEADERS after END_STREAM"}
		}
		if err := blk.ValidateTrailers(); err != nil {
			return err.(*h2.Error)
		}
		st.trailers(blk)
		return nil
	}
	if err := blk.ValidateResponse(); err != nil {
		return err.(*h2.Error)
	}
	status, _ := strconv.Atoi(blk.Status)
	if status < 200 {
		if blk.EndStream {
			return &h2.Error{Code: h2.ErrCodeProtocol, Stream: true, StreamID: st.id, Reason: "1xx answer with END_STREAM"}
		}
		return nil // informational answers are not passed on
	}
	st.remoteStarted = true
	if cs, ok := st.owner.(*h2ClientStream); ok {
		cs.req.dropReplay() // answered: it will not go again
	}
	h := &ResponseHead{Protocol: "HTTP/2.0", Status: status, StatusText: StatusText(status)}
	hs := h.inline[:0]
	for _, f := range blk.Fields {
		if f.Name == "" || f.Name[0] == ':' {
			continue
		}
		if f.Name == "content-length" && !st.headOnly && status != 204 && status != 304 {
			if n, err := strconv.ParseInt(f.Value, 10, 64); err == nil && n >= 0 {
				st.contentLength = n
			}
		}
		hs = append(hs, HeaderField{f.Name, f.Value})
	}
	h.Headers = hs
	if to := st.toPeer; to != nil {
		to.Input(&filters.MessageStart{Head: h})
	}
	if blk.EndStream && !st.closed {
		st.remoteEnded = true
		if to := st.toPeer; to != nil {
			to.Input(filters.TheMessageEnd)
		}
		st.maybeClose()
	}
	return nil
}

// h2Request writes one request message to its stream.
type h2Request struct {
	h2Outgoing
	s *filters.Session // the requester
	// reading is the requester's client connection, a source of its
	// context while the stream lives, for an HTTP/1 request (an HTTP/2
	// one's stream at demuxHttp registered its own valve there; its
	// connection, which carries other streams, must not stop).
	reading filters.Valve
	// The request's events so far, kept while they may have to go again
	// on another connection (a refused stream, RFC 9113 §8.7): until the
	// answer starts, and while the body stays within h2MaxReplayBytes.
	replay     []filters.Event
	replayN    int
	noReplay   bool
	attempt    int          // 0, or 1 for a request sent again
	redirected filters.Sink // where the request goes after a retry
}

// h2MaxReplayBytes is the most body a request keeps for a retry.
const h2MaxReplayBytes = 16 << 10

// record keeps evt for a retry.
func (r *h2Request) record(evt filters.Event) {
	if r.noReplay || r.st.remoteStarted {
		r.dropReplay()
		return
	}
	if d, ok := evt.(*filters.Data); ok {
		if r.replayN += d.Size(); r.replayN > h2MaxReplayBytes {
			r.dropReplay()
			return
		}
		evt = d.Clone()
	}
	r.replay = append(r.replay, evt)
}

// dropReplay gives up keeping the request for a retry.
func (r *h2Request) dropReplay() {
	r.noReplay = true
	for _, e := range r.replay {
		if d, ok := e.(*filters.Data); ok {
			d.Release()
		}
	}
	r.replay = nil
}

func (r *h2Request) Input(evt filters.Event) {
	if r.redirected != nil {
		r.redirected.Input(evt)
		return
	}
	st := r.st
	c := st.c
	if evt.Kind() != filters.KindSessionEnd && !st.closed {
		r.record(evt)
	}
	if st.closed || st.aborted || c.ended {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	c.enter()
	defer c.leave()
	switch e := evt.(type) {
	case *filters.MessageStart:
		if r.started {
			return
		}
		if ds := r.s.Downstream(); ds != nil && !isHTTP2(e.Head) {
			r.reading = readingValve{ds}
			r.s.Context.AddValve(r.reading)
		}
		st.headOnly = viewHead(e.Head).method() == "HEAD"
		r.start(e.Head)
	case *filters.Data:
		r.data(e)
	case *filters.MessageEnd:
		r.end(e)
	case *filters.SessionEnd:
		// The requester is gone: the answer has nobody to go to.
		st.toPeer = nil
		st.reset(h2.ErrCodeCancel, filters.NoError)
	}
}

// requestBlock encodes a request head: the pseudo-header fields from its
// method, path and host header, then its other fields, less the
// connection-specific ones (RFC 9113 §8.2.2, §8.3.1).
func (c *h2Conn) requestBlock(head any) []byte {
	h := viewHead(head)
	method, path := h.method(), h.path()
	if method == "" {
		method = "GET"
	}
	if path == "" {
		path = "/"
	}
	var authority string
	h.eachHeader(func(name, value string) {
		if authority == "" && strings.EqualFold(name, "host") {
			authority = value
		}
	})
	return c.encodeBlock(func(add func(string, string)) {
		add(":method", method)
		if method == "CONNECT" {
			add(":authority", authority)
		} else {
			add(":scheme", c.scheme)
			if authority != "" {
				add(":authority", authority)
			}
			add(":path", path)
		}
		h.eachHeader(func(name, value string) {
			name = strings.ToLower(name)
			switch {
			case connectionSpecific(name), name == "host":
				return
			case name == "te" && !strings.EqualFold(strings.TrimSpace(value), "trailers"):
				return
			}
			add(name, value)
		})
	})
}
