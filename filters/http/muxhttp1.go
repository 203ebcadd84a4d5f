package http

import (
	"github.com/pipy-go/pipy/filters"

	"strconv"
	"strings"
)

// Version 1 of muxHttp: per key, a pool of HTTP/1.1 keep-alive
// connections, each an upstream session of the target pipeline, carrying
// one request at a time (no pipelining). A request takes an idle
// connection (the most recently used), else opens a new one while the key
// has fewer than maxConnections, else waits in the key's queue (first in,
// first out, up to MuxHttpMaxQueue). A connection goes back to the pool
// after a complete response unless the response said Connection: close (or
// was HTTP/1.0 without keep-alive, or a 101), the request said
// Connection: close, the request was not all sent, or the server sent
// bytes beyond the response; an idle connection is closed after
// idleTimeout, and at once when the program is retired.
//
// Tunnels. A request asking for one (Upgrade with "Connection: upgrade",
// as decodeHttpRequest leaves an Upgrade request it holds open, or a
// CONNECT) has no body: its head is written as soon as it has a
// connection, unframed (no Content-Length, no chunked coding), and the
// connection is never reused, since the upstream does not know where the
// request ends. The answer that opens the tunnel (101 to an Upgrade, 2xx to
// a CONNECT) is passed on as its MessageStart, then every byte the
// upstream sends as Data, and MessageEnd when the upstream ends; the
// request's Data are written as they are from then on (those that came
// before are held until the answer, and dropped when it is another one).
// The end of the request (its MessageEnd, or its session's end) half-closes
// the upstream connection. A connection carrying an open tunnel leaves the
// pool: it no longer counts against maxConnections, and ends with its
// tunnel. Any other answer is a plain response, after which the connection
// is closed.

// h1Pool is the version 1 upstream of one key.
type h1Pool struct {
	t         *muxHttpTemplate
	key       string
	drop      func()
	conns     []*h1Conn     // every open connection, busy or idle
	idle      []*h1Conn     // the idle ones, the most recently used last
	queue     []*h1Exchange // ready requests waiting for a connection, oldest first
	exchanges int           // exchanges not yet done
	retired   bool
	overflow  bool // the queue overflowed since it last had room (logged once)

	dispatching, again bool // dispatch runs; it must look at the queue once more
}

// newH1Pool is version 1's httpUpstreamMaker.
func newH1Pool(t *muxHttpTemplate, key string, drop func()) httpUpstream {
	return &h1Pool{t: t, key: key, drop: drop, retired: t.retired}
}

// Exchange implements httpUpstream.
func (p *h1Pool) Exchange(s *filters.Session, answer filters.Sink) filters.Sink {
	p.exchanges++
	return &h1Exchange{pool: p, s: s, answer: answer}
}

// Retire implements httpUpstream: idle connections end now, busy ones when
// their exchange is done.
func (p *h1Pool) Retire() {
	p.retired = true
	for len(p.idle) > 0 {
		p.idle[len(p.idle)-1].close()
	}
	p.maybeDrop()
}

// enqueue puts a ready request in the queue and hands out connections.
func (p *h1Pool) enqueue(ex *h1Exchange, front bool) {
	if len(p.queue) >= MuxHttpMaxQueue {
		if !p.overflow {
			p.overflow = true
			ex.s.Env().Log.Error("[muxHttp] too many requests waiting for a connection", "key", p.key, "queued", len(p.queue))
		}
		ex.fail(filters.BufferOverflow, "too many requests waiting for a connection")
		return
	}
	ex.queued = true
	if front {
		p.queue = append([]*h1Exchange{ex}, p.queue...)
	} else {
		p.queue = append(p.queue, ex)
	}
	p.dispatch()
	if ex.queued {
		ex.checkBuffer()
	}
}

// unqueue takes ex out of the queue.
func (p *h1Pool) unqueue(ex *h1Exchange) {
	for i, q := range p.queue {
		if q == ex {
			p.queue = append(p.queue[:i], p.queue[i+1:]...)
			break
		}
	}
	ex.queued = false
}

