package hessian

import (
	"strings"
	"testing"
)

// TestEncodeLists checks the exact bytes of nested arrays: untyped
// fixed-length lists, 0x78+n up to 7 elements and 'X' (0x58) with a
// compact int length from 8 on, and that each decodes back.
func TestEncodeLists(t *testing.T) {
	rt := newRuntime(t)
	one := "4900000001" // the int 1 as the encoder writes it
	tests := []struct{ src, want string }{
		{`[[]]`, "78"},
		{`[[1]]`, "79" + one},
		{`[[1,1,1,1,1,1,1]]`, "7f" + strings.Repeat(one, 7)},
		{`[[1,1,1,1,1,1,1,1]]`, "58" + "98" + strings.Repeat(one, 8)},
		{`[Array(47).fill(1)]`, "58" + "bf" + strings.Repeat(one, 47)},   // last one-byte int
		{`[Array(48).fill(1)]`, "58" + "c830" + strings.Repeat(one, 48)}, // first two-byte int
		{`[Array(2047).fill(1)]`, "58" + "cfff" + strings.Repeat(one, 2047)},
		{`[Array(2048).fill(1)]`, "58" + "d40800" + strings.Repeat(one, 2048)},
		{`[Array(100000).fill(null)]`, "58" + "d586a0" + strings.Repeat("4e", 100000)},
		{`[Array(262144).fill(null)]`, "58" + "49" + "00040000" + strings.Repeat("4e", 262144)},
		{`[[[]]]`, "79" + "78"},
		{`[[[1], [[]], []]]`, "7b" + "79" + one + "79" + "78" + "78"},
		{`[[1, [1, [1, [1]]]]]`, "7a" + one + "7a" + one + "7a" + one + "79" + one},
		{`[[[1,1,1,1,1,1,1,1], []]]`, "7a" + "5898" + strings.Repeat(one, 8) + "78"},
		{`[{a: [[], {b: []}]}]`, "48" + "0161" + "7a" + "78" + "48" + "0162" + "78" + "5a" + "5a"},
		{`[[, 1]]`, "7a" + "4e" + one}, // a hole is a null
		{`[[undefined, 'x', true]]`, "7b" + "4e" + "0178" + "54"},
	}
	for _, tc := range tests {
		if got := run(t, rt, "hex(Hessian.encode("+tc.src+"))").String(); got != tc.want {
			t.Errorf("Hessian.encode(%s):\n got %s\nwant %s", tc.src, trim(got), trim(tc.want))
		}
		// Round trip: the one list decodes back to the nested value, a hole
		// and undefined as null.
		src := "var v = " + tc.src + "; describe(roundTrip(v)) === describe(JSON.parse(JSON.stringify(v[0])))"
		if !run(t, rt, src).ToBoolean() {
			t.Errorf("%s does not round-trip: %s", tc.src, trim(run(t, rt, "describe(roundTrip("+tc.src+"))").String()))
		}
	}
	// A top-level array is still its elements, each nested array a list.
	if got := run(t, rt, `hex(Hessian.encode([[], [1], 'x']))`).String(); got != "78"+"79"+one+"0178" {
		t.Errorf("top-level array: %s", got)
	}
	if got := run(t, rt, `describe(roundTrip([[], [1], 'x']))`).String(); got != `[[],[1],"x"]` {
		t.Errorf("top-level array round trip: %s", got)
	}
}

// TestDecodeListForms checks that the decoder still reads every list form,
// including the variable-length 'W' ... 'Z' the encoder no longer writes.
func TestDecodeListForms(t *testing.T) {
	rt := newRuntime(t)
	for in, want := range map[string]string{
		"57 91 92 5a":            `[1,2]`,
		"57 5a":                  `[]`,
		"58 92 91 92":            `[1,2]`,
		"58 49 00000002 91 92":   `[1,2]`,
		"7a 91 92":               `[1,2]`,
		"78":                     `[]`,
		"55 01 74 91 92 5a":      `[1,2]`,
		"56 01 74 92 91 92":      `[1,2]`,
		"72 01 74 91 92":         `[1,2]`,
		"79 7a 91 57 92 5a":      `[[1,[2]]]`,
		"58 98 9192939495969798": `[1,2,3,4,5,6,7,8]`,
	} {
		src := "describe(Hessian.decode(fromHex('" + in + "')))"
		if got := run(t, rt, src).String(); got != want {
			t.Errorf("decode %s = %s, want %s", in, got, want)
		}
	}
}
