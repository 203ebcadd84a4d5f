package h2

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// FrameHeaderLen is the size of a frame header (RFC 9113 §4.1).
const FrameHeaderLen = 9

// Frame size limits (RFC 9113 §4.2, §6.5.2): every peer accepts frames of
// DefaultMaxFrameSize; SETTINGS_MAX_FRAME_SIZE may raise that up to
// MaxFrameSizeLimit.
const (
	DefaultMaxFrameSize = 1 << 14
	MaxFrameSizeLimit   = 1<<24 - 1
	// MaxWindowSize is the largest flow-control window (2^31-1).
	MaxWindowSize = 1<<31 - 1
)

// ClientPreface is what a client sends first, before its SETTINGS frame
// (RFC 9113 §3.4).
const ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// FrameType is the type of a frame (RFC 9113 §6). Types this package does
// not know are read as frames of their own type number with the payload
// untouched; a receiver ignores them (§4.1, §5.5).
type FrameType uint8

// The frame types of RFC 9113 §6.
const (
	FrameData         FrameType = 0x0
	FrameHeaders      FrameType = 0x1
	FramePriority     FrameType = 0x2
	FrameRSTStream    FrameType = 0x3
	FrameSettings     FrameType = 0x4
	FramePushPromise  FrameType = 0x5
	FramePing         FrameType = 0x6
	FrameGoAway       FrameType = 0x7
	FrameWindowUpdate FrameType = 0x8
	FrameContinuation FrameType = 0x9
)

var frameTypeNames = [...]string{"DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"}

// Known reports whether t is one of the types of RFC 9113 §6.
func (t FrameType) Known() bool { return int(t) < len(frameTypeNames) }

func (t FrameType) String() string {
	if t.Known() {
		return frameTypeNames[t]
	}
	return "UNKNOWN_FRAME_TYPE_" + strconv.Itoa(int(t))
}

// Flags are the flags of a frame header; their meaning depends on the type.
type Flags uint8

// Frame flags (RFC 9113 §6).
const (
	FlagEndStream  Flags = 0x1  // DATA, HEADERS
	FlagAck        Flags = 0x1  // SETTINGS, PING
	FlagEndHeaders Flags = 0x4  // HEADERS, PUSH_PROMISE, CONTINUATION
	FlagPadded     Flags = 0x8  // DATA, HEADERS, PUSH_PROMISE
	FlagPriority   Flags = 0x20 // HEADERS
)

// Has reports whether all of v's bits are set in f.
func (f Flags) Has(v Flags) bool { return f&v == v }

// FrameHeader is the fixed 9-byte header of every frame (RFC 9113 §4.1).
// StreamID never has the reserved bit: it is dropped on reading and
// written as zero.
type FrameHeader struct {
	Length   uint32 // payload length, 24 bits
	Type     FrameType
	Flags    Flags
	StreamID uint32 // 31 bits
}

func (h FrameHeader) String() string {
	return fmt.Sprintf("%v flags=%#x stream=%d len=%d", h.Type, uint8(h.Flags), h.StreamID, h.Length)
}

// ParseFrameHeader reads a frame header from the first FrameHeaderLen bytes
// of b, which must hold that many.
func ParseFrameHeader(b []byte) FrameHeader {
	_ = b[8]
	return FrameHeader{
		Length:   uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]),
		Type:     FrameType(b[3]),
		Flags:    Flags(b[4]),
		StreamID: binary.BigEndian.Uint32(b[5:]) & (1<<31 - 1),
	}
}

