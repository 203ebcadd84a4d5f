package http

import (
	"github.com/pipy-go/pipy/filters"

	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// muxHttp(target[, selector][, options]) is the client side of HTTP: it
// funnels the request messages of many sessions into shared upstream
// sessions of target (usually just connect()), encodes each request
// itself, decodes the response and routes it back to the session that sent
// the request. This file holds the filter, its options and the seam between
// the filter and the protocol versions (httpUpstream); muxhttp1.go is
// version 1, a pool of HTTP/1.1 keep-alive connections.

func init() {
	spec := filters.Spec{
		Name: "muxHttp", Args: "target[, selector][, options]",
		Description: "Sends HTTP requests from different sessions over shared upstream connections and routes each response back to its request",
		Params: []filters.Param{
			{Name: "target", Type: "string", Help: "Name of the pipeline whose sessions are the upstream connections, taking and giving raw bytes (usually just connect())"},
			{Name: "selector", Type: "function", Help: "Callback giving the key of the connections a session shares, called once per session in its context; without it all sessions share one key"},
			{Name: "options", Type: "object", Help: "version: 1 (default) for a pool of HTTP/1.1 keep-alive connections, one request at a time each, or 2 for HTTP/2; " +
				"maxConnections: connections per key (default 100), further requests queue (up to 1000 per key, then they end with BufferOverflow); " +
				"idleTimeout: seconds or a duration string such as '10s' after which an unused connection is closed (default the mux idle timeout, 10 s)"},
		},
		Make: makeMuxHttp,
		Sub:  filters.FirstArg,
	}
	filters.Register(&spec)
	alias := spec
	alias.Name = "muxHTTP"
	alias.Description = "Alias of muxHttp (the later Pipy's spelling)"
	filters.Register(&alias)
}

// Defaults and limits of muxHttp.
const (
	// MuxHttpMaxConnections is the default of the maxConnections option:
	// the upstream connections muxHttp (version 1) opens per key.
	MuxHttpMaxConnections = 100
	// MuxHttpMaxQueue bounds the requests of one key waiting for a
	// connection; one more ends its session with BufferOverflow.
	MuxHttpMaxQueue = 1000
	// MuxHttpBufferSize is how much of a request body muxHttp (version 1)
	// holds before sending: a request complete within it goes out with a
	// Content-Length, a longer one streams with chunked transfer coding.
	// It also bounds what a session waiting for a connection (or for its
	// previous answer) buffers before its connection stops being read.
	MuxHttpBufferSize = 16 << 10
)

// muxHttpOptions are the options of one muxHttp() declaration.
type muxHttpOptions struct {
	version        int
	maxConnections int
	idleTimeout    time.Duration // with idleSet; else the Env's mux idle timeout
	idleSet        bool
}

// httpUpstream is where muxHttp sends the requests of one key: version 1's
// pool of HTTP/1.1 connections (h1Pool), version 2's HTTP/2 connection. It
// runs inside the loop.
type httpUpstream interface {
	// Exchange starts one request-response exchange for session s. The
	// returned sink takes the request: MessageStart, Data..., MessageEnd
	// (whose Tail may carry trailers), streamed as they come; a SessionEnd
	// given to it at any time means the requester gave up (the exchange is
	// abandoned: a half-sent request or half-read response costs its
	// connection or stream). answer gets the response: MessageStart,
	// Data..., MessageEnd, or at any point a SessionEnd with an error (the
	// spec's names: ConnectionRefused, CannotResolve, ReadError,
	// BufferOverflow...) when there is no complete answer; nothing follows
	// either end. An exchange that failed at once may call answer before
	// Exchange returns.
	Exchange(s *filters.Session, answer filters.Sink) filters.Sink
	// Retire is called when the program is retired: connections nobody
	// uses end now, the others once their exchanges are done.
	Retire()
}

// unframedExchange is implemented by an exchange whose request has no body
// framing: one that may open a tunnel (version 1's Upgrade and CONNECT
// requests). Its requester's end, with or without a MessageEnd before, is
// the end of the request rather than a request cut short.
type unframedExchange interface{ unframed() bool }

// httpUpstreamMaker makes the upstream of one key of t. The upstream calls
// drop when it holds nothing any more (no connection, nothing queued), so
// that the template forgets it; the next request of the key makes a new one.
type httpUpstreamMaker func(t *muxHttpTemplate, key string, drop func()) httpUpstream

// muxHttpVersion2 makes the upstreams of `version: 2` (HTTP/2), set by
// muxhttp2.go's init.
var muxHttpVersion2 httpUpstreamMaker

// makeMuxHttp builds the template of a muxHttp() call from its arguments.
func makeMuxHttp(a *filters.Args) (filters.Template, error) {
	if err := a.Require(1); err != nil {
		return nil, err
	}
	target, err := a.String(0)
	if err != nil {
		return nil, err
	}
	t := &muxHttpTemplate{target: target, module: a.Module, upstreams: map[string]httpUpstream{}}
	var opts *goja.Object
	switch {
	case a.IsFunc(1):
		t.selector, _ = a.Func(1)
		if opts, err = a.Object(2); err != nil {
			return nil, err
		}
	case !a.Has(1):
		if opts, err = a.Object(2); err != nil {
			return nil, err
		}
	default:
		o, ok := a.Get(1).(*goja.Object)
		if !ok || a.Len() > 2 {
			return nil, a.Errorf("argument #2 expects a function (the selector)")
		}
		opts = o
	}
	if t.opts, err = parseMuxHttpOptions(a, opts); err != nil {
		return nil, err
	}
	switch t.opts.version {
	case 1:
		t.make = newH1Pool
	case 2:
		t.make = muxHttpVersion2
	}
	return t, nil
}

// parseMuxHttpOptions reads and checks the options object (nil: defaults).
func parseMuxHttpOptions(a *filters.Args, o *goja.Object) (muxHttpOptions, error) {
	opts := muxHttpOptions{version: 1, maxConnections: MuxHttpMaxConnections}
	if o == nil {
		return opts, nil
	}
	for _, k := range o.Keys() {
		v := o.Get(k)
		if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
			continue
		}
		switch k {
		case "version":
			n, ok := integer(v)
			if !ok || n != 1 && n != 2 {
				return opts, a.Errorf("option version must be 1 or 2, got %s", v.String())
			}
			opts.version = int(n)
		case "maxConnections":
			n, ok := integer(v)
			if !ok || n < 1 || n > math.MaxInt32 {
				return opts, a.Errorf("option maxConnections expects a positive integer, got %s", v.String())
			}
			opts.maxConnections = int(n)
		case "idleTimeout":
			d, err := duration(v)
			if err != nil {
				return opts, a.Errorf("option idleTimeout: %v", err)
			}
			opts.idleTimeout, opts.idleSet = d, true
		default:
			return opts, a.Errorf("unknown option %q (known: version, maxConnections, idleTimeout)", k)
		}
	}
	return opts, nil
}

