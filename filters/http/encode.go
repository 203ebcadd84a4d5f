package http

import (
	"github.com/pipy-go/pipy/filters"

	"strconv"
	"strings"

	"github.com/dop251/goja"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "encodeHttpRequest", Args: "[head]", Description: "Frames an HTTP request message",
		Params: []filters.Param{{Name: "head", Type: "object|function", Help: "Request head including protocol, method, path, headers"}},
		Make: func(a *filters.Args) (filters.Template, error) {
			return &httpEncoderTemplate{head: filters.NewLazy(a.Get(0))}, nil
		},
	})
	filters.Register(&filters.Spec{
		Name: "encodeHttpResponse", Args: "[head]", Description: "Frames an HTTP response message",
		Params: []filters.Param{{Name: "head", Type: "object|function", Help: "Response head including protocol, status, statusText, headers"}},
		Make: func(a *filters.Args) (filters.Template, error) {
			return &httpEncoderTemplate{head: filters.NewLazy(a.Get(0)), response: true}, nil
		},
	})
}

type httpEncoderTemplate struct {
	head     filters.Lazy
	response bool

	// pending is, for a request encoder, the clientState of the response
	// decoder just made for a session of its pipeline, for the encoder of
	// the same session to take (see httpDecoderTemplate.New).
	pending pairing
}

// New makes the encoder of session s. A response encoder registers with
// the HTTP state of its connection (its request decoder holds Upgrade and
// CONNECT requests only for an encoder to answer); a request encoder takes
// the clientState of the response decoder behind it in its pipeline.
func (t *httpEncoderTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	f := &httpEncoder{t: t, s: s, out: out}
	if m := s.Pipeline.Module; m != nil && m.Program != nil && m.Program.Env != nil {
		f.loop = m.Program.Env.Loop
	}
	if t.response {
		if ds := s.Downstream(); ds != nil {
			f.conn = connStateOf(ds)
			f.conn.encoders++
		}
	} else if p := t.pending; p.s == s {
		f.peer = p.c
		t.pending = pairing{}
	}
	return f
}

// httpEncoder frames whole messages as HTTP/1.1 with a Content-Length, or
// chunked when the message ends with trailers (a MessageEnd tail): the
// encoder collects the whole message, so it knows of the tail before it
// frames the body. Trailers are dropped when the message cannot carry
// them: a bodiless one, an HTTP/1.0 one (or the answer to an HTTP/1.0
// request), a tunnel.
//
// Tunnels. A response with status 101, or a 2xx answering a CONNECT that
// the request decoder of the connection holds open, has its head written
// at once, without framing headers (a 101 keeps Upgrade and Connection,
// "Connection: upgrade" when it has none), and its Data pass as they are;
// the session ends with the message (nothing follows a tunnel). A request
// with Upgrade and "Connection: upgrade", or a CONNECT, has its head
// written at once without framing (such a request has no body) and its
// Data passed as they are once the answer opened the tunnel (Data before,
// which a client must not send, are dropped: the upstream would read them
// as the next request); when the response decoder of the session says
// the answer opened the tunnel, the end of the message ends the session
// (the upstream connection is half-closed). Without a response decoder
// behind it in its pipeline, the encoder cannot know the answer: it passes
// Data as they come and the end of the message ends nothing. For these
// messages a head argument is evaluated at MessageStart instead of at
// MessageEnd.
type httpEncoder struct {
	t     *httpEncoderTemplate
	s     *filters.Session
	out   filters.Sink
	msg   filters.Collector
	ended bool
	loop  *filters.Loop // builds heads without allocating; nil: plain slices
	conn  *connState    // keep-alive bookkeeping of the connection (response encoders)
	peer  *clientState  // shared with the session's response decoder (request encoders)

	raw       bool // the current message is a tunnel: its head is out, its Data pass as they are
	head      any  // the head evaluated at MessageStart
	evaluated bool // head is set for the current message
	status    int  // the status of the message's own head, read at MessageStart
	hasStatus bool // status is set for the current message
}

// smallBody is the size up to which a body is copied next to the head, so
// a response goes out as one chunk.
const smallBody = 2048

