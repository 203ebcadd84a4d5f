package crypto

import "github.com/pipy-go/pipy/scripts/apidoc"

// Docs documents the script's crypto object for the generated reference.
var Docs = []apidoc.Group{
	{
		Name: "crypto",
		Doc: "Message digests, HMACs, signature verification, JSON Web Keys and JSON Web Tokens. " +
			"Digest names (case-insensitive): md4, md5, md5-sha1, sha1, sha224, sha256, sha384, sha512, " +
			"sha512-224, sha512-256, sha3-224, sha3-256, sha3-384, sha3-512, shake128 (16-byte output), " +
			"shake256 (32-byte output), blake2b512, blake2s256, ripemd160. mdc2, whirlpool and sm3 throw " +
			"`unsupported message digest`; any other name throws `unknown message digest`. " +
			"String encodings: `utf8` (default), `hex` (also spelled `hdex`), `base64`, `base64url` " +
			"(no padding on output, optional on input); another name throws `unknown encoding`.",
		Entries: []apidoc.Entry{
			{Signature: "crypto.Hash", Doc: "constructor of message digests."},
			{Signature: "crypto.Hmac", Doc: "constructor of HMACs."},
			{Signature: "crypto.Verify", Doc: "constructor of signature verifiers."},
			{Signature: "crypto.JWK", Doc: "constructor of public keys from JSON Web Keys."},
			{Signature: "crypto.JWT", Doc: "constructor of parsed JSON Web Tokens."},
		},
	},
	{
		Name: "crypto.Hash",
		Doc:  "A message digest being computed.",
		Entries: []apidoc.Entry{
			{Signature: "new crypto.Hash(algorithm)", Doc: "starts a digest; throws `unknown message digest` or `unsupported message digest`."},
			{Signature: "hash.update(data)", Doc: "adds the bytes of a Data; returns undefined."},
			{Signature: "hash.update(string[, encoding])", Doc: "adds the string decoded with encoding (default utf8); a bad string throws the errors of `new Data(string, encoding)`; an argument that is neither a Data nor a string throws a TypeError."},
			{Signature: "hash.digest()", Doc: "the digest of everything added so far, as a Data. The state is kept: update and digest may be called again."},
			{Signature: "hash.digest(encoding)", Doc: "the digest as a string: `hex` (lowercase), `base64`, `base64url` (no padding) or `utf8` (the bytes read as UTF-8)."},
		},
	},
	{
		Name: "crypto.Hmac",
		Doc:  "A keyed-hash message authentication code (RFC 2104) being computed.",
		Entries: []apidoc.Entry{
			{Signature: "new crypto.Hmac(algorithm, key)", Doc: "starts an HMAC with key, a string (its UTF-8 bytes) or a Data; digest names as for crypto.Hash."},
			{Signature: "hmac.update(data)", Doc: "as hash.update(data)."},
			{Signature: "hmac.update(string[, encoding])", Doc: "as hash.update(string, encoding)."},
			{Signature: "hmac.digest()", Doc: "the HMAC as a Data."},
			{Signature: "hmac.digest(encoding)", Doc: "the HMAC as a string, encodings as for hash.digest."},
		},
	},
	{
		Name: "crypto.Verify",
		Doc:  "Verification of an RSA (PKCS #1 v1.5) or ECDSA (ASN.1 DER) signature over data given with update.",
		Entries: []apidoc.Entry{
			{Signature: "new crypto.Verify(algorithm)", Doc: "starts digesting the signed data; digest names as for crypto.Hash."},
			{Signature: "verify.update(data)", Doc: "as hash.update(data)."},
			{Signature: "verify.update(string[, encoding])", Doc: "as hash.update(string, encoding)."},
			{Signature: "verify.verify(key, signature)", Doc: "true if the Data signature is valid for the data so far. key is the PEM text (string or Data) of a public key (PKIX or PKCS #1), a private key (PKCS #1, SEC 1 or PKCS #8) or a certificate, or a crypto.JWK. Unreadable PEM throws; a key that is neither RSA nor ECDSA throws `unsupported key type`; an invalid crypto.JWK gives false, as does RSA with a digest that has no PKCS #1 identifier (md4, shake*, blake2*)."},
			{Signature: "verify.verify(key, signature, encoding)", Doc: "the same with the signature given as a string in encoding (default utf8)."},
		},
	},
	{
		Name: "crypto.JWK",
		Doc:  "A public key read from a JSON Web Key (RFC 7517), for jwt.verify.",
		Entries: []apidoc.Entry{
			{Signature: "new crypto.JWK(object)", Doc: "`kty: 'RSA'` with base64url `n` and `e`, or `kty: 'EC'` with `crv` (`P-256`, `P-384`, `P-521`) and base64url `x`, `y`. Throws `missing \"kty\"`, `unknown \"kty\"`, `missing \"n\"`, `missing \"e\"`, `missing \"crv\"`, `missing \"x\"`, `missing \"y\"`, `unknown \"crv\"`, `invalid \"n\"`, `invalid \"e\"`, `invalid \"x\"`, `invalid \"y\"` (a member that is not valid base64url); other members (kid, use, ...) are ignored."},
			{Signature: "jwk.isValid", Doc: "true when the members make a usable key (false for an EC point not on the curve, a zero modulus or an out-of-range exponent)."},
		},
	},
	{
		Name: "crypto.JWT",
		Doc:  "A JSON Web Token in JWS compact form. Tokens are only verified, never signed.",
		Entries: []apidoc.Entry{
			{Signature: "new crypto.JWT(token)", Doc: "parses token (a string, or a Data). Never throws for a malformed token (only for an argument of another type)."},
			{Signature: "jwt.isValid", Doc: "true when the token has exactly three base64url parts, header and payload are JSON objects and header.alg is HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384 or ES512."},
			{Signature: "jwt.header", Doc: "the parsed header object; undefined when not valid."},
			{Signature: "jwt.payload", Doc: "the parsed payload object; undefined when not valid. Claims such as exp are not checked."},
			{Signature: "jwt.verify(key)", Doc: "true if the signature is valid; false when the token is not valid. HS*: key is the secret, a string or Data. RS* and ES*: key is a crypto.JWK or PEM text (string or Data) of a public key, private key or certificate; unreadable PEM throws. ES signatures are r||s (RFC 7518). A key of the wrong kind for header.alg gives false."},
		},
	},
}