// integer reads a script number that is a whole number.
func integer(v goja.Value) (int64, bool) {
	switch x := v.Export().(type) {
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			return int64(x), true
		}
	}
	return 0, false
}

// duration reads a script duration: seconds as a number, or a string such
// as '10s' or '500ms'.
func duration(v goja.Value) (time.Duration, error) {
	switch x := v.Export().(type) {
	case string:
		return filters.ParseDuration(x)
	case int64:
		if x >= 0 && x < math.MaxInt64/int64(time.Second) {
			return time.Duration(x) * time.Second, nil
		}
	case float64:
		if x >= 0 && x*float64(time.Second) < math.MaxInt64 {
			return time.Duration(x * float64(time.Second)), nil
		}
	}
	return 0, fmt.Errorf("expects seconds or a duration string such as '10s', got %s", v.String())
}

// muxHttpTemplate owns the upstreams of one muxHttp() declaration, one per
// key.
type muxHttpTemplate struct {
	target    string
	module    *filters.Module
	selector  goja.Callable
	opts      muxHttpOptions
	make      httpUpstreamMaker
	upstreams map[string]httpUpstream
	retired   bool // the program was retired: idle connections end at once
}

// Retire implements filters.Retirer: connections nobody uses end now, the
// others once their exchange is done, instead of after an idle time.
func (t *muxHttpTemplate) Retire() {
	t.retired = true
	for _, u := range t.upstreams {
		u.Retire()
	}
}