func (f *httpEncoder) Input(evt filters.Event) {
	if f.ended {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	switch e := evt.(type) {
	case *filters.MessageStart:
		switch {
		case f.raw:
			// A tunnel is the last message.
		case f.t.response:
			f.startResponse(e)
		default:
			f.startRequest(e)
		}
	case *filters.Data:
		if f.raw {
			if p := f.peer; p != nil && !f.t.response && !p.open {
				// Before the answer opens the tunnel nothing may follow
				// the head: the upstream would read it as the next request.
				e.Release()
				return
			}
			f.out.Input(e)
			return
		}
		f.msg.AddOwned(e)
	case *filters.MessageEnd:
		if f.raw {
			f.endTunnel()
			return
		}
		if f.msg.Inside() {
			start, body := f.msg.Take()
			f.encode(start, body, e.Tail)
		}
	case *filters.SessionEnd:
		f.ended = true
		f.out.Input(e)
	}
}

// evalHead returns the head to encode a message with: the head argument
// when it gives one, else the message's own.
func (f *httpEncoder) evalHead(own any) (any, bool) {
	if !f.t.head.IsSet() {
		return own, true
	}
	v, err := f.t.head.Eval(f.s)
	if err != nil {
		f.s.Abort(err)
		return nil, false
	}
	if o := filters.HeadOf(v); o != nil {
		return v, true
	}
	return own, true
}

// startResponse begins a response. Most are collected until their end; an
// answer to a request the decoder holds open, or a 101, is looked at now:
// it may start a tunnel, and the decoder is told its status.
func (f *httpEncoder) startResponse(e *filters.MessageStart) {
	f.head, f.evaluated, f.hasStatus = nil, false, false
	n, kind := 0, noTunnel
	if c := f.conn; c != nil && len(c.waiters) > 0 {
		n = c.responses + 1
		kind = c.waitingFor(n)
	}
	if kind == noTunnel {
		if status := viewHead(e.Head).status(); status != 101 {
			f.msg.Begin(e)
			if !f.t.head.IsSet() {
				// Read once: encode needs it again.
				f.status, f.hasStatus = status, true
			}
			return
		}
	}
	head, ok := f.evalHead(e.Head)
	if !ok {
		return
	}
	status := viewHead(head).status()
	if status == 0 {
		status = 200
	}
	if status == 101 || kind.opens(status) {
		f.startResponseTunnel(e, viewHead(head), status)
	} else {
		f.msg.Begin(e)
		f.head, f.evaluated = head, true
	}
	if kind != noTunnel && !interim(status) {
		f.conn.answer(n, status)
	}
}

// interim reports whether status is an interim (1xx) response other than
// 101: it does not answer its request.
func interim(status int) bool { return status >= 100 && status < 200 && status != 101 }

// startResponseTunnel writes the head of a response that opens a tunnel.
func (f *httpEncoder) startResponseTunnel(e *filters.MessageStart, h httpHead, status int) {
	buf := f.scratch(0)
	buf = appendStatusLine(buf, h.protocol(), status, h.statusText())
	hasConnection := false
	h.eachHeader(func(name, value string) {
		switch {
		case strings.EqualFold(name, "keep-alive"), strings.EqualFold(name, "transfer-encoding"), strings.EqualFold(name, "content-length"):
			return
		case strings.EqualFold(name, "connection"):
			if status != 101 {
				return
			}
			hasConnection = true
		}
		buf = appendHeader(buf, name, value)
	})
	if status == 101 && !hasConnection {
		buf = append(buf, "Connection: upgrade\r\n"...)
	}
	buf = append(buf, "\r\n"...)
	if c := f.conn; c != nil {
		c.responses++
	}
	f.raw = true
	f.out.Input(e)
	f.out.Input(f.done(buf))
}

// startRequest begins a request. Most are collected until their end; one
// that may open a tunnel has its head written now.
func (f *httpEncoder) startRequest(e *filters.MessageStart) {
	f.head, f.evaluated = nil, false
	if requestTunnel(viewHead(e.Head)) == noTunnel {
		f.msg.Begin(e)
		return
	}
	head, ok := f.evalHead(e.Head)
	if !ok {
		return
	}
	h := viewHead(head)
	kind := requestTunnel(h)
	if kind == noTunnel {
		f.msg.Begin(e)
		f.head, f.evaluated = head, true
		return
	}
	buf := f.scratch(0)
	buf = appendRequestLine(buf, h.method(), h.path(), h.protocol())
	h.eachHeader(func(name, value string) {
		if strings.EqualFold(name, "content-length") || strings.EqualFold(name, "transfer-encoding") {
			return
		}
		buf = appendHeader(buf, name, value)
	})
	buf = append(buf, "\r\n"...)
	if p := f.peer; p != nil {
		p.sent++
		p.tunnelN, p.kind, p.open = p.sent, kind, false
	}
	f.raw = true
	f.out.Input(e)
	f.out.Input(f.done(buf))
}

// requestTunnel tells whether a request head asks for a tunnel: a CONNECT,
// or an Upgrade with "Connection: upgrade".
func requestTunnel(h httpHead) tunnelKind {
	if h.null {
		return noTunnel
	}
	if h.method() == "CONNECT" {
		return connectTunnel
	}
	if headerOf(h, "upgrade", "Upgrade") != "" && hasToken(headerOf(h, "connection", "Connection"), "upgrade") {
		return upgradeTunnel
	}
	return noTunnel
}

// headerOf returns the value of the header name (lower-case) of h, "" when
// it has none. Decoded heads hold lower-case names; a script's headers
// object is looked up by name and by its capitalised form.
func headerOf(h httpHead, name, capitalised string) string {
	var hs []HeaderField
	switch {
	case h.req != nil:
		hs = h.req.Headers
	case h.res != nil:
		hs = h.res.Headers
	case h.obj != nil:
		o, ok := h.obj.Get("headers").(*goja.Object)
		if !ok {
			return ""
		}
		for _, k := range [2]string{name, capitalised} {
			if v := o.Get(k); v != nil && !goja.IsNull(v) && !goja.IsUndefined(v) {
				return v.String()
			}
		}
		return ""
	}
	for _, x := range hs {
		if x.Name == name {
			return x.Value
		}
	}
	return ""
}

// endTunnel ends a tunnel message. A response tunnel ends the session; a
// request tunnel does when its answer opened it (else it was a plain
// request without a body).
func (f *httpEncoder) endTunnel() {
	f.raw = false
	f.out.Input(filters.TheMessageEnd)
	if f.t.response || f.peer != nil && f.peer.open {
		f.ended = true
		f.out.Input(filters.TheSessionEnd)
	}
}

// scratch returns an empty slice to build bytes in (see done).
func (f *httpEncoder) scratch(size int) []byte {
	if f.loop != nil {
		return f.loop.EncodeScratch()
	}
	return make([]byte, 0, 128+min(size, smallBody))
}

// done turns the bytes built in the scratch slice into Data. It must be
// called before anything goes downstream, where another encoder may take
// the scratch slice.
func (f *httpEncoder) done(buf []byte) *filters.Data {
	if f.loop != nil {
		return f.loop.EncodeDone(buf)
	}
	return filters.NewDataBytes(buf)
}

// appendStatusLine appends a status line; an empty proto is HTTP/1.1, an
// empty text the status's reason phrase.
// http1Protocol is the version an HTTP/1 encoder writes for a head of
// protocol p: HTTP/1.0 stays, anything else (none, or HTTP/2.0 from a head
// that came over HTTP/2) is HTTP/1.1.
func http1Protocol(p string) string {
	if p == "HTTP/1.0" {
		return p
	}
	return "HTTP/1.1"
}

func appendStatusLine(buf []byte, proto string, status int, text string) []byte {
	proto = http1Protocol(proto)
	if text == "" {
		text = StatusText(status)
	}
	buf = appendSafe(buf, proto)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, int64(status), 10)
	buf = append(buf, ' ')
	buf = appendSafe(buf, text)
	return append(buf, "\r\n"...)
}

