package crypto

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/scripts/apidoc"
)

// testData is the test runtime's stand-in for the scripts package's Data
// objects: filters.Unwrap finds the *filters.Data through Unwrap.
type testData struct{ d *filters.Data }

func (t *testData) Unwrap() any { return t.d }

// newRuntime returns a bare runtime with `crypto` and two helpers:
// data(string) makes a Data, hexOf(data) gives a Data's bytes in hex.
func newRuntime(t testing.TB) *goja.Runtime {
	t.Helper()
	rt := goja.New()
	newData := func(b []byte) goja.Value { return rt.ToValue(&testData{filters.NewDataBytes(b)}) }
	rt.Set("crypto", New(rt, newData))
	rt.Set("data", func(s string) goja.Value { return newData([]byte(s)) })
	rt.Set("dataHex", func(s string) goja.Value {
		b, err := hex.DecodeString(s)
		if err != nil {
			panic(rt.NewGoError(err))
		}
		return newData(b)
	})
	rt.Set("hexOf", func(v goja.Value) string {
		d := dataOf(v)
		if d == nil {
			panic(rt.NewTypeError("not a Data"))
		}
		return hex.EncodeToString(d.Bytes())
	})
	return rt
}

func run(t testing.TB, rt *goja.Runtime, src string) goja.Value {
	t.Helper()
	v, err := rt.RunString(src)
	if err != nil {
		t.Fatalf("%s\n=> %v", src, err)
	}
	return v
}

// expect runs src and compares the result's string form with want.
func expect(t *testing.T, rt *goja.Runtime, src, want string) {
	t.Helper()
	if got := run(t, rt, src).String(); got != want {
		t.Errorf("%s\n got %q\nwant %q", src, got, want)
	}
}

// expectThrow runs src and checks it throws an error of class (Error or
// TypeError) with message want.
func expectThrow(t *testing.T, rt *goja.Runtime, src, class, want string) {
	t.Helper()
	v := run(t, rt, `(() => { try { `+src+`; return 'no exception' } catch (e) { return e.name + ': ' + e.message } })()`)
	if got := v.String(); got != class+": "+want {
		t.Errorf("%s\n got %q\nwant %q", src, got, class+": "+want)
	}
}

