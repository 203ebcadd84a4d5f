// Package http holds the HTTP/1 codecs: decodeHttpRequest,
// decodeHttpResponse and decodeHttpBodilessResponse (RFC 9112 framing, with
// the listener's limits and strict request parsing) and encodeHttpRequest /
// encodeHttpResponse. A request decoder and a response encoder on the same
// connection share keep-alive bookkeeping through the connection's
// Downstream state; the decoder's own error answers go out through its
// session's output.
package http

import (
	"net"
	"sync"

	"github.com/pipy-go/pipy/filters"

	"bytes"
	"fmt"
	"strconv"
	"strings"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "decodeHttpRequest", Description: "Deframes an HTTP request message",
		Make: func(a *filters.Args) (filters.Template, error) { return &httpDecoderTemplate{}, nil },
	})
	filters.Register(&filters.Spec{
		Name: "decodeHttpResponse", Description: "Deframes an HTTP response message",
		Make: func(a *filters.Args) (filters.Template, error) { return &httpDecoderTemplate{response: true}, nil },
	})
	filters.Register(&filters.Spec{
		Name: "decodeHttpBodilessResponse", Description: "Deframes an HTTP response message without a body (response to a HEAD request)",
		Make: func(a *filters.Args) (filters.Template, error) {
			return &httpDecoderTemplate{response: true, bodiless: true}, nil
		},
	})
}

type httpDecoderTemplate struct {
	response bool
	bodiless bool

	findEnc sync.Once
	enc     *httpEncoderTemplate // response decoders: the request encoder in front, in the same pipeline
}

// New makes the decoder of session s. A response decoder hands its
// clientState to the request encoder in front of it in the same pipeline
// (encodeHttpRequest → connect → decodeHttpResponse): that encoder is made
// right after it for the same session and takes it (httpEncoderTemplate.New).
func (t *httpDecoderTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	f := &httpDecoder{t: t, s: s, out: out, maxHead: MaxHeadSize}
	if t.response {
		if enc := t.requestEncoder(s); enc != nil {
			enc.pending = pairing{s: s, c: &f.client}
		}
		return f
	}
	f.maxHead, f.maxFields = filters.DefaultMaxHeadSize, filters.DefaultMaxHeaders
	if ds := s.Downstream(); ds != nil {
		l := ds.Limits()
		if l.MaxHeadSize > 0 {
			f.maxHead = l.MaxHeadSize
		}
		if l.MaxHeaders > 0 {
			f.maxFields = l.MaxHeaders
		}
		f.conn = connStateOf(ds)
		// The first request decoder on the connection's stream times its
		// heads (readTimeout).
		f.timer = ds.ClaimHeadTimer(f)
	}
	return f
}

// requestEncoder finds the request encoder in front of this response
// decoder in the pipeline of s (nil: none, or another response decoder
// comes between them).
func (t *httpDecoderTemplate) requestEncoder(s *filters.Session) *httpEncoderTemplate {
	t.findEnc.Do(func() {
		fs := s.Pipeline.Filters
		for i := range fs {
			if fs[i].Template != filters.Template(t) {
				continue
			}
			for j := i - 1; j >= 0; j-- {
				switch x := fs[j].Template.(type) {
				case *httpEncoderTemplate:
					if !x.response {
						t.enc = x
						return
					}
				case *httpDecoderTemplate:
					return
				}
			}
			return
		}
	})
	return t.enc
}

type decodeState uint8

const (
	stHead decodeState = iota
	stBody
	stChunkSize
	stChunkData
	stChunkCRLF
	stTrailer
	stUntilEnd // responses: the body (or a tunnel) runs until the connection ends
	stAwait    // requests: an Upgrade or CONNECT is held open until its answer starts
	stTunnel   // requests: the answer opened a tunnel; every byte is body
	stDead
)

