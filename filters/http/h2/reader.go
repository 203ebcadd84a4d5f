package h2

import (
	"encoding/binary"
	"fmt"
)

// Frame is a frame read by a Reader, its payload checked and split into
// the fields of its type. Its slices view the Reader's buffer: they stay
// valid until the next call of Feed (copy what must live longer).
type Frame struct {
	FrameHeader
	// Payload is the whole payload as received, padding included (flow
	// control counts all of it, RFC 9113 §6.1).
	Payload []byte
	// Data is the content: DATA's data and the field block fragment of
	// HEADERS, PUSH_PROMISE and CONTINUATION, without padding and priority
	// fields; GOAWAY's debug data; the payload of an unknown type.
	Data []byte
	// Priority is set by PRIORITY and by HEADERS with FlagPriority
	// (HasPriority).
	Priority    PriorityParam
	HasPriority bool
	// ErrCode of RST_STREAM and GOAWAY.
	ErrCode ErrCode
	// LastStreamID of GOAWAY.
	LastStreamID uint32
	// PromisedStreamID of PUSH_PROMISE.
	PromisedStreamID uint32
	// Increment of WINDOW_UPDATE.
	Increment uint32
}

// EndStream reports END_STREAM on a DATA or HEADERS frame.
func (f *Frame) EndStream() bool {
	return (f.Type == FrameData || f.Type == FrameHeaders) && f.Flags.Has(FlagEndStream)
}

// EndHeaders reports END_HEADERS on a HEADERS, PUSH_PROMISE or
// CONTINUATION frame.
func (f *Frame) EndHeaders() bool {
	return (f.Type == FrameHeaders || f.Type == FramePushPromise || f.Type == FrameContinuation) && f.Flags.Has(FlagEndHeaders)
}

// IsAck reports ACK on a SETTINGS or PING frame.
func (f *Frame) IsAck() bool {
	return (f.Type == FrameSettings || f.Type == FramePing) && f.Flags.Has(FlagAck)
}

// PingData is the opaque data of a PING frame.
func (f *Frame) PingData() (d [8]byte) {
	if f.Type == FramePing {
		copy(d[:], f.Payload)
	}
	return d
}

// NumSettings is the number of parameters of a SETTINGS frame.
func (f *Frame) NumSettings() int {
	if f.Type != FrameSettings {
		return 0
	}
	return len(f.Payload) / 6
}

// Setting is the i-th parameter of a SETTINGS frame, 0 <= i < NumSettings.
// The Reader has checked its value (Setting.Valid).
func (f *Frame) Setting(i int) Setting {
	p := f.Payload[i*6 : i*6+6]
	return Setting{ID: SettingID(binary.BigEndian.Uint16(p)), Val: binary.BigEndian.Uint32(p[2:])}
}

// Preface says which connection preface a Reader expects (RFC 9113 §3.4).
type Preface uint8

const (
	// PrefaceServer: the reader is a server's: the client's magic string
	// (ClientPreface) first, then a SETTINGS frame. PUSH_PROMISE is a
	// connection error (a client cannot push, §8.4).
	PrefaceServer Preface = iota
	// PrefaceClient: the reader is a client's: a SETTINGS frame first.
	PrefaceClient
	// PrefaceNone: no preface check, any frame first (tests, or a caller
	// that checked the preface itself).
	PrefaceNone
)

// Reader parses frames out of a byte stream given in arbitrary pieces:
// Feed it what arrives, then call Next until it returns no frame.
//
// A connection error is sticky: Next keeps returning it and Feed drops its
// input. A stream error consumes its frame and reading goes on. Frames of
// unknown types are returned (with Data set to their payload) so that a
// header-block assembler can reject one inside a header block; otherwise
// the caller ignores them (§4.1, §5.5).
type Reader struct {
	maxFrameSize uint32
	preface      int  // bytes of ClientPreface still expected
	needSettings bool // the first frame must be a SETTINGS frame
	server       bool
	buf          []byte
	off          int
	err          *Error
	frame        Frame
}

// NewReader returns a reader expecting the given preface and frames of
// at most DefaultMaxFrameSize bytes.
func NewReader(p Preface) *Reader {
	r := &Reader{maxFrameSize: DefaultMaxFrameSize}
	switch p {
	case PrefaceServer:
		r.preface = len(ClientPreface)
		r.needSettings = true
		r.server = true
	case PrefaceClient:
		r.needSettings = true
	}
	return r
}

