// Package compress holds the decompression filter decompressMessageBody
// ('inflate': gzip, zlib or raw deflate, detected from the body), a
// push-mode inflater that never holds more than its window and refuses
// decompression bombs.
package compress

import (
	"github.com/pipy-go/pipy/filters"

	"errors"
	"fmt"
	"hash"
	"hash/adler32"
	"hash/crc32"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "decompressMessageBody", Args: "algorithm", Description: "Decompresses the data in message bodies",
		Params: []filters.Param{{Name: "algorithm", Type: "string", Help: "Currently can be 'inflate' only"}},
		Make: func(a *filters.Args) (filters.Template, error) {
			if err := a.Require(1); err != nil {
				return nil, err
			}
			alg, err := a.String(0)
			if err != nil {
				return nil, err
			}
			if alg != "inflate" {
				return nil, a.Errorf("unknown decompression algorithm")
			}
			return &decompressTemplate{}, nil
		},
	})
}

// MaxDecompressedBody bounds the decompressed size of one message body. A
// body that inflates beyond it (a "zip bomb") ends the session with an error.
const MaxDecompressedBody = 64 << 20

// decompressFlush is the amount of output after which a Data event is output
// even though the input Data is not used up, so one small input never makes
// a big buffer.
const decompressFlush = 256 << 10

type decompressTemplate struct{}

func (t *decompressTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &decompressor{s: s, out: out}
}

// decompressor inflates message bodies (gzip, zlib or raw deflate, detected
// from the first bytes) as they stream through.
type decompressor struct {
	s      *filters.Session
	out    filters.Sink
	inside bool // within a message
	failed bool // decompression error: the rest of the body is dropped
	ended  bool
	z      *inflater
}

