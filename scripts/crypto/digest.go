package crypto

import (
	"crypto"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"hash"
	"strings"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/blake2s"
	"golang.org/x/crypto/md4"       //nolint:staticcheck // md4 is a name scripts may ask for
	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // ripemd160 is a name scripts may ask for
)

// Digest output sizes of the extendable-output functions, as OpenSSL's
// EVP_DigestFinal gives them (and so the original Pipy): 128 and 256 bits.
const (
	shake128Size = 16
	shake256Size = 32
)

// algorithm is a message digest scripts can name.
type algorithm struct {
	name string
	new  func() hash.Hash
	// id is the digest's crypto.Hash, which selects the DigestInfo prefix of
	// RSA PKCS #1 v1.5 signatures; 0 when Go's crypto/rsa has none.
	id crypto.Hash
}

var algorithms = map[string]*algorithm{}

func register(a *algorithm, aliases ...string) {
	algorithms[a.name] = a
	for _, n := range aliases {
		algorithms[n] = a
	}
}

func init() {
	register(&algorithm{name: "md4", new: md4.New}) // crypto/rsa has no MD4 prefix
	register(&algorithm{name: "md5", new: md5.New, id: crypto.MD5})
	register(&algorithm{name: "md5-sha1", new: newMD5SHA1, id: crypto.MD5SHA1})
	register(&algorithm{name: "sha1", new: sha1.New, id: crypto.SHA1}, "sha-1")
	register(&algorithm{name: "sha224", new: sha256.New224, id: crypto.SHA224}, "sha2-224", "sha-224")
	register(&algorithm{name: "sha256", new: sha256.New, id: crypto.SHA256}, "sha2-256", "sha-256")
	register(&algorithm{name: "sha384", new: sha512.New384, id: crypto.SHA384}, "sha2-384", "sha-384")
	register(&algorithm{name: "sha512", new: sha512.New, id: crypto.SHA512}, "sha2-512", "sha-512")
	register(&algorithm{name: "sha512-224", new: sha512.New512_224, id: crypto.SHA512_224}, "sha2-512/224", "sha512/224")
	register(&algorithm{name: "sha512-256", new: sha512.New512_256, id: crypto.SHA512_256}, "sha2-512/256", "sha512/256")
	register(&algorithm{name: "sha3-224", new: func() hash.Hash { return sha3.New224() }, id: crypto.SHA3_224})
	register(&algorithm{name: "sha3-256", new: func() hash.Hash { return sha3.New256() }, id: crypto.SHA3_256})
	register(&algorithm{name: "sha3-384", new: func() hash.Hash { return sha3.New384() }, id: crypto.SHA3_384})
	register(&algorithm{name: "sha3-512", new: func() hash.Hash { return sha3.New512() }, id: crypto.SHA3_512})
	register(&algorithm{name: "shake128", new: func() hash.Hash { return &shake{sha3.NewSHAKE128(), shake128Size} }})
	register(&algorithm{name: "shake256", new: func() hash.Hash { return &shake{sha3.NewSHAKE256(), shake256Size} }})
	register(&algorithm{name: "blake2b512", new: newBLAKE2b512})
	register(&algorithm{name: "blake2s256", new: newBLAKE2s256})
	register(&algorithm{name: "ripemd160", new: ripemd160.New, id: crypto.RIPEMD160}, "ripemd", "rmd160", "ripemd-160")
}

// unsupported names are digests the original knows (through OpenSSL) but
// pipy-go does not implement.
var unsupported = map[string]bool{"mdc2": true, "whirlpool": true, "sm3": true}

type digestError string

func (e digestError) Error() string { return string(e) }

const (
	errUnknownDigest     = digestError("unknown message digest")
	errUnsupportedDigest = digestError("unsupported message digest")
)

// lookupAlgorithm finds a digest by name, ignoring case.
func lookupAlgorithm(name string) (*algorithm, error) {
	if a := algorithms[name]; a != nil {
		return a, nil
	}
	lower := strings.ToLower(name)
	if a := algorithms[lower]; a != nil {
		return a, nil
	}
	if unsupported[lower] {
		return nil, errUnsupportedDigest
	}
	return nil, errUnknownDigest
}

func newBLAKE2b512() hash.Hash {
	h, _ := blake2b.New512(nil) // fails only for a key over 64 bytes
	return h
}

func newBLAKE2s256() hash.Hash {
	h, _ := blake2s.New256(nil) // fails only for a key over 32 bytes
	return h
}

// md5sha1 is MD5 and SHA-1 of the same input, concatenated (OpenSSL's
// "md5-sha1", used by TLS 1.0/1.1 signatures).
type md5sha1 struct{ md5, sha1 hash.Hash }

func newMD5SHA1() hash.Hash { return &md5sha1{md5.New(), sha1.New()} }

func (h *md5sha1) Write(p []byte) (int, error) {
	h.md5.Write(p)
	return h.sha1.Write(p)
}

func (h *md5sha1) Sum(b []byte) []byte { return h.sha1.Sum(h.md5.Sum(b)) }
func (h *md5sha1) Reset()              { h.md5.Reset(); h.sha1.Reset() }
func (h *md5sha1) Size() int           { return md5.Size + sha1.Size }
func (h *md5sha1) BlockSize() int      { return md5.BlockSize }

// shake gives a SHAKE function a fixed output size so it is a hash.Hash.
type shake struct {
	s    *sha3.SHAKE
	size int
}

func (h *shake) Write(p []byte) (int, error) { return h.s.Write(p) }
func (h *shake) Reset()                      { h.s.Reset() }
func (h *shake) Size() int                   { return h.size }
func (h *shake) BlockSize() int              { return h.s.BlockSize() }

// Sum squeezes a copy of the state (the state has no references but a
// read-only cSHAKE prefix, so a struct copy is a clone), so writing may go on
// afterwards.
func (h *shake) Sum(b []byte) []byte {
	c := *h.s
	n := len(b)
	b = append(b, make([]byte, h.size)...)
	c.Read(b[n:])
	return b
}
