package crypto

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"hash"
	"math/big"
	"strings"

	"github.com/dop251/goja"
)

// verifyObj is a crypto.Verify instance.
type verifyObj struct {
	alg *algorithm
	h   hash.Hash
}

// verify implements verify(key, signature[, encoding]). The digest state is
// kept, so verify may be called again (with other keys or signatures).
func (m *module) verify(v *verifyObj, call goja.FunctionCall) bool {
	pub := m.keyArg(call.Argument(0))
	var sig []byte
	a := call.Argument(1)
	if d := dataOf(a); d != nil {
		sig = d.Bytes()
	} else if s, ok := stringOf(a); ok {
		b, err := decodeString(s, encodingArg(call.Argument(2)))
		if err != nil {
			m.throw(err.Error())
		}
		sig = b
	} else {
		m.throwType("argument #2 expects a Data object or a string")
	}
	if pub == nil { // an invalid crypto.JWK
		return false
	}
	switch pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		m.throw("unsupported key type")
	}
	return verifySignature(pub, v.alg.id, v.h.Sum(nil), sig, false)
}

// keyArg returns the public key of a verify key argument: a crypto.JWK (nil
// if it is not valid) or the PEM text of a public or private key as a string
// or Data. An unreadable PEM throws.
func (m *module) keyArg(v goja.Value) any {
	if k := m.jwkOf(v); k != nil {
		return k.pub
	}
	var pemText string
	if d := dataOf(v); d != nil {
		pemText = string(d.Bytes())
	} else if s, ok := stringOf(v); ok {
		pemText = s
	} else {
		m.throwType("argument #1 expects a string or a Data object or a crypto.JWK object")
	}
	pub, err := m.publicKeyFromPEM(pemText)
	if err != nil {
		m.throw(err.Error())
	}
	return pub
}

// maxCachedKeys bounds the parsed-PEM cache; past it the cache starts over.
const maxCachedKeys = 32

// publicKeyFromPEM parses the first key in PEM text, caching the result:
// scripts typically pass the same key text for every request.
func (m *module) publicKeyFromPEM(text string) (any, error) {
	if pub, ok := m.keys[text]; ok {
		return pub, nil
	}
	pub, err := parsePublicKeyPEM([]byte(text))
	if err != nil {
		return nil, err
	}
	if len(m.keys) >= maxCachedKeys {
		clear(m.keys)
	}
	m.keys[text] = pub
	return pub, nil
}

// parsePublicKeyPEM returns the public key of the first key block in data:
// PUBLIC KEY (PKIX), RSA PUBLIC KEY (PKCS #1), RSA PRIVATE KEY (PKCS #1),
// EC PRIVATE KEY (SEC 1), PRIVATE KEY (PKCS #8) or CERTIFICATE. Other
// blocks (such as EC PARAMETERS) are skipped.
func parsePublicKeyPEM(data []byte) (any, error) {
	rest := data
	for {
		block, r := pem.Decode(rest)
		if block == nil {
			return nil, errors.New("cannot read key: no PEM key found")
		}
		rest = r
		var pub any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "RSA PRIVATE KEY":
			var k *rsa.PrivateKey
			if k, err = x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
				pub = &k.PublicKey
			}
		case "EC PRIVATE KEY":
			var k *ecdsa.PrivateKey
			if k, err = x509.ParseECPrivateKey(block.Bytes); err == nil {
				pub = &k.PublicKey
			}
		case "PRIVATE KEY":
			var k any
			if k, err = x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
				if s, ok := k.(crypto.Signer); ok {
					pub = s.Public()
				} else {
					err = errors.New("unsupported private key type")
				}
			}
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(block.Bytes); err == nil {
				pub = c.PublicKey
			}
		default:
			continue
		}
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "x509: ") {
				// encoding/asn1's structure errors say little to a user.
				msg = "malformed " + block.Type
			}
			return nil, errors.New("cannot read key: " + msg)
		}
		return pub, nil
	}
}

// verifySignature checks sig over digest (made with the hash id) with an
// RSA (PKCS #1 v1.5) or ECDSA key. ECDSA signatures are ASN.1 DER, or with
// jose the fixed-size r||s of JWS. Any other key, or an RSA digest without a
// DigestInfo prefix (id 0), does not verify.
func verifySignature(pub any, id crypto.Hash, digest, sig []byte, jose bool) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if id == 0 {
			return false
		}
		return rsa.VerifyPKCS1v15(k, id, digest, sig) == nil
	case *ecdsa.PublicKey:
		if !jose {
			return ecdsa.VerifyASN1(k, digest, sig)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(k, digest, r, s)
	}
	return false
}