// dispatch gives queued requests idle connections, or new ones while
// there may be more. Reentrant calls (a connection ending while a request
// is written to it) make the running one look again.
func (p *h1Pool) dispatch() {
	if p.dispatching {
		p.again = true
		return
	}
	p.dispatching = true
	for {
		p.again = false
		for len(p.queue) > 0 {
			var c *h1Conn
			if n := len(p.idle); n > 0 {
				c = p.idle[n-1]
				p.idle[n-1] = nil
				p.idle = p.idle[:n-1]
			} else if len(p.conns) >= p.t.opts.maxConnections {
				break
			}
			ex := p.queue[0]
			p.queue[0] = nil
			p.queue = p.queue[1:]
			ex.queued = false
			if c == nil {
				p.open(ex)
			} else {
				c.assign(ex)
			}
		}
		if !p.again {
			break
		}
	}
	p.dispatching = false
	if len(p.queue) < MuxHttpMaxQueue {
		p.overflow = false
	}
	p.maybeDrop()
}

// open starts a new connection (an upstream session of the target, in a
// context derived from the requester's) for ex.
func (p *h1Pool) open(ex *h1Exchange) {
	pl := p.t.pipeline()
	if pl == nil {
		ex.fail(filters.UnknownError, "unknown pipeline: "+p.t.target)
		return
	}
	c := &h1Conn{pool: p, ex: ex}
	ex.conn = c
	p.conns = append(p.conns, c)
	c.s = pl.NewSession(ex.s.Context.Derive(), filters.SinkFunc(c.onUpstream))
	if !c.gone && c.ex == ex {
		c.send()
	}
}

// remove forgets a connection that ended.
func (p *h1Pool) remove(c *h1Conn) {
	for i, x := range p.conns {
		if x == c {
			p.conns = append(p.conns[:i], p.conns[i+1:]...)
			break
		}
	}
	for i, x := range p.idle {
		if x == c {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			break
		}
	}
}

// maybeDrop lets the template forget an empty pool.
func (p *h1Pool) maybeDrop() {
	if len(p.conns) == 0 && p.exchanges == 0 && !p.dispatching {
		p.drop()
	}
}

// h1Conn is one upstream connection of a pool.
type h1Conn struct {
	pool      *h1Pool
	s         *filters.Session // the upstream session of the target
	ex        *h1Exchange      // the exchange in progress; nil when idle
	dec, decH *httpDecoder     // response decoders: most requests, HEAD requests
	idleTimer *filters.Timer
	served    int  // exchanges completed on it
	gone      bool // ended or closed: its output is ignored
	valved    bool // an h1Valve of it is in the exchange's requester's context

	tunnel bool // dedicated to an open tunnel: out of the pool

	// The current exchange's answer, as the decoder gives it.
	reusable bool                // nothing so far stops another request
	got      bool                // response bytes arrived
	interim  bool                // inside a 1xx response, which is dropped
	complete *filters.MessageEnd // the response's end, delivered once the connection is settled
	fault    *filters.SessionEnd // the decoder refused the response
}

// decoder returns the response decoder for the current exchange.
func (c *h1Conn) decoder(head bool) *httpDecoder {
	if head {
		if c.decH == nil {
			c.decH = h1BodilessResponses.New(c.s, filters.SinkFunc(c.onResponse)).(*httpDecoder)
		}
		return c.decH
	}
	if c.dec == nil {
		c.dec = h1Responses.New(c.s, filters.SinkFunc(c.onResponse)).(*httpDecoder)
	}
	return c.dec
}

// The response decoders of muxHttp: decodeHttpResponse's and, for the
// answers to HEAD, decodeHttpBodilessResponse's.
var (
	h1Responses         = &httpDecoderTemplate{response: true}
	h1BodilessResponses = &httpDecoderTemplate{response: true, bodiless: true}
)

// decoderAtRest reports whether a response decoder holds nothing of a
// next message; bytes after the end of a response (a server sending more
// than it announced) make its connection unfit for another request.
func decoderAtRest(d *httpDecoder) bool { return d.state == stHead && len(d.head.buf) == 0 }

// assign gives an idle connection to ex.
func (c *h1Conn) assign(ex *h1Exchange) {
	c.idleTimer.Stop()
	c.idleTimer = nil
	c.ex = ex
	ex.conn = c
	c.send()
}