func TestHashVerifiedValues(t *testing.T) {
	rt := newRuntime(t)
	expect(t, rt, `new crypto.Hash('sha256').digest('base64')`, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
	expect(t, rt, `(h => (h.update('abc'), h.digest('base64url')))(new crypto.Hash('sha256'))`, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0")
}

// abcDigests are digests of "abc" (OpenSSL 3.0's `openssl dgst`; md4 from
// RFC 1320).
var abcDigests = map[string]string{
	"md4":        "a448017aaf21d8525fc10ae87aa6729d",
	"md5":        "900150983cd24fb0d6963f7d28e17f72",
	"md5-sha1":   "900150983cd24fb0d6963f7d28e17f72a9993e364706816aba3e25717850c26c9cd0d89d",
	"blake2b512": "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
	"blake2s256": "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
	"sha1":       "a9993e364706816aba3e25717850c26c9cd0d89d",
	"sha224":     "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
	"sha256":     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	"sha384":     "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
	"sha512":     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	"sha512-224": "4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa",
	"sha512-256": "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23",
	"sha3-224":   "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf",
	"sha3-256":   "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
	"sha3-384":   "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b298d88cea927ac7f539f1edf228376d25",
	"sha3-512":   "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0",
	"shake128":   "5881092dd818bf5cf8a3ddb793fbcba7",
	"shake256":   "483366601360a8771c6863080cc4114d8db44530f8f1e1ee4f94ea37e78b5739",
	"ripemd160":  "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc",
}

func TestHashAlgorithms(t *testing.T) {
	rt := newRuntime(t)
	for name, want := range abcDigests {
		expect(t, rt, `(h => (h.update('abc'), h.digest('hex')))(new crypto.Hash('`+name+`'))`, want)
		// Split updates, a Data input and the Data output agree.
		expect(t, rt, `(h => (h.update('a'), h.update(data('bc')), hexOf(h.digest())))(new crypto.Hash('`+name+`'))`, want)
	}
	// Names are case-insensitive, as OpenSSL's.
	expect(t, rt, `(h => (h.update('abc'), h.digest('hex')))(new crypto.Hash('SHA256'))`, abcDigests["sha256"])
}

func TestHashEncodings(t *testing.T) {
	rt := newRuntime(t)
	abc := abcDigests["sha256"]
	for _, in := range []string{`'abc'`, `'abc', 'utf8'`, `'616263', 'hex'`, `'616263', 'hdex'`, `'YWJj', 'base64'`, `'YWJj', 'base64url'`, `'YWJj=', 'base64url'`, `data('abc')`} {
		expect(t, rt, `(h => (h.update(`+in+`), h.digest('hdex')))(new crypto.Hash('sha256'))`, abc)
	}
	// digest keeps the state: it may be repeated and updating goes on.
	expect(t, rt, `(h => (h.update('a'), h.digest(), h.update('bc'), h.digest('hex') + h.digest('hex')))(new crypto.Hash('sha256'))`, abc+abc)
	// utf8 output: the bytes read as UTF-8.
	expect(t, rt, `typeof new crypto.Hash('md5').digest('utf8')`, "string")
	b, _ := hex.DecodeString(abcDigests["md5"])
	expect(t, rt, `(h => (h.update('abc'), h.digest('utf8') === `+jsString(string(b))+`))(new crypto.Hash('md5'))`, "true")
	expect(t, rt, `hexOf(new crypto.Hash('md5').digest(null))`, "d41d8cd98f00b204e9800998ecf8427e")
}

// jsString is s as a JavaScript string literal (each UTF-16 unit escaped).
func jsString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		if r > 0xffff {
			r1, r2 := (r-0x10000)>>10+0xd800, (r-0x10000)&0x3ff+0xdc00
			b.WriteString(`\u` + hex4(r1) + `\u` + hex4(r2))
			continue
		}
		b.WriteString(`\u` + hex4(r))
	}
	b.WriteByte('\'')
	return b.String()
}

func hex4(r rune) string { return hex.EncodeToString([]byte{byte(r >> 8), byte(r)}) }

