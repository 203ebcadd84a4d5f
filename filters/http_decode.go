package filters

import (
	"fmt"
	"strconv"
	"strings"
)

func init() {
	Register(&Spec{
		Name: "decodeHttpRequest", Description: "Deframes an HTTP request message",
		Make: func(a *Args) (Template, error) { return &httpDecoderTemplate{}, nil },
	})
	Register(&Spec{
		Name: "decodeHttpResponse", Description: "Deframes an HTTP response message",
		Make: func(a *Args) (Template, error) { return &httpDecoderTemplate{response: true}, nil },
	})
	Register(&Spec{
		Name: "decodeHttpBodilessResponse", Description: "Deframes an HTTP response message without a body (response to a HEAD request)",
		Make: func(a *Args) (Template, error) { return &httpDecoderTemplate{response: true, bodiless: true}, nil },
	})
}

type httpDecoderTemplate struct {
	response bool
	bodiless bool
}

func (t *httpDecoderTemplate) New(s *Session, out Sink) Sink {
	return &httpDecoder{t: t, s: s, out: out}
}

type decodeState uint8

const (
	stHead decodeState = iota
	stBody
	stChunkSize
	stChunkData
	stChunkCRLF
	stTrailer
	stUntilEnd
	stDead
)

// httpDecoder turns a byte stream into HTTP messages (RFC 9112 framing).
// Malformed input is a protocol error: a warning is logged, a listening
// connection gets 400 (431 for an oversized head, 501 for an unsupported
// transfer coding) and is closed, and the session ends.
type httpDecoder struct {
	t         *httpDecoderTemplate
	s         *Session
	out       Sink
	state     decodeState
	head      headParser
	line      []byte
	remaining int64
	keepAlive bool
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

func (f *httpDecoder) Input(evt Event) {
	switch e := evt.(type) {
	case *Data:
		if f.state == stDead {
			e.Release()
			return
		}
		if e.size == 0 {
			return
		}
		f.decode(e)
	case *SessionEnd:
		if f.state == stDead {
			return
		}
		state := f.state
		f.state = stDead
		if f.t.response {
			if state == stUntilEnd {
				f.out.Input(TheMessageEnd)
			} else if e.Err != NoError && state == stHead && len(f.head.buf) == 0 {
				f.syntheticResponse(e.Err)
				return
			}
		}
		f.out.Input(e)
	}
}

func (f *httpDecoder) decode(d *Data) {
	for d.size > 0 && f.state != stDead {
		switch f.state {
		case stHead:
			n, done := f.head.feed(d)
			d.ShiftTo(n)
			if !done {
				if len(f.head.buf) > MaxHeadSize {
					f.fail(431, "head too large")
				}
				return
			}
			if len(f.head.buf) > MaxHeadSize {
				f.fail(431, "head too large")
				return
			}
			f.parseHead()
		case stBody:
			if f.passBody(d) {
				f.endMessage()
			}
		case stUntilEnd:
			f.out.Input(d.Shift(d.size))
		case stChunkSize:
			if !readLine(d, &f.line) {
				if len(f.line) > 4096 {
					f.fail(400, "chunk size line too long")
				}
				return
			}
			size, ok := parseChunkSize(f.line)
			f.line = f.line[:0]
			if !ok {
				f.fail(400, "invalid chunk size")
				return
			}
			if size == 0 {
				f.state = stTrailer
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
			ok := len(f.line) == 0 || (len(f.line) == 1 && f.line[0] == '\r')
			f.line = f.line[:0]
			if !ok {
				f.fail(400, "invalid chunk")
				return
			}
			f.state = stChunkSize
		case stTrailer:
			if !readLine(d, &f.line) {
				if len(f.line) > MaxHeadSize {
					f.fail(431, "trailer too large")
				}
				return
			}
			empty := len(f.line) == 0 || (len(f.line) == 1 && f.line[0] == '\r')
			f.line = f.line[:0]
			if empty {
				f.endMessage()
			}
		}
	}
	if f.state == stDead {
		d.Release()
	}
}

// passBody outputs up to f.remaining bytes of d as body and reports whether
// the expected bytes are all through.
func (f *httpDecoder) passBody(d *Data) bool {
	take := min(int64(d.size), f.remaining)
	f.remaining -= take
	f.out.Input(d.Shift(int(take)))
	return f.remaining == 0
}

// readLine moves bytes of d up to and including the next LF into acc
// (without the LF) and reports whether a whole line was read.
func readLine(d *Data, acc *[]byte) bool {
	n := 0
	for _, c := range d.chunks {
		for i, b := range c.b {
			if b == '\n' {
				*acc = append(*acc, c.b[:i]...)
				d.ShiftTo(n + i + 1)
				return true
			}
		}
		*acc = append(*acc, c.b...)
		n += len(c.b)
	}
	d.ShiftTo(n)
	return false
}

func parseChunkSize(line []byte) (int64, bool) {
	s := strings.TrimRight(string(line), "\r")
	if i := strings.IndexByte(s, ';'); i >= 0 {
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
	raw := headString(f.head.buf)
	f.head.reset()
	lines := headLines{s: raw}
	first, _ := lines.next()
	var fr framing
	var start *MessageStart
	if f.t.response {
		h := &HTTPResponseHead{}
		h.Headers = h.inline[:0]
		proto, rest, _ := strings.Cut(first, " ")
		code, text, _ := strings.Cut(rest, " ")
		status, err := strconv.Atoi(code)
		if !validProtocol(proto) || err != nil || len(code) != 3 || !allDigits(code) || hasCTL(text) {
			f.fail(502, "invalid status line")
			return
		}
		h.Protocol, h.Status, h.StatusText = proto, status, text
		h.Headers = parseHeaders(&lines, h.Headers, &fr, false)
		start = &MessageStart{Head: h}
		if fr.bad != "" {
			f.fail(502, fr.bad)
			return
		}
		if fr.chunked && fr.contentLength >= 0 {
			f.fail(502, "both Content-Length and Transfer-Encoding")
			return
		}
		f.out.Input(start)
		switch {
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
	h.Method, h.Path, h.Protocol = method, target, proto
	h.Headers = parseHeaders(&lines, h.Headers, &fr, true)
	switch {
	case fr.bad == "unsupported Transfer-Encoding":
		f.fail(501, fr.bad)
		return
	case fr.bad != "":
		f.fail(400, fr.bad)
		return
	case fr.chunked && fr.contentLength >= 0:
		f.fail(400, "both Content-Length and Transfer-Encoding")
		return
	}
	switch {
	case fr.hasConnection:
		f.keepAlive = !hasToken(fr.connection, "close")
	case fr.hasKeepAlive:
		f.keepAlive = true
	default:
		f.keepAlive = !strings.EqualFold(proto, "HTTP/1.0")
	}
	rs.MessageStart.Head = h
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

func (f *httpDecoder) endMessage() {
	f.state = stHead
	if !f.t.response {
		f.s.Env().Loop.Counters.Requests.Add(1)
		if in := f.s.Context.Inbound; in != nil {
			in.Requests++
			in.LastKeepAlive = f.keepAlive
		}
	}
	f.out.Input(TheMessageEnd)
}

// fail handles a protocol error.
func (f *httpDecoder) fail(status int, reason string) {
	inHead := f.state == stHead
	f.state = stDead
	f.head.reset()
	f.s.Env().Log.Warn(fmt.Sprintf("[%s] protocol error: %s", f.name(), reason))
	if f.t.response {
		if inHead {
			f.syntheticResponse(ReadError)
		} else {
			f.out.Input(&SessionEnd{Err: ReadError, Message: reason})
		}
		return
	}
	if in := f.s.Context.Inbound; in != nil && in.Conn != nil && in.Responses == in.Requests {
		in.Conn.Write(NewDataString(fmt.Sprintf("HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", status, StatusText(status))))
		in.Conn.Close()
	}
	f.out.Input(&SessionEnd{Err: ReadError, Message: reason})
}

// syntheticResponse turns an upstream failure into a response the client
// can understand, then ends the session without error.
func (f *httpDecoder) syntheticResponse(err ErrorCode) {
	status, text := 500, "Internal Server Error"
	switch err {
	case CannotResolve:
		status, text = 503, "Cannot Resolve"
	case ConnectionRefused:
		status, text = 503, "Connection Refused"
	case Unauthorized:
		status, text = 401, "Unauthorized"
	case ReadError:
		status, text = 502, "Read Error"
	}
	h := &HTTPResponseHead{Status: status, StatusText: text}
	h.Headers = h.inline[:0]
	f.state = stDead
	f.out.Input(&MessageStart{Head: h})
	f.out.Input(TheMessageEnd)
	f.out.Input(TheSessionEnd)
}

type requestStart struct {
	MessageStart
	head HTTPRequestHead
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
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
