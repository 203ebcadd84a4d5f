// Package dubbo holds the Dubbo codec: decodeDubbo (frames to messages
// with a Head) and encodeDubbo (messages to frames).
package dubbo

import (
	"github.com/pipy-go/pipy/filters"

	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "decodeDubbo", Description: "Deframes a Dubbo message",
		Make: func(a *filters.Args) (filters.Template, error) { return &dubboDecoderTemplate{}, nil },
	})
	filters.Register(&filters.Spec{
		Name: "encodeDubbo", Args: "[head]", Description: "Frames a Dubbo message",
		Params: []filters.Param{{Name: "head", Type: "object|function", Help: "Message head including id, status, isRequest, isTwoWay, isEvent"}},
		Make: func(a *filters.Args) (filters.Template, error) {
			return &dubboEncoderTemplate{head: filters.NewLazy(a.Get(0))}, nil
		},
	})
}

// Dubbo frame layout.
const (
	dubboHeaderSize = 16
	dubboMagic0     = 0xDA
	dubboMagic1     = 0xBB

	dubboFlagRequest = 0x80
	dubboFlagTwoWay  = 0x40
	dubboFlagEvent   = 0x20
	dubboHessian2    = 0x02 // serialization id put in every encoded frame
)

// MaxBody bounds the body length a Dubbo frame may announce. A longer
// frame is a protocol error: it is logged and the session ends.
const MaxBody = 64 << 20

// Head is the head of a decoded Dubbo frame. It stays in Go form until a
// script reads it (ToObject).
type Head struct {
	ID        uint64
	Status    int
	IsRequest bool
	IsTwoWay  bool
	IsEvent   bool
}

// ToObject implements Head: { id, status, isRequest, isTwoWay, isEvent }, the
// id as a decimal string (a 64-bit id does not fit a script number).
func (h *Head) ToObject(rt *goja.Runtime) *goja.Object {
	o := rt.NewObject()
	o.Set("id", strconv.FormatUint(h.ID, 10))
	o.Set("status", h.Status)
	o.Set("isRequest", h.IsRequest)
	o.Set("isTwoWay", h.IsTwoWay)
	o.Set("isEvent", h.IsEvent)
	return o
}

// String describes the head, for logs and tests.
func (h *Head) String() string {
	return fmt.Sprintf("dubbo{id: %d, status: %d, isRequest: %t, isTwoWay: %t, isEvent: %t}",
		h.ID, h.Status, h.IsRequest, h.IsTwoWay, h.IsEvent)
}

// ---- decodeDubbo ----

type dubboDecoderTemplate struct{}

func (t *dubboDecoderTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &dubboDecoder{s: s, out: out}
}

// dubboDecoder turns a byte stream into one message per Dubbo frame.
type dubboDecoder struct {
	s         *filters.Session
	out       filters.Sink
	head      [dubboHeaderSize]byte
	headLen   int    // bytes of head collected
	remaining uint32 // body bytes still expected; valid when inBody
	inBody    bool
	dead      bool // after SessionEnd or a protocol error
}

func (f *dubboDecoder) Input(evt filters.Event) {
	switch e := evt.(type) {
	case *filters.Data:
		if f.dead {
			e.Release()
			return
		}
		if e.Size() == 0 {
			return
		}
		f.decode(e)
	case *filters.SessionEnd:
		if f.dead {
			return
		}
		f.dead = true
		f.out.Input(e)
	}
	// MessageStart and MessageEnd are dropped.
}

func (f *dubboDecoder) decode(d *filters.Data) {
	for d.Size() > 0 && !f.dead {
		if f.inBody {
			take := int(f.remaining) // at most MaxBody
			if d.Size() < take {
				take = d.Size()
			}
			f.remaining -= uint32(take)
			f.out.Input(d.Shift(take))
			if f.remaining == 0 {
				f.inBody = false
				f.out.Input(filters.TheMessageEnd)
			}
			continue
		}
		// Collect the header.
		n := d.Peek(f.head[f.headLen:])
		d.ShiftTo(n)
		f.headLen += n
		if f.headLen < dubboHeaderSize {
			return
		}
		f.headLen = 0
		f.frame()
	}
	if f.dead {
		d.Release()
	}
}

// frame parses a complete header and starts its message.
func (f *dubboDecoder) frame() {
	b := f.head[:]
	if b[0] != dubboMagic0 || b[1] != dubboMagic1 {
		f.s.Env().Log.Warn("[dubbo] magic number not found")
	}
	flags := b[2]
	h := &Head{
		ID:        binary.BigEndian.Uint64(b[4:12]),
		Status:    int(b[3]),
		IsRequest: flags&dubboFlagRequest != 0,
		IsTwoWay:  flags&dubboFlagTwoWay != 0,
		IsEvent:   flags&dubboFlagEvent != 0,
	}
	size := binary.BigEndian.Uint32(b[12:16])
	if size > MaxBody {
		f.dead = true
		reason := fmt.Sprintf("body length %d exceeds %d", size, MaxBody)
		f.s.Env().Log.Warn("[dubbo] protocol error", "reason", reason)
		f.out.Input(&filters.SessionEnd{Err: filters.ReadError, Message: reason})
		return
	}
	f.out.Input(&filters.MessageStart{Head: h})
	if size == 0 {
		f.out.Input(filters.TheMessageEnd)
		return
	}
	f.remaining, f.inBody = size, true
}

