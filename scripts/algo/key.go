package algo

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// keyKind is the type of a script value used as a [Key].
type keyKind uint8

const (
	keyUndefined keyKind = iota
	keyNull
	keyBool
	keyNumber
	keyNaN
	keyString   // str holds the UTF-8 form
	keyString16 // str holds the UTF-16 code units (little-endian pairs of bytes)
	keyBigInt   // str holds the decimal form
	keySymbol   // ref holds the *goja.Symbol
	keyObject   // ref holds the *goja.Object
)

// Key is a script value reduced to a comparable Go value, so that two
// values make equal Keys exactly when a JavaScript Map treats them as the
// same key (SameValueZero): primitives by type and value (+0 and -0 are
// equal, NaN equals NaN, 1 and '1' differ), objects and symbols by
// identity. [Cache] and [ResourcePool] key script values with it.
//
// A Key for an object or symbol refers to it, keeping it alive as long as
// the Key is stored.
type Key struct {
	kind keyKind
	num  float64
	str  string
	ref  any
}

// KeyOf returns the Key of v (nil counts as undefined).
func KeyOf(v goja.Value) Key {
	switch x := v.(type) {
	case nil:
		return Key{kind: keyUndefined}
	case *goja.Object:
		return Key{kind: keyObject, ref: x}
	case *goja.Symbol:
		return Key{kind: keySymbol, ref: x}
	}
	switch {
	case goja.IsUndefined(v):
		return Key{kind: keyUndefined}
	case goja.IsNull(v):
		return Key{kind: keyNull}
	case goja.IsNumber(v):
		f := v.ToFloat()
		if math.IsNaN(f) {
			return Key{kind: keyNaN}
		}
		if f == 0 {
			f = 0 // -0 is +0
		}
		return Key{kind: keyNumber, num: f}
	case goja.IsString(v):
		return stringKey(v.(goja.String))
	case goja.IsBigInt(v):
		return Key{kind: keyBigInt, str: v.String()}
	}
	// The only primitive left is a boolean.
	if v.ToBoolean() {
		return Key{kind: keyBool, num: 1}
	}
	return Key{kind: keyBool}
}

// stringKey keys a string by its UTF-8 form, which is exact unless the
// string has lone surrogates: those all become U+FFFD, so a string whose
// UTF-8 form contains U+FFFD is keyed by its UTF-16 code units instead.
// Either way equal strings give equal Keys and different strings different
// ones (each string deterministically takes one of the two forms).
func stringKey(s goja.String) Key {
	u := s.String()
	if !strings.ContainsRune(u, utf8.RuneError) {
		return Key{kind: keyString, str: u}
	}
	n := s.Length()
	var b strings.Builder
	b.Grow(2 * n)
	for i := 0; i < n; i++ {
		c := s.CharAt(i)
		b.WriteByte(byte(c))
		b.WriteByte(byte(c >> 8))
	}
	return Key{kind: keyString16, str: b.String()}
}
