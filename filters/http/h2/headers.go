package h2

import (
	"fmt"
	"strings"

	"golang.org/x/net/http2/hpack"
)

// Limits of a HeaderDecoder made with zero arguments.
const (
	DefaultHeaderTableSize   = 4096     // SETTINGS_HEADER_TABLE_SIZE's initial value
	DefaultMaxHeaderListSize = 64 << 10 // decoded size, as §6.5.2 counts it
	DefaultMaxBlockSize      = 64 << 10 // encoded bytes of one header block
)

// Block is a header block assembled by a HeaderDecoder: a HEADERS or
// PUSH_PROMISE frame and its CONTINUATION frames, decoded.
type Block struct {
	Type             FrameType // FrameHeaders or FramePushPromise
	StreamID         uint32
	EndStream        bool // HEADERS with END_STREAM
	Priority         PriorityParam
	HasPriority      bool
	PromisedStreamID uint32 // PUSH_PROMISE
	// Fields are the decoded fields in order, pseudo-header fields
	// included. When TooLarge, they stop where the list passed the
	// decoder's maximum header list size: a server answers 431 or resets
	// the stream; the connection is still usable.
	Fields   []hpack.HeaderField
	TooLarge bool
	// The pseudo-header fields (RFC 9113 §8.3), empty when absent.
	Method, Scheme, Authority, Path, Protocol, Status string

	pseudo    uint8 // bits of the pseudo-header fields seen
	regular   bool  // a regular field was seen
	host      string
	hasHost   bool
	malformed string // the first violation of §8.2, §8.3
}

const (
	pMethod = 1 << iota
	pScheme
	pAuthority
	pPath
	pProtocol
	pStatus
)

// HeaderDecoder assembles and decodes the header blocks of one connection
// (HPACK's dynamic table is per connection and direction). Pass it every
// frame the Reader returns, before acting on the frame: inside a header
// block anything but a CONTINUATION of the same stream is a connection
// error (RFC 9113 §6.10).
type HeaderDecoder struct {
	dec        *hpack.Decoder
	maxList    uint32
	maxBlock   int
	open       bool
	blockBytes int
	listSize   uint32
	blk        Block
	err        *Error // the connection error it stopped at
}

// NewHeaderDecoder makes a decoder for a connection whose SETTINGS
// advertised tableSize as SETTINGS_HEADER_TABLE_SIZE and maxListSize as
// SETTINGS_MAX_HEADER_LIST_SIZE, accepting header blocks of at most
// maxBlockSize encoded bytes (all frames of a block together). Zero means
// the Default* value.
func NewHeaderDecoder(tableSize, maxListSize uint32, maxBlockSize int) *HeaderDecoder {
	if tableSize == 0 {
		tableSize = DefaultHeaderTableSize
	}
	if maxListSize == 0 {
		maxListSize = DefaultMaxHeaderListSize
	}
	if maxBlockSize <= 0 {
		maxBlockSize = DefaultMaxBlockSize
	}
	d := &HeaderDecoder{maxList: maxListSize, maxBlock: maxBlockSize}
	d.dec = hpack.NewDecoder(tableSize, d.emit)
	// No single string longer than the whole list may be: this bounds
	// what the decoder buffers for a field split across frames.
	d.dec.SetMaxStringLength(int(maxListSize))
	return d
}

// SetMaxTableSize changes the SETTINGS_HEADER_TABLE_SIZE this side
// advertises (once the peer acknowledged it).
func (d *HeaderDecoder) SetMaxTableSize(v uint32) { d.dec.SetAllowedMaxDynamicTableSize(v) }

// Pending reports whether a header block is open, awaiting CONTINUATION
// frames on the stream it names.
func (d *HeaderDecoder) Pending() (streamID uint32, open bool) {
	return d.blk.StreamID, d.open
}

