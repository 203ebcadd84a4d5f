package filters

import (
	"fmt"
	"math"
	"time"
)

// Limits are the protections of one listener, set by the options of
// listen(port, options). The zero value of a size or count means its
// default; a zero duration disables that timeout.
type Limits struct {
	// MaxHeadSize bounds the bytes of an HTTP request head (request line,
	// header fields and the empty line): a larger head gets 431.
	MaxHeadSize int
	// MaxHeaders bounds the header fields of an HTTP request head: more
	// get 431.
	MaxHeaders int
	// ReadTimeout is the time a client has to send a whole HTTP request
	// head, counted from the connection's accept for the first request and
	// from the first byte of the head for later ones. It applies only while
	// decodeHttpRequest reads a head, never to bodies or responses.
	ReadTimeout time.Duration
	// IdleTimeout closes a connection when no byte has been read from it
	// or written to it for that long (a write making progress, however
	// slowly, counts as activity). On HTTP connections it is also the
	// keep-alive timeout.
	IdleTimeout time.Duration
	// MaxConnections bounds the open connections of the listener: when it
	// is reached the listener stops accepting and new connections wait in
	// the kernel's backlog. 0 means no limit.
	MaxConnections int
}

// Defaults of the listen() options.
const (
	// DefaultMaxHeadSize is 32 KiB: the total nginx allows by default
	// (large_client_header_buffers 4 8k), enough for large cookies and JWTs,
	// half of what decodeHttpResponse accepts from upstreams.
	DefaultMaxHeadSize = 32 << 10
	// DefaultMaxHeaders is Go's and Apache's limit of 100 fields.
	DefaultMaxHeaders = 100
	// DefaultReadTimeout is 10 s: a real client sends its head in one or
	// two segments, so this only hits slowloris-style trickles (Apache's
	// mod_reqtimeout starts at 20 s, with a minimum rate).
	DefaultReadTimeout = 10 * time.Second
	// DefaultIdleTimeout is 60 s, nginx's keepalive/send/proxy-read order of
	// magnitude: dead peers, stalled readers and forgotten keep-alive
	// connections are reaped, while transfers that move bytes are not.
	// Long-lived quiet tunnels should raise it or set 0.
	DefaultIdleTimeout = 60 * time.Second
)

// Bounds of the listen() options, checked when a script is loaded.
const (
	MinHeadSizeLimit = 256
	MaxHeadSizeLimit = 64 << 20
	MaxHeadersLimit  = 65535
	MaxTimeoutLimit  = 24 * time.Hour
)

// DefaultLimits returns the limits of a listen() without options.
func DefaultLimits() Limits {
	return Limits{
		MaxHeadSize: DefaultMaxHeadSize,
		MaxHeaders:  DefaultMaxHeaders,
		ReadTimeout: DefaultReadTimeout,
		IdleTimeout: DefaultIdleTimeout,
	}
}

// OptionKind is how the value of a listen() option is read.
type OptionKind uint8

// The kinds of listen() options.
const (
	// OptionOther: read by the script runtime itself (reuse, tls).
	OptionOther OptionKind = iota
	// OptionSize: bytes, a number or a size string such as '16k'.
	OptionSize
	// OptionCount: an integer.
	OptionCount
	// OptionDuration: seconds or a duration string such as '10s'; 0
	// disables.
	OptionDuration
)

// ListenOption is one option of listen(port, options): its documentation
// and, for the limits, how it is read, its range and where it goes. The
// script runtime parses options from this table and the generated docs
// document them from it.
type ListenOption struct {
	Name, Type, Default, Doc string

	Kind     OptionKind
	Min, Max int64 // range: bytes, a count, or nanoseconds
	// Set stores a value read and checked against the range.
	Set func(l *Limits, v int64)
}

// Range describes the accepted values, as error messages and the docs say
// it ("" for OptionOther).
func (o *ListenOption) Range() string {
	switch o.Kind {
	case OptionSize:
		return sizeText(o.Min) + " to " + sizeText(o.Max)
	case OptionCount:
		return fmt.Sprintf("%d to %d", o.Min, o.Max)
	case OptionDuration:
		return fmt.Sprintf("0 to %v; 0 disables", time.Duration(o.Max))
	}
	return ""
}

// sizeText writes a byte count in the largest binary unit that divides it.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ListenOptions are the options of listen(port, options).
var ListenOptions = []ListenOption{
	{Name: "reuse", Type: "boolean", Default: "`--reuse-port`", Doc: "SO_REUSEPORT, so that several processes can listen on the port."},
	{Name: "tls", Type: "{cert, key}", Default: "none", Doc: "PEM certificate chain and private key: the listener is a TLS server (TLS 1.2+); a handshake must finish within readTimeout (10 s when 0)."},
	{Name: "maxHeadSize", Type: "number | size string", Default: "`'32k'`",
		Doc:  "bytes of an HTTP request head decoded by decodeHttpRequest (request line, fields, empty line; also bounds trailers). A larger head is answered with 431 (414 while still in the request line) and the connection closed.",
		Kind: OptionSize, Min: MinHeadSizeLimit, Max: MaxHeadSizeLimit, Set: func(l *Limits, v int64) { l.MaxHeadSize = int(v) }},
	{Name: "maxHeaders", Type: "number", Default: "`100`",
		Doc:  "header fields of an HTTP request head; more get 431 and the connection closed.",
		Kind: OptionCount, Min: 1, Max: MaxHeadersLimit, Set: func(l *Limits, v int64) { l.MaxHeaders = int(v) }},
	{Name: "readTimeout", Type: "seconds | duration string", Default: "`'10s'`",
		Doc:  "time a client has to send a whole HTTP request head: for the first request from the accept (from the first byte when the decoder sits in a pipeline started later by link, fork or use), for the next ones from the head's first byte, so a trickling slowloris client is cut off. On expiry a partial head is answered with 408, an untouched connection is just closed. Bodies and responses are not timed, and a head waiting behind a pending response is not cut. The first decodeHttpRequest reading the connection's stream applies it.",
		Kind: OptionDuration, Max: int64(MaxTimeoutLimit), Set: func(l *Limits, v int64) { l.ReadTimeout = time.Duration(v) }},
	{Name: "idleTimeout", Type: "seconds | duration string", Default: "`'60s'`",
		Doc:  "closes the connection when no byte was read from or written to it for that long; a write that makes progress, however slow, counts. For HTTP this is the keep-alive timeout, and also bounds a silent upstream. Raw TCP tunnels that stay quiet for long (databases, SSH) should raise it.",
		Kind: OptionDuration, Max: int64(MaxTimeoutLimit), Set: func(l *Limits, v int64) { l.IdleTimeout = time.Duration(v) }},
	{Name: "maxConnections", Type: "number", Default: "`0` (no limit)",
		Doc:  "open connections of this listener. When reached, the listener stops accepting: new connections wait in the kernel backlog (their handshake completes, they are served when a slot frees) and a warning is logged once per burst.",
		Kind: OptionCount, Min: 0, Max: math.MaxInt32, Set: func(l *Limits, v int64) { l.MaxConnections = int(v) }},
}
