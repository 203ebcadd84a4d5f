// Package crypto implements the script global `crypto` (spec api.md §15):
// message digests (Hash), HMACs (Hmac), signature verification (Verify),
// JSON Web Keys (JWK) and JSON Web Tokens (JWT).
//
// [New] builds the object a script sees as `crypto`. Every instance is a
// goja dynamic object wrapping one Go value, with the constructor's
// prototype, so `instanceof` works and methods (on the prototype) reach the
// Go value through Export without reflection.
//
// Everything is built on the standard library, plus golang.org/x/crypto for
// the digests the standard library lacks (md4, ripemd160, blake2b512,
// blake2s256). JWK and JWT are implemented here rather than with a JOSE
// library: the script API fixes its own error texts (`missing "n"` ...),
// validity rules (isValid) and key forms (crypto.JWK or PEM), which a JOSE
// library would not provide, and the verification itself is a few calls into
// crypto/rsa, crypto/ecdsa and crypto/hmac.
//
// Imports: the standard library, goja, golang.org/x/crypto, and from pipy-go
// only filters (to unwrap Data) and scripts/apidoc.
package crypto