// Add takes the next frame read from the connection. It returns the Block
// when f completes one (valid until the next Add), nothing for the frames
// it has no business with (the caller handles them) and for the first
// frames of a block, or a connection error: CONTINUATION out of place
// (PROTOCOL_ERROR), a block larger than the decoder allows
// (ENHANCE_YOUR_CALM), an HPACK error (COMPRESSION_ERROR). The block's
// fields are not checked for HTTP semantics: see Block.ValidateRequest,
// ValidateResponse, ValidateTrailers. After a connection error, Add
// returns that error for every frame.
func (d *HeaderDecoder) Add(f *Frame) (*Block, error) {
	if d.err != nil {
		return nil, d.err
	}
	blk, err := d.add(f)
	if err != nil {
		d.err = err
		d.open = false
		return nil, err
	}
	return blk, nil
}

func (d *HeaderDecoder) add(f *Frame) (*Block, *Error) {
	if d.open {
		if f.Type != FrameContinuation || f.StreamID != d.blk.StreamID {
			return nil, connError(ErrCodeProtocol, fmt.Sprintf("%v frame on stream %d inside the header block of stream %d", f.Type, f.StreamID, d.blk.StreamID))
		}
	} else {
		switch f.Type {
		case FrameContinuation:
			return nil, connError(ErrCodeProtocol, fmt.Sprintf("CONTINUATION frame on stream %d outside a header block", f.StreamID))
		case FrameHeaders, FramePushPromise:
			d.start(f)
		default:
			return nil, nil
		}
	}
	d.blockBytes += len(f.Data)
	if d.blockBytes > d.maxBlock {
		return nil, connError(ErrCodeEnhanceYourCalm, fmt.Sprintf("header block larger than %d bytes", d.maxBlock))
	}
	if _, err := d.dec.Write(f.Data); err != nil {
		return nil, connError(ErrCodeCompression, err.Error())
	}
	if !f.Flags.Has(FlagEndHeaders) {
		return nil, nil
	}
	d.open = false
	if err := d.dec.Close(); err != nil {
		return nil, connError(ErrCodeCompression, err.Error())
	}
	return &d.blk, nil
}

func (d *HeaderDecoder) start(f *Frame) {
	fields := d.blk.Fields[:0]
	clear(fields[:cap(fields)]) // drop the strings of the last block
	d.blk = Block{
		Type: f.Type, StreamID: f.StreamID, EndStream: f.EndStream(),
		Priority: f.Priority, HasPriority: f.HasPriority, PromisedStreamID: f.PromisedStreamID,
		Fields: fields,
	}
	d.open = true
	d.blockBytes = 0
	d.listSize = 0
	d.dec.SetEmitEnabled(true)
}

func (d *HeaderDecoder) emit(hf hpack.HeaderField) {
	d.listSize += hf.Size()
	b := &d.blk
	if d.listSize > d.maxList {
		b.TooLarge = true
		d.dec.SetEmitEnabled(false)
		return
	}
	b.Fields = append(b.Fields, hf)
	if b.malformed == "" {
		b.malformed = b.check(hf)
	}
}

// check applies the rules of RFC 9113 §8.2 and §8.3 that hold for any
// field block to one field, recording the pseudo-header fields; it returns
// what is wrong, if anything.
func (b *Block) check(hf hpack.HeaderField) string {
	name, value := hf.Name, hf.Value
	if name == "" {
		return "empty field name"
	}
	if !validValue(value) {
		return fmt.Sprintf("invalid value of field %q", name)
	}
	if name[0] == ':' {
		if b.regular {
			return fmt.Sprintf("pseudo-header field %s after a regular field", name)
		}
		var bit uint8
		switch name {
		case ":method":
			bit, b.Method = pMethod, value
		case ":scheme":
			bit, b.Scheme = pScheme, value
		case ":authority":
			bit, b.Authority = pAuthority, value
		case ":path":
			bit, b.Path = pPath, value
		case ":protocol":
			bit, b.Protocol = pProtocol, value
		case ":status":
			bit, b.Status = pStatus, value
		default:
			return fmt.Sprintf("unknown pseudo-header field %q", name)
		}
		if b.pseudo&bit != 0 {
			return "duplicate pseudo-header field " + name
		}
		b.pseudo |= bit
		return ""
	}
	b.regular = true
	if !validName(name) {
		return fmt.Sprintf("invalid field name %q", name)
	}
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return "connection-specific field " + name
	case "te":
		if value != "trailers" {
			return fmt.Sprintf("te: %q, not \"trailers\"", value)
		}
	case "host":
		b.host, b.hasHost = value, true
	}
	return ""
}

