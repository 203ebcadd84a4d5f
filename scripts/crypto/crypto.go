package crypto

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strings"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/scripts/jsfunc"

	"github.com/pipy-go/pipy/filters"
)

// New returns the script's `crypto` object for rt:
//
//	new crypto.Hash(algorithm)        .update(data | string[, encoding]), .digest([encoding])
//	new crypto.Hmac(algorithm, key)   .update(...), .digest([encoding])
//	new crypto.Verify(algorithm)      .update(...), .verify(key, signature[, encoding])
//	new crypto.JWK(object)            .isValid
//	new crypto.JWT(token)             .isValid, .header, .payload, .verify(key)
//
// newData makes the script value of a Data holding the given bytes (which it
// may keep); digest() returns such values. Data arguments are recognised with
// [filters.Unwrap].
//
// Runtime failures (an unknown digest, a bad encoding, an unreadable key,
// JWK errors) throw an Error whose message is the spec's text; a wrong
// argument type throws a TypeError ("argument #N expects ...").
//
// The returned object and everything it creates belong to rt and must only
// be used on rt's goroutine.
func New(rt *goja.Runtime, newData func([]byte) goja.Value) *goja.Object {
	m := &module{rt: rt, newData: newData, keys: make(map[string]any)}
	if c, ok := goja.AssertConstructor(rt.Get("Error")); ok {
		m.errorCtor = c
	}
	o := rt.NewObject()

	hashCtor, hashProto := m.class("Hash", 1, func(call goja.ConstructorCall) goja.DynamicObject {
		a := m.algorithmArg(call.Argument(0))
		return &hashObj{h: a.new()}
	})
	m.digestMethods(hashProto, "Hash")

	hmacCtor, hmacProto := m.class("Hmac", 2, func(call goja.ConstructorCall) goja.DynamicObject {
		a := m.algorithmArg(call.Argument(0))
		key, ok := m.bytesOf(call.Argument(1))
		if !ok {
			m.throwType("argument #2 expects a Data object or a string")
		}
		return &hmacObj{hashObj{h: hmac.New(a.new, key)}}
	})
	m.digestMethods(hmacProto, "Hmac")

	verifyCtor, verifyProto := m.class("Verify", 1, func(call goja.ConstructorCall) goja.DynamicObject {
		a := m.algorithmArg(call.Argument(0))
		return &verifyObj{alg: a, h: a.new()}
	})
	m.method(verifyProto, "update", 2, func(call goja.FunctionCall) goja.Value {
		m.update(thisAs[*verifyObj](m, call, "Verify").h, call)
		return goja.Undefined()
	})
	m.method(verifyProto, "verify", 3, func(call goja.FunctionCall) goja.Value {
		v := thisAs[*verifyObj](m, call, "Verify")
		return m.rt.ToValue(m.verify(v, call))
	})

	jwkCtor, jwkProto := m.class("JWK", 1, m.newJWK)
	m.jwkProto = jwkProto

	jwtCtor, jwtProto := m.class("JWT", 1, m.newJWT)
	m.method(jwtProto, "verify", 1, func(call goja.FunctionCall) goja.Value {
		t := thisAs[*jwtObj](m, call, "JWT")
		return m.rt.ToValue(m.verifyJWT(t, call.Argument(0)))
	})

	o.Set("Hash", hashCtor)
	o.Set("Hmac", hmacCtor)
	o.Set("Verify", verifyCtor)
	o.Set("JWK", jwkCtor)
	o.Set("JWT", jwtCtor)
	return o
}

// module is the state shared by one runtime's crypto object.
type module struct {
	rt        *goja.Runtime
	newData   func([]byte) goja.Value
	errorCtor goja.Constructor
	jwkProto  *goja.Object
	// keys caches parsed PEM keys by their text (see publicKeyFromPEM).
	keys map[string]any
}

// class makes a native constructor whose instances are dynamic objects made
// by init, with the constructor's prototype (or new.target's, for
// subclasses). Called without `new`, it builds an instance all the same.
func (m *module) class(name string, length int, init func(goja.ConstructorCall) goja.DynamicObject) (ctor, proto *goja.Object) {
	ctor = m.rt.ToValue(func(call goja.ConstructorCall) *goja.Object {
		p := proto
		if call.NewTarget != nil {
			if tp := call.This.Prototype(); tp != nil {
				p = tp
			}
		}
		o := m.rt.NewDynamicObject(init(call))
		o.SetPrototype(p)
		return o
	}).(*goja.Object)
	jsfunc.SetMeta(m.rt, ctor, name, length)
	proto = ctor.Get("prototype").(*goja.Object)
	return ctor, proto
}

// method defines fn as a non-enumerable method of obj.
func (m *module) method(obj *goja.Object, name string, length int, fn func(goja.FunctionCall) goja.Value) {
	jsfunc.Method(m.rt, obj, name, length, fn)
}

// thisAs returns the Go value behind call.This, or throws a TypeError.
func thisAs[T goja.DynamicObject](m *module, call goja.FunctionCall, class string) T {
	if o, ok := call.This.(*goja.Object); ok {
		if v, ok := o.Export().(T); ok {
			return v
		}
	}
	m.throwType("not a crypto." + class + " object")
	panic("unreachable")
}

// throw raises a JavaScript Error with message msg.
func (m *module) throw(msg string) {
	if m.errorCtor != nil {
		if o, err := m.errorCtor(nil, m.rt.ToValue(msg)); err == nil {
			panic(o)
		}
	}
	panic(m.rt.NewGoError(digestError(msg)))
}