// send writes the request of c.ex: whole with a Content-Length when it is
// complete (and has no trailers), else a chunked head and what there is of
// the body, the rest following as it comes.
func (c *h1Conn) send() {
	ex := c.ex
	c.valved = true
	ex.s.Context.AddValve(h1Valve{c})
	h := viewHead(ex.start.Head)
	c.reusable = !hasHeaderToken(h, "connection", "close")
	c.got, c.interim, c.complete, c.fault = false, false, nil, nil
	if ex.tunnel != noTunnel {
		c.sendTunnel(ex, h)
		return
	}
	ex.resume()
	if ex.replay != nil {
		// A retry on another connection: the bytes sent the first time.
		d := ex.replay
		ex.replay = nil
		ex.sent = true
		c.write(d)
		return
	}
	loop := c.s.Env().Loop
	body := ex.body
	ex.body = nil
	if body == nil {
		body = filters.NewData()
	}
	if ex.reqEnded && ex.tail == nil {
		buf := appendH1RequestHead(loop.EncodeScratch(), h, int64(body.Size()))
		size := body.Size()
		if size <= smallBody {
			buf = body.AppendTo(buf)
			body.Release()
		}
		d := loop.EncodeDone(buf)
		if size > smallBody {
			d.Push(body)
			body.Release()
		}
		if c.served > 0 && !ex.retried && idempotent(h.method()) {
			// Kept until the first byte of the answer: a reused
			// connection the server closed meanwhile is retried once.
			ex.replay = d.Clone()
		}
		ex.sent = true
		c.write(d)
		return
	}
	ex.streaming = true
	c.write(loop.EncodeDone(appendH1RequestHead(loop.EncodeScratch(), h, -1)))
	if body.Size() > 0 && c.ex == ex {
		c.writeChunk(body)
	} else {
		body.Release()
	}
	if ex.reqEnded && c.ex == ex {
		c.writeLast(ex.tail)
		ex.sent = true
	}
}

// sendTunnel writes the head of a request that may open a tunnel: at
// once, without framing. What the request's Data carry waits for the
// answer (see onResponse). The response decoder is told what the request
// asks for, so that a 2xx to a CONNECT opens the tunnel too.
func (c *h1Conn) sendTunnel(ex *h1Exchange, h httpHead) {
	c.reusable = false
	dec := c.decoder(ex.head)
	dec.client.tunnelN, dec.client.kind, dec.client.open = dec.answers+1, ex.tunnel, false
	d := ex.replay
	ex.replay = nil
	if d == nil {
		loop := c.s.Env().Loop
		d = loop.EncodeDone(appendH1RequestHead(loop.EncodeScratch(), h, h1Unframed))
		if c.served > 0 && !ex.retried && idempotent(h.method()) {
			// Kept until the first byte of the answer, as for any
			// request (see send).
			ex.replay = d.Clone()
		}
	}
	ex.sent = true
	c.write(d)
}

// openTunnel starts the tunnel of ex, whose answer opened it: the Data the
// requester sent meanwhile go out first, and a request that has ended
// already half-closes the connection.
func (c *h1Conn) openTunnel(ex *h1Exchange) {
	ex.open = true
	ex.resume()
	if body := ex.body; body != nil {
		ex.body = nil
		c.write(body)
	}
	if ex.reqEnded {
		c.halfClose()
	}
}

// halfClose ends the upstream session's input: connect shuts the write side
// of its socket and waits (a while) for the upstream to end its side.
func (c *h1Conn) halfClose() {
	if !c.gone && c.s != nil {
		c.s.Input(filters.TheSessionEnd)
	}
}

// detach ends the exchange's use of the connection.
func (c *h1Conn) detach(ex *h1Exchange) {
	c.ex, ex.conn = nil, nil
	if c.valved {
		c.valved = false
		ex.s.Context.RemoveValve(h1Valve{c})
	}
}

// h1Valve is backpressure from the requester to the connection its answer
// comes from: while the requester's context is paused (its client takes
// the answer too slowly: an HTTP/2 stream whose window is closed), so is
// the upstream session's, and with it the socket connect reads.
type h1Valve struct{ c *h1Conn }

// Pause implements filters.Valve.
func (v h1Valve) Pause() { v.c.s.Context.Pause() }

// Resume implements filters.Valve.
func (v h1Valve) Resume() { v.c.s.Context.Resume() }

// write passes request bytes to the upstream session.
func (c *h1Conn) write(d *filters.Data) {
	if c.gone {
		d.Release()
		return
	}
	c.s.Input(d)
}

// writeChunk writes d as one chunk of a chunked body.
func (c *h1Conn) writeChunk(d *filters.Data) {
	loop := c.s.Env().Loop
	buf := strconv.AppendInt(loop.EncodeScratch(), int64(d.Size()), 16)
	c.write(loop.EncodeDone(append(buf, '\r', '\n')))
	c.write(d)
	c.write(loop.EncodeDone(append(loop.EncodeScratch(), '\r', '\n')))
}