// validName: a token of lowercase characters (RFC 9110 §5.1, RFC 9113
// §8.2.1).
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || !tokenChar[c] || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

var tokenChar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validValue: no NUL, CR or LF, no leading or trailing space or tab (RFC
// 9113 §8.2.1).
func validValue(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[0] == '\t' || s[len(s)-1] == ' ' || s[len(s)-1] == '\t' {
		return false
	}
	return !strings.ContainsAny(s, "\x00\r\n")
}

func (b *Block) malformedErr(reason string) error {
	return streamError(b.StreamID, ErrCodeProtocol, "malformed: "+reason)
}

// ValidateRequest checks a request's header block (RFC 9113 §8.3.1, RFC
// 8441 for :protocol). A malformed request is a stream error
// (PROTOCOL_ERROR, §8.1.1).
func (b *Block) ValidateRequest() error {
	if b.malformed != "" {
		return b.malformedErr(b.malformed)
	}
	if b.pseudo&pStatus != 0 {
		return b.malformedErr(":status in a request")
	}
	if b.pseudo&pMethod == 0 {
		return b.malformedErr("no :method")
	}
	if b.Method == "CONNECT" && b.pseudo&pProtocol == 0 {
		if b.pseudo&(pScheme|pPath) != 0 {
			return b.malformedErr("CONNECT with :scheme or :path")
		}
		if b.Authority == "" {
			return b.malformedErr("CONNECT without :authority")
		}
		return nil
	}
	if b.pseudo&pProtocol != 0 && b.Method != "CONNECT" {
		return b.malformedErr(":protocol in a " + b.Method + " request")
	}
	if b.pseudo&pScheme == 0 || b.Scheme == "" {
		return b.malformedErr("no :scheme")
	}
	if b.pseudo&pPath == 0 || b.Path == "" {
		return b.malformedErr("no :path")
	}
	if b.Scheme == "http" || b.Scheme == "https" {
		if b.Path[0] != '/' && (b.Path != "*" || b.Method != "OPTIONS") {
			return b.malformedErr(fmt.Sprintf(":path %q", b.Path))
		}
		if strings.Contains(b.Authority, "@") {
			return b.malformedErr(":authority with userinfo")
		}
		if b.Authority == "" && (!b.hasHost || b.host == "") {
			return b.malformedErr("no :authority nor host")
		}
	}
	if b.pseudo&pAuthority != 0 && b.hasHost && b.host != b.Authority {
		return b.malformedErr("host differs from :authority")
	}
	return nil
}

// ValidateResponse checks a response's header block (RFC 9113 §8.3.2): a
// three-digit :status and no other pseudo-header field.
func (b *Block) ValidateResponse() error {
	if b.malformed != "" {
		return b.malformedErr(b.malformed)
	}
	if b.pseudo != pStatus {
		return b.malformedErr("response pseudo-header fields other than :status, or no :status")
	}
	s := b.Status
	if len(s) != 3 || s[0] < '1' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' {
		return b.malformedErr(fmt.Sprintf(":status %q", s))
	}
	return nil
}

// ValidateTrailers checks a trailer section: END_STREAM and no
// pseudo-header field (RFC 9113 §8.1).
func (b *Block) ValidateTrailers() error {
	if b.malformed != "" {
		return b.malformedErr(b.malformed)
	}
	if b.pseudo != 0 {
		return b.malformedErr("pseudo-header field in trailers")
	}
	if !b.EndStream {
		return b.malformedErr("trailers without END_STREAM")
	}
	return nil
}
