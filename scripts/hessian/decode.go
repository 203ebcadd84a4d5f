package hessian

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"

	"github.com/dop251/goja"
)

// decodeError carries a decoding error up the decoder's recursion (as a
// panic recovered in decode only).
type decodeError struct{ err error }

// decoder reads Hessian 2.0 values (the serialization grammar of
// http://hessian.caucho.com/doc/hessian-serialization.html) from b.
type decoder struct {
	a       *api
	rt      *goja.Runtime
	b       []byte
	pos     int
	depth   int
	refs    []goja.Value // lists, maps and objects, for 'Q'
	types   []string     // type names of typed lists and maps
	classes [][]string   // field names of each class definition
	ascii   []byte       // scratch for strings
	units   []uint16     // scratch for strings
}

// decode decodes all the values in b: none gives undefined, one gives that
// value, more give an array of them.
func (a *api) decode(b []byte) (v goja.Value, err error) {
	d := &decoder{a: a, rt: a.rt, b: b}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(decodeError)
			if !ok {
				panic(r)
			}
			v, err = nil, e.err
		}
	}()
	var vals []interface{}
	for d.pos < len(d.b) {
		vals = append(vals, d.value())
	}
	switch len(vals) {
	case 0:
		return goja.Undefined(), nil
	case 1:
		return vals[0].(goja.Value), nil
	}
	return a.rt.NewArray(vals...), nil
}

func (d *decoder) fail(err error) {
	panic(decodeError{err})
}

func (d *decoder) failf(format string, args ...interface{}) {
	d.fail(fmt.Errorf(format, args...))
}

// unexpected fails on a code that is valid Hessian but not where it is.
func (d *decoder) unexpected(c byte) {
	if c > ' ' && c <= '~' {
		d.failf("unexpected bytecode '%c'", c)
	}
	d.failf("unexpected bytecode 0x%02x", c)
}

// need fails unless n more bytes are available.
func (d *decoder) need(n int) {
	if n > len(d.b)-d.pos {
		d.fail(ErrTruncated)
	}
}

func (d *decoder) byte() byte {
	d.need(1)
	c := d.b[d.pos]
	d.pos++
	return c
}

func (d *decoder) next(n int) []byte {
	d.need(n)
	p := d.b[d.pos : d.pos+n]
	d.pos += n
	return p
}

func (d *decoder) u16() int { return int(binary.BigEndian.Uint16(d.next(2))) }

func (d *decoder) i32() int32 { return int32(binary.BigEndian.Uint32(d.next(4))) }

func (d *decoder) i64() int64 { return int64(binary.BigEndian.Uint64(d.next(8))) }

// value reads one value.
func (d *decoder) value() goja.Value {
	return d.valueFrom(d.byte())
}

// valueFrom reads the value whose first byte c has been read. Class
// definitions before it are read and remembered.
func (d *decoder) valueFrom(c byte) goja.Value {
	for c == 'C' {
		d.classDef()
		c = d.byte()
	}
	rt := d.rt
	switch {
	case c == 'N':
		return goja.Null()
	case c == 'T':
		return rt.ToValue(true)
	case c == 'F':
		return rt.ToValue(false)

	case isIntCode(c) || isLongCode(c):
		return rt.ToValue(d.intFrom(c))

	case c == 'D':
		return rt.ToValue(math.Float64frombits(uint64(d.i64())))
	case c == 0x5b:
		return rt.ToValue(0)
	case c == 0x5c:
		return rt.ToValue(1)
	case c == 0x5d:
		return rt.ToValue(int8(d.byte()))
	case c == 0x5e:
		return rt.ToValue(int16(d.u16()))
	case c == 0x5f:
		// Thousandths in an int, as Hessian2Output writes it (the spec text
		// says "32-bit float"; every implementation writes mills).
		return rt.ToValue(0.001 * float64(d.i32()))

	case isStringCode(c):
		return d.str(c)
	case isBinaryCode(c):
		return d.binary(c)

	case c == 0x4a:
		return d.date(d.i64())
	case c == 0x4b:
		return d.date(int64(d.i32()) * 60000)

	case c == 'H':
		return d.mapValue()
	case c == 'M':
		d.typeName()
		return d.mapValue()

	case c == 'W':
		return d.list(-1)
	case c == 'U':
		d.typeName()
		return d.list(-1)
	case c == 'X':
		return d.list(d.length())
	case c == 'V':
		d.typeName()
		return d.list(d.length())
	case 0x70 <= c && c <= 0x77:
		d.typeName()
		return d.list(int64(c - 0x70))
	case 0x78 <= c && c <= 0x7f:
		return d.list(int64(c - 0x78))

	case c == 'O':
		return d.object(d.intValue())
	case 0x60 <= c && c <= 0x6f:
		return d.object(int64(c - 0x60))

	case c == 'Q':
		i := d.intValue()
		if i < 0 || i >= int64(len(d.refs)) {
			d.failf("reference %d out of range", i)
		}
		return d.refs[i]

	case c == 'Z':
		d.unexpected(c)
	}
	d.failf("unrecognized bytecode 0x%02x", c)
	return nil
}

