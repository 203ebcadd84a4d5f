package http

import (
	"github.com/pipy-go/pipy/filters"

	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/dop251/goja"
)

// HeaderField is one HTTP header; Name is lower-cased.
type HeaderField struct {
	Name, Value string
}

// RequestHead is a decoded request head. It stays in Go form until a
// script reads it (ToObject).
type RequestHead struct {
	Method, Path, Protocol string
	Headers                []HeaderField
	inline                 [12]HeaderField
}

// ResponseHead is a decoded response head.
type ResponseHead struct {
	Protocol   string
	Status     int
	StatusText string
	Headers    []HeaderField
	inline     [12]HeaderField
}

// ToObject implements Head: { method, path, protocol, headers }.
func (h *RequestHead) ToObject(rt *goja.Runtime) *goja.Object {
	o := rt.NewObject()
	o.Set("method", h.Method)
	o.Set("path", h.Path)
	o.Set("protocol", h.Protocol)
	o.Set("headers", headersObject(rt, h.Headers))
	return o
}

// ToObject implements Head: { protocol, status, statusText, headers }.
func (h *ResponseHead) ToObject(rt *goja.Runtime) *goja.Object {
	o := rt.NewObject()
	o.Set("protocol", h.Protocol)
	o.Set("status", h.Status)
	o.Set("statusText", h.StatusText)
	o.Set("headers", headersObject(rt, h.Headers))
	return o
}

// Trailers are the fields after a message's body (chunked HTTP/1.1 or
// HTTP/2 trailers), carried as MessageEnd.Tail. Names are lower-cased.
type Trailers struct {
	Fields []HeaderField
}

// ToObject implements filters.Head: an object of names to values.
func (t *Trailers) ToObject(rt *goja.Runtime) *goja.Object { return headersObject(rt, t.Fields) }

