package filters

import (
	"strconv"
	"unsafe"

	"github.com/dop251/goja"
)

// HeaderField is one HTTP header; Name is lower-cased.
type HeaderField struct {
	Name, Value string
}

// HTTPRequestHead is a decoded request head. It stays in Go form until a
// script reads it (ToObject).
type HTTPRequestHead struct {
	Method, Path, Protocol string
	Headers                []HeaderField
	inline                 [12]HeaderField
}

// HTTPResponseHead is a decoded response head.
type HTTPResponseHead struct {
	Protocol   string
	Status     int
	StatusText string
	Headers    []HeaderField
	inline     [12]HeaderField
}

// ToObject implements Head: { method, path, protocol, headers }.
func (h *HTTPRequestHead) ToObject(rt *goja.Runtime) *goja.Object {
	o := rt.NewObject()
	o.Set("method", h.Method)
	o.Set("path", h.Path)
	o.Set("protocol", h.Protocol)
	o.Set("headers", headersObject(rt, h.Headers))
	return o
}

// ToObject implements Head: { protocol, status, statusText, headers }.
func (h *HTTPResponseHead) ToObject(rt *goja.Runtime) *goja.Object {
	o := rt.NewObject()
	o.Set("protocol", h.Protocol)
	o.Set("status", h.Status)
	o.Set("statusText", h.StatusText)
	o.Set("headers", headersObject(rt, h.Headers))
	return o
}

func headersObject(rt *goja.Runtime, hs []HeaderField) *goja.Object {
	o := rt.NewObject()
	for _, f := range hs {
		o.Set(f.Name, f.Value)
	}
	return o
}

// setHeader adds a header; a repeated name replaces the earlier value in
// place (the last one wins, keeping the first position).
func setHeader(hs []HeaderField, name, value string) []HeaderField {
	for i := range hs {
		if hs[i].Name == name {
			hs[i].Value = value
			return hs
		}
	}
	return append(hs, HeaderField{name, value})
}

// headParser collects a message head across Data events and finds its end.
type headParser struct {
	buf  []byte
	scan int // where to resume looking for the end of the head
}

// MaxHeadSize bounds a message head.
const MaxHeadSize = 64 * 1024

// feed appends the bytes of d up to the end of the head. It returns the
// number of bytes of d consumed and whether the head is complete.
func (p *headParser) feed(d *Data) (n int, done bool) {
	for _, c := range d.chunks {
		b := c.b
		start := len(p.buf)
		// Skip empty lines before a head (RFC 9112 §2.2 allows them).
		if start == 0 {
			k := 0
			for k < len(b) && (b[k] == '\r' || b[k] == '\n') {
				k++
			}
			n += k
			b = b[k:]
		}
		p.buf = append(p.buf, b...)
		for i := max(p.scan, 1); i < len(p.buf); i++ {
			if p.buf[i] != '\n' {
				continue
			}
			// "\n\n" or "\n\r\n"
			if p.buf[i-1] == '\n' || (p.buf[i-1] == '\r' && i >= 2 && p.buf[i-2] == '\n') {
				used := i + 1 - start
				p.buf = p.buf[:i+1]
				p.scan = 0
				return n + used, true
			}
		}
		p.scan = len(p.buf)
		n += len(b)
	}
	return n, false
}

func (p *headParser) reset() {
	if cap(p.buf) > 4096 {
		p.buf = nil
	} else {
		p.buf = p.buf[:0]
	}
	p.scan = 0
}

// headLines splits a complete head into its lines without CR.
type headLines struct {
	s   string
	pos int
}

func (l *headLines) next() (string, bool) {
	if l.pos >= len(l.s) {
		return "", false
	}
	i := l.pos
	for i < len(l.s) && l.s[i] != '\n' {
		i++
	}
	line := l.s[l.pos:i]
	l.pos = i + 1
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, true
}

// headString copies the head bytes, lower-casing header names in place, into
// one string that every field of the decoded head points into.
func headString(b []byte) string {
	c := make([]byte, len(b))
	copy(c, b)
	// lower-case header names: from each line start after the first up to ':'
	line := 0
	for i := 0; i < len(c); i++ {
		if c[i] == '\n' {
			line++
			continue
		}
		if line > 0 && (i == 0 || c[i-1] == '\n') {
			for j := i; j < len(c) && c[j] != ':' && c[j] != '\n'; j++ {
				if 'A' <= c[j] && c[j] <= 'Z' {
					c[j] += 'a' - 'A'
				}
			}
		}
	}
	return unsafe.String(unsafe.SliceData(c), len(c))
}

var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return true
}

func validProtocol(p string) bool {
	return len(p) == 8 && p[:5] == "HTTP/" && p[5] >= '0' && p[5] <= '9' && p[6] == '.' && p[7] >= '0' && p[7] <= '9'
}