func isIntCode(c byte) bool {
	return c == 'I' || 0x80 <= c && c <= 0xd7
}

func isLongCode(c byte) bool {
	return c == 'L' || c == 0x59 || c >= 0xd8 || 0x38 <= c && c <= 0x3f
}

func isStringCode(c byte) bool {
	return c <= 0x1f || 0x30 <= c && c <= 0x33 || c == 'S' || c == 'R'
}

func isBinaryCode(c byte) bool {
	return 0x20 <= c && c <= 0x2f || 0x34 <= c && c <= 0x37 || c == 'B' || c == 'A'
}

// intFrom reads an int or a long whose first byte c has been read.
func (d *decoder) intFrom(c byte) int64 {
	switch {
	case c == 'I', c == 0x59:
		return int64(d.i32())
	case c == 'L':
		return d.i64()
	case c <= 0x3f: // 0x38-0x3f: three-octet long
		p := d.next(2)
		return (int64(c)-0x3c)<<16 | int64(p[0])<<8 | int64(p[1])
	case c <= 0xbf: // one-octet int
		return int64(c) - 0x90
	case c <= 0xcf: // two-octet int
		return (int64(c)-0xc8)<<8 | int64(d.byte())
	case c <= 0xd7: // three-octet int
		p := d.next(2)
		return (int64(c)-0xd4)<<16 | int64(p[0])<<8 | int64(p[1])
	case c <= 0xef: // one-octet long
		return int64(c) - 0xe0
	default: // two-octet long
		return (int64(c)-0xf8)<<8 | int64(d.byte())
	}
}

// intValue reads an int or a long (a length, a reference or a class
// definition number).
func (d *decoder) intValue() int64 {
	c := d.byte()
	if !isIntCode(c) && !isLongCode(c) {
		d.unexpected(c)
	}
	return d.intFrom(c)
}

// length reads the length of a fixed-length list.
func (d *decoder) length() int64 {
	n := d.intValue()
	if n < 0 {
		d.failf("invalid length %d", n)
	}
	return n
}

// typeName reads the type of a typed list or map: a string (remembered) or
// the number of one read before. Types are not kept in the result.
func (d *decoder) typeName() {
	c := d.byte()
	switch {
	case isStringCode(c):
		d.types = append(d.types, d.goString(c))
	case isIntCode(c) || isLongCode(c):
		if i := d.intFrom(c); i < 0 || i >= int64(len(d.types)) {
			d.failf("type reference %d out of range", i)
		}
	default:
		d.unexpected(c)
	}
}

// classDef reads a class definition after its 'C': type name, number of
// fields, field names.
func (d *decoder) classDef() {
	d.stringArg()
	n := d.length()
	fields := make([]string, 0, min(n, int64(len(d.b)-d.pos)))
	for range n {
		fields = append(fields, d.stringArg())
	}
	d.classes = append(d.classes, fields)
}

// stringArg reads a string where nothing else is allowed.
func (d *decoder) stringArg() string {
	c := d.byte()
	if !isStringCode(c) {
		d.unexpected(c)
	}
	return d.goString(c)
}

func (d *decoder) enter() {
	if d.depth++; d.depth > maxDepth {
		d.fail(ErrTooDeep)
	}
}

// list reads a list's elements, n of them or (n < 0) up to 'Z'.
func (d *decoder) list(n int64) goja.Value {
	d.enter()
	arr := d.rt.NewArray()
	d.refs = append(d.refs, arr)
	for i := int64(0); n < 0 || i < n; i++ {
		c := d.byte()
		if n < 0 && c == 'Z' {
			break
		}
		arr.Set(strconv.FormatInt(i, 10), d.valueFrom(c))
	}
	d.depth--
	return arr
}

// mapValue reads a map's entries up to 'Z' into a plain object; keys are
// used in their string form.
func (d *decoder) mapValue() goja.Value {
	d.enter()
	obj := d.rt.NewObject()
	d.refs = append(d.refs, obj)
	for {
		c := d.byte()
		if c == 'Z' {
			break
		}
		k := d.key(c)
		define(obj, k, d.value())
	}
	d.depth--
	return obj
}

// key reads a map key whose first byte c has been read.
func (d *decoder) key(c byte) string {
	for c == 'C' {
		d.classDef()
		c = d.byte()
	}
	if isStringCode(c) {
		return d.goString(c)
	}
	return d.valueFrom(c).String()
}

