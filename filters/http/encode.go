package http

import (
	"github.com/pipy-go/pipy/filters"

	"strconv"
	"strings"
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
}

func (t *httpEncoderTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	f := &httpEncoder{t: t, s: s, out: out}
	if m := s.Pipeline.Module; m != nil && m.Program != nil && m.Program.Env != nil {
		f.loop = m.Program.Env.Loop
	}
	if ds := s.Downstream(); ds != nil && t.response {
		f.conn = connStateOf(ds)
	}
	return f
}

// httpEncoder frames whole messages as HTTP/1.1 with a Content-Length.
type httpEncoder struct {
	t     *httpEncoderTemplate
	s     *filters.Session
	out   filters.Sink
	msg   filters.Collector
	ended bool
	loop  *filters.Loop // builds heads without allocating; nil: plain slices
	conn  *connState    // keep-alive bookkeeping of the connection (response encoders)
}

// smallBody is the size up to which a body is copied next to the head, so
// a response goes out as one chunk.
const smallBody = 2048

func (f *httpEncoder) Input(evt filters.Event) {
	if f.ended {
		return
	}
	switch e := evt.(type) {
	case *filters.MessageStart:
		f.msg.Begin(e)
	case *filters.Data:
		f.msg.AddOwned(e)
	case *filters.MessageEnd:
		if f.msg.Inside() {
			f.encode(f.msg.Take())
		}
	case *filters.SessionEnd:
		f.ended = true
		f.out.Input(e)
	}
}

func (f *httpEncoder) encode(start *filters.MessageStart, body *filters.Data) {
	headVal := start.Head
	if f.t.head.IsSet() {
		v, err := f.t.head.Eval(f.s)
		if err != nil {
			f.s.Abort(err)
			return
		}
		if o := filters.HeadOf(v); o != nil {
			headVal = v
		}
	}
	h := viewHead(headVal)
	size := body.Size()
	var buf []byte
	if f.loop != nil {
		buf = f.loop.EncodeScratch()
	} else {
		buf = make([]byte, 0, 128+min(size, smallBody))
	}
	close := false
	bodiless := false
	if f.t.response {
		proto := h.protocol()
		if proto == "" {
			proto = "HTTP/1.1"
		}
		status := h.status()
		if status == 0 {
			status = 200
		}
		text := h.statusText()
		if text == "" {
			text = StatusText(status)
		}
		bodiless = h.bodiless()
		buf = appendSafe(buf, proto)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(status), 10)
		buf = append(buf, ' ')
		buf = appendSafe(buf, text)
		buf = append(buf, "\r\n"...)
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
		if c := f.conn; c != nil {
			c.responses++
			if c.responses >= c.requests {
				keepAlive = c.lastKeepAlive
			}
		}
		close = !keepAlive
		if keepAlive {
			buf = append(buf, "Connection: keep-alive\r\n"...)
		} else {
			buf = append(buf, "Connection: close\r\n"...)
		}
	} else {
		method, path, proto := h.method(), h.path(), h.protocol()
		if method == "" {
			method = "GET"
		}
		if path == "" {
			path = "/"
		}
		if proto == "" {
			proto = "HTTP/1.1"
		}
		buf = appendSafe(buf, method)
		buf = append(buf, ' ')
		buf = appendSafe(buf, path)
		buf = append(buf, ' ')
		buf = appendSafe(buf, proto)
		buf = append(buf, "\r\n"...)
		h.eachHeader(func(name, value string) {
			if strings.EqualFold(name, "content-length") || strings.EqualFold(name, "transfer-encoding") {
				return
			}
			buf = appendHeader(buf, name, value)
		})
	}
	if !bodiless {
		buf = append(buf, "Content-Length: "...)
		buf = strconv.AppendInt(buf, int64(size), 10)
		buf = append(buf, "\r\n"...)
	}
	buf = append(buf, "\r\n"...)
	if !bodiless && size <= smallBody {
		buf = body.AppendTo(buf)
		body.Release()
		body = nil
	}
	// Done with the scratch slice before anything goes downstream, where
	// another encoder may take it.
	var head *filters.Data
	if f.loop != nil {
		head = f.loop.EncodeDone(buf)
	} else {
		head = filters.NewDataBytes(buf)
	}
	f.out.Input(start)
	f.out.Input(head)
	if body != nil {
		if bodiless {
			body.Release()
		} else {
			f.out.Input(body)
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