// framing is what the codec takes from the headers it consumes.
type framing struct {
	contentLength int64 // -1: none
	chunked       bool
	connection    string
	hasConnection bool
	hasKeepAlive  bool
	bad           string // why the head is malformed, if it is
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// parseHeaders reads header lines, storing all but the consumed ones.
// consumeConn says whether connection and keep-alive are consumed too (the
// request decoder does, the response decoder does not).
func parseHeaders(lines *headLines, hs []HeaderField, fr *framing, consumeConn bool) []HeaderField {
	fr.contentLength = -1
	for {
		line, ok := lines.next()
		if !ok || line == "" {
			return hs
		}
		colon := -1
		for i := 0; i < len(line); i++ {
			if line[i] == ':' {
				colon = i
				break
			}
		}
		if colon <= 0 {
			if line[0] == ' ' || line[0] == '\t' {
				fr.bad = "obsolete line folding"
			} else {
				fr.bad = "invalid header line"
			}
			continue
		}
		name := line[:colon]
		if !isToken(name) {
			fr.bad = "invalid header name"
			continue
		}
		value := trimOWS(line[colon+1:])
		if hasCTL(value) {
			fr.bad = "control character in header value"
			continue
		}
		switch name {
		case "content-length":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 || !allDigits(value) {
				fr.bad = "invalid Content-Length"
			} else if fr.contentLength >= 0 && fr.contentLength != n {
				fr.bad = "conflicting Content-Length"
			}
			fr.contentLength = n
			continue
		case "transfer-encoding":
			fr.chunked = lastTokenIs(value, "chunked")
			if !fr.chunked {
				fr.bad = "unsupported Transfer-Encoding"
			}
			continue
		case "connection":
			fr.hasConnection = true
			fr.connection = value
			if consumeConn {
				continue
			}
		case "keep-alive":
			fr.hasKeepAlive = true
			if consumeConn {
				continue
			}
		}
		hs = setHeader(hs, name, value)
	}
}

// lastTokenIs reports whether the last comma-separated token of v is tok
// (case-insensitive).
func lastTokenIs(v, tok string) bool {
	i := len(v)
	for i > 0 && v[i-1] != ',' {
		i--
	}
	last := trimOWS(v[i:])
	if len(last) != len(tok) {
		return false
	}
	for j := 0; j < len(tok); j++ {
		c := last[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != tok[j] {
			return false
		}
	}
	return true
}

// httpHead gives encoders uniform access to heads in Go or script form.
type httpHead struct {
	req  *HTTPRequestHead
	res  *HTTPResponseHead
	obj  *goja.Object
	rt   *goja.Runtime
	null bool
}

func viewHead(head any) httpHead {
	switch h := head.(type) {
	case *HTTPRequestHead:
		return httpHead{req: h}
	case *HTTPResponseHead:
		return httpHead{res: h}
	case *goja.Object:
		return httpHead{obj: h}
	}
	return httpHead{null: true}
}

func (h httpHead) str(key string) string {
	if h.obj == nil {
		return ""
	}
	v := h.obj.Get(key)
	if v == nil || !v.ToBoolean() {
		return ""
	}
	return v.String()
}

func (h httpHead) protocol() string {
	switch {
	case h.req != nil:
		return h.req.Protocol
	case h.res != nil:
		return h.res.Protocol
	}
	return h.str("protocol")
}

func (h httpHead) method() string {
	if h.req != nil {
		return h.req.Method
	}
	return h.str("method")
}

func (h httpHead) path() string {
	if h.req != nil {
		return h.req.Path
	}
	return h.str("path")
}

func (h httpHead) status() int {
	if h.res != nil {
		return h.res.Status
	}
	if h.obj == nil {
		return 0
	}
	v := h.obj.Get("status")
	if v == nil {
		return 0
	}
	return int(v.ToInteger())
}

func (h httpHead) statusText() string {
	if h.res != nil {
		return h.res.StatusText
	}
	return h.str("statusText")
}

func (h httpHead) bodiless() bool {
	if h.obj == nil {
		return false
	}
	v := h.obj.Get("bodiless")
	return v != nil && v.ToBoolean()
}

// eachHeader calls f for every header with a non-null value.
func (h httpHead) eachHeader(f func(name, value string)) {
	var hs []HeaderField
	switch {
	case h.req != nil:
		hs = h.req.Headers
	case h.res != nil:
		hs = h.res.Headers
	case h.obj != nil:
		v := h.obj.Get("headers")
		o, ok := v.(*goja.Object)
		if !ok {
			return
		}
		for _, k := range o.Keys() {
			x := o.Get(k)
			if x == nil || goja.IsNull(x) || goja.IsUndefined(x) {
				continue
			}
			f(k, x.String())
		}
		return
	}
	for _, x := range hs {
		f(x.Name, x.Value)
	}
}