// ---- encodeDubbo ----

type dubboEncoderTemplate struct {
	head filters.Lazy
}

func (t *dubboEncoderTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &dubboEncoder{t: t, s: s, out: out}
}

// dubboEncoder frames whole messages as Dubbo frames.
type dubboEncoder struct {
	t      *dubboEncoderTemplate
	s      *filters.Session
	out    filters.Sink
	msg    filters.Collector
	nextID uint64
	ended  bool
}

func (f *dubboEncoder) Input(evt filters.Event) {
	if f.ended {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	switch e := evt.(type) {
	case *filters.MessageStart:
		if f.msg.Inside() {
			f.msg.Drop()
		}
		f.msg.Begin(e)
	case *filters.Data:
		f.msg.AddOwned(e)
	case *filters.MessageEnd:
		if f.msg.Inside() {
			f.encode(f.msg.Take())
		}
	case *filters.SessionEnd:
		f.ended = true
		f.msg.Drop()
		f.out.Input(e)
	}
}

func (f *dubboEncoder) encode(start *filters.MessageStart, body *filters.Data) {
	headVal := start.Head
	if f.t.head.IsSet() {
		v, err := f.t.head.Eval(f.s)
		if err != nil {
			body.Release()
			f.s.Abort(err)
			return
		}
		if o := filters.HeadOf(v); o != nil {
			headVal = v
		}
	}
	autoID := f.nextID
	f.nextID++
	h := Head{ID: autoID, IsRequest: true, IsTwoWay: true}
	switch x := headVal.(type) {
	case *Head:
		h = *x
	case *goja.Object:
		readDubboHead(x, &h)
	}
	if uint64(body.Size()) > math.MaxUint32 {
		body.Release()
		f.s.Env().Log.Error("[encodeDubbo] body too large for a Dubbo frame", "bytes", body.Size(), "max", uint64(math.MaxUint32))
		return
	}
	var hdr [dubboHeaderSize]byte
	hdr[0], hdr[1] = dubboMagic0, dubboMagic1
	flags := byte(dubboHessian2)
	if h.IsRequest {
		flags |= dubboFlagRequest
	}
	if h.IsTwoWay {
		flags |= dubboFlagTwoWay
	}
	if h.IsEvent {
		flags |= dubboFlagEvent
	}
	hdr[2] = flags
	hdr[3] = byte(h.Status)
	binary.BigEndian.PutUint64(hdr[4:12], h.ID)
	binary.BigEndian.PutUint32(hdr[12:16], uint32(body.Size()))
	f.out.Input(&filters.MessageStart{})
	f.out.Input(filters.NewDataBytes(hdr[:]))
	if body.Size() > 0 {
		f.out.Input(body)
	} else {
		body.Release()
	}
	f.out.Input(filters.TheMessageEnd)
}

// readDubboHead reads the fields a script head defines; undefined fields keep
// the defaults already in h. Values are converted as by Number().
func readDubboHead(o *goja.Object, h *Head) {
	get := func(name string) (goja.Value, bool) {
		v := o.Get(name)
		if v == nil || goja.IsUndefined(v) {
			return nil, false
		}
		return v, true
	}
	if v, ok := get("id"); ok {
		h.ID = dubboID(v)
	}
	if v, ok := get("status"); ok {
		h.Status = int(uint8(toInt64(v.ToFloat())))
	}
	if v, ok := get("isRequest"); ok {
		h.IsRequest = numberTruth(v)
	}
	if v, ok := get("isTwoWay"); ok {
		h.IsTwoWay = numberTruth(v)
	}
	if v, ok := get("isEvent"); ok {
		h.IsEvent = numberTruth(v)
	}
}

// dubboID converts an id value. A string of decimal digits (what decodeDubbo
// produces) is read exactly, so 64-bit ids survive a decode/encode round
// trip; a BigInt is taken modulo 2^64; anything else goes through Number().
func dubboID(v goja.Value) uint64 {
	switch x := v.Export().(type) {
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return uint64(n)
		}
	case *big.Int:
		m := new(big.Int).And(x, new(big.Int).SetUint64(math.MaxUint64))
		return m.Uint64()
	}
	return uint64(toInt64(v.ToFloat()))
}

// toInt64 truncates a number toward zero; NaN gives 0 and out-of-range
// values saturate.
func toInt64(f float64) int64 {
	switch {
	case f != f:
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// numberTruth is Boolean(Number(v)).
func numberTruth(v goja.Value) bool {
	n := v.ToFloat()
	return n == n && n != 0
}
