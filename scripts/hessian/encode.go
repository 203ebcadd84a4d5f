package hessian

import (
	"encoding/binary"
	"math"
	"math/big"
	"strconv"
	"time"
	"unicode/utf16"

	"github.com/dop251/goja"
)

// encoder writes script values as Hessian 2.0.
type encoder struct {
	rt    *goja.Runtime
	b     []byte
	depth int
	open  map[*goja.Object]bool // the lists and maps being written
}

// top writes a value; an array at the top is written as the sequence of
// its elements.
func (e *encoder) top(v goja.Value) {
	if o, ok := v.(*goja.Object); ok && o.ClassName() == "Array" {
		e.enter(o)
		e.elements(o)
		e.leave(o)
		return
	}
	e.value(v)
}

func (e *encoder) value(v goja.Value) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		e.b = append(e.b, 'N')
		return
	}
	if o, ok := v.(*goja.Object); ok {
		e.object(o)
		return
	}
	if s, ok := v.(goja.String); ok {
		e.str(s)
		return
	}
	switch x := v.Export().(type) {
	case bool:
		if x {
			e.b = append(e.b, 'T')
		} else {
			e.b = append(e.b, 'F')
		}
	case int64:
		e.integer(x)
	case float64:
		e.number(x)
	case *big.Int:
		if x.IsInt64() {
			e.integer(x.Int64())
		} else {
			f, _ := new(big.Float).SetInt(x).Float64()
			e.double(f)
		}
	default: // symbols
		e.b = append(e.b, 'N')
	}
}

// number writes an integral value in the int32 range as 'I', another
// integral value in the int64 range as 'L' and anything else as 'D'.
func (e *encoder) number(f float64) {
	switch {
	case f != math.Trunc(f): // also NaN and ±Inf
		e.double(f)
	case f >= math.MinInt32 && f <= math.MaxInt32:
		e.integer(int64(f))
	case f >= math.MinInt64 && f < math.MaxInt64: // 2^63 is not an int64
		e.integer(int64(f))
	default:
		e.double(f)
	}
}

func (e *encoder) integer(i int64) {
	if i >= math.MinInt32 && i <= math.MaxInt32 {
		e.b = append(e.b, 'I')
		e.b = binary.BigEndian.AppendUint32(e.b, uint32(i))
		return
	}
	e.b = append(e.b, 'L')
	e.b = binary.BigEndian.AppendUint64(e.b, uint64(i))
}

func (e *encoder) double(f float64) {
	bits := math.Float64bits(f)
	if f != f {
		bits = 0x7ff8000000000000 // Java's canonical NaN (Go's has a payload)
	}
	e.b = append(e.b, 'D')
	e.b = binary.BigEndian.AppendUint64(e.b, bits)
}

func (e *encoder) enter(o *goja.Object) {
	if e.open == nil {
		e.open = map[*goja.Object]bool{}
	}
	if e.open[o] {
		panic(e.rt.NewTypeError("cyclic object value"))
	}
	if e.depth++; e.depth > maxDepth {
		panic(e.rt.NewTypeError("%s", ErrTooDeep.Error()))
	}
	e.open[o] = true
}

func (e *encoder) leave(o *goja.Object) {
	e.depth--
	delete(e.open, o)
}

func (e *encoder) object(o *goja.Object) {
	if d := asData(o); d != nil {
		e.binary(d.Bytes())
		return
	}
	switch o.ClassName() {
	case "Date":
		t, ok := o.Export().(time.Time)
		if !ok { // an invalid date
			e.b = append(e.b, 'N')
			return
		}
		e.b = append(e.b, 0x4a)
		e.b = binary.BigEndian.AppendUint64(e.b, uint64(t.UnixMilli()))
	case "Array":
		e.enter(o)
		n := o.Get("length").ToInteger()
		e.listHeader(n)
		e.elementsN(o, n)
		e.leave(o)
	default:
		e.enter(o)
		e.b = append(e.b, 'H')
		for _, k := range o.Keys() {
			e.goString(k)
			e.value(o.Get(k))
		}
		e.b = append(e.b, 'Z')
		e.leave(o)
	}
}

func (e *encoder) elements(o *goja.Object) {
	e.elementsN(o, o.Get("length").ToInteger())
}

// elementsN writes the first n elements of o, exactly n values (a hole or
// a missing index as 'N'), so that a fixed-length list header stays true.
func (e *encoder) elementsN(o *goja.Object, n int64) {
	for i := int64(0); i < n; i++ {
		e.value(o.Get(strconv.FormatInt(i, 10)))
	}
}