// httpDecoder turns a byte stream into HTTP messages (RFC 9112 framing).
// Malformed input is a protocol error: a warning is logged, a listening
// connection gets 400 (431 for an oversized head or too many fields, 414
// for an oversized request line, 501 for an unsupported transfer coding,
// 505 for an HTTP version other than 1.x) and is closed, and the session
// ends. Requests are parsed strictly (CRLF only, chunk extensions checked),
// responses leniently.
//
// Trailers of a chunked body end the message as MessageEnd{Tail:
// *Trailers} (the shared TheMessageEnd when there are none); they count
// against the head size limit, and framing and routing fields
// (content-length, transfer-encoding, host...) are dropped from them.
//
// Tunnels (RFC 9110 §7.8, §9.3.6). On a listening connection served by a
// response encoder, a bodiless HTTP/1.1 request with Upgrade and
// "Connection: upgrade", or a CONNECT, is output as its MessageStart (its
// head keeps "connection: upgrade", so it can be forwarded) and held open:
// bytes after it are held (up to the head size limit) until the encoder of
// the connection says how it is answered. An answer that opens the tunnel
// (101 to an Upgrade, 2xx to a CONNECT) makes the held bytes, and every
// later byte, Data of that same message, which ends when the client's
// side does; any other answer ends the message and the held bytes are
// parsed as the next request. When no answer has started within the
// listener's readTimeout (a script that waits for the whole request before
// answering it), the request is ended as a plain one.
//
// A response decoder turns a 101 answer, and a 2xx answer to a CONNECT that
// the request encoder of the same session sent, into MessageStart followed
// by every later byte as Data; the message ends when the upstream does.
type httpDecoder struct {
	t         *httpDecoderTemplate
	s         *filters.Session
	out       filters.Sink
	state     decodeState
	head      headParser
	line      []byte
	remaining int64 // body bytes to come; trailer bytes seen in stTrailer
	keepAlive bool

	maxHead   int               // bytes of a head (and of trailers)
	maxFields int               // header fields of a request head; 0: any
	timer     filters.HeadTimer // the connection's head timer, when this decoder owns it
	conn      *connState        // keep-alive bookkeeping of the connection; nil without one
	rl        lineCheck         // validation of a request line still arriving
	trailers  []HeaderField     // trailer fields of the current chunked message

	// Requests.
	count   int           // requests decoded
	counted bool          // the current request is counted already (held open)
	http10  bool          // the current request is HTTP/1.0
	tunnel  tunnelKind    // what the held request asks for (stAwait)
	waitN   int           // its number among the requests (count)
	held    *filters.Data // bytes after its head, until its answer starts

	// Responses.
	answers int         // final responses decoded
	client  clientState // shared with the request encoder of the session
}

// lineCheck validates the request line of an incomplete head as it
// arrives, so that garbage (a TLS ClientHello, another protocol) is refused
// at once instead of waiting for a head that never ends.
type lineCheck struct {
	pos   int   // next byte of head.buf to check
	phase uint8 // 0 method, 1 target, 2 version, 3 line complete
	vpos  int   // bytes of the version seen
}

// feed checks the bytes of buf from pos on and reports whether they can
// still start a valid request line.
func (c *lineCheck) feed(buf []byte) bool {
	for ; c.pos < len(buf) && c.phase < 3; c.pos++ {
		b := buf[c.pos]
		switch c.phase {
		case 0:
			if b == ' ' && c.pos > 0 {
				c.phase = 1
			} else if !tchar[b] {
				return false
			}
		case 1:
			if b == ' ' && buf[c.pos-1] != ' ' {
				c.phase = 2
			} else if b <= ' ' || b == 0x7f {
				return false
			}
		case 2:
			const v = "HTTP/#.#\r\n"
			switch want := v[c.vpos]; {
			case want == '#':
				if b < '0' || b > '9' {
					return false
				}
			case b != want:
				return false
			}
			if c.vpos++; c.vpos == len(v) {
				c.phase = 3
			}
		}
	}
	return true
}