// writeLast ends a chunked body, with the trailers of tail.
func (c *h1Conn) writeLast(tail any) {
	loop := c.s.Env().Loop
	buf := append(loop.EncodeScratch(), "0\r\n"...)
	eachTrailer(tail, func(name, value string) {
		if name != "" && name[0] != ':' {
			buf = appendHeader(buf, name, value)
		}
	})
	c.write(loop.EncodeDone(append(buf, '\r', '\n')))
}

// onUpstream receives the output of the upstream session: the response
// bytes, then its end.
func (c *h1Conn) onUpstream(evt filters.Event) {
	switch e := evt.(type) {
	case *filters.Data:
		if c.gone || e.Size() == 0 {
			e.Release()
			return
		}
		ex := c.ex
		if ex == nil {
			// Nothing was asked: a server talking out of turn.
			e.Release()
			c.close()
			return
		}
		if !c.got {
			c.got = true
			if ex.replay != nil {
				ex.replay.Release()
				ex.replay = nil
			}
		}
		dec := c.decoder(ex.head)
		dec.Input(e)
		c.settle(ex, dec)
	case *filters.SessionEnd:
		c.upstreamEnded(e)
	}
}

// onResponse receives what the response decoder makes of the bytes.
func (c *h1Conn) onResponse(evt filters.Event) {
	ex := c.ex
	if c.gone || ex == nil || c.complete != nil || c.fault != nil {
		// Past the response: a server saying more than was asked.
		c.reusable = false
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	switch e := evt.(type) {
	case *filters.MessageStart:
		h, _ := e.Head.(*ResponseHead)
		if h == nil || h.Protocol == "" {
			// The decoder's stand-in answer for a malformed head.
			c.fault = &filters.SessionEnd{Err: filters.ReadError, Message: "invalid response head"}
			return
		}
		if h.Status < 200 && h.Status != 101 {
			c.interim = true // 100 Continue, 103 Early Hints...
			return
		}
		conn := ""
		for _, f := range h.Headers {
			if f.Name == "connection" {
				conn = f.Value
			}
		}
		if h.Status == 101 || hasToken(conn, "close") || h.Protocol == "HTTP/1.0" && !hasToken(conn, "keep-alive") {
			c.reusable = false
		}
		ex.started = true
		if ex.tunnel.opens(h.Status) {
			c.openTunnel(ex)
		}
		ex.answer.Input(e)
	case *filters.Data:
		if c.interim {
			e.Release()
			return
		}
		ex.answer.Input(e)
	case *filters.MessageEnd:
		if c.interim {
			c.interim = false
			return
		}
		c.complete = e
	case *filters.SessionEnd:
		c.fault = e
	}
}

// settle acts on what the decoder made of a piece of the response: a
// complete response frees the connection (or closes it) before its end is
// delivered, so that the requester's next request can have it; a refused
// one fails the exchange and closes the connection.
func (c *h1Conn) settle(ex *h1Exchange, dec *httpDecoder) {
	if c.gone || c.ex != ex {
		return // the requester gave up meanwhile
	}
	if ex.open && !c.tunnel {
		// Dedicated to the tunnel until it ends: out of the pool, so
		// that the key's other requests may have another connection.
		c.tunnel = true
		c.pool.remove(c)
		c.pool.dispatch()
		if c.gone || c.ex != ex {
			return
		}
	}
	switch {
	case c.fault != nil:
		f := c.fault
		c.detach(ex)
		c.close()
		code := f.Err
		if code == filters.NoError {
			code = filters.ReadError
		}
		ex.fail(code, f.Message)
	case c.complete != nil:
		end := c.complete
		c.detach(ex)
		c.served++
		if c.reusable && ex.sent && decoderAtRest(dec) {
			c.release()
		} else {
			c.close()
		}
		ex.finish(end)
	}
}

// release puts a connection back in the pool after an exchange.
func (c *h1Conn) release() {
	p := c.pool
	if p.retired {
		c.close()
		return
	}
	p.idle = append(p.idle, c)
	p.dispatch()
	if c.ex == nil && !c.gone {
		c.idleTimer.Stop()
		c.idleTimer = c.s.Env().Loop.AfterFunc(p.t.idleTimeout(c.s.Env()), func() {
			if c.ex == nil {
				c.close()
			}
		})
	}
}

// upstreamEnded handles the end of the upstream session: the connection
// closed or failed.
func (c *h1Conn) upstreamEnded(e *filters.SessionEnd) {
	if c.gone {
		return
	}
	ex := c.ex
	if ex != nil && ex.started && c.complete == nil && c.fault == nil {
		// A body delimited by the connection's close ends here; any
		// other is cut short.
		c.decoder(ex.head).Input(e)
	}
	c.gone = true
	c.idleTimer.Stop()
	c.pool.remove(c)
	if ex != nil && c.ex == ex {
		c.detach(ex)
		switch {
		case c.complete != nil:
			ex.finish(c.complete)
		case ex.replay != nil && !c.got:
			// A reused connection the server had closed: once more on
			// another.
			ex.retried = true
			c.pool.enqueue(ex, true)
		default:
			code, msg := e.Err, e.Message
			if code == filters.NoError {
				code, msg = filters.ReadError, "connection closed before the response was complete"
			}
			ex.fail(code, msg)
		}
	}
	c.pool.dispatch()
}

// close ends the connection.
func (c *h1Conn) close() {
	if c.gone {
		return
	}
	c.gone = true
	c.idleTimer.Stop()
	c.pool.remove(c)
	if c.s != nil {
		c.s.End(filters.NoError)
	}
	c.pool.dispatch()
}

// h1Exchange is one request and its answer on a pool.
type h1Exchange struct {
	pool   *h1Pool
	s      *filters.Session // the requester
	answer filters.Sink
	conn   *h1Conn // while assigned

	start     *filters.MessageStart
	head      bool          // a HEAD request: the answer has no body
	tunnel    tunnelKind    // what the request asks for: an Upgrade, a CONNECT, or none
	open      bool          // the answer opened the tunnel: Data go out as they are
	body      *filters.Data // held until the request is sent
	tail      any
	replay    *filters.Data // the request as sent on a reused connection
	reqEnded  bool          // its MessageEnd came
	ready     bool          // complete or long enough to be sent
	queued    bool
	streaming bool // the head went out chunked; the body follows as it comes
	sent      bool // the whole request went out
	started   bool // the answer's MessageStart was delivered
	retried   bool
	paused    bool // the requester's connection is paused
	done      bool
}

// Input takes the request's events (see httpUpstream).
func (ex *h1Exchange) Input(evt filters.Event) {
	if ex.done {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	switch e := evt.(type) {
	case *filters.MessageStart:
		if ex.start == nil {
			ex.start = e
			h := viewHead(e.Head)
			ex.head = isHead(h.method())
			if ex.tunnel = requestTunnel(h); ex.tunnel != noTunnel {
				// No body to wait for: it goes now.
				ex.ready = true
				ex.pool.enqueue(ex, false)
			}
		}
	case *filters.Data:
		if ex.start == nil || ex.reqEnded || e.Size() == 0 {
			e.Release()
			return
		}
		if ex.tunnel != noTunnel {
			ex.tunnelData(e)
			return
		}
		if ex.streaming {
			ex.conn.writeChunk(e)
			return
		}
		if ex.body == nil {
			ex.body = e
		} else {
			ex.body.Push(e)
			e.Release()
		}
		if ex.body.Size() > MuxHttpBufferSize {
			if !ex.ready {
				ex.ready = true
				ex.pool.enqueue(ex, false)
			} else if ex.queued {
				ex.checkBuffer()
			}
		}
	case *filters.MessageEnd:
		if ex.start == nil || ex.reqEnded {
			return
		}
		ex.reqEnded = true
		ex.tail = e.Tail
		switch {
		case ex.tunnel != noTunnel:
			if ex.open && ex.conn != nil {
				ex.conn.halfClose()
			}
		case ex.streaming:
			ex.conn.writeLast(e.Tail)
			ex.sent = true
		case !ex.ready:
			ex.ready = true
			ex.pool.enqueue(ex, false)
		}
	case *filters.SessionEnd:
		ex.cancel()
	}
}

// tunnelData takes a Data of a request that may open a tunnel: written as
// it is once the tunnel is open, held until then.
func (ex *h1Exchange) tunnelData(d *filters.Data) {
	if ex.open {
		if ex.conn != nil {
			ex.conn.write(d)
		} else {
			d.Release()
		}
		return
	}
	if ex.body == nil {
		ex.body = d
	} else {
		ex.body.Push(d)
		d.Release()
	}
	ex.checkBuffer()
}

// unframed reports whether the request has no body framing (it may open a
// tunnel): the end of its requester's input is the end of the request.
func (ex *h1Exchange) unframed() bool { return ex.tunnel != noTunnel }

// checkBuffer stops the requester's input while a queued request holds
// more than MuxHttpBufferSize. An HTTP/1 request stops its client's
// connection from being read (its requests come in order, so none that
// could free a connection is stuck behind it). An HTTP/2 request (from
// demuxHttp) must not stop its connection, whose other streams may be the
// very uploads holding the pool's connections: it pauses its own context
// instead, whose sources are those of its stream.
func (ex *h1Exchange) checkBuffer() {
	if ex.paused || ex.body == nil || ex.body.Size() <= MuxHttpBufferSize {
		return
	}
	ex.paused = true
	if isHTTP2(ex.start.Head) {
		ex.s.Context.Pause()
	} else if ds := ex.s.Downstream(); ds != nil {
		ds.PauseReading()
	}
}

// resume undoes checkBuffer's pause.
func (ex *h1Exchange) resume() {
	if !ex.paused {
		return
	}
	ex.paused = false
	if isHTTP2(ex.start.Head) {
		ex.s.Context.Resume()
	} else if ds := ex.s.Downstream(); ds != nil {
		ds.ResumeReading()
	}
}

// isHTTP2 tells whether a request head came over HTTP/2.
func isHTTP2(head any) bool { return viewHead(head).protocol() == "HTTP/2.0" }

// end marks the exchange done and lets go of what it holds.
func (ex *h1Exchange) end() {
	ex.done = true
	ex.resume()
	if ex.body != nil {
		ex.body.Release()
		ex.body = nil
	}
	if ex.replay != nil {
		ex.replay.Release()
		ex.replay = nil
	}
	if ex.queued {
		ex.pool.unqueue(ex)
	}
	ex.pool.exchanges--
}

// finish delivers the end of a complete answer.
func (ex *h1Exchange) finish(end *filters.MessageEnd) {
	if ex.done {
		return
	}
	ex.end()
	ex.answer.Input(end)
	ex.pool.maybeDrop()
}

// fail ends the exchange without a complete answer.
func (ex *h1Exchange) fail(code filters.ErrorCode, msg string) {
	if ex.done {
		return
	}
	ex.end()
	ex.answer.Input(&filters.SessionEnd{Err: code, Message: msg})
	ex.pool.maybeDrop()
}

// cancel abandons the exchange: the requester is gone. A connection in the
// middle of it is closed.
func (ex *h1Exchange) cancel() {
	if ex.done {
		return
	}
	ex.end()
	if c := ex.conn; c != nil {
		c.detach(ex)
		c.close()
	}
	ex.pool.maybeDrop()
}

// h1Unframed is the length given to appendH1RequestHead for a request
// that may open a tunnel: its head has no framing field at all.
const h1Unframed = -2

// appendH1RequestHead appends the head of a request as muxHttp sends it on
// an HTTP/1.1 connection, whatever protocol the head names (HTTP/2
// requests from demuxHttp included): the head's fields but its framing
// ones and any pseudo-header, then Transfer-Encoding: chunked when length
// is -1, nothing when it is h1Unframed, else a Content-Length (left out
// for an empty body of a method without body semantics, such as GET).
func appendH1RequestHead(buf []byte, h httpHead, length int64) []byte {
	method, path := h.method(), h.path()
	if method == "" {
		method = "GET"
	}
	if path == "" {
		path = "/"
	}
	buf = appendSafe(buf, method)
	buf = append(buf, ' ')
	buf = appendSafe(buf, path)
	buf = append(buf, " HTTP/1.1\r\n"...)
	h.eachHeader(func(name, value string) {
		if name == "" || name[0] == ':' || strings.EqualFold(name, "content-length") || strings.EqualFold(name, "transfer-encoding") {
			return
		}
		buf = appendHeader(buf, name, value)
	})
	switch {
	case length == h1Unframed:
	case length < 0:
		buf = append(buf, "Transfer-Encoding: chunked\r\n"...)
	case length > 0 || method == "POST" || method == "PUT" || method == "PATCH":
		buf = append(buf, "Content-Length: "...)
		buf = strconv.AppendInt(buf, length, 10)
		buf = append(buf, "\r\n"...)
	}
	return append(buf, "\r\n"...)
}

// idempotent reports whether a request of this method may be sent again
// (RFC 9110 §9.2.2).
func idempotent(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "":
		return true
	}
	return false
}