// eachTrailer calls f for every field of a MessageEnd tail in Go or script
// form (nil, *Trailers or an object of names to values).
func eachTrailer(tail any, f func(name, value string)) {
	switch t := tail.(type) {
	case *Trailers:
		for _, x := range t.Fields {
			f(x.Name, x.Value)
		}
	case *goja.Object:
		for _, k := range t.Keys() {
			x := t.Get(k)
			if x == nil || goja.IsNull(x) || goja.IsUndefined(x) {
				continue
			}
			f(strings.ToLower(k), x.String())
		}
	}
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

// MaxHeadSize bounds a response head (decodeHttpResponse); request heads
// are bounded by the listener's maxHeadSize (Limits).
const MaxHeadSize = 64 * 1024

// feed appends the bytes of d up to the end of the head. It returns the
// number of bytes of d consumed and whether the head is complete.
func (p *headParser) feed(d *filters.Data) (n int, done bool) {
	for ci := range d.NumChunks() {
		b := d.Chunk(ci)
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
// one string that every field of the decoded head points into. bareLF
// reports a line that ends with LF alone.
func headString(b []byte) (s string, bareLF bool) {
	c := make([]byte, len(b))
	copy(c, b)
	// lower-case header names: from each line start after the first up to ':'
	i := bytes.IndexByte(c, '\n')
	for i >= 0 {
		if i == 0 || c[i-1] != '\r' {
			bareLF = true
		}
		j := i + 1
		for ; j < len(c) && c[j] != ':' && c[j] != '\n'; j++ {
			if 'A' <= c[j] && c[j] <= 'Z' {
				c[j] += 'a' - 'A'
			}
		}
		k := bytes.IndexByte(c[j:], '\n')
		if k < 0 {
			break
		}
		i = j + k
	}
	return unsafe.String(unsafe.SliceData(c), len(c)), bareLF
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
	chunked       bool  // the body is chunked (set by checkTE)
	connection    string
	hasConnection bool
	hasKeepAlive  bool
	hosts         int    // Host field lines (requests)
	bad           string // why the head is malformed, if it is
	status        int    // the status for bad when not 400 (431)

	// Transfer-Encoding, all field lines taken as one list.
	hasTE     bool
	teBad     bool // an element that is not a transfer coding
	teCodings int  // codings listed
	teChunked int  // of which chunked
	teLast    bool // the last coding is chunked
}

// setBad records the first reason why the head is malformed.
func (fr *framing) setBad(status int, reason string) {
	if fr.bad == "" {
		fr.bad, fr.status = reason, status
	}
}

// addTE adds the codings of one Transfer-Encoding field line.
func (fr *framing) addTE(v string) {
	fr.hasTE = true
	for v != "" {
		var el string
		el, v, _ = strings.Cut(v, ",")
		el = trimOWS(el)
		if el == "" {
			continue // empty list elements are allowed
		}
		name := el
		if i := strings.IndexByte(el, ';'); i >= 0 {
			name = trimOWS(el[:i])
		}
		if !isToken(name) {
			fr.teBad = true
			continue
		}
		fr.teCodings++
		fr.teLast = strings.EqualFold(name, "chunked")
		if fr.teLast {
			fr.teChunked++
			if name != el {
				fr.teBad = true // chunked takes no parameters
			}
		}
	}
}

// checkTE validates the Transfer-Encoding of a head (RFC 9112 §6.1, §6.3)
// and sets chunked. It returns the status and reason of a refusal: 400 when
// the framing is faulty, 501 for a coding other than chunked (which we
// cannot decode, and must not forward as if absent).
func (fr *framing) checkTE(http10 bool) (int, string) {
	if !fr.hasTE {
		return 0, ""
	}
	switch {
	case fr.teBad:
		return 400, "invalid Transfer-Encoding"
	case http10:
		// RFC 9112 §6.1: the framing of an HTTP/1.0 message with
		// Transfer-Encoding is faulty (it may have passed through an
		// HTTP/1.0 hop that did not decode it).
		return 400, "Transfer-Encoding in an HTTP/1.0 message"
	case !fr.teLast:
		return 400, "chunked is not the final transfer coding"
	case fr.teChunked > 1:
		return 400, "chunked applied more than once"
	case fr.teCodings > 1:
		return 501, "unsupported transfer coding"
	case fr.contentLength >= 0:
		return 400, "both Content-Length and Transfer-Encoding"
	}
	fr.chunked = true
	return 0, ""
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
// request says whether the head is a request's: connection and keep-alive
// are consumed too, Host is checked, and maxFields (when > 0) bounds the
// field lines.
func parseHeaders(lines *headLines, hs []HeaderField, fr *framing, request bool, maxFields int) []HeaderField {
	fr.contentLength = -1
	fields := 0
	for {
		line, ok := lines.next()
		if !ok || line == "" {
			return hs
		}
		if fields++; maxFields > 0 && fields > maxFields {
			fr.setBad(431, "too many header fields")
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
				fr.setBad(400, "obsolete line folding")
			} else {
				fr.setBad(400, "invalid header line")
			}
			continue
		}
		name := line[:colon]
		if !isToken(name) {
			fr.setBad(400, "invalid header name")
			continue
		}
		value := trimOWS(line[colon+1:])
		if hasCTL(value) {
			fr.setBad(400, "control character in header value")
			continue
		}
		switch name {
		case "content-length":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 || !allDigits(value) {
				fr.setBad(400, "invalid Content-Length")
			} else if fr.contentLength >= 0 && fr.contentLength != n {
				fr.setBad(400, "conflicting Content-Length")
			}
			fr.contentLength = n
			continue
		case "transfer-encoding":
			fr.addTE(value)
			continue
		case "connection":
			fr.hasConnection = true
			fr.connection = value
			if request {
				continue
			}
		case "keep-alive":
			fr.hasKeepAlive = true
			if request {
				continue
			}
		case "host":
			if request {
				// RFC 9112 §3.2: more than one Host, or an invalid one, is
				// a 400 (they would route differently on each hop).
				if fr.hosts++; fr.hosts > 1 {
					fr.setBad(400, "more than one Host")
				} else if !validHost(value) {
					fr.setBad(400, "invalid Host")
				}
			}
		}
		hs = setHeader(hs, name, value)
	}
}

// regName marks the bytes of a URI reg-name (unreserved, sub-delims and
// pct-encoded, RFC 3986), plus bytes >= 0x80 (raw internationalised names).
var regName = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		t[c] = 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b >= 0x80 ||
			strings.IndexByte("-._~!$&'()*+,;=%", b) >= 0
	}
	return
}()

// validAuthority checks uri-host [":" port]; needPort requires the port
// (authority-form). userinfo ("@") is refused (RFC 9110 §4.2.4).
func validAuthority(a string, needPort bool) bool {
	host, port, hasPort := a, "", false
	if strings.HasPrefix(a, "[") {
		i := strings.IndexByte(a, ']')
		if i < 0 {
			return false
		}
		host = a[1:i]
		if rest := a[i+1:]; rest != "" {
			if rest[0] != ':' {
				return false
			}
			port, hasPort = rest[1:], true
		}
		if host == "" {
			return false
		}
		for i := 0; i < len(host); i++ {
			c := host[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == ':' || c == '.' || c == '%') {
				return false
			}
		}
	} else {
		if i := strings.LastIndexByte(a, ':'); i >= 0 {
			host, port, hasPort = a[:i], a[i+1:], true
		}
		if host == "" {
			return false
		}
		for i := 0; i < len(host); i++ {
			if !regName[host[i]] {
				return false
			}
		}
	}
	if needPort && port == "" {
		return false
	}
	if hasPort && (len(port) > 5 || port != "" && !allDigits(port)) {
		return false
	}
	return true
}

// validHost checks a Host field value: empty, or an authority.
func validHost(v string) bool { return v == "" || validAuthority(v, false) }

// validTarget checks a request-target (RFC 9112 §3.2): origin-form, or
// absolute-form (scheme "://" authority ...), authority-form for CONNECT
// and only there, "*" for OPTIONS only. The caller has refused spaces and
// control characters.
func validTarget(method, target string) bool {
	if method == "CONNECT" {
		return validAuthority(target, true)
	}
	switch {
	case target[0] == '/':
		return true
	case target == "*":
		return method == "OPTIONS"
	}
	i := strings.Index(target, "://")
	if i <= 0 {
		return false
	}
	scheme := target[:i]
	for j := 0; j < len(scheme); j++ {
		c := scheme[j]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || j > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	rest := target[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	return validAuthority(rest[:end], false)
}

// validChunkExt checks the chunk extensions after a chunk size (RFC 9112
// §7.1.1): *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
func validChunkExt(s string) bool {
	i := 0
	ows := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	tok := func() bool {
		j := i
		for i < len(s) && tchar[s[i]] {
			i++
		}
		return i > j
	}
	for {
		ows()
		if i == len(s) {
			return true
		}
		if s[i] != ';' {
			return false
		}
		i++
		ows()
		if !tok() {
			return false
		}
		ows()
		if i == len(s) || s[i] != '=' {
			continue
		}
		i++
		ows()
		if i < len(s) && s[i] == '"' {
			i++
			for {
				if i == len(s) {
					return false
				}
				c := s[i]
				if c == '"' {
					i++
					break
				}
				if c == '\\' {
					i++
					if i == len(s) {
						return false
					}
					c = s[i]
				}
				if c < 0x20 && c != '\t' || c == 0x7f {
					return false
				}
				i++
			}
		} else if !tok() {
			return false
		}
	}
}

// httpHead gives encoders uniform access to heads in Go or script form.
type httpHead struct {
	req  *RequestHead
	res  *ResponseHead
	obj  *goja.Object
	null bool
}

func viewHead(head any) httpHead {
	switch h := head.(type) {
	case *RequestHead:
		return httpHead{req: h}
	case *ResponseHead:
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

// String describes the head as "GET /path HTTP/1.1 {name: value, ...}" (for
// tests and debugging).
func (h *RequestHead) String() string {
	return fmt.Sprintf("%s %s %s %s", h.Method, h.Path, h.Protocol, fieldsString(h.Headers))
}

// String describes the head as `HTTP/1.1 200 "OK" {name: value, ...}` (for
// tests and debugging).
func (h *ResponseHead) String() string {
	return fmt.Sprintf("%s %d %q %s", h.Protocol, h.Status, h.StatusText, fieldsString(h.Headers))
}

func fieldsString(hs []HeaderField) string {
	parts := make([]string, len(hs))
	for i, f := range hs {
		parts[i] = f.Name + ": " + f.Value
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