// upstream returns the upstream of key, making it when there is none.
func (t *muxHttpTemplate) upstream(key string) httpUpstream {
	if u := t.upstreams[key]; u != nil {
		return u
	}
	var u httpUpstream
	u = t.make(t, key, func() {
		if t.upstreams[key] == u {
			delete(t.upstreams, key)
		}
	})
	t.upstreams[key] = u
	return u
}

// pipeline returns the target pipeline, nil when it does not exist.
func (t *muxHttpTemplate) pipeline() *filters.Pipeline { return t.module.Named[t.target] }

// idleTimeout returns how long an unused connection is kept.
func (t *muxHttpTemplate) idleTimeout(env *filters.Env) time.Duration {
	if t.opts.idleSet {
		return t.opts.idleTimeout
	}
	return env.MuxIdle()
}

// New implements filters.Template.
func (t *muxHttpTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &muxHttp{t: t, s: s, out: out}
}

// muxHttp is the filter of one session. Its requests are answered in
// order, one at a time: a request that starts while the previous answer is
// incomplete is held (with what follows it) until that answer is through.
type muxHttp struct {
	t      *muxHttpTemplate
	s      *filters.Session
	out    filters.Sink
	key    string
	keyed  bool
	req    filters.Sink   // the exchange taking the current request's events
	ex     filters.Sink   // the exchange whose answer is awaited
	answer *muxHttpAnswer // its answer sink
	held   []filters.Event
	heldN  int  // bytes of Data in held
	paused bool // this filter paused the reading of the session's connection
	h2     bool // the last request held came over HTTP/2
	ended  bool // input SessionEnd seen
	closed bool // SessionEnd output
}