// throwType raises a JavaScript TypeError with message msg.
func (m *module) throwType(msg string) {
	panic(m.rt.NewTypeError("%s", msg))
}

func isNullish(v goja.Value) bool {
	return v == nil || goja.IsUndefined(v) || goja.IsNull(v)
}

// stringOf returns v's string if v is a string.
func stringOf(v goja.Value) (string, bool) {
	if v == nil {
		return "", false
	}
	s, ok := v.Export().(string)
	return s, ok
}

// dataOf returns the Data behind v, or nil.
func dataOf(v goja.Value) *filters.Data {
	if x := filters.Unwrap(v); x != nil {
		if d, ok := x.(*filters.Data); ok {
			return d
		}
	}
	return nil
}

// bytesOf returns the bytes of a Data or the UTF-8 bytes of a string.
func (m *module) bytesOf(v goja.Value) ([]byte, bool) {
	if d := dataOf(v); d != nil {
		return d.Bytes(), true
	}
	if s, ok := stringOf(v); ok {
		return []byte(s), true
	}
	return nil, false
}

// algorithmArg resolves a constructor's digest name, or throws.
func (m *module) algorithmArg(v goja.Value) *algorithm {
	name, ok := stringOf(v)
	if !ok {
		m.throwType("argument #1 expects a string")
	}
	a, err := lookupAlgorithm(name)
	if err != nil {
		m.throw(err.Error())
	}
	return a
}

// encodingArg returns an optional encoding argument ("utf8" when absent).
func encodingArg(v goja.Value) string {
	if isNullish(v) {
		return "utf8"
	}
	return v.String()
}

// decodeString converts s in encoding enc to bytes, with the errors of
// `new Data(string, encoding)`.
func decodeString(s, enc string) ([]byte, error) {
	switch enc {
	case "utf8", "utf-8":
		return []byte(s), nil
	case "hex", "hdex":
		if len(s)%2 != 0 {
			return nil, digestError("incomplete hex string")
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, digestError("invalid hex string")
		}
		return b, nil
	case "base64":
		if len(s)%4 != 0 {
			return nil, digestError("incomplete Base64 string")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, digestError("invalid Base64 encoding")
		}
		return b, nil
	case "base64url":
		b, err := decodeBase64URL(s)
		if err != nil {
			return nil, digestError("invalid Base64Url encoding")
		}
		return b, nil
	}
	return nil, digestError("unknown encoding")
}

// decodeBase64URL decodes base64url with optional padding.
func decodeBase64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// update feeds update()'s arguments to h: a Data, or a string in an
// optional encoding.
func (m *module) update(h hash.Hash, call goja.FunctionCall) {
	a := call.Argument(0)
	if d := dataOf(a); d != nil {
		d.Chunks(func(b []byte) { h.Write(b) })
		return
	}
	s, ok := stringOf(a)
	if !ok {
		m.throwType("argument #1 expects a Data object or a string")
	}
	enc := encodingArg(call.Argument(1))
	if enc == "utf8" {
		h.Write([]byte(s))
		return
	}
	b, err := decodeString(s, enc)
	if err != nil {
		m.throw(err.Error())
	}
	h.Write(b)
}

// hashObj is a crypto.Hash instance.
type hashObj struct{ h hash.Hash }

// hmacObj is a crypto.Hmac instance.
type hmacObj struct{ hashObj }

// The instances have no own properties.

func (o *hashObj) Get(string) goja.Value         { return nil }
func (o *hashObj) Set(string, goja.Value) bool   { return false }
func (o *hashObj) Has(string) bool               { return false }
func (o *hashObj) Delete(string) bool            { return true }
func (o *hashObj) Keys() []string                { return nil }
func (o *verifyObj) Get(string) goja.Value       { return nil }
func (o *verifyObj) Set(string, goja.Value) bool { return false }
func (o *verifyObj) Has(string) bool             { return false }
func (o *verifyObj) Delete(string) bool          { return true }
func (o *verifyObj) Keys() []string              { return nil }

// digestMethods defines update and digest on a Hash or Hmac prototype.
func (m *module) digestMethods(proto *goja.Object, class string) {
	get := func(call goja.FunctionCall) hash.Hash {
		if class == "Hmac" {
			return thisAs[*hmacObj](m, call, class).h
		}
		return thisAs[*hashObj](m, call, class).h
	}
	m.method(proto, "update", 2, func(call goja.FunctionCall) goja.Value {
		m.update(get(call), call)
		return goja.Undefined()
	})
	m.method(proto, "digest", 1, func(call goja.FunctionCall) goja.Value {
		return m.digest(get(call), call.Argument(0))
	})
}

// digest returns h's sum as a Data (no encoding) or an encoded string. The
// state is kept: update may go on and digest be called again.
func (m *module) digest(h hash.Hash, encoding goja.Value) goja.Value {
	sum := h.Sum(nil)
	if isNullish(encoding) {
		return m.newData(sum)
	}
	switch encoding.String() {
	case "utf8", "utf-8":
		return m.rt.ToValue(string(sum))
	case "hex", "hdex":
		return m.rt.ToValue(hex.EncodeToString(sum))
	case "base64":
		return m.rt.ToValue(base64.StdEncoding.EncodeToString(sum))
	case "base64url":
		return m.rt.ToValue(base64.RawURLEncoding.EncodeToString(sum))
	}
	m.throw("unknown encoding")
	return nil
}