func (f *httpDecoder) name() string {
	switch {
	case !f.t.response:
		return "decodeHttpRequest"
	case f.t.bodiless:
		return "decodeHttpBodilessResponse"
	}
	return "decodeHttpResponse"
}

func (f *httpDecoder) Input(evt filters.Event) {
	switch e := evt.(type) {
	case *filters.Data:
		if f.state == stDead {
			e.Release()
			return
		}
		if e.Size() == 0 {
			return
		}
		f.decode(e)
	case *filters.SessionEnd:
		if f.state == stDead {
			return
		}
		f.dropHeld()
		state := f.state
		f.state = stDead
		f.releaseTimer()
		if f.t.response {
			if state == stUntilEnd {
				f.out.Input(filters.TheMessageEnd)
			} else if e.Err != filters.NoError && state == stHead && len(f.head.buf) == 0 {
				f.syntheticResponse(e.Err)
				return
			}
		} else if state == stAwait || state == stTunnel {
			// The held request was complete; a tunnel ends with the
			// client's side.
			f.out.Input(filters.TheMessageEnd)
		}
		f.out.Input(e)
	}
}

func (f *httpDecoder) decode(d *filters.Data) {
	for d.Size() > 0 && f.state != stDead {
		switch f.state {
		case stHead:
			n, done := f.head.feed(d)
			d.ShiftTo(n)
			if !done {
				f.partialHead()
				return
			}
			if len(f.head.buf) > f.maxHead {
				f.tooLarge()
				return
			}
			if f.timer != nil {
				f.timer.Stop()
			}
			f.rl = lineCheck{}
			f.parseHead()
		case stBody:
			if f.passBody(d) {
				f.endMessage()
			}
		case stUntilEnd, stTunnel:
			f.out.Input(d.Shift(d.Size()))
		case stAwait:
			if f.held == nil {
				f.held = filters.NewData()
			}
			if f.held.Size()+d.Size() > f.maxHead {
				f.fail(400, "too many bytes before the answer to an upgrade or CONNECT")
				continue
			}
			f.held.Push(d)
			d.ShiftTo(d.Size())
		case stChunkSize:
			if !readLine(d, &f.line) {
				if len(f.line) > 4096 {
					f.fail(400, "chunk size line too long")
				}
				return
			}
			size, ok := parseChunkSize(f.line, !f.t.response)
			f.line = f.line[:0]
			if !ok {
				f.fail(400, "invalid chunk size")
				return
			}
			if size == 0 {
				f.state, f.remaining = stTrailer, 0
			} else {
				f.remaining = size
				f.state = stChunkData
			}
		case stChunkData:
			if f.passBody(d) {
				f.state = stChunkCRLF
			}
		case stChunkCRLF:
			if !readLine(d, &f.line) {
				if len(f.line) > 2 {
					f.fail(400, "invalid chunk")
				}
				return
			}
			ok := len(f.line) == 1 && f.line[0] == '\r' || len(f.line) == 0 && f.t.response
			f.line = f.line[:0]
			if !ok {
				f.fail(400, "invalid chunk")
				return
			}
			f.state = stChunkSize
		case stTrailer:
			before := len(f.line)
			complete := readLine(d, &f.line)
			f.remaining += int64(len(f.line) - before + 1)
			if f.remaining > int64(f.maxHead) {
				f.fail(431, "trailer too large")
				return
			}
			if !complete {
				return
			}
			line := f.line
			f.line = f.line[:0]
			strict := !f.t.response
			if strict {
				// Trailer fields must be well-formed lines ending with
				// CRLF.
				if n := len(line); n == 0 || line[n-1] != '\r' {
					f.fail(400, "bare LF in chunked body")
					return
				}
				line = line[:len(line)-1]
				if len(line) > 0 && !validFieldLine(line) {
					f.fail(400, "invalid trailer field")
					return
				}
			} else if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if len(line) == 0 {
				f.endMessage()
			} else {
				f.addTrailer(line, strict)
			}
		}
	}
	if f.state == stDead {
		d.Release()
	}
}

