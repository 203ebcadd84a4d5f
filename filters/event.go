package filters

import "github.com/dop251/goja"

// Event is one of *Data, *MessageStart, *MessageEnd or *SessionEnd.
type Event interface {
	// Kind tells which of the four event types this is.
	Kind() EventKind
}

// EventKind enumerates the four event types.
type EventKind uint8

// The event kinds.
const (
	KindData EventKind = iota
	KindMessageStart
	KindMessageEnd
	KindSessionEnd
)

// String returns the script-visible class name of the kind.
func (k EventKind) String() string {
	switch k {
	case KindData:
		return "Data"
	case KindMessageStart:
		return "MessageStart"
	case KindMessageEnd:
		return "MessageEnd"
	default:
		return "SessionEnd"
	}
}

// MessageStart begins a message. Head is nil, a script value (goja.Value), or
// a head decoded by a codec (for example the HTTP codecs' *http.RequestHead) that is turned into
// a script object only when a script looks at it.
type MessageStart struct {
	Head any
}

// Kind implements Event.
func (*MessageStart) Kind() EventKind { return KindMessageStart }

// MessageEnd ends the current message. Tail is what follows a message's
// body: nil for nothing (most messages), a script value (goja.Value), or a
// form decoded by a codec (HTTP trailers as *http.Trailers, say, a Head) that
// becomes a script object only when a script looks at it. Codecs that carry
// trailers (HTTP/2, chunked HTTP/1.1) put them here, and the encoders on the
// other side write them out. A MessageEnd without a tail is the shared
// TheMessageEnd; an event with a tail is never shared, and neither is ever
// changed once output.
type MessageEnd struct {
	Tail any
}

// Kind implements Event.
func (*MessageEnd) Kind() EventKind { return KindMessageEnd }

// TheMessageEnd is the shared MessageEnd event without a tail.
var TheMessageEnd = &MessageEnd{}

// SessionEnd ends a stream. Err is NoError for a normal end.
type SessionEnd struct {
	Err     ErrorCode
	Message string // optional detail, e.g. the OS reason of a refused connection
}

// Kind implements Event.
func (*SessionEnd) Kind() EventKind { return KindSessionEnd }

// TheSessionEnd is a shared SessionEnd without error.
var TheSessionEnd = &SessionEnd{}

// ErrorCode is the error carried by a SessionEnd.
type ErrorCode uint8

// Error codes, numbered as dump prints them.
const (
	NoError ErrorCode = iota
	UnknownError
	RuntimeError
	ReadError
	CannotResolve
	ConnectionRefused
	Unauthorized
	BufferOverflow
)

var errorNames = [...]string{"", "UnknownError", "RuntimeError", "ReadError", "CannotResolve", "ConnectionRefused", "Unauthorized", "BufferOverflow"}

// String returns the script-visible error name ("" for NoError).
func (e ErrorCode) String() string {
	if int(e) < len(errorNames) {
		return errorNames[e]
	}
	return "UnknownError"
}

// ParseErrorCode maps an error name back to its code; unknown names give
// UnknownError and ok=false.
func ParseErrorCode(name string) (code ErrorCode, ok bool) {
	for i, n := range errorNames {
		if n == name {
			return ErrorCode(i), true
		}
	}
	return UnknownError, false
}

// Message is a head plus a body, the value scripts build with new Message().
// Body may be nil (no body).
type Message struct {
	Head goja.Value // nil, null or an object
	Body *Data
}

// Emit outputs the message as MessageStart, Data (when the body is not nil)
// and MessageEnd. The body is handed out as a clone, so a constant message can
// be emitted any number of times.
func (m *Message) Emit(out Sink) {
	var head any
	if m.Head != nil && !goja.IsNull(m.Head) && !goja.IsUndefined(m.Head) {
		head = m.Head
	}
	out.Input(&MessageStart{Head: head})
	if m.Body != nil {
		out.Input(m.Body.Clone())
	}
	out.Input(TheMessageEnd)
}

// Head is a message head decoded by a codec and kept in Go form until a
// script looks at it.
type Head interface {
	// ToObject converts the head to a plain script object.
	ToObject(rt *goja.Runtime) *goja.Object
}

// HeadOf returns a script value as a MessageStart head: nil for a missing,
// null or undefined value, else the value itself.
func HeadOf(v goja.Value) any {
	if v == nil || goja.IsNull(v) || goja.IsUndefined(v) {
		return nil
	}
	return v
}
