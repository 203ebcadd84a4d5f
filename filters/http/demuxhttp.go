package http

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/http/h2"
)

func init() {
	spec := filters.Spec{
		Name: "demuxHttp", Args: "target[, options]",
		Description: "Serves HTTP/1.x and HTTP/2 (h2c by prior knowledge, h2 by ALPN on TLS listeners): each request gets its own session of the target pipeline, and its answer is encoded back in the request's protocol and stream",
		Params: []filters.Param{
			{Name: "target", Type: "string", Help: "Name of the pipeline each request is sent to (request message in, response message out)"},
			{Name: "options", Type: "object", Help: "maxStreams: concurrent HTTP/2 streams per connection (default 100); http2: accept HTTP/2 (default true)"},
		},
		Make: makeDemuxHTTP,
		Sub:  filters.FirstArg,
	}
	filters.Register(&spec)
	alias := spec
	alias.Name = "demuxHTTP"
	alias.Description = "Alias of demuxHttp (the later Pipy's spelling)"
	filters.Register(&alias)
}

// DefaultMaxStreams is demuxHttp's default SETTINGS_MAX_CONCURRENT_STREAMS.
const DefaultMaxStreams = 100

type demuxHTTPTemplate struct {
	target     string
	module     *filters.Module
	maxStreams uint32
	http2      bool
	conns      map[*h2Conn]struct{} // live HTTP/2 connections, told to go away on Retire
	retired    bool
}

func makeDemuxHTTP(a *filters.Args) (filters.Template, error) {
	name, err := a.String(0)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, a.Errorf("argument #1 expects a pipeline name")
	}
	t := &demuxHTTPTemplate{target: name, module: a.Module, maxStreams: DefaultMaxStreams, http2: true, conns: map[*h2Conn]struct{}{}}
	opts, err := a.Object(1)
	if err != nil {
		return nil, err
	}
	if opts == nil {
		return t, nil
	}
	for _, k := range opts.Keys() {
		v := opts.Get(k)
		switch k {
		case "maxStreams":
			n := v.ToInteger()
			if _, isNum := v.Export().(int64); !isNum {
				if _, isFloat := v.Export().(float64); !isFloat {
					return nil, a.Errorf("option maxStreams expects a number, got %v", v)
				}
			}
			if n < 1 || n > 1<<31-1 {
				return nil, a.Errorf("option maxStreams must be between 1 and 2147483647, got %d", n)
			}
			t.maxStreams = uint32(n)
		case "http2":
			b, ok := v.Export().(bool)
			if !ok {
				return nil, a.Errorf("option http2 expects true or false, got %v", v)
			}
			t.http2 = b
		default:
			return nil, a.Errorf("unknown option %q (demuxHttp takes maxStreams, http2)", k)
		}
	}
	return t, nil
}

// Retire implements filters.Retirer: HTTP/2 connections get a GOAWAY, so
// clients open new connections (to the new program) while the streams in
// flight finish. HTTP/1 connections end after their current response as
// they do today (the listener is gone or closes idle ones).
func (t *demuxHTTPTemplate) Retire() {
	t.retired = true
	for c := range t.conns {
		c.goAway()
	}
}

// ALPN implements filters.ALPNSpeaker: h2 first unless HTTP/2 is off.
func (t *demuxHTTPTemplate) ALPN() []string {
	if !t.http2 {
		return nil
	}
	return []string{"h2", "http/1.1"}
}

func (t *demuxHTTPTemplate) pipeline() *filters.Pipeline { return t.module.Named[t.target] }

func (t *demuxHTTPTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &demuxHTTP{t: t, s: s, out: out}
}

// demuxHTTP serves one connection: it finds out which protocol the client
// speaks, then hands the bytes to the HTTP/1 chain (request decoder →
// ordered demux → response encoder) or to an HTTP/2 connection.
type demuxHTTP struct {
	t     *demuxHTTPTemplate
	s     *filters.Session
	out   filters.Sink
	h1    filters.Sink
	h2    *h2Conn
	sniff []byte    // the first bytes, until the protocol is known
	line  lineCheck // of the first request line, when it is not the preface
	ended bool
}

func (f *demuxHTTP) Input(evt filters.Event) {
	switch {
	case f.h1 != nil:
		f.h1.Input(evt)
		return
	case f.h2 != nil:
		switch e := evt.(type) {
		case *filters.Data:
			f.h2.input(e)
		case *filters.SessionEnd:
			f.h2.peerEnded(e)
		}
		return
	}
	switch e := evt.(type) {
	case *filters.Data:
		if e.Size() == 0 {
			return
		}
		if !f.t.http2 {
			f.startHTTP1(e)
			return
		}
		if ds := f.s.Downstream(); ds != nil && ds.Protocol() == "h2" {
			f.startHTTP2(e)
			return
		}
		f.sniff = e.AppendTo(f.sniff)
		e.Release()
		n := min(len(f.sniff), len(h2.ClientPreface))
		switch {
		case string(f.sniff[:n]) != h2.ClientPreface[:n]:
			// Not HTTP/2: wait for an HTTP/1 request line. Bytes that are
			// neither get the connection closed without an answer, as an
			// HTTP/2 server must (RFC 9113 §3.4): no answer in one of
			// the two protocols would be understood.
			switch {
			case !f.line.feed(f.sniff):
				f.s.Env().Log.Warn("[demuxHttp] protocol error", "reason", "neither an HTTP/2 preface nor an HTTP/1 request line")
				f.sniff = nil
				f.ended = true
				f.out.Input(&filters.SessionEnd{Err: filters.ReadError, Message: "not HTTP"})
			case f.line.phase == 3 || len(f.sniff) > filters.DefaultMaxHeadSize:
				f.startHTTP1(filters.NewDataBytes(f.sniff))
			}
		case n == len(h2.ClientPreface):
			f.startHTTP2(filters.NewDataBytes(f.sniff))
		}
	case *filters.SessionEnd:
		if f.ended {
			return
		}
		f.ended = true
		f.out.Input(e)
	}
}