// listHeader writes the header of an untyped fixed-length list of n
// elements: 0x78+n up to 7 elements, else 'X' (0x58) and n as a compact
// int, as Java's Hessian2Output writes them. These are the list forms that
// Java, hessian.js and dubbo-go-hessian2 all read; hessian.js cannot read
// the variable-length 'W' ... 'Z'.
func (e *encoder) listHeader(n int64) {
	if n < 8 {
		e.b = append(e.b, 0x78+byte(n))
		return
	}
	e.b = append(e.b, 'X')
	e.compactInt(n)
}

// compactInt writes an int (a list length, below 2^32 in JS) in the
// shortest Hessian 2.0 form.
func (e *encoder) compactInt(i int64) {
	switch {
	case i >= -0x10 && i <= 0x2f:
		e.b = append(e.b, byte(0x90+i))
	case i >= -0x800 && i <= 0x7ff:
		e.b = append(e.b, byte(0xc8+(i>>8)), byte(i))
	case i >= -0x40000 && i <= 0x3ffff:
		e.b = append(e.b, byte(0xd4+(i>>16)), byte(i>>8), byte(i))
	default:
		e.b = append(e.b, 'I')
		e.b = binary.BigEndian.AppendUint32(e.b, uint32(i))
	}
}

// maxChunk is the length of the non-final chunks of long strings and
// binary data.
const maxChunk = 0xffff

// str writes a script string. Its length is counted in UTF-16 code units
// and every unit is written as a UTF-8 sequence of 1 to 3 bytes, so a
// character outside the BMP becomes its surrogate pair, two 3-byte
// sequences (CESU-8), as Java's Hessian2Output writes it.
func (e *encoder) str(s goja.String) {
	n := s.Length()
	if gs := s.String(); len(gs) == n { // ASCII only
		e.ascii(gs)
		return
	}
	units := make([]uint16, n)
	for i := range units {
		units[i] = s.CharAt(i)
	}
	e.utf16(units)
}

// goString writes a Go string (a property name) like str.
func (e *encoder) goString(s string) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			e.utf16(utf16.Encode([]rune(s)))
			return
		}
	}
	e.ascii(s)
}

// stringHeader writes the header of a string of n units: the compact forms
// for a short string or the final chunk 'S'.
func (e *encoder) stringHeader(n int, compact bool) {
	switch {
	case compact && n < 32:
		e.b = append(e.b, byte(n))
	case compact && n < 1024:
		e.b = append(e.b, 0x30|byte(n>>8), byte(n))
	default:
		e.b = append(e.b, 'S', byte(n>>8), byte(n))
	}
}

func (e *encoder) ascii(s string) {
	compact := true
	for len(s) > maxChunk {
		e.b = append(e.b, 'R', maxChunk>>8, maxChunk&0xff)
		e.b = append(e.b, s[:maxChunk]...)
		s = s[maxChunk:]
		compact = false
	}
	e.stringHeader(len(s), compact)
	e.b = append(e.b, s...)
}

func (e *encoder) utf16(u []uint16) {
	compact := true
	for len(u) > maxChunk {
		e.b = append(e.b, 'R', maxChunk>>8, maxChunk&0xff)
		e.units(u[:maxChunk])
		u = u[maxChunk:]
		compact = false
	}
	e.stringHeader(len(u), compact)
	e.units(u)
}

func (e *encoder) units(u []uint16) {
	for _, c := range u {
		switch {
		case c < 0x80:
			e.b = append(e.b, byte(c))
		case c < 0x800:
			e.b = append(e.b, 0xc0|byte(c>>6), 0x80|byte(c&0x3f))
		default:
			e.b = append(e.b, 0xe0|byte(c>>12), 0x80|byte(c>>6&0x3f), 0x80|byte(c&0x3f))
		}
	}
}

// binary writes bytes as binary data: compact forms up to 1023 bytes, 'B'
// up to 65535, longer in 'A' chunks of 65535 and a final 'B'.
func (e *encoder) binary(p []byte) {
	switch n := len(p); {
	case n <= 15:
		e.b = append(e.b, 0x20+byte(n))
	case n <= 1023:
		e.b = append(e.b, 0x34+byte(n>>8), byte(n))
	default:
		for len(p) > maxChunk {
			e.b = append(e.b, 'A', maxChunk>>8, maxChunk&0xff)
			e.b = append(e.b, p[:maxChunk]...)
			p = p[maxChunk:]
		}
		e.b = append(e.b, 'B', byte(len(p)>>8), byte(len(p)))
	}
	e.b = append(e.b, p...)
}
