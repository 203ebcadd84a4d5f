package crypto

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"math"
	"strings"

	"github.com/dop251/goja"
)

// jwtAlg is a JWS algorithm crypto.JWT accepts.
type jwtAlg struct {
	kind byte // 'H' (HMAC), 'R' (RSA PKCS #1 v1.5) or 'E' (ECDSA)
	new  func() hash.Hash
	id   crypto.Hash
}

var jwtAlgs = map[string]jwtAlg{
	"HS256": {'H', sha256.New, crypto.SHA256},
	"HS384": {'H', sha512.New384, crypto.SHA384},
	"HS512": {'H', sha512.New, crypto.SHA512},
	"RS256": {'R', sha256.New, crypto.SHA256},
	"RS384": {'R', sha512.New384, crypto.SHA384},
	"RS512": {'R', sha512.New, crypto.SHA512},
	"ES256": {'E', sha256.New, crypto.SHA256},
	"ES384": {'E', sha512.New384, crypto.SHA384},
	"ES512": {'E', sha512.New, crypto.SHA512},
}

// jwtObj is a crypto.JWT instance. When the token is not valid only valid
// (false) is set.
type jwtObj struct {
	valid   bool
	isValid goja.Value
	alg     jwtAlg
	signed  string // "header.payload" as in the token
	sig     []byte
	header  goja.Value
	payload goja.Value
}

func (o *jwtObj) Get(key string) goja.Value {
	switch key {
	case "isValid":
		return o.isValid
	case "header":
		if o.valid {
			return o.header
		}
		return goja.Undefined()
	case "payload":
		if o.valid {
			return o.payload
		}
		return goja.Undefined()
	}
	return nil
}

func (o *jwtObj) Set(string, goja.Value) bool { return false }
func (o *jwtObj) Has(key string) bool {
	return key == "isValid" || key == "header" || key == "payload"
}
func (o *jwtObj) Delete(key string) bool { return !o.Has(key) }
func (o *jwtObj) Keys() []string         { return []string{"isValid", "header", "payload"} }

// newJWT parses a compact JWS token (a string, or a Data holding one). A
// malformed token makes an instance with isValid false; only a wrong
// argument type throws.
func (m *module) newJWT(call goja.ConstructorCall) goja.DynamicObject {
	a := call.Argument(0)
	var token string
	if d := dataOf(a); d != nil {
		token = string(d.Bytes())
	} else if s, ok := stringOf(a); ok {
		token = s
	} else {
		m.throwType("argument #1 expects a string")
	}
	t := &jwtObj{}
	m.parseJWT(t, token)
	t.isValid = m.rt.ToValue(t.valid)
	return t
}

func (m *module) parseJWT(t *jwtObj, token string) {
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(s, ".") {
		return
	}
	hb, err1 := decodeBase64URL(h)
	pb, err2 := decodeBase64URL(p)
	sig, err3 := decodeBase64URL(s)
	if err1 != nil || err2 != nil || err3 != nil {
		return
	}
	header, hdr, ok := m.parseJSONObject(hb)
	if !ok {
		return
	}
	payload, _, ok := m.parseJSONObject(pb)
	if !ok {
		return
	}
	algName, _ := hdr["alg"].(string)
	alg, ok := jwtAlgs[algName]
	if !ok {
		return
	}
	*t = jwtObj{
		valid:   true,
		alg:     alg,
		signed:  token[:len(h)+1+len(p)],
		sig:     sig,
		header:  header,
		payload: payload,
	}
}

// verifyJWT implements jwt.verify(key): an HMAC secret (string or Data) for
// HS*, a crypto.JWK or PEM text (string or Data) for RS* and ES*. A key of
// the wrong kind for the algorithm does not verify; unreadable PEM throws.
func (m *module) verifyJWT(t *jwtObj, key goja.Value) bool {
	jwk := m.jwkOf(key)
	var keyBytes []byte
	if jwk == nil {
		if d := dataOf(key); d != nil {
			keyBytes = d.Bytes()
		} else if s, ok := stringOf(key); ok {
			keyBytes = []byte(s)
		} else {
			m.throwType("argument #1 expects a Data object or a string or a crypto.JWK object")
		}
	}
	if !t.valid {
		return false
	}
	if t.alg.kind == 'H' {
		if jwk != nil {
			return false
		}
		mac := hmac.New(t.alg.new, keyBytes)
		mac.Write([]byte(t.signed))
		return hmac.Equal(mac.Sum(nil), t.sig)
	}
	var pub any
	if jwk != nil {
		pub = jwk.pub
	} else {
		var err error
		if pub, err = m.publicKeyFromPEM(string(keyBytes)); err != nil {
			m.throw(err.Error())
		}
	}
	h := t.alg.new()
	h.Write([]byte(t.signed))
	digest := h.Sum(nil)
	switch pub.(type) {
	case *rsa.PublicKey:
		if t.alg.kind != 'R' {
			return false
		}
	case *ecdsa.PublicKey:
		if t.alg.kind != 'E' {
			return false
		}
	default:
		return false
	}
	return verifySignature(pub, t.alg.id, digest, t.sig, true)
}

// parseJSONObject parses text that must be one JSON object into a plain
// script object (members in text order, as JSON.parse makes them) and a Go
// map of its top-level string members.
func (m *module) parseJSONObject(text []byte) (*goja.Object, map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, nil, false
	}
	top := map[string]any{}
	v, err := m.jsonValue(dec, tok, top)
	if err != nil {
		return nil, nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, false
	}
	return v.(*goja.Object), top, true
}

var errJSON = errors.New("invalid JSON")

// jsonValue converts the JSON value starting with tok. Top-level string
// members of an object are also stored in top when it is not nil.
func (m *module) jsonValue(dec *json.Decoder, tok json.Token, top map[string]any) (goja.Value, error) {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := m.rt.NewObject()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errJSON
				}
				vt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := m.jsonValue(dec, vt, nil)
				if err != nil {
					return nil, err
				}
				if top != nil {
					if s, ok := vt.(string); ok {
						top[k] = s
					} else {
						delete(top, k)
					}
				}
				// An own data property even for "__proto__", as JSON.parse.
				o.DefineDataProperty(k, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, err
			}
			return o, nil
		case '[':
			var items []any
			for dec.More() {
				vt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := m.jsonValue(dec, vt, nil)
				if err != nil {
					return nil, err
				}
				items = append(items, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, err
			}
			return m.rt.NewArray(items...), nil
		}
		return nil, errJSON
	case string:
		return m.rt.ToValue(t), nil
	case json.Number:
		f, err := t.Float64()
		if err != nil && !math.IsInf(f, 0) {
			return nil, err
		}
		if f == math.Trunc(f) && math.Abs(f) <= 1<<53 && !(f == 0 && math.Signbit(f)) {
			return m.rt.ToValue(int64(f)), nil
		}
		return m.rt.ToValue(f), nil
	case bool:
		return m.rt.ToValue(t), nil
	case nil:
		return goja.Null(), nil
	}
	return nil, errJSON
}