// passBody outputs up to f.remaining bytes of d as body and reports whether
// the expected bytes are all through.
func (f *httpDecoder) passBody(d *filters.Data) bool {
	take := min(int64(d.Size()), f.remaining)
	f.remaining -= take
	f.out.Input(d.Shift(int(take)))
	return f.remaining == 0
}

// readLine moves bytes of d up to and including the next LF into acc
// (without the LF) and reports whether a whole line was read.
func readLine(d *filters.Data, acc *[]byte) bool {
	n := 0
	for ci := range d.NumChunks() {
		cb := d.Chunk(ci)
		for i, b := range cb {
			if b == '\n' {
				*acc = append(*acc, cb[:i]...)
				d.ShiftTo(n + i + 1)
				return true
			}
		}
		*acc = append(*acc, cb...)
		n += len(cb)
	}
	d.ShiftTo(n)
	return false
}

// parseChunkSize reads a chunk-size line (without its LF). strict (for
// requests) requires the CR and well-formed extensions.
func parseChunkSize(line []byte, strict bool) (int64, bool) {
	s := string(line)
	if strict {
		if len(s) == 0 || s[len(s)-1] != '\r' {
			return 0, false
		}
		s = s[:len(s)-1]
	} else {
		s = strings.TrimRight(s, "\r")
	}
	if i := strings.IndexByte(s, ';'); i >= 0 {
		if strict && !validChunkExt(s[i:]) {
			return 0, false
		}
		s = s[:i]
	}
	s = strings.TrimRight(s, " \t")
	if s == "" || len(s) > 15 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 16, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func (f *httpDecoder) parseHead() {
	raw, bareLF := headString(f.head.buf)
	f.head.reset()
	lines := headLines{s: raw}
	first, _ := lines.next()
	var fr framing
	var start *filters.MessageStart
	if f.t.response {
		h := &ResponseHead{}
		h.Headers = h.inline[:0]
		proto, rest, _ := strings.Cut(first, " ")
		code, text, _ := strings.Cut(rest, " ")
		status, err := strconv.Atoi(code)
		if !validProtocol(proto) || err != nil || len(code) != 3 || !allDigits(code) || hasCTL(text) {
			f.fail(502, "invalid status line")
			return
		}
		h.Protocol, h.Status, h.StatusText = proto, status, text
		h.Headers = parseHeaders(&lines, h.Headers, &fr, false, 0)
		start = &filters.MessageStart{Head: h}
		if fr.bad != "" {
			f.fail(502, fr.bad)
			return
		}
		if _, reason := fr.checkTE(false); reason != "" {
			f.fail(502, reason)
			return
		}
		// A 101 switches protocols: what follows is the new protocol's,
		// until the connection ends. So is what follows a 2xx answer to
		// the CONNECT our request encoder sent.
		tunnel := status == 101
		if status >= 200 || tunnel {
			f.answers++
			if c := &f.client; c.tunnelN != 0 && c.tunnelN == f.answers {
				tunnel = tunnel || c.kind.opens(status)
				c.open, c.tunnelN = tunnel, 0
			}
		}
		f.out.Input(start)
		switch {
		case tunnel:
			f.state = stUntilEnd
		case f.t.bodiless || status < 200 || status == 204 || status == 304:
			f.endMessage()
		case fr.chunked:
			f.state = stChunkSize
		case fr.contentLength > 0:
			f.remaining, f.state = fr.contentLength, stBody
		case fr.contentLength == 0:
			f.endMessage()
		default:
			f.state = stUntilEnd
		}
		return
	}
	// One allocation holds both the event and the head.
	rs := &requestStart{}
	h := &rs.head
	h.Headers = h.inline[:0]
	method, rest, ok1 := strings.Cut(first, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !isToken(method) || target == "" || strings.IndexByte(target, ' ') >= 0 || hasCTL(target) || !validProtocol(proto) {
		f.fail(400, "invalid request line")
		return
	}
	if proto[5] != '1' {
		f.fail(505, "unsupported HTTP version "+proto)
		return
	}
	if !validTarget(method, target) {
		f.fail(400, "invalid request target")
		return
	}
	h.Method, h.Path, h.Protocol = method, target, proto
	h.Headers = parseHeaders(&lines, h.Headers, &fr, true, f.maxFields)
	if fr.bad == "" && bareLF {
		fr.setBad(400, "bare LF in head")
	}
	if fr.bad != "" {
		f.fail(fr.status, fr.bad)
		return
	}
	if status, reason := fr.checkTE(proto[7] == '0'); reason != "" {
		f.fail(status, reason)
		return
	}
	if method == "CONNECT" && (fr.chunked || fr.contentLength > 0) {
		// RFC 9110 §9.3.6: a CONNECT has no content; what follows its
		// head is tunnel data. Framed as a body it would be read
		// differently by the next hop.
		f.fail(400, "CONNECT with content")
		return
	}
	f.http10 = proto[7] == '0'
	switch {
	case fr.hasConnection:
		f.keepAlive = !hasToken(fr.connection, "close")
	case fr.hasKeepAlive:
		f.keepAlive = true
	default:
		f.keepAlive = !f.http10
	}
	rs.MessageStart.Head = h
	if k := f.tunnelOf(method, &fr, h); k != noTunnel {
		// Held open (before it goes out: the answer may start at once).
		f.hold(k, h)
		f.out.Input(&rs.MessageStart)
		return
	}
	f.out.Input(&rs.MessageStart)
	switch {
	case fr.chunked:
		f.state = stChunkSize
	case fr.contentLength > 0:
		f.remaining, f.state = fr.contentLength, stBody
	default:
		f.endMessage()
	}
}

// hasToken reports whether the comma-separated list v holds tok (any case).
func hasToken(v, tok string) bool {
	for v != "" {
		var t string
		t, v, _ = strings.Cut(v, ",")
		if strings.EqualFold(trimOWS(t), tok) {
			return true
		}
	}
	return false
}

// tunnelOf tells whether a request just parsed may open a tunnel: a
// bodiless CONNECT, or a bodiless HTTP/1.1 request with Upgrade and
// "Connection: upgrade" (RFC 9110 §7.8: an HTTP/1.0 Upgrade is ignored).
// Only a decoder on a connection served by a response encoder holds one,
// since only that encoder tells it the answer.
func (f *httpDecoder) tunnelOf(method string, fr *framing, h *RequestHead) tunnelKind {
	if f.conn == nil || f.conn.encoders == 0 || fr.chunked || fr.contentLength > 0 {
		return noTunnel
	}
	if method == "CONNECT" {
		return connectTunnel
	}
	if f.http10 || !fr.hasConnection || !hasToken(fr.connection, "upgrade") {
		return noTunnel
	}
	for _, x := range h.Headers {
		// h2c is not served by upgrade (RFC 9113 §3.1 deprecates it;
		// demuxHttp takes h2c by prior knowledge): such a request is a
		// plain one, answered at once in HTTP/1.1.
		if x.Name == "upgrade" && x.Value != "" && !hasToken(x.Value, "h2c") {
			return upgradeTunnel
		}
	}
	return noTunnel
}

// hold keeps the request just parsed open until its answer starts (see
// answered). An Upgrade request's head keeps "connection: upgrade" (the
// decoder consumes Connection otherwise), so that a proxy passes it on.
func (f *httpDecoder) hold(k tunnelKind, h *RequestHead) {
	f.countRequest()
	f.counted = true
	f.tunnel, f.waitN, f.state = k, f.count, stAwait
	f.conn.waiters = append(f.conn.waiters, f)
	if k == upgradeTunnel {
		h.Headers = setHeader(h.Headers, "connection", "upgrade")
	}
	if f.timer != nil {
		// How long a script may take to start its answer.
		f.timer.Start()
	}
}

// answered is told by the response encoder of the connection that the
// answer to the held request has started with status: either the tunnel
// opens (the held bytes are the first of its Data) or the request ends and
// the held bytes are parsed as what follows it.
func (f *httpDecoder) answered(status int) {
	if f.state != stAwait {
		return
	}
	held := f.held
	f.held = nil
	if f.s.Aborted() || f.s.Done() {
		// Its session is gone (a script error): nobody takes the rest.
		f.state = stDead
		f.releaseTimer()
		if held != nil {
			held.Release()
		}
		return
	}
	if f.tunnel.opens(status) {
		f.state = stTunnel
		f.releaseTimer() // no more heads on this connection
		if held != nil && held.Size() > 0 {
			f.out.Input(held)
		}
		return
	}
	if f.timer != nil {
		f.timer.Stop()
	}
	f.endMessage()
	if held != nil {
		f.decode(held)
	}
}

// dropHeld forgets the request held open, if any, and the bytes held
// after it.
func (f *httpDecoder) dropHeld() {
	if f.state == stAwait {
		f.conn.removeWaiter(f)
	}
	if f.held != nil {
		f.held.Release()
		f.held = nil
	}
}

// countRequest counts a request of the connection (once it is complete,
// or when it is held open).
func (f *httpDecoder) countRequest() {
	f.count++
	f.s.Env().Loop.Counters.Requests.Add(1)
	if c := f.conn; c != nil {
		c.requests++
		c.lastKeepAlive = f.keepAlive
		c.lastHTTP10 = f.http10
	}
}

func (f *httpDecoder) endMessage() {
	f.state = stHead
	if !f.t.response && !f.counted {
		f.countRequest()
	}
	f.counted = false
	if len(f.trailers) == 0 {
		f.out.Input(filters.TheMessageEnd)
		return
	}
	tail := &Trailers{Fields: f.trailers}
	f.trailers = nil
	f.out.Input(&filters.MessageEnd{Tail: tail})
}

// droppedTrailers are the fields a trailer section must not carry or that
// only make sense for one hop: framing, routing and connection options
// (RFC 9110 §6.5.1). They are dropped rather than passed on.
var droppedTrailers = map[string]bool{
	"content-length": true, "transfer-encoding": true, "host": true, "trailer": true,
	"connection": true, "keep-alive": true, "proxy-connection": true, "te": true, "upgrade": true,
}

// addTrailer adds a trailer field line (without its line end) of the
// current message. A request's lines were validated (strict); a response's
// malformed lines are skipped.
func (f *httpDecoder) addTrailer(line []byte, strict bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return
	}
	name := strings.ToLower(string(line[:colon]))
	value := trimOWS(string(line[colon+1:]))
	if !strict && (!isToken(name) || hasCTL(value)) {
		return
	}
	if droppedTrailers[name] {
		return
	}
	if strict && f.maxFields > 0 && len(f.trailers) >= f.maxFields {
		f.fail(431, "too many trailer fields")
		return
	}
	f.trailers = setHeader(f.trailers, name, value)
}

// partialHead checks a head that is still arriving: its request line so
// far, its size, and starts the head timer.
func (f *httpDecoder) partialHead() {
	if !f.t.response && !f.rl.feed(f.head.buf) {
		f.fail(400, "invalid request line")
		return
	}
	if len(f.head.buf) > f.maxHead {
		f.tooLarge()
		return
	}
	if f.timer != nil {
		f.timer.Start()
	}
}

// tooLarge refuses a head over maxHead: 414 when the request line alone is
// too long, else 431.
func (f *httpDecoder) tooLarge() {
	if i := bytes.IndexByte(f.head.buf, '\n'); !f.t.response && (i < 0 || i >= f.maxHead) {
		f.fail(414, "request line too long")
	} else {
		f.fail(431, "head too large")
	}
}

// HeadTimeout implements HeadTimeoutHandler: the connection's head
// deadline passed.
func (f *httpDecoder) HeadTimeout() bool {
	if f.state == stDead || f.s.Done() || f.s.Aborted() {
		f.releaseTimer() // our session is over: not ours to judge
		return false
	}
	if f.state == stAwait {
		// No answer to the held Upgrade or CONNECT has started: end it as
		// a plain request, so that a script waiting for a whole request
		// can answer it.
		f.conn.removeWaiter(f)
		f.answered(0)
		if f.timer != nil {
			f.timer.Restart()
		}
		return false
	}
	if f.conn.pending() {
		// A response is pending: the client is not to blame.
		f.timer.Restart()
		return false
	}
	if f.state == stHead && len(f.head.buf) > 0 {
		if in := f.s.Context.Inbound; in != nil && f.s.Env().Log.IsDebug() {
			f.s.Env().Log.Debug("["+f.name()+"] request head timeout", "client", net.JoinHostPort(in.RemoteAddr, strconv.Itoa(in.RemotePort)))
		}
		f.s.Output(errorAnswer(408))
	}
	return true
}

// releaseTimer gives the connection's head timer up.
func (f *httpDecoder) releaseTimer() {
	if f.timer != nil {
		f.timer.Release()
		f.timer = nil
	}
}

// errorAnswer is the response a request decoder gives by itself when it
// refuses a request.
func errorAnswer(status int) *filters.Data {
	return filters.NewDataString(fmt.Sprintf("HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", status, StatusText(status)))
}

// fail handles a protocol error.
func (f *httpDecoder) fail(status int, reason string) {
	inHead := f.state == stHead
	open := f.state == stAwait || f.state == stTunnel
	f.dropHeld()
	f.state = stDead
	f.head.reset()
	f.releaseTimer()
	f.s.Env().Log.Warn("["+f.name()+"] protocol error", "reason", reason)
	if f.t.response {
		if inHead {
			f.syntheticResponse(filters.ReadError)
		} else {
			f.out.Input(&filters.SessionEnd{Err: filters.ReadError, Message: reason})
		}
		return
	}
	if f.conn != nil && !f.conn.pending() {
		// The answer takes the pipeline's own way out, after every
		// response already given.
		f.s.Output(errorAnswer(status))
		f.s.Downstream().CloseLingering()
	}
	if open {
		// The request held open was complete: let its answer finish.
		f.out.Input(filters.TheMessageEnd)
	}
	f.out.Input(&filters.SessionEnd{Err: filters.ReadError, Message: reason})
}

// syntheticResponse turns an upstream failure into a response the client
// can understand, then ends the session without error.
func (f *httpDecoder) syntheticResponse(err filters.ErrorCode) {
	status, text := 500, "Internal Server Error"
	switch err {
	case filters.CannotResolve:
		status, text = 503, "Cannot Resolve"
	case filters.ConnectionRefused:
		status, text = 503, "Connection Refused"
	case filters.Unauthorized:
		status, text = 401, "Unauthorized"
	case filters.ReadError:
		status, text = 502, "Read Error"
	}
	h := &ResponseHead{Status: status, StatusText: text}
	h.Headers = h.inline[:0]
	f.state = stDead
	f.out.Input(&filters.MessageStart{Head: h})
	f.out.Input(filters.TheMessageEnd)
	f.out.Input(filters.TheSessionEnd)
}

type requestStart struct {
	filters.MessageStart
	head RequestHead
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// validFieldLine checks a field line: token ":" value without controls.
func validFieldLine(line []byte) bool {
	colon := -1
	for i, c := range line {
		if c == ':' {
			colon = i
			break
		}
		if !tchar[c] {
			return false
		}
	}
	if colon <= 0 {
		return false
	}
	for _, c := range line[colon+1:] {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// hasCTL reports whether s holds a control character other than HTAB.
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return true
		}
	}
	return false
}