// appendRequestLine appends a request line; the defaults are GET / HTTP/1.1.
func appendRequestLine(buf []byte, method, path, proto string) []byte {
	if method == "" {
		method = "GET"
	}
	if path == "" {
		path = "/"
	}
	proto = http1Protocol(proto)
	buf = appendSafe(buf, method)
	buf = append(buf, ' ')
	buf = appendSafe(buf, path)
	buf = append(buf, ' ')
	buf = appendSafe(buf, proto)
	return append(buf, "\r\n"...)
}

// hasTrailers reports whether a MessageEnd tail holds a field to write.
func hasTrailers(tail any) bool {
	found := false
	eachTrailer(tail, func(name, _ string) {
		if !droppedTrailers[name] {
			found = true
		}
	})
	return found
}

// appendTrailers appends the end of a chunked body: the CRLF closing its
// last chunk (when size > 0), the last chunk, the trailer fields and the
// final CRLF.
func appendTrailers(buf []byte, size int, tail any) []byte {
	if size > 0 {
		buf = append(buf, "\r\n"...)
	}
	buf = append(buf, "0\r\n"...)
	eachTrailer(tail, func(name, value string) {
		if !droppedTrailers[name] {
			buf = appendHeader(buf, name, value)
		}
	})
	return append(buf, "\r\n"...)
}