// Input implements filters.Sink: requests in, one exchange each.
func (f *muxHttp) Input(evt filters.Event) {
	if f.closed {
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
				f.closed = true
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
	if e, ok := evt.(*filters.SessionEnd); ok && e.Err != filters.NoError {
		// The requester failed: whatever it sent is abandoned.
		f.abandon()
		f.close(e)
		return
	}
	if len(f.held) > 0 || evt.Kind() == filters.KindMessageStart && f.ex != nil {
		f.hold(evt)
		return
	}
	f.process(evt)
}

// process handles one input event in turn.
func (f *muxHttp) process(evt filters.Event) {
	switch e := evt.(type) {
	case *filters.MessageStart:
		if f.t.pipeline() == nil {
			f.closed = true
			f.s.Abort(fmt.Errorf("[muxHttp] unknown pipeline: %s", f.t.target))
			return
		}
		a := &muxHttpAnswer{f: f}
		f.answer = a
		ex := f.t.upstream(f.key).Exchange(f.s, a)
		if a.done {
			return // failed at once (answer delivered)
		}
		f.ex, f.req = ex, ex
		ex.Input(e)
	case *filters.Data:
		if f.req != nil {
			f.req.Input(e)
		} else {
			e.Release()
		}
	case *filters.MessageEnd:
		if r := f.req; r != nil {
			f.req = nil
			r.Input(e)
		}
	case *filters.SessionEnd:
		f.ended = true
		if u, ok := f.req.(unframedExchange); ok && u.unframed() {
			// A request without body framing (an Upgrade, a CONNECT)
			// ends with its stream: the tunnel's write side closes.
			r := f.req
			f.req = nil
			r.Input(filters.TheMessageEnd)
			f.maybeClose()
			return
		}
		if f.req != nil {
			// The stream ended inside a request: it can never be
			// complete, so it is not sent (or its connection is cut).
			f.abandon()
			f.close(&filters.SessionEnd{Err: filters.ReadError, Message: "request incomplete"})
			return
		}
		f.maybeClose()
	}
}

// hold keeps an event until the answer before it is through, pausing the
// session's connection when too much is held. (Requests one after another
// in one session come from an HTTP/1 connection, in order: the one it waits
// for is complete. A session of HTTP/2 requests is not paused this way,
// which would stop the connection's other streams.)
func (f *muxHttp) hold(evt filters.Event) {
	f.held = append(f.held, evt)
	switch e := evt.(type) {
	case *filters.MessageStart:
		f.h2 = isHTTP2(e.Head)
	case *filters.Data:
		f.heldN += e.Size()
		if f.heldN > MuxHttpBufferSize && !f.paused && !f.h2 {
			if ds := f.s.Downstream(); ds != nil {
				f.paused = true
				ds.PauseReading()
			}
		}
	}
}

// drain processes held events until a request has to wait again.
func (f *muxHttp) drain() {
	for len(f.held) > 0 && !f.closed {
		e := f.held[0]
		if e.Kind() == filters.KindMessageStart && f.ex != nil {
			break
		}
		f.held[0] = nil
		f.held = f.held[1:]
		if d, ok := e.(*filters.Data); ok {
			f.heldN -= d.Size()
		}
		f.process(e)
	}
	if f.heldN <= MuxHttpBufferSize {
		f.resume()
	}
}

// resume undoes this filter's pause of its connection's reading.
func (f *muxHttp) resume() {
	if f.paused {
		f.paused = false
		f.s.Downstream().ResumeReading()
	}
}

// abandon gives up the exchange in progress and what is held.
func (f *muxHttp) abandon() {
	ex := f.ex
	if ex == nil {
		ex = f.req
	}
	f.ex, f.req, f.answer = nil, nil, nil
	if ex != nil {
		ex.Input(filters.TheSessionEnd)
	}
	for _, e := range f.held {
		if d, ok := e.(*filters.Data); ok {
			d.Release()
		}
	}
	f.held, f.heldN = nil, 0
	f.resume()
}

// close outputs the session's SessionEnd.
func (f *muxHttp) close(e filters.Event) {
	if !f.closed {
		f.closed = true
		f.out.Input(e)
	}
}

// maybeClose ends the output once the input has ended and the last answer
// is through.
func (f *muxHttp) maybeClose() {
	if f.ended && f.ex == nil && f.req == nil && len(f.held) == 0 {
		f.close(filters.TheSessionEnd)
	}
}

// release runs when the session is over (it ended, or was killed because
// its client went away): an exchange still in progress is abandoned.
func (f *muxHttp) release() {
	f.closed = true
	f.abandon()
}

// muxHttpAnswer routes one exchange's answer to its session.
type muxHttpAnswer struct {
	f    *muxHttp
	done bool
}

// Input implements filters.Sink: the exchange's answer, passed on to the
// session's output while it is the one awaited.
func (a *muxHttpAnswer) Input(evt filters.Event) {
	f := a.f
	if a.done || f.answer != a || f.closed {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	switch evt.Kind() {
	case filters.KindMessageEnd:
		a.done = true
		f.ex, f.answer = nil, nil
		f.out.Input(evt)
		f.drain()
		f.maybeClose()
	case filters.KindSessionEnd:
		// No complete answer: the session ends with the exchange's error.
		a.done = true
		f.ex, f.answer = nil, nil
		f.abandon()
		f.close(evt)
	default:
		f.out.Input(evt)
	}
}

// isHead tells whether a request method is HEAD, whose answer has no body.
func isHead(method string) bool { return method == "HEAD" }

// hasHeaderToken reports whether header name of the head carries tok in its
// comma-separated value.
func hasHeaderToken(h httpHead, name, tok string) bool {
	found := false
	h.eachHeader(func(n, v string) {
		if !found && strings.EqualFold(n, name) && hasToken(v, tok) {
			found = true
		}
	})
	return found
}