func TestHashErrors(t *testing.T) {
	rt := newRuntime(t)
	expectThrow(t, rt, `new crypto.Hash('foo')`, "Error", "unknown message digest")
	for _, n := range []string{"mdc2", "whirlpool", "sm3"} {
		expectThrow(t, rt, `new crypto.Hash('`+n+`')`, "Error", "unsupported message digest")
		expectThrow(t, rt, `new crypto.Hmac('`+n+`', 'k')`, "Error", "unsupported message digest")
		expectThrow(t, rt, `new crypto.Verify('`+n+`')`, "Error", "unsupported message digest")
	}
	expectThrow(t, rt, `new crypto.Hmac('foo', 'k')`, "Error", "unknown message digest")
	expectThrow(t, rt, `new crypto.Verify('foo')`, "Error", "unknown message digest")
	expectThrow(t, rt, `new crypto.Hash()`, "TypeError", "argument #1 expects a string")
	expectThrow(t, rt, `new crypto.Hash(1)`, "TypeError", "argument #1 expects a string")
	expectThrow(t, rt, `new crypto.Hash('md5').digest('foo')`, "Error", "unknown encoding")
	expectThrow(t, rt, `new crypto.Hash('md5').update('x', 'foo')`, "Error", "unknown encoding")
	expectThrow(t, rt, `new crypto.Hash('md5').update('abc', 'hex')`, "Error", "incomplete hex string")
	expectThrow(t, rt, `new crypto.Hash('md5').update('zz', 'hex')`, "Error", "invalid hex string")
	expectThrow(t, rt, `new crypto.Hash('md5').update('abc', 'base64')`, "Error", "incomplete Base64 string")
	expectThrow(t, rt, `new crypto.Hash('md5').update('ab!=', 'base64')`, "Error", "invalid Base64 encoding")
	expectThrow(t, rt, `new crypto.Hash('md5').update('a*', 'base64url')`, "Error", "invalid Base64Url encoding")
	expectThrow(t, rt, `new crypto.Hash('md5').update(123)`, "TypeError", "argument #1 expects a Data object or a string")
	expectThrow(t, rt, `new crypto.Hash('md5').update()`, "TypeError", "argument #1 expects a Data object or a string")
	expectThrow(t, rt, `new crypto.Hmac('md5', 1)`, "TypeError", "argument #2 expects a Data object or a string")
	expectThrow(t, rt, `new crypto.Hmac('md5')`, "TypeError", "argument #2 expects a Data object or a string")
	expectThrow(t, rt, `crypto.Hash.prototype.digest.call({})`, "TypeError", "not a crypto.Hash object")
	expectThrow(t, rt, `crypto.Hash.prototype.digest.call(new crypto.Hmac('md5', ''))`, "TypeError", "not a crypto.Hash object")
	expectThrow(t, rt, `crypto.Hmac.prototype.update.call(new crypto.Hash('md5'), '')`, "TypeError", "not a crypto.Hmac object")
}

func TestClasses(t *testing.T) {
	rt := newRuntime(t)
	expect(t, rt, `new crypto.Hash('md5') instanceof crypto.Hash`, "true")
	expect(t, rt, `new crypto.Hmac('md5', 'k') instanceof crypto.Hmac`, "true")
	expect(t, rt, `new crypto.Hmac('md5', 'k') instanceof crypto.Hash`, "false")
	expect(t, rt, `new crypto.Verify('md5') instanceof crypto.Verify`, "true")
	expect(t, rt, `new crypto.JWK({kty: 'EC', crv: 'P-256', x: '', y: ''}) instanceof crypto.JWK`, "true")
	expect(t, rt, `new crypto.JWT('') instanceof crypto.JWT`, "true")
	expect(t, rt, `crypto.Hash('sha256') instanceof crypto.Hash`, "true") // without new
	expect(t, rt, `crypto.Hash.name + crypto.Hash.length + crypto.Hmac.length`, "Hash12")
	expect(t, rt, `Object.keys(new crypto.JWT('')).join()`, "isValid,header,payload")
	expect(t, rt, `class H extends crypto.Hash { hex() { return this.digest('hex') } }; new H('md5').hex()`, "d41d8cd98f00b204e9800998ecf8427e")
}