func (f *decompressor) Input(evt filters.Event) {
	if f.ended {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	switch e := evt.(type) {
	case *filters.MessageStart:
		f.inside, f.failed = true, false
		if f.z != nil {
			f.z.reset()
		}
		f.out.Input(e)
	case *filters.Data:
		if !f.inside || f.failed {
			e.Release()
			return
		}
		f.inflate(e)
	case *filters.MessageEnd:
		if f.inside && !f.failed && f.z != nil && f.z.truncated() {
			f.s.Env().Log.Warn("[decompress] decompression error: unexpected end of compressed data")
		}
		f.inside = false
		if f.z != nil {
			f.z.reset()
		}
		f.out.Input(e)
	case *filters.SessionEnd:
		f.ended = true
		f.z = nil
		f.out.Input(e)
	}
}

func (f *decompressor) inflate(d *filters.Data) {
	if f.z == nil {
		f.z = newInflater()
	}
	z := f.z
	out := filters.NewData()
	var err error
	var buf []byte
	d.Chunks(func(b []byte) {
		if err != nil {
			return
		}
		z.in = append(z.in, b...)
		for err == nil {
			before := len(buf)
			buf, err = z.inflate(buf, decompressFlush)
			if z.outTotal > MaxDecompressedBody {
				err = errBomb
				break
			}
			if len(buf) >= decompressFlush {
				out.PushBytes(buf)
				f.out.Input(out)
				out, buf = filters.NewData(), nil
				continue
			}
			if len(buf) == before {
				break // needs more input, or the stream is over
			}
		}
		z.compact()
	})
	d.Release()
	switch {
	case err == errBomb:
		f.ended = true
		f.z = nil
		msg := fmt.Sprintf("[decompress] decompressed body exceeds %d bytes", MaxDecompressedBody)
		f.s.Env().Log.Error(msg)
		f.out.Input(&filters.SessionEnd{Err: filters.BufferOverflow, Message: msg})
		return
	case err != nil:
		f.failed = true
		f.s.Env().Log.Warn("[decompress] decompression error: " + err.Error())
		z.reset()
	}
	out.PushBytes(buf)
	f.out.Input(out)
}

var errBomb = errors.New("decompressed body too large")

// ---- a push-mode inflater ----
//
// The decoders of compress/flate, compress/gzip and compress/zlib pull their
// input from a reader and cannot stop in the middle of a stream when the
// input runs out, while here input arrives in Data events. inflater is a
// resumable decoder after zlib's puff.c: input is appended to a pending
// buffer, and every step (a block header with its code tables, one symbol
// with its extra bits, a header or trailer of the wrapper) either completes
// or rolls back to where it started and waits for more input. Pending input
// is therefore bounded by the largest step (a gzip header, limited to
// maxGzipHeader) plus the last Data.

type inflateStage uint8

const (
	izDetect      inflateStage = iota // waiting for 2 bytes to tell the format
	izGzipHeader                      // gzip member header
	izDeflate                         // deflate blocks
	izGzipTrailer                     // CRC32, ISIZE
	izGzipNext                        // after a member: another one, or the end
	izZlibTrailer                     // Adler-32
	izDone                            // stream complete: later bytes are ignored
)

type inflateFormat uint8

const (
	fmtRaw inflateFormat = iota
	fmtGzip
	fmtZlib
)

type blockState uint8

const (
	bsHeader blockState = iota
	bsStored
	bsCodes
)

// maxGzipHeader bounds the gzip header (with its extra field, name and
// comment) that may be pending.
const maxGzipHeader = 128 << 10

const (
	maxBits   = 15
	maxLCodes = 286
	maxDCodes = 30
	fixLCodes = 288
	windowLen = 1 << 15
)

type huffman struct {
	count  [maxBits + 1]int16
	symbol [fixLCodes]int16
}

type inflater struct {
	in     []byte // pending input
	bitpos int    // bits of in already consumed

	stage  inflateStage
	format inflateFormat
	block  blockState
	final  bool // the current block is the last one
	stored int  // bytes left in a stored block

	lencode, distcode *huffman
	dynLen, dynDist   huffman

	window   [windowLen]byte
	wpos     int   // next write position in window
	streamN  int64 // bytes output by the current deflate stream
	outTotal int64 // bytes output in this message body
	check    hash.Hash32
}

func newInflater() *inflater { return &inflater{} }

// reset prepares for a new message body.
func (z *inflater) reset() {
	z.in = z.in[:0]
	if cap(z.in) > 64<<10 {
		z.in = nil
	}
	z.bitpos = 0
	z.stage = izDetect
	z.format = fmtRaw
	z.outTotal = 0
	z.check = nil
	z.newStream()
}

func (z *inflater) newStream() {
	z.block = bsHeader
	z.final = false
	z.wpos = 0
	z.streamN = 0
}

// truncated reports whether the body ended in the middle of a stream.
func (z *inflater) truncated() bool {
	switch z.stage {
	case izDone, izGzipNext:
		return false
	case izDetect:
		return len(z.in) > 0
	}
	return true
}

// compact drops consumed input.
func (z *inflater) compact() {
	k := z.bitpos >> 3
	if k == 0 {
		return
	}
	n := copy(z.in, z.in[k:])
	z.in = z.in[:n]
	z.bitpos -= k * 8
}

var errMore = errors.New("more input needed")

// bits reads n (<= 16) bits, least significant first.
func (z *inflater) bits(n int) (int, bool) {
	if z.bitpos+n > len(z.in)*8 {
		return 0, false
	}
	v := 0
	for got := 0; got < n; {
		off := z.bitpos & 7
		take := min(8-off, n-got)
		v |= int(z.in[z.bitpos>>3]>>off) & (1<<take - 1) << got
		got += take
		z.bitpos += take
	}
	return v, true
}

// alignByte skips to the next byte boundary.
func (z *inflater) alignByte() { z.bitpos = (z.bitpos + 7) &^ 7 }

// avail returns the whole bytes available from the (aligned) position.
func (z *inflater) avail() []byte { return z.in[z.bitpos>>3:] }

// emit outputs one byte.
func (z *inflater) emit(out []byte, b byte) []byte {
	z.window[z.wpos] = b
	z.wpos = (z.wpos + 1) & (windowLen - 1)
	z.streamN++
	z.outTotal++
	return append(out, b)
}

// inflate decodes pending input, appending output to out until about limit
// bytes were added or more input is needed. Output that is not larger than
// before means nothing more can be done with the input at hand.
func (z *inflater) inflate(out []byte, limit int) ([]byte, error) {
	start := len(out)
	for {
		switch z.stage {
		case izDetect:
			b := z.avail()
			if len(b) < 2 {
				return out, nil
			}
			switch {
			case b[0] == 0x1f && b[1] == 0x8b:
				z.format, z.stage = fmtGzip, izGzipHeader
				z.check = crc32.NewIEEE()
			case b[0]&0x0f == 8 && b[0]>>4 <= 7 && (int(b[0])<<8|int(b[1]))%31 == 0:
				if b[1]&0x20 != 0 {
					return out, errors.New("zlib preset dictionary not supported")
				}
				z.format, z.stage = fmtZlib, izDeflate
				z.check = adler32.New()
				z.bitpos += 16
			default:
				z.format, z.stage = fmtRaw, izDeflate
				z.check = nil
			}
			z.newStream()
		case izGzipHeader:
			if err := z.gzipHeader(); err == errMore {
				return out, nil
			} else if err != nil {
				return out, err
			}
			z.stage = izDeflate
			z.check.Reset()
			z.newStream()
		case izDeflate:
			mark := len(out)
			var err error
			out, err = z.deflate(out, start+limit)
			if z.check != nil {
				z.check.Write(out[mark:])
			}
			if err == errMore {
				return out, nil
			} else if err != nil {
				return out, err
			}
			z.alignByte()
			switch z.format {
			case fmtGzip:
				z.stage = izGzipTrailer
			case fmtZlib:
				z.stage = izZlibTrailer
			default:
				z.stage = izDone
			}
		case izGzipTrailer:
			b := z.avail()
			if len(b) < 8 {
				return out, nil
			}
			crc := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
			size := uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24
			if crc != z.check.Sum32() {
				return out, errors.New("gzip checksum mismatch")
			}
			if size != uint32(z.streamN) {
				return out, errors.New("gzip size mismatch")
			}
			z.bitpos += 64
			z.stage = izGzipNext
		case izGzipNext:
			// Another member may follow; anything else ends the stream.
			b := z.avail()
			switch {
			case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
				z.stage = izGzipHeader
			case len(b) >= 2 || len(b) == 1 && b[0] != 0x1f:
				z.stage = izDone
			default:
				return out, nil
			}
		case izZlibTrailer:
			b := z.avail()
			if len(b) < 4 {
				return out, nil
			}
			sum := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			if sum != z.check.Sum32() {
				return out, errors.New("zlib checksum mismatch")
			}
			z.bitpos += 32
			z.stage = izDone
		default: // izDone: trailing bytes are ignored
			z.bitpos = len(z.in) * 8
			return out, nil
		}
	}
}

// gzipHeader parses a whole gzip member header or consumes nothing.
func (z *inflater) gzipHeader() error {
	b := z.avail()
	if len(b) < 10 {
		return errMore
	}
	if b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 {
		return errors.New("invalid gzip header")
	}
	flg := b[3]
	if flg&0xe0 != 0 {
		return errors.New("invalid gzip header flags")
	}
	p := 10
	if flg&0x04 != 0 { // FEXTRA
		if len(b) < p+2 {
			return z.moreHeader(b)
		}
		p += 2 + (int(b[p]) | int(b[p+1])<<8)
	}
	for _, bit := range []byte{0x08, 0x10} { // FNAME, FCOMMENT
		if flg&bit == 0 {
			continue
		}
		for {
			if p >= len(b) {
				return z.moreHeader(b)
			}
			p++
			if b[p-1] == 0 {
				break
			}
		}
	}
	if flg&0x02 != 0 { // FHCRC
		p += 2
	}
	if p > len(b) {
		return z.moreHeader(b)
	}
	z.bitpos += p * 8
	return nil
}

func (z *inflater) moreHeader(b []byte) error {
	if len(b) > maxGzipHeader {
		return errors.New("gzip header too long")
	}
	return errMore
}

// deflate decodes blocks until the final one is complete (nil), more input
// is needed (errMore), output reached limit (errMore with output), or the
// data is invalid.
func (z *inflater) deflate(out []byte, limit int) ([]byte, error) {
	for {
		switch z.block {
		case bsHeader:
			if z.final {
				return out, nil
			}
			save := z.bitpos
			err := z.blockHeader()
			if err != nil {
				z.bitpos = save
				return out, err
			}
		case bsStored:
			for z.stored > 0 {
				if len(out) >= limit {
					return out, errMore
				}
				b := z.avail()
				if len(b) == 0 {
					return out, errMore
				}
				n := min(len(b), z.stored, limit-len(out))
				for _, c := range b[:n] {
					out = z.emit(out, c)
				}
				z.bitpos += n * 8
				z.stored -= n
			}
			z.block = bsHeader
		case bsCodes:
			for {
				if len(out) >= limit {
					return out, errMore
				}
				save := z.bitpos
				var done bool
				var err error
				out, done, err = z.symbol(out)
				if err != nil {
					z.bitpos = save
					return out, err
				}
				if done {
					z.block = bsHeader
					break
				}
			}
		}
	}
}

// blockHeader reads a block header, with the code tables of a dynamic
// block, all at once.
func (z *inflater) blockHeader() error {
	h, ok := z.bits(3)
	if !ok {
		return errMore
	}
	final := h&1 != 0
	switch h >> 1 {
	case 0:
		z.alignByte()
		b := z.avail()
		if len(b) < 4 {
			return errMore
		}
		n := int(b[0]) | int(b[1])<<8
		if n != ^(int(b[2])|int(b[3])<<8)&0xffff {
			return errors.New("invalid stored block lengths")
		}
		z.bitpos += 32
		z.stored, z.block = n, bsStored
	case 1:
		z.lencode, z.distcode = &fixedLen, &fixedDist
		z.block = bsCodes
	case 2:
		if err := z.dynamic(); err != nil {
			return err
		}
		z.lencode, z.distcode = &z.dynLen, &z.dynDist
		z.block = bsCodes
	default:
		return errors.New("invalid block type")
	}
	z.final = final
	return nil
}

var codeLengthOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

func (z *inflater) dynamic() error {
	var lengths [maxLCodes + maxDCodes]int16
	v, ok := z.bits(14)
	if !ok {
		return errMore
	}
	nlen := v&0x1f + 257
	ndist := (v>>5)&0x1f + 1
	ncode := (v>>10)&0xf + 4
	if nlen > maxLCodes || ndist > maxDCodes {
		return errors.New("invalid code counts")
	}
	for i := 0; i < ncode; i++ {
		l, ok := z.bits(3)
		if !ok {
			return errMore
		}
		lengths[codeLengthOrder[i]] = int16(l)
	}
	var lencode huffman
	if construct(&lencode, lengths[:19]) != 0 {
		return errors.New("incomplete code length code")
	}
	for i := range 19 {
		lengths[i] = 0
	}
	for index := 0; index < nlen+ndist; {
		sym, err := z.decode(&lencode)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths[index] = int16(sym)
			index++
			continue
		}
		var l int16
		var rep int
		switch sym {
		case 16:
			if index == 0 {
				return errors.New("repeat with no first length")
			}
			l = lengths[index-1]
			r, ok := z.bits(2)
			if !ok {
				return errMore
			}
			rep = 3 + r
		case 17:
			r, ok := z.bits(3)
			if !ok {
				return errMore
			}
			rep = 3 + r
		default:
			r, ok := z.bits(7)
			if !ok {
				return errMore
			}
			rep = 11 + r
		}
		if index+rep > nlen+ndist {
			return errors.New("too many lengths")
		}
		for ; rep > 0; rep-- {
			lengths[index] = l
			index++
		}
	}
	if lengths[256] == 0 {
		return errors.New("no end-of-block code")
	}
	if left := construct(&z.dynLen, lengths[:nlen]); left < 0 || (left > 0 && nlen != int(z.dynLen.count[0]+z.dynLen.count[1])) {
		return errors.New("invalid literal/length code")
	}
	if left := construct(&z.dynDist, lengths[nlen:nlen+ndist]); left < 0 || (left > 0 && ndist != int(z.dynDist.count[0]+z.dynDist.count[1])) {
		return errors.New("invalid distance code")
	}
	return nil
}