// AppendFrameHeader appends h to dst. Length is cut to 24 bits and the
// reserved bit of StreamID is written as zero.
func AppendFrameHeader(dst []byte, h FrameHeader) []byte {
	id := h.StreamID & (1<<31 - 1)
	return append(dst, byte(h.Length>>16), byte(h.Length>>8), byte(h.Length),
		byte(h.Type), byte(h.Flags), byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
}

// ErrCode is an error code of RST_STREAM and GOAWAY frames (RFC 9113 §7).
type ErrCode uint32

// The error codes of RFC 9113 §7.
const (
	ErrCodeNo                 ErrCode = 0x0
	ErrCodeProtocol           ErrCode = 0x1
	ErrCodeInternal           ErrCode = 0x2
	ErrCodeFlowControl        ErrCode = 0x3
	ErrCodeSettingsTimeout    ErrCode = 0x4
	ErrCodeStreamClosed       ErrCode = 0x5
	ErrCodeFrameSize          ErrCode = 0x6
	ErrCodeRefusedStream      ErrCode = 0x7
	ErrCodeCancel             ErrCode = 0x8
	ErrCodeCompression        ErrCode = 0x9
	ErrCodeConnect            ErrCode = 0xa
	ErrCodeEnhanceYourCalm    ErrCode = 0xb
	ErrCodeInadequateSecurity ErrCode = 0xc
	ErrCodeHTTP11Required     ErrCode = 0xd
)

var errCodeNames = [...]string{"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"}

// String gives the RFC's name of the code; unknown codes (which a receiver
// must not treat as special, §7) print as hex.
func (c ErrCode) String() string {
	if int(c) < len(errCodeNames) {
		return errCodeNames[c]
	}
	return fmt.Sprintf("UNKNOWN_ERROR_%#x", uint32(c))
}

// Error is a protocol error found in what the peer sent. A connection
// error (Stream false) ends the connection: send GOAWAY with Code. A stream
// error (Stream true) ends stream StreamID only: send RST_STREAM with Code.
type Error struct {
	Code     ErrCode
	Stream   bool
	StreamID uint32 // the stream of a stream error; the frame's stream otherwise
	Reason   string
}

func (e *Error) Error() string {
	if e.Stream {
		return fmt.Sprintf("http2: stream error on stream %d: %v: %s", e.StreamID, e.Code, e.Reason)
	}
	return fmt.Sprintf("http2: connection error: %v: %s", e.Code, e.Reason)
}

func connError(code ErrCode, reason string) *Error {
	return &Error{Code: code, Reason: reason}
}

func streamError(id uint32, code ErrCode, reason string) *Error {
	return &Error{Code: code, Stream: true, StreamID: id, Reason: reason}
}

// SettingID identifies a SETTINGS parameter (RFC 9113 §6.5.2).
type SettingID uint16

// The SETTINGS parameters of RFC 9113 §6.5.2, RFC 8441 and RFC 9218.
const (
	SettingHeaderTableSize       SettingID = 0x1
	SettingEnablePush            SettingID = 0x2
	SettingMaxConcurrentStreams  SettingID = 0x3
	SettingInitialWindowSize     SettingID = 0x4
	SettingMaxFrameSize          SettingID = 0x5
	SettingMaxHeaderListSize     SettingID = 0x6
	SettingEnableConnectProtocol SettingID = 0x8 // RFC 8441
	SettingNoRFC7540Priorities   SettingID = 0x9 // RFC 9218
)

func (s SettingID) String() string {
	switch s {
	case SettingHeaderTableSize:
		return "HEADER_TABLE_SIZE"
	case SettingEnablePush:
		return "ENABLE_PUSH"
	case SettingMaxConcurrentStreams:
		return "MAX_CONCURRENT_STREAMS"
	case SettingInitialWindowSize:
		return "INITIAL_WINDOW_SIZE"
	case SettingMaxFrameSize:
		return "MAX_FRAME_SIZE"
	case SettingMaxHeaderListSize:
		return "MAX_HEADER_LIST_SIZE"
	case SettingEnableConnectProtocol:
		return "ENABLE_CONNECT_PROTOCOL"
	case SettingNoRFC7540Priorities:
		return "NO_RFC7540_PRIORITIES"
	}
	return fmt.Sprintf("UNKNOWN_SETTING_%d", uint16(s))
}

// Setting is one parameter of a SETTINGS frame.
type Setting struct {
	ID  SettingID
	Val uint32
}

// Valid checks the value rules of RFC 9113 §6.5.2 (and RFC 8441, RFC
// 9218 for their boolean settings). A violation is a connection error.
// Unknown settings are valid (a receiver ignores them).
func (s Setting) Valid() error {
	if err := s.valid(); err != nil {
		return err
	}
	return nil
}

func (s Setting) valid() *Error {
	switch s.ID {
	case SettingEnablePush, SettingEnableConnectProtocol, SettingNoRFC7540Priorities:
		if s.Val > 1 {
			return connError(ErrCodeProtocol, fmt.Sprintf("%v = %d, not 0 or 1", s.ID, s.Val))
		}
	case SettingInitialWindowSize:
		if s.Val > MaxWindowSize {
			return connError(ErrCodeFlowControl, fmt.Sprintf("INITIAL_WINDOW_SIZE = %d, above 2^31-1", s.Val))
		}
	case SettingMaxFrameSize:
		if s.Val < DefaultMaxFrameSize || s.Val > MaxFrameSizeLimit {
			return connError(ErrCodeProtocol, fmt.Sprintf("MAX_FRAME_SIZE = %d, outside 16384..16777215", s.Val))
		}
	}
	return nil
}

// PriorityParam is the stream dependency of a PRIORITY frame or of a
// HEADERS frame with the PRIORITY flag (RFC 9113 §5.3.2, deprecated but
// still parsed).
type PriorityParam struct {
	StreamDep uint32
	Exclusive bool
	Weight    uint8 // the weight minus one, as on the wire
}