func TestHmac(t *testing.T) {
	rt := newRuntime(t)
	// RFC 4231 test case 2 ("Jefe").
	tc2 := `(h => (h.update('what do ya want for nothing?'), h.digest('hex')))`
	expect(t, rt, tc2+`(new crypto.Hmac('sha256', 'Jefe'))`, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
	expect(t, rt, tc2+`(new crypto.Hmac('sha224', 'Jefe'))`, "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44")
	expect(t, rt, tc2+`(new crypto.Hmac('sha384', 'Jefe'))`, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649")
	expect(t, rt, tc2+`(new crypto.Hmac('sha512', 'Jefe'))`, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737")
	// RFC 2202 test case 2.
	expect(t, rt, tc2+`(new crypto.Hmac('md5', 'Jefe'))`, "750c783e6ab0b503eaa86e310a5db738")
	expect(t, rt, tc2+`(new crypto.Hmac('sha1', data('Jefe')))`, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
	// RFC 4231 test case 1: a binary key given as Data, Data output.
	expect(t, rt, `(h => (h.update('Hi There'), hexOf(h.digest())))(new crypto.Hmac('sha256', dataHex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b')))`,
		"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
	expect(t, rt, `(h => (h.update('4869205468657265', 'hex'), h.digest('base64')))(new crypto.Hmac('sha256', dataHex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b')))`,
		"sDRMYdjbOFNcqK/OrwvxK4gdwgDJgz2nJuk3bC4yz/c=")
}

// keyPEMs returns PEM texts for k: "pkix" (PUBLIC KEY), "pkcs8" (PRIVATE KEY)
// and, by key type, "pkcs1"/"pkcs1pub" (RSA) or "sec1" (EC).
func keyPEMs(t *testing.T, k crypto.Signer) map[string]string {
	t.Helper()
	enc := func(typ string, b []byte, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}))
	}
	m := map[string]string{}
	b, err := x509.MarshalPKIXPublicKey(k.Public())
	m["pkix"] = enc("PUBLIC KEY", b, err)
	b, err = x509.MarshalPKCS8PrivateKey(k)
	m["pkcs8"] = enc("PRIVATE KEY", b, err)
	switch k := k.(type) {
	case *rsa.PrivateKey:
		m["pkcs1"] = enc("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k), nil)
		m["pkcs1pub"] = enc("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.PublicKey), nil)
	case *ecdsa.PrivateKey:
		b, err = x509.MarshalECPrivateKey(k)
		m["sec1"] = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + enc("EC PRIVATE KEY", b, err)
	}
	return m
}

func TestVerify(t *testing.T) {
	rt := newRuntime(t)
	msg := []byte("hello, pipy")
	digest := sha256.Sum256(msg)

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaSig, err := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecSig, err := ecdsa.SignASN1(rand.Reader, ecKey, digest[:])
	if err != nil {
		t.Fatal(err)
	}

	check := func(keys map[string]string, sig []byte) {
		t.Helper()
		rt.Set("sig", hex.EncodeToString(sig))
		for form, k := range keys {
			rt.Set("key", k)
			expect(t, rt, `(v => (v.update('hello, '), v.update(data('pipy')), v.verify(key, dataHex(sig))))(new crypto.Verify('sha256'))`, "true")
			expect(t, rt, `(v => (v.update('hello, pipy'), v.verify(data(key), sig, 'hex')))(new crypto.Verify('sha256'))`, "true")
			// Other data, another digest, a damaged signature.
			expect(t, rt, `(v => (v.update('hello, pipy!'), v.verify(key, sig, 'hex')))(new crypto.Verify('sha256'))`, "false")
			expect(t, rt, `(v => (v.update('hello, pipy'), v.verify(key, sig, 'hex')))(new crypto.Verify('sha384'))`, "false")
			expect(t, rt, `(v => (v.update('hello, pipy'), v.verify(key, sig.replace(/^../, '00'), 'hex')))(new crypto.Verify('sha256'))`, "false")
			if t.Failed() {
				t.Fatalf("key form %s", form)
			}
		}
	}
	check(keyPEMs(t, rsaKey), rsaSig)
	check(keyPEMs(t, ecKey), ecSig)

	// A base64 signature string.
	rt.Set("key", keyPEMs(t, rsaKey)["pkix"])
	rt.Set("sigb64", pemBase64(rsaSig))
	expect(t, rt, `(v => (v.update('hello, pipy'), v.verify(key, sigb64, 'base64')))(new crypto.Verify('sha256'))`, "true")
	// RSA with a digest that has no PKCS #1 identifier.
	expect(t, rt, `(v => (v.update('hello, pipy'), v.verify(key, sigb64, 'base64')))(new crypto.Verify('blake2b512'))`, "false")

	// An RSA JWK works as a key too.
	rt.Set("n", b64url(rsaKey.N.Bytes()))
	expect(t, rt, `(v => (v.update('hello, pipy'), v.verify(new crypto.JWK({kty: 'RSA', n, e: 'AQAB'}), sigb64, 'base64')))(new crypto.Verify('sha256'))`, "true")

	expectThrow(t, rt, `new crypto.Verify('sha256').verify('not a key', sigb64, 'base64')`, "Error", "cannot read key: no PEM key found")
	expectThrow(t, rt, `new crypto.Verify('sha256').verify('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', sigb64, 'base64')`,
		"Error", "cannot read key: malformed PUBLIC KEY")
	expectThrow(t, rt, `new crypto.Verify('sha256').verify('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', sigb64, 'base64')`,
		"Error", "cannot read key: malformed PRIVATE KEY")
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rt.Set("edKey", keyPEMs(t, edKey)["pkix"])
	expectThrow(t, rt, `new crypto.Verify('sha256').verify(edKey, '')`, "Error", "unsupported key type")
	expect(t, rt, `new crypto.JWT(`+jsString(readJWTFile(t, "rsa.jwt"))+`).verify(edKey)`, "false")
	expectThrow(t, rt, `new crypto.Verify('sha256').verify(1, sigb64)`, "TypeError", "argument #1 expects a string or a Data object or a crypto.JWK object")
	expectThrow(t, rt, `new crypto.Verify('sha256').verify(key, 1)`, "TypeError", "argument #2 expects a Data object or a string")
	expectThrow(t, rt, `new crypto.Verify('sha256').verify(key, 'zz', 'hex')`, "Error", "invalid hex string")
	expectThrow(t, rt, `crypto.Verify.prototype.verify.call(null, key, '')`, "TypeError", "not a crypto.Verify object")
}

func pemBase64(b []byte) string {
	s := string(pem.EncodeToMemory(&pem.Block{Type: "X", Bytes: b}))
	s = strings.TrimPrefix(s, "-----BEGIN X-----\n")
	s = strings.TrimSuffix(s, "-----END X-----\n")
	return strings.ReplaceAll(s, "\n", "")
}

func b64url(b []byte) string {
	s := strings.NewReplacer("+", "-", "/", "_", "=", "").Replace(pemBase64(b))
	return s
}

// jwtDir holds the files of example 010-jwt (a copy of
// shared/examples/010-jwt kept in the repository).
var jwtDir = filepath.Join("..", "..", "test", "010-jwt")

func readJWTFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(jwtDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestJWTExample010(t *testing.T) {
	rt := newRuntime(t)
	for _, name := range []string{"keys-1.json", "keys-2.json", "rsa.jwt", "rsa-invalid.jwt", "ecdsa.jwt", "ecdsa-invalid.jwt", "hmac.jwt", "hmac-invalid.jwt", "rsa.pem", "ecdsa.pem"} {
		rt.Set(strings.NewReplacer(".", "_", "-", "_").Replace(name), readJWTFile(t, name))
	}
	// As the example does: parse the key sets, attach a crypto.JWK to each.
	run(t, rt, `
		var keys = [keys_1_json, keys_2_json].map(s => JSON.parse(s).keys).flat();
		keys.forEach(k => k.jwk = new crypto.JWK(k));
		var find = kid => keys.find(k => k.kid === kid)?.jwk;
	`)
	expect(t, rt, `keys.map(k => k.kid + ':' + k.jwk.isValid).join()`, "rsa:true,ecdsa:true")

	for _, c := range []struct{ token, kid, alg, verified string }{
		{"rsa_jwt", "rsa", "RS256", "true"},
		{"rsa_invalid_jwt", "rsa", "RS256", "false"},
		{"ecdsa_jwt", "ecdsa", "ES512", "true"},
		{"ecdsa_invalid_jwt", "ecdsa", "ES512", "false"},
	} {
		src := `(jwt => [jwt.isValid, jwt.header.kid, jwt.header.alg, jwt.verify(find(jwt.header.kid))].join())(new crypto.JWT(` + c.token + `))`
		expect(t, rt, src, "true,"+c.kid+","+c.alg+","+c.verified)
	}
	// The private keys that signed them, as PEM string or Data.
	expect(t, rt, `new crypto.JWT(rsa_jwt).verify(rsa_pem)`, "true")
	expect(t, rt, `new crypto.JWT(rsa_invalid_jwt).verify(data(rsa_pem))`, "false")
	expect(t, rt, `new crypto.JWT(ecdsa_jwt).verify(ecdsa_pem)`, "true")
	expect(t, rt, `new crypto.JWT(ecdsa_invalid_jwt).verify(ecdsa_pem)`, "false")
	// Wrong kind of key for the algorithm.
	expect(t, rt, `new crypto.JWT(rsa_jwt).verify(find('ecdsa'))`, "false")
	expect(t, rt, `new crypto.JWT(ecdsa_jwt).verify(rsa_pem)`, "false")
	expect(t, rt, `new crypto.JWT(hmac_jwt).verify(find('rsa'))`, "false")

	// HMAC: the example's key sets have no "hmac" key; the secret is jwt.io's.
	expect(t, rt, `(jwt => [jwt.isValid, jwt.header.kid, jwt.header.alg, jwt.payload.name, jwt.payload.iat, find(jwt.header.kid)].join())(new crypto.JWT(hmac_jwt))`,
		"true,hmac,HS256,John Doe,1516239022,")
	expect(t, rt, `new crypto.JWT(hmac_jwt).verify('your-256-bit-secret')`, "true")
	expect(t, rt, `new crypto.JWT(data(hmac_jwt)).verify(data('your-256-bit-secret'))`, "true")
	expect(t, rt, `new crypto.JWT(hmac_jwt).verify('secret')`, "false")
	expect(t, rt, `new crypto.JWT(hmac_invalid_jwt).verify('your-256-bit-secret')`, "false")

	// The example's _verify, result by token.
	run(t, rt, `
		var verify = token => {
			var jwt = new crypto.JWT(token || '');
			if (!jwt.isValid) return 'Invalid token';
			var key = find(jwt.header?.kid);
			if (!key) return 'Invalid key';
			return jwt.verify(key) ? 'OK' : 'Invalid signature';
		};
	`)
	expect(t, rt, `[rsa_jwt, ecdsa_jwt, rsa_invalid_jwt, ecdsa_invalid_jwt, hmac_jwt, hmac_invalid_jwt, undefined, 'garbage'].map(verify).join()`,
		"OK,OK,Invalid signature,Invalid signature,Invalid key,Invalid key,Invalid token,Invalid token")

	expectThrow(t, rt, `new crypto.JWT(rsa_jwt).verify('not a key')`, "Error", "cannot read key: no PEM key found")
	expectThrow(t, rt, `new crypto.JWT(rsa_jwt).verify()`, "TypeError", "argument #1 expects a Data object or a string or a crypto.JWK object")
	// Invalid tokens do not read the key.
	expect(t, rt, `new crypto.JWT('garbage').verify('not a key')`, "false")
}

func TestJWTValidity(t *testing.T) {
	rt := newRuntime(t)
	b64 := func(s string) string { return b64url([]byte(s)) }
	hdr := b64(`{"alg":"HS256"}`)
	pay := b64(`{"sub":"x"}`)
	for token, valid := range map[string]bool{
		hdr + "." + pay + ".":                           true,
		hdr + "." + pay + ".c2ln":                       true,
		hdr + "=." + pay + "=.c2ln":                     true,
		hdr + "." + pay:                                 false,
		hdr + "." + pay + ".c2ln.x":                     false,
		"":                                              false,
		"garbage":                                       false,
		"a.b.c":                                         false,
		hdr + ".!!." + "c2ln":                           false,
		b64(`{"alg":"none"}`) + "." + pay + ".":         false,
		b64(`{"alg":"RS256"}`) + "." + pay + ".":        true,
		b64(`{"alg":"ES384"}`) + "." + pay + ".":        true,
		b64(`{"alg":"PS256"}`) + "." + pay + ".":        false,
		b64(`{"typ":"JWT"}`) + "." + pay + ".":          false,
		b64(`{"alg":1}`) + "." + pay + ".":              false,
		b64(`["alg","HS256"]`) + "." + pay + ".":        false,
		b64(`null`) + "." + pay + ".":                   false,
		hdr + "." + b64(`[1]`) + ".":                    false,
		hdr + "." + b64(`"x"`) + ".":                    false,
		hdr + "." + b64(`{"a":1} x`) + ".":              false,
		hdr + "." + b64(`{"a":1,}`) + ".":               false,
		hdr + "." + b64(`{"a" 1}`) + ".":                false,
		hdr + "." + b64(` {"a":[1,{"b":null}]} `) + ".": true,
	} {
		rt.Set("token", token)
		want := "false,undefined,undefined"
		if valid {
			want = "true,object,object"
		}
		expect(t, rt, `(j => [j.isValid, typeof j.header, typeof j.payload].join())(new crypto.JWT(token))`, want)
		if !valid {
			expect(t, rt, `new crypto.JWT(token).verify('k')`, "false")
		}
	}
	// Header and payload are plain objects, members in order, JSON types.
	rt.Set("token", hdr+"."+b64(`{"z":1,"a":[true,null,1.5,"s",{"__proto__":2}],"big":1e400,"neg":-0}`)+".")
	expect(t, rt, `JSON.stringify(new crypto.JWT(token).payload)`, `{"z":1,"a":[true,null,1.5,"s",{"__proto__":2}],"big":null,"neg":0}`)
	expect(t, rt, `(p => Object.keys(p).join() + Object.is(p.neg, -0) + (p.big === Infinity) + Object.getPrototypeOf(p.a[4]).hasOwnProperty('hasOwnProperty'))(new crypto.JWT(token).payload)`,
		"z,a,big,negtruetruetrue")
	expect(t, rt, `(j => j.header === j.header)(new crypto.JWT(token))`, "true")
	expectThrow(t, rt, `new crypto.JWT()`, "TypeError", "argument #1 expects a string")
	expectThrow(t, rt, `new crypto.JWT(1)`, "TypeError", "argument #1 expects a string")
}

func TestJWKErrors(t *testing.T) {
	rt := newRuntime(t)
	for src, want := range map[string]string{
		`{}`:                                        `missing "kty"`,
		`{kty: 1}`:                                  `missing "kty"`,
		`{kty: 'oct'}`:                              `unknown "kty"`,
		`{kty: 'RSA'}`:                              `missing "n"`,
		`{kty: 'RSA', n: 'AQAB'}`:                   `missing "e"`,
		`{kty: 'RSA', e: 'AQAB'}`:                   `missing "n"`,
		`{kty: 'RSA', n: '*', e: 'AQAB'}`:           `invalid "n"`,
		`{kty: 'RSA', n: 'AQAB', e: '*'}`:           `invalid "e"`,
		`{kty: 'EC'}`:                               `missing "crv"`,
		`{kty: 'EC', crv: 'P-256'}`:                 `missing "x"`,
		`{kty: 'EC', crv: 'P-256', x: 'AA'}`:        `missing "y"`,
		`{kty: 'EC', crv: 'P-192', x: 'AA', y: ''}`: `unknown "crv"`,
		`{kty: 'EC', crv: 'P-256', x: '*', y: ''}`:  `invalid "x"`,
		`{kty: 'EC', crv: 'P-256', x: '', y: '*'}`:  `invalid "y"`,
	} {
		expectThrow(t, rt, `new crypto.JWK(`+src+`)`, "Error", want)
	}
	expectThrow(t, rt, `new crypto.JWK()`, "TypeError", "argument #1 expects an object")
	expectThrow(t, rt, `new crypto.JWK('x')`, "TypeError", "argument #1 expects an object")
	// Decodable but unusable: isValid false, and nothing verifies with it.
	expect(t, rt, `new crypto.JWK({kty: 'EC', crv: 'P-256', x: 'AQ', y: 'AQ'}).isValid`, "false")
	expect(t, rt, `new crypto.JWK({kty: 'RSA', n: '', e: 'AQAB'}).isValid`, "false")
	expect(t, rt, `new crypto.JWK({kty: 'RSA', n: 'AQAB', e: 'AQ'}).isValid`, "false")
	expect(t, rt, `new crypto.JWK({kty: 'RSA', n: 'AQAB', e: 'AQAB'}).isValid`, "true")
	rt.Set("token", readJWTFile(t, "rsa.jwt"))
	expect(t, rt, `new crypto.JWT(token).verify(new crypto.JWK({kty: 'RSA', n: '', e: 'AQAB'}))`, "false")
	expect(t, rt, `new crypto.Verify('sha256').verify(new crypto.JWK({kty: 'RSA', n: '', e: 'AQAB'}), '')`, "false")
}

func TestDocs(t *testing.T) {
	md := apidoc.Markdown(Docs)
	for _, s := range []string{
		"new crypto.Hash(algorithm)", "hash.update(data)", "hash.digest(encoding)",
		"new crypto.Hmac(algorithm, key)", "hmac.digest()",
		"new crypto.Verify(algorithm)", "verify.verify(key, signature)",
		"new crypto.JWK(object)", "jwk.isValid",
		"new crypto.JWT(token)", "jwt.isValid", "jwt.header", "jwt.payload", "jwt.verify(key)",
	} {
		if !strings.Contains(md, "`"+s+"`") {
			t.Errorf("Docs lack %s", s)
		}
	}
	// Every constructor and method the crypto object has is documented.
	rt := newRuntime(t)
	names := run(t, rt, `Object.keys(crypto).flatMap(c => [c].concat(Object.getOwnPropertyNames(crypto[c].prototype).filter(m => m !== 'constructor').map(m => c + '.' + m))).join()`).String()
	for _, n := range strings.Split(names, ",") {
		class, m, ok := strings.Cut(n, ".")
		want := "new crypto." + class + "("
		if ok {
			want = strings.ToLower(class) + "." + m + "("
		}
		if !strings.Contains(md, want) {
			t.Errorf("Docs lack %s (%s)", n, want)
		}
	}
}

func BenchmarkHashSHA256(b *testing.B) {
	rt := newRuntime(b)
	fn, ok := goja.AssertFunction(run(b, rt, `(s => { const h = new crypto.Hash('sha256'); h.update(s); return h.digest('hex') })`))
	if !ok {
		b.Fatal("not a function")
	}
	arg := rt.ToValue(strings.Repeat("x", 64))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fn(goja.Undefined(), arg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJWTVerifyRS256(b *testing.B) {
	rt := newRuntime(b)
	for _, name := range []string{"keys-1.json", "rsa.jwt"} {
		data, err := os.ReadFile(filepath.Join(jwtDir, name))
		if err != nil {
			b.Fatal(err)
		}
		rt.Set(strings.NewReplacer(".", "_", "-", "_").Replace(name), strings.TrimSpace(string(data)))
	}
	fn, ok := goja.AssertFunction(run(b, rt, `(k => t => new crypto.JWT(t).verify(k))(new crypto.JWK(JSON.parse(keys_1_json).keys[0]))`))
	if !ok {
		b.Fatal("not a function")
	}
	arg := rt.Get("rsa_jwt")
	b.ReportAllocs()
	for b.Loop() {
		if v, err := fn(goja.Undefined(), arg); err != nil || !v.ToBoolean() {
			b.Fatal(v, err)
		}
	}
}