// SetMaxFrameSize sets the largest payload accepted, the
// SETTINGS_MAX_FRAME_SIZE this side advertised (clamped to the range
// §6.5.2 allows). A larger frame is a FRAME_SIZE_ERROR connection error.
func (r *Reader) SetMaxFrameSize(n uint32) {
	r.maxFrameSize = min(max(n, DefaultMaxFrameSize), MaxFrameSizeLimit)
}

// MaxFrameSize is the largest payload the reader accepts.
func (r *Reader) MaxFrameSize() uint32 { return r.maxFrameSize }

// Buffered is the number of bytes fed and not yet read as frames.
func (r *Reader) Buffered() int { return len(r.buf) - r.off }

// Err is the connection error (an *Error) the reader stopped at, if any.
func (r *Reader) Err() error {
	if r.err == nil {
		return nil
	}
	return r.err
}

// keepBuffer is the largest buffer a Reader keeps once it has read all it
// holds.
const keepBuffer = 4 * (FrameHeaderLen + DefaultMaxFrameSize)

// Feed appends bytes received from the peer; they are copied. It
// invalidates the slices of the frames read so far. Call Next until it
// returns no frame before feeding more, or the buffer grows.
func (r *Reader) Feed(p []byte) {
	if r.err != nil {
		return
	}
	if r.off == len(r.buf) && cap(r.buf) > keepBuffer {
		// All read: let a buffer grown by a large frame go rather than
		// hold it for an idle connection.
		r.buf, r.off = nil, 0
	}
	if r.off > 0 {
		n := copy(r.buf, r.buf[r.off:])
		r.buf = r.buf[:n]
		r.off = 0
	}
	r.buf = append(r.buf, p...)
}