func (f *httpEncoder) encode(start *filters.MessageStart, body *filters.Data, tail any) {
	headVal := start.Head
	if f.evaluated {
		headVal = f.head
		f.head, f.evaluated = nil, false
	} else {
		var ok bool
		if headVal, ok = f.evalHead(headVal); !ok {
			body.Release()
			return
		}
	}
	h := viewHead(headVal)
	size := body.Size()
	buf := f.scratch(size)
	close := false
	bodiless := false
	canChunk := true // the message may be chunked (to carry trailers)
	if f.t.response {
		status := f.status
		if !f.hasStatus {
			status = h.status()
		}
		f.hasStatus = false
		if status == 0 {
			status = 200
		}
		bodiless = h.bodiless()
		proto := h.protocol()
		canChunk = proto != "HTTP/1.0" && status >= 200 && status != 204 && status != 304
		buf = appendStatusLine(buf, proto, status, h.statusText())
		h.eachHeader(func(name, value string) {
			// EqualFold, not ToLower: no allocation per header.
			switch {
			case strings.EqualFold(name, "connection"), strings.EqualFold(name, "keep-alive"), strings.EqualFold(name, "transfer-encoding"):
				return
			case strings.EqualFold(name, "content-length"):
				if !bodiless {
					return
				}
			}
			buf = appendHeader(buf, name, value)
		})
		keepAlive := true
		if c := f.conn; c != nil && !interim(status) {
			c.responses++
			if c.responses >= c.requests {
				keepAlive = c.lastKeepAlive
				canChunk = canChunk && !c.lastHTTP10
			}
		}
		close = !keepAlive
		if keepAlive {
			buf = append(buf, "Connection: keep-alive\r\n"...)
		} else {
			buf = append(buf, "Connection: close\r\n"...)
		}
	} else {
		proto := h.protocol()
		canChunk = proto != "HTTP/1.0"
		buf = appendRequestLine(buf, h.method(), h.path(), proto)
		h.eachHeader(func(name, value string) {
			if strings.EqualFold(name, "content-length") || strings.EqualFold(name, "transfer-encoding") {
				return
			}
			buf = appendHeader(buf, name, value)
		})
		if p := f.peer; p != nil {
			p.sent++
		}
	}
	chunked := !bodiless && canChunk && tail != nil && hasTrailers(tail)
	switch {
	case chunked:
		buf = append(buf, "Transfer-Encoding: chunked\r\n\r\n"...)
		if size > 0 {
			buf = strconv.AppendInt(buf, int64(size), 16)
			buf = append(buf, "\r\n"...)
		}
		if size <= smallBody {
			buf = body.AppendTo(buf)
			body.Release()
			body = nil
			buf = appendTrailers(buf, size, tail)
		}
	case bodiless:
		buf = append(buf, "\r\n"...)
	default:
		buf = append(buf, "Content-Length: "...)
		buf = strconv.AppendInt(buf, int64(size), 10)
		buf = append(buf, "\r\n\r\n"...)
		if size <= smallBody {
			buf = body.AppendTo(buf)
			body.Release()
			body = nil
		}
	}
	// Done with the scratch slice before anything goes downstream, where
	// another encoder may take it.
	head := f.done(buf)
	f.out.Input(start)
	f.out.Input(head)
	if body != nil {
		if bodiless {
			body.Release()
		} else {
			f.out.Input(body)
			if chunked {
				f.out.Input(filters.NewDataBytes(appendTrailers(nil, size, tail)))
			}
		}
	}
	f.out.Input(filters.TheMessageEnd)
	if close {
		f.ended = true
		f.out.Input(filters.TheSessionEnd)
	}
}

func appendHeader(buf []byte, name, value string) []byte {
	buf = appendSafe(buf, name)
	buf = append(buf, ": "...)
	buf = appendSafe(buf, value)
	return append(buf, "\r\n"...)
}

// appendSafe appends s with CR and LF replaced by spaces, so that no value
// given by a script can break the message framing.
func appendSafe(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		buf = append(buf, c)
	}
	return buf
}

var statusTexts = map[int]string{
	100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
	200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content",
	205: "Reset Content", 206: "Partial Content", 207: "Multi-Status", 208: "Already Reported", 226: "IM Used",
	300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
	305: "Use Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect",
	400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required", 408: "Request Timeout",
	409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed", 413: "Payload Too Large",
	414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable", 417: "Expectation Failed",
	421: "Misdirected Request", 422: "Unprocessable Entity", 423: "Locked", 424: "Failed Dependency",
	425: "Too Early", 426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
	430: "Unassigned", 431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
	504: "Gateway Timeout", 505: "HTTP Version Not Supported", 506: "Variant Also Negotiates",
	507: "Insufficient Storage", 508: "Loop Detected", 509: "Unassigned", 510: "Not Extended",
	511: "Network Authentication Required",
}

// StatusText returns the reason phrase of an HTTP status, "OK" when unknown.
func StatusText(status int) string {
	if t, ok := statusTexts[status]; ok {
		return t
	}
	return "OK"
}
