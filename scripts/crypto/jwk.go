package crypto

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"math/big"

	"github.com/dop251/goja"
)

// jwkObj is a crypto.JWK instance. pub is an *rsa.PublicKey or an
// *ecdsa.PublicKey, or nil when the key material is not a usable key (an EC
// point off its curve, a zero modulus, an exponent out of range).
type jwkObj struct {
	pub     any
	isValid goja.Value
}

func (o *jwkObj) Get(key string) goja.Value {
	if key == "isValid" {
		return o.isValid
	}
	return nil
}

func (o *jwkObj) Set(string, goja.Value) bool { return false }
func (o *jwkObj) Has(key string) bool         { return key == "isValid" }
func (o *jwkObj) Delete(key string) bool      { return key != "isValid" }
func (o *jwkObj) Keys() []string              { return []string{"isValid"} }

// jwkOf returns the crypto.JWK behind v, or nil.
func (m *module) jwkOf(v goja.Value) *jwkObj {
	if o, ok := v.(*goja.Object); ok {
		if k, ok := o.Export().(*jwkObj); ok {
			return k
		}
	}
	return nil
}

// newJWK builds a public key from a JSON Web Key object (RFC 7517/7518):
// kty "RSA" with n and e, or kty "EC" with crv, x and y. Members are checked
// in the original's order: presence first, then curve, then decoding.
func (m *module) newJWK(call goja.ConstructorCall) goja.DynamicObject {
	obj, ok := call.Argument(0).(*goja.Object)
	if !ok {
		m.throwType("argument #1 expects an object")
	}
	member := func(name string) string {
		s, ok := stringOf(obj.Get(name))
		if !ok {
			m.throw(`missing "` + name + `"`)
		}
		return s
	}
	decode := func(name, s string) []byte {
		b, err := decodeBase64URL(s)
		if err != nil {
			m.throw(`invalid "` + name + `"`)
		}
		return b
	}
	switch member("kty") {
	case "RSA":
		n, e := member("n"), member("e")
		nb, eb := decode("n", n), decode("e", e)
		return m.jwk(rsaKey(nb, eb))
	case "EC":
		crv, x, y := member("crv"), member("x"), member("y")
		var curve elliptic.Curve
		switch crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			m.throw(`unknown "crv"`)
		}
		xb, yb := decode("x", x), decode("y", y)
		return m.jwk(ecKey(curve, xb, yb))
	}
	m.throw(`unknown "kty"`)
	return nil
}

func (m *module) jwk(pub any) *jwkObj {
	return &jwkObj{pub: pub, isValid: m.rt.ToValue(pub != nil)}
}

// rsaKey returns the RSA public key (n, e), or nil if unusable.
func rsaKey(n, e []byte) any {
	N := new(big.Int).SetBytes(n)
	E := new(big.Int).SetBytes(e)
	if N.Sign() == 0 || !E.IsInt64() || E.Int64() < 2 || E.Int64() > 1<<31-1 {
		return nil
	}
	return &rsa.PublicKey{N: N, E: int(E.Int64())}
}

// ecKey returns the point (x, y) on curve, or nil if it is not on it.
// Coordinates shorter than the field size are left-padded with zeros.
func ecKey(curve elliptic.Curve, x, y []byte) any {
	size := (curve.Params().BitSize + 7) / 8
	x, y = trimLeadingZeros(x), trimLeadingZeros(y)
	if len(x) > size || len(y) > size {
		return nil
	}
	point := make([]byte, 1+2*size)
	point[0] = 4 // uncompressed
	copy(point[1+size-len(x):1+size], x)
	copy(point[1+2*size-len(y):], y)
	k, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil
	}
	return k
}

func trimLeadingZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}