// object reads the field values of an instance of class definition i.
func (d *decoder) object(i int64) goja.Value {
	if i < 0 || i >= int64(len(d.classes)) {
		d.failf("class definition %d out of range", i)
	}
	d.enter()
	obj := d.rt.NewObject()
	d.refs = append(d.refs, obj)
	for _, f := range d.classes[i] {
		define(obj, f, d.value())
	}
	d.depth--
	return obj
}

// define sets an own enumerable property. (Set would call the
// __proto__ setter for a key "__proto__".)
func define(obj *goja.Object, k string, v goja.Value) {
	obj.DefineDataProperty(k, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
}

func (d *decoder) date(ms int64) goja.Value {
	v, err := d.rt.New(d.a.date, d.rt.ToValue(ms))
	if err != nil {
		d.fail(err)
	}
	return v
}

// binary reads binary data (all its chunks) into a new Data.
func (d *decoder) binary(c byte) goja.Value {
	out := []byte{}
	for {
		var n int
		final := true
		switch {
		case c <= 0x2f:
			n = int(c - 0x20)
		case c <= 0x37:
			n = int(c-0x34)<<8 | int(d.byte())
		case c == 'A':
			n, final = d.u16(), false
		default: // 'B'
			n = d.u16()
		}
		out = append(out, d.next(n)...) // copied: the input may be a pooled buffer
		if final {
			return d.a.newData(out)
		}
		if c = d.byte(); !isBinaryCode(c) {
			d.unexpected(c)
		}
	}
}

// readString reads a string (all its chunks) whose first byte c has been
// read. The text is left in d.ascii when ascii is true, else in d.units.
//
// A length counts UTF-16 code units, as in Java. Characters are UTF-8
// sequences of up to 3 bytes, so a surrogate pair comes as two 3-byte
// sequences (what Java's Hessian2Output writes); a 4-byte sequence is
// accepted too and counts as 2 units.
func (d *decoder) readString(c byte) (ascii bool) {
	d.ascii, d.units = d.ascii[:0], d.units[:0]
	ascii = true
	for {
		var n int
		final := true
		switch {
		case c <= 0x1f:
			n = int(c)
		case c <= 0x33:
			n = int(c-0x30)<<8 | int(d.byte())
		case c == 'R':
			n, final = d.u16(), false
		default: // 'S'
			n = d.u16()
		}
		for i := 0; i < n; {
			d.need(1)
			x := d.b[d.pos]
			if x < 0x80 {
				if ascii {
					d.ascii = append(d.ascii, x)
				} else {
					d.units = append(d.units, uint16(x))
				}
				d.pos++
				i++
				continue
			}
			if ascii {
				ascii = false
				for _, a := range d.ascii {
					d.units = append(d.units, uint16(a))
				}
			}
			switch {
			case x&0xe0 == 0xc0:
				p := d.continuation(2)
				d.units = append(d.units, uint16(x&0x1f)<<6|uint16(p[1]&0x3f))
				i++
			case x&0xf0 == 0xe0:
				p := d.continuation(3)
				d.units = append(d.units, uint16(x&0x0f)<<12|uint16(p[1]&0x3f)<<6|uint16(p[2]&0x3f))
				i++
			case x&0xf8 == 0xf0:
				p := d.continuation(4)
				r := rune(x&0x07)<<18 | rune(p[1]&0x3f)<<12 | rune(p[2]&0x3f)<<6 | rune(p[3]&0x3f)
				if r < 0x10000 || r > 0x10ffff {
					d.fail(ErrBadUTF8)
				}
				r1, r2 := utf16.EncodeRune(r)
				d.units = append(d.units, uint16(r1), uint16(r2))
				i += 2
			default:
				d.fail(ErrBadUTF8)
			}
		}
		if final {
			return ascii
		}
		if c = d.byte(); !isStringCode(c) {
			d.unexpected(c)
		}
	}
}

// continuation returns the n-byte sequence at pos after checking its
// continuation bytes, and moves past it.
func (d *decoder) continuation(n int) []byte {
	p := d.next(n)
	for _, b := range p[1:] {
		if b&0xc0 != 0x80 {
			d.fail(ErrBadUTF8)
		}
	}
	return p
}

// str reads a string value.
func (d *decoder) str(c byte) goja.Value {
	if d.readString(c) {
		return d.rt.ToValue(string(d.ascii))
	}
	return goja.StringFromUTF16(d.units)
}

// goString reads a string as a Go string (lone surrogates become U+FFFD).
func (d *decoder) goString(c byte) string {
	if d.readString(c) {
		return string(d.ascii)
	}
	return string(utf16.Decode(d.units))
}
