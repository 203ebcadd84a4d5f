// Package hessian implements the script global `Hessian` (spec api.md §11):
// Hessian 2.0 serialization of script values, as used in Dubbo bodies.
//
// The codec is written here rather than taken from
// github.com/apache/dubbo-go-hessian2: that library maps Hessian to Go
// types through reflection and registered POJOs (untyped maps become
// map[interface{}]interface{}, losing key order), its encoder writes compact
// ints and 32k string chunks where the spec asks for 'I' and 65535-unit
// chunks, and it would still need a bridge to goja values; its own
// dependencies would come along too. A direct encoder and decoder between
// goja values and bytes is a few hundred lines.
//
// Wire-format decisions (see [Docs] for the whole mapping):
//
//   - String lengths count UTF-16 code units and characters are written as
//     1-3 byte UTF-8 sequences, a non-BMP character as its surrogate pair
//     (CESU-8): what the Hessian 2.0 spec says ("16-bit characters") and
//     what Java's Hessian2Output (Dubbo's hessian-lite) writes and reads.
//     The decoder also accepts 4-byte UTF-8 sequences, counting 2 units.
//   - 0x5F is decoded as a double of int32 thousandths (BC_DOUBLE_MILL),
//     as every implementation writes it, not as a 32-bit float.
//   - Binary chunks are 'A' (non-final) and 'B' (final) plus the compact
//     forms 0x20-0x2F and 0x34-0x37; 0x62 ('b', a Hessian 1 chunk) is a
//     compact object reference in Hessian 2.
//
// Imports: the standard library, github.com/dop251/goja,
// github.com/pipy-go/pipy/filters (to unwrap Data arguments) and
// github.com/pipy-go/pipy/scripts/apidoc. Data results are made by the
// newData function the scripts package passes to [New], which it installs as
// the global `Hessian`.
package hessian

import "github.com/pipy-go/pipy/scripts/apidoc"

// Docs documents the `Hessian` global for the generated API reference.
var Docs = []apidoc.Group{
	{
		Name: "Hessian",
		Doc:  "Hessian 2.0 serialization of script values, as used in Dubbo message bodies.",
		Entries: []apidoc.Entry{
			{Signature: "Hessian.encode(value)", Doc: "returns value serialized as a Data. A top-level array is written as the " +
				"sequence of its elements (no list header); nested arrays as untyped fixed-length lists, `0x78+len` for up to 7 elements, else `'X'` (0x58) + the length " +
				"as a compact int, then the elements, a hole as `'N'` (the list forms that Java, hessian.js and " +
				"dubbo-go-hessian2 all read); other objects as " +
				"untyped maps `'H' (key value)* 'Z'` of their own enumerable properties in property order; `null` and " +
				"`undefined` as `'N'`; booleans as `'T'`/`'F'`; integral numbers in the int32 range as `'I'` + 4 bytes, " +
				"other integral numbers in the int64 range as `'L'` + 8 bytes, anything else (fractions, NaN, ±Infinity, " +
				"beyond int64) as `'D'` + an IEEE 754 double; BigInts like numbers. Strings: the length counts UTF-16 code " +
				"units, characters are written in UTF-8 with a character outside the BMP as its surrogate pair (as Java " +
				"does); below 32 units one length byte, below 1024 `0x30 | len>>8, len & 0xFF`, below 65536 `'S'` + 2-byte " +
				"length, longer in chunks `'R'` + 65535 units and a final `'S'` chunk. Additions: a Data is written as " +
				"binary (`0x20+len` up to 15 bytes, `0x34 | len>>8, len & 0xFF` up to 1023, `'B'` + 2-byte length, longer " +
				"in `'A'` chunks of 65535 and a final `'B'`), a Date as `0x4A` + 8-byte milliseconds (an invalid Date as " +
				"`'N'`), symbols as `'N'`. Throws a TypeError for a cyclic value and for nesting deeper than 10000."},
			{Signature: "Hessian.decode(data)", Doc: "returns the values in data: `undefined` for none, the value for one, an " +
				"array for several. `N` → null, `T`/`F` → booleans; ints (`I`, 0x80-0xBF, 0xC0-0xCF, 0xD0-0xD7) and longs " +
				"(`L`, 0x59, 0xD8-0xEF, 0xF0-0xFF, 0x38-0x3F) → numbers (longs lose precision above 2^53); doubles (`D`, " +
				"0x5B 0.0, 0x5C 1.0, 0x5D byte, 0x5E short, 0x5F int32 thousandths) → numbers; strings (0x00-0x1F, " +
				"0x30-0x33, `S`, `R` chunks) → strings; binary (0x20-0x2F, 0x34-0x37, `B`, `A` chunks) → Data; dates " +
				"(0x4A milliseconds, 0x4B minutes) → Date; lists (`0x57`...`Z`, `0x58` fixed, typed `0x55`, `0x56`, " +
				"0x70-0x77, untyped fixed 0x78-0x7F) → arrays; maps (`H`, typed `M`) → plain objects with keys in their " +
				"string form; class definitions (`C`) and objects (`O`, 0x60-0x6F) → plain objects keyed by the class's " +
				"field names; references (`Q`) → the same list, map or object again. Type names are read and dropped. " +
				"null or undefined data gives null; another non-Data argument throws a TypeError. Errors throw an Error " +
				"with the message `unrecognized bytecode 0xNN` for a code Hessian 2.0 does not define (0x40, 0x45, " +
				"0x47, 0x50, ...), `unexpected bytecode 'Z'` (or another code) for a valid code in the wrong place, " +
				"`unexpected end of data` for truncated input, `bad utf-8 encoding`, `reference N out of range`, " +
				"`class definition N out of range`, `type reference N out of range`, `invalid length N`, or " +
				"`nesting too deep` (beyond 10000 levels)."},
		},
	},
}