// construct builds a canonical Huffman decoding table from code lengths. It
// returns 0 for a complete code, a negative number for an over-subscribed
// one and a positive number for an incomplete one.
func construct(h *huffman, length []int16) int {
	h.count = [maxBits + 1]int16{}
	for _, l := range length {
		h.count[l]++
	}
	if int(h.count[0]) == len(length) {
		return 0 // no codes: complete, but decode fails
	}
	left := 1
	for l := 1; l <= maxBits; l++ {
		left <<= 1
		left -= int(h.count[l])
		if left < 0 {
			return left
		}
	}
	var offs [maxBits + 1]int16
	for l := 1; l < maxBits; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for sym, l := range length {
		if l != 0 {
			h.symbol[offs[l]] = int16(sym)
			offs[l]++
		}
	}
	return left
}

// decode reads one symbol.
func (z *inflater) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l <= maxBits; l++ {
		b, ok := z.bits(1)
		if !ok {
			return 0, errMore
		}
		code |= b
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+(code-first)]), nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, errors.New("invalid code")
}

var (
	lengthBase  = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]int{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

	fixedLen, fixedDist huffman
)

func init() {
	var l [fixLCodes]int16
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	construct(&fixedLen, l[:])
	var d [maxDCodes]int16
	for i := range d {
		d[i] = 5
	}
	construct(&fixedDist, d[:])
}

// symbol decodes one literal, match or end of block; on errMore nothing was
// output and the caller rolls the input back.
func (z *inflater) symbol(out []byte) ([]byte, bool, error) {
	sym, err := z.decode(z.lencode)
	if err != nil {
		return out, false, err
	}
	switch {
	case sym < 256:
		return z.emit(out, byte(sym)), false, nil
	case sym == 256:
		return out, true, nil
	}
	sym -= 257
	if sym >= 29 {
		return out, false, errors.New("invalid literal/length symbol")
	}
	e, ok := z.bits(lengthExtra[sym])
	if !ok {
		return out, false, errMore
	}
	n := lengthBase[sym] + e
	ds, err := z.decode(z.distcode)
	if err != nil {
		return out, false, err
	}
	if ds >= 30 {
		return out, false, errors.New("invalid distance symbol")
	}
	e, ok = z.bits(distExtra[ds])
	if !ok {
		return out, false, errMore
	}
	dist := distBase[ds] + e
	if int64(dist) > z.streamN {
		return out, false, errors.New("invalid distance too far back")
	}
	for ; n > 0; n-- {
		out = z.emit(out, z.window[(z.wpos-dist)&(windowLen-1)])
	}
	return out, false, nil
}