// startHTTP1 sets up the HTTP/1 chain and gives it the first bytes.
func (f *demuxHTTP) startHTTP1(first *filters.Data) {
	f.sniff = nil
	enc := (&httpEncoderTemplate{response: true}).New(f.s, f.out)
	dmx := filters.NewAnsweringDemux(f.s, f.t.target, f.t.pipeline, enc, answerFailure)
	f.h1 = (&httpDecoderTemplate{}).New(f.s, dmx)
	f.h1.Input(first)
}

// startHTTP2 sets up the HTTP/2 connection and gives it the first bytes.
func (f *demuxHTTP) startHTTP2(first *filters.Data) {
	f.sniff = nil
	sv := &h2Server{f: f}
	c := newH2Conn(sv, true, f.s, f.out, "demuxHttp", f.t.maxStreams)
	f.h2 = c
	f.t.conns[c] = struct{}{}
	c.start()
	if f.t.retired {
		c.goAway()
	}
	c.input(first)
}

// failureStatus is the status of the answer a server gives for a request
// whose handling ended with err before any answer began.
func failureStatus(err filters.ErrorCode) int {
	switch err {
	case filters.CannotResolve, filters.ConnectionRefused, filters.BufferOverflow:
		return 503
	case filters.Unauthorized:
		return 401
	}
	return 502
}

// answerFailure answers a request whose sub-session ended without an
// answer: 502 Bad Gateway for a read error or a pipeline that gave none,
// 503 when the upstream could not be reached.
func answerFailure(end *filters.SessionEnd, to filters.Sink) {
	answerStatus(to, failureStatus(end.Err))
}

// h2Server is the server side of demuxHttp's HTTP/2 connections: a stream
// is a request, answered by a sub-session of the target pipeline.
type h2Server struct {
	f *demuxHTTP
}

func (sv *h2Server) closed(c *h2Conn) {
	delete(sv.f.t.conns, c)
}

func (sv *h2Server) headers(c *h2Conn, blk *h2.Block) *h2.Error {
	id := blk.StreamID
	if st := c.streams[id]; st != nil {
		// A second header block on a stream: trailers.
		if st.remoteEnded {
			return &h2.Error{Code: h2.ErrCodeStreamClosed, Stream: true, StreamID: id, Reason: "HEADERS after END_STREAM"}
		}
		if err := blk.ValidateTrailers(); err != nil {
			return err.(*h2.Error)
		}
		st.trailers(blk)
		return nil
	}
	c.lastID = id
	if c.goingAway {
		return &h2.Error{Code: h2.ErrCodeRefusedStream, Stream: true, StreamID: id, Reason: "stream opened after GOAWAY"}
	}
	if uint32(c.active) >= c.maxStreams {
		return &h2.Error{Code: h2.ErrCodeRefusedStream, Stream: true, StreamID: id, Reason: fmt.Sprintf("more than %d concurrent streams", c.maxStreams)}
	}
	if err := blk.ValidateRequest(); err != nil {
		return err.(*h2.Error)
	}
	x := &h2ServerStream{}
	st := &x.st
	c.addStream(st, id, x)
	st.remoteStarted = true
	x.answer.st = st
	a := &x.answer
	if blk.TooLarge {
		// An answer, not a reset: the client learns why.
		st.headOnly = true
		st.remoteEnded = blk.EndStream
		answerStatus(a, 431)
		if !st.closed {
			st.reset(h2.ErrCodeNo, filters.NoError)
		}
		return nil
	}
	p := sv.f.t.pipeline()
	if p == nil {
		sv.f.s.Abort(fmt.Errorf("[demuxHttp] unknown pipeline: %s", sv.f.t.target))
		return nil
	}
	head := &x.head
	requestHeadOf(blk, head)
	st.headOnly = head.Method == "HEAD"
	for _, f := range head.Headers {
		if f.Name == "content-length" {
			n, err := strconv.ParseInt(f.Value, 10, 64)
			if err != nil || n < 0 || !allDigits(f.Value) {
				st.close(filters.NoError)
				return &h2.Error{Code: h2.ErrCodeProtocol, Stream: true, StreamID: id, Reason: "malformed content-length"}
			}
			st.contentLength = n
		}
	}
	if blk.EndStream && st.contentLength > 0 {
		st.close(filters.NoError)
		return &h2.Error{Code: h2.ErrCodeProtocol, Stream: true, StreamID: id, Reason: "content-length without DATA"}
	}
	ctx := sv.f.s.Context.Derive()
	x.ctx = ctx
	sub := p.NewSession(ctx, a)
	a.sub = sub
	st.source = ctx
	st.toPeer = sub
	// A request's pipeline that cannot take its body as fast as it comes
	// (muxHttp waiting for a connection) pauses its context: the client's
	// stream window then stays closed.
	ctx.AddValve(h2WindowValve{st})
	x.start.Head = head
	sub.Input(&x.start)
	if blk.EndStream && !st.closed {
		st.remoteEnded = true
		sub.Input(filters.TheMessageEnd)
		st.maybeClose()
	}
	return nil
}