// Next returns the next complete frame, or nil and nil when more bytes are
// needed, or nil and the *Error the frame broke (and, for a stream error,
// skips that frame). The frame returned is the reader's own, overwritten by
// the next call.
func (r *Reader) Next() (*Frame, error) {
	if r.err != nil {
		return nil, r.err
	}
	f, err := r.next()
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (r *Reader) next() (*Frame, *Error) {
	b := r.buf[r.off:]
	if r.preface > 0 {
		want := ClientPreface[len(ClientPreface)-r.preface:]
		n := min(len(b), len(want))
		if string(b[:n]) != want[:n] {
			return nil, r.fail(connError(ErrCodeProtocol, "invalid connection preface"))
		}
		r.off += n
		r.preface -= n
		if r.preface > 0 {
			return nil, nil
		}
		b = b[n:]
	}
	if len(b) < FrameHeaderLen {
		return nil, nil
	}
	h := ParseFrameHeader(b)
	if r.needSettings && (h.Type != FrameSettings || h.Flags.Has(FlagAck)) {
		return nil, r.fail(connError(ErrCodeProtocol, fmt.Sprintf("first frame is %v, not SETTINGS", h.Type)))
	}
	if h.Length > r.maxFrameSize {
		return nil, r.fail(connError(ErrCodeFrameSize, fmt.Sprintf("%v frame of %d bytes, above the maximum frame size %d", h.Type, h.Length, r.maxFrameSize)))
	}
	end := FrameHeaderLen + int(h.Length)
	if len(b) < end {
		return nil, nil
	}
	r.off += end
	r.needSettings = false
	f := &r.frame
	*f = Frame{FrameHeader: h, Payload: b[FrameHeaderLen:end:end]}
	if err := f.parse(r.server); err != nil {
		if !err.Stream {
			r.fail(err)
		}
		return nil, err
	}
	return f, nil
}

func (r *Reader) fail(err *Error) *Error {
	r.err = err
	r.buf, r.off = nil, 0
	return err
}

// parse checks the payload of f against the rules of RFC 9113 §6 that
// need no connection state and fills its fields.
func (f *Frame) parse(server bool) *Error {
	p := f.Payload
	id := f.StreamID
	t := f.Type
	switch t {
	case FrameData, FrameHeaders, FramePriority, FrameRSTStream, FramePushPromise, FrameContinuation:
		if id == 0 {
			return connError(ErrCodeProtocol, t.String()+" frame on stream 0")
		}
	case FrameSettings, FramePing, FrameGoAway:
		if id != 0 {
			return connError(ErrCodeProtocol, fmt.Sprintf("%v frame on stream %d, not 0", t, id))
		}
	}
	switch t {
	case FrameData, FrameHeaders, FramePushPromise:
		var pad int
		if f.Flags.Has(FlagPadded) {
			if len(p) < 1 {
				return connError(ErrCodeFrameSize, "padded "+t.String()+" frame without a pad length")
			}
			pad = int(p[0])
			p = p[1:]
		}
		fixed := 0
		if t == FrameHeaders && f.Flags.Has(FlagPriority) {
			fixed = 5
		} else if t == FramePushPromise {
			fixed = 4
		}
		if len(p) < fixed {
			return connError(ErrCodeFrameSize, t.String()+" frame too short for its fields")
		}
		if pad > len(p)-fixed {
			return connError(ErrCodeProtocol, fmt.Sprintf("%v frame padding (%d) is longer than its payload", t, pad))
		}
		switch {
		case t == FramePushPromise:
			if server {
				return connError(ErrCodeProtocol, "PUSH_PROMISE from a client")
			}
			f.PromisedStreamID = binary.BigEndian.Uint32(p) & (1<<31 - 1)
			if f.PromisedStreamID == 0 {
				return connError(ErrCodeProtocol, "PUSH_PROMISE promising stream 0")
			}
		case fixed == 5:
			f.Priority = parsePriority(p)
			f.HasPriority = true
			if f.Priority.StreamDep == id {
				return streamError(id, ErrCodeProtocol, "stream depends on itself")
			}
		}
		f.Data = p[fixed : len(p)-pad]
	case FramePriority:
		if len(p) != 5 {
			return streamError(id, ErrCodeFrameSize, fmt.Sprintf("PRIORITY frame of %d bytes, not 5", len(p)))
		}
		f.Priority = parsePriority(p)
		f.HasPriority = true
		if f.Priority.StreamDep == id {
			return streamError(id, ErrCodeProtocol, "stream depends on itself")
		}
	case FrameRSTStream:
		if len(p) != 4 {
			return connError(ErrCodeFrameSize, fmt.Sprintf("RST_STREAM frame of %d bytes, not 4", len(p)))
		}
		f.ErrCode = ErrCode(binary.BigEndian.Uint32(p))
	case FrameSettings:
		if f.Flags.Has(FlagAck) && len(p) != 0 {
			return connError(ErrCodeFrameSize, "SETTINGS ACK with a payload")
		}
		if len(p)%6 != 0 {
			return connError(ErrCodeFrameSize, fmt.Sprintf("SETTINGS frame of %d bytes, not a multiple of 6", len(p)))
		}
		for i := range len(p) / 6 {
			if err := f.Setting(i).valid(); err != nil {
				return err
			}
		}
	case FramePing:
		if len(p) != 8 {
			return connError(ErrCodeFrameSize, fmt.Sprintf("PING frame of %d bytes, not 8", len(p)))
		}
	case FrameGoAway:
		if len(p) < 8 {
			return connError(ErrCodeFrameSize, fmt.Sprintf("GOAWAY frame of %d bytes, less than 8", len(p)))
		}
		f.LastStreamID = binary.BigEndian.Uint32(p) & (1<<31 - 1)
		f.ErrCode = ErrCode(binary.BigEndian.Uint32(p[4:]))
		f.Data = p[8:]
	case FrameWindowUpdate:
		if len(p) != 4 {
			return connError(ErrCodeFrameSize, fmt.Sprintf("WINDOW_UPDATE frame of %d bytes, not 4", len(p)))
		}
		f.Increment = binary.BigEndian.Uint32(p) & (1<<31 - 1)
		if f.Increment == 0 {
			if id == 0 {
				return connError(ErrCodeProtocol, "WINDOW_UPDATE of 0 on the connection")
			}
			return streamError(id, ErrCodeProtocol, "WINDOW_UPDATE of 0")
		}
	case FrameContinuation:
		f.Data = p
	default:
		f.Data = p
	}
	return nil
}

func parsePriority(p []byte) PriorityParam {
	v := binary.BigEndian.Uint32(p)
	return PriorityParam{StreamDep: v & (1<<31 - 1), Exclusive: v>>31 == 1, Weight: p[4]}
}