// h2ServerStream is one request's stream with its answer writer and the
// request's head, in one allocation.
type h2ServerStream struct {
	st     h2Stream
	answer h2Answer
	start  filters.MessageStart
	head   RequestHead
	ctx    *filters.Context // the request's sub-session's; nil for a refused one
}

// streamClosed implements h2StreamOwner: the request's sub-session ends.
func (x *h2ServerStream) streamClosed(st *h2Stream, _ filters.ErrorCode) {
	if x.ctx == nil {
		return
	}
	x.ctx.RemoveValve(h2WindowValve{st})
	x.answer.sub.End(filters.NoError)
}

// requestHeadOf fills h with the script's view of an HTTP/2 request: the head an
// HTTP/1 request would have, with host from :authority.
func requestHeadOf(blk *h2.Block, h *RequestHead) {
	h.Method, h.Path, h.Protocol = blk.Method, blk.Path, "HTTP/2.0"
	if blk.Method == "CONNECT" && blk.Path == "" {
		h.Path = blk.Authority
	}
	hs := h.inline[:0]
	if blk.Authority != "" {
		hs = append(hs, HeaderField{"host", blk.Authority})
	}
	for _, f := range blk.Fields {
		if f.Name == "" || f.Name[0] == ':' || (f.Name == "host" && blk.Authority != "") {
			continue
		}
		dup := false
		for i := range hs {
			if hs[i].Name == f.Name {
				// Repeated fields are joined (cookies with "; ", §8.2.3).
				sep := ", "
				if f.Name == "cookie" {
					sep = "; "
				}
				hs[i].Value += sep + f.Value
				dup = true
				break
			}
		}
		if !dup {
			hs = append(hs, HeaderField{f.Name, f.Value})
		}
	}
	h.Headers = hs
}

// h2Answer takes the output of a request's sub-session and writes it to
// the request's stream: the first message is the answer (1xx heads may
// come before it), anything after it is dropped.
type h2Answer struct {
	h2Outgoing
	sub *filters.Session
}

func (a *h2Answer) Input(evt filters.Event) {
	st := a.st
	c := st.c
	if a.done || st.closed || st.aborted || c.ended {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	c.enter()
	defer c.leave()
	switch e := evt.(type) {
	case *filters.MessageStart:
		if a.started {
			return
		}
		if s := viewHead(e.Head).status(); s >= 100 && s < 200 {
			if s != 101 { // no upgrades in HTTP/2 (§8.6)
				st.writeHead(c.responseBlock(e.Head), false)
			}
			return
		}
		a.start(e.Head)
	case *filters.Data:
		a.data(e)
	case *filters.MessageEnd:
		a.end(e)
	case *filters.SessionEnd:
		if !a.started {
			answerStatus(a, failureStatus(e.Err))
			a.done = true
			return
		}
		a.done = true
		// Cut off mid-answer: the client must not take it as complete,
		// but gets what was given before the end (as far as its windows
		// allow).
		st.sendPending()
		st.reset(h2.ErrCodeInternal, filters.NoError)
	}
}

// answerStatus answers with a short text/plain message of status, in the
// form HTTP/1 and HTTP/2 encoders both take.
func answerStatus(to filters.Sink, status int) {
	h := &ResponseHead{Protocol: "HTTP/1.1", Status: status, StatusText: StatusText(status)}
	h.Headers = append(h.inline[:0], HeaderField{"content-type", "text/plain"})
	to.Input(&filters.MessageStart{Head: h})
	to.Input(filters.NewDataString(fmt.Sprintf("%d %s\n", status, StatusText(status))))
	to.Input(filters.TheMessageEnd)
}

// responseBlock encodes a response head; connection-specific fields are
// left out (RFC 9113 §8.2.2).
func (c *h2Conn) responseBlock(head any) []byte {
	h := viewHead(head)
	status := h.status()
	if status == 0 {
		status = 200
	}
	return c.encodeBlock(func(add func(string, string)) {
		add(":status", strconv.Itoa(status))
		h.eachHeader(func(name, value string) {
			name = strings.ToLower(name)
			if connectionSpecific(name) {
				return
			}
			add(name, value)
		})
	})
}

// connectionSpecific reports the HTTP/1 fields that HTTP/2 forbids.
func connectionSpecific(name string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	}
	return false
}
