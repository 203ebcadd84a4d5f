package hessian

import (
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	rt := newRuntime(t)
	// "car": C "Car" 2 "color" "model"; 0x60 = an instance of definition 0.
	const carDef = "43 03436172 92 05636f6c6f72 056d6f64656c"
	tests := []struct{ in, want string }{
		{"", "undefined"},
		{"4e", "null"},
		{"54", "true"},
		{"46", "false"},
		{"4e 54 46", "[null,true,false]"},

		// int
		{"49 00000001", "1"},
		{"49 ffffffff", "-1"},
		{"49 80000000", "-2147483648"},
		{"90", "0"},
		{"80", "-16"},
		{"bf", "47"},
		{"c8 00", "0"},
		{"c0 00", "-2048"},
		{"c7 ff", "-1"},
		{"cf ff", "2047"},
		{"c9 80", "384"},
		{"d4 00 00", "0"},
		{"d0 00 00", "-262144"},
		{"d7 ff ff", "262143"},
		{"d4 80 80", "32896"},

		// long
		{"4c 0000000000000001", "1"},
		{"4c ffffffffffffffff", "-1"},
		{"4c 0020000000000001", "9007199254740992"}, // 2^53+1 loses precision
		{"4c 7fffffffffffffff", "9223372036854776000"},
		{"59 80000000", "-2147483648"},
		{"59 00000010", "16"},
		{"e0", "0"},
		{"d8", "-8"},
		{"ef", "15"},
		{"f8 00", "0"},
		{"f0 00", "-2048"},
		{"ff ff", "2047"},
		{"f9 80", "384"},
		{"3c 00 00", "0"},
		{"38 00 00", "-262144"},
		{"3f ff ff", "262143"},

		// double
		{"44 3ff8000000000000", "1.5"},
		{"44 400921fb53c8d4f1", "3.14159265"},
		{"44 7ff8000000000000", "null"}, // NaN
		{"5b", "0"},
		{"5c", "1"},
		{"5d 80", "-128"},
		{"5d 7f", "127"},
		{"5e 8000", "-32768"},
		{"5e 7fff", "32767"},
		{"5f 00000c44", "3.14"},
		{"5f ffffffff", "-0.001"},
		{"5f 00000000", "0"},

		// string
		{"00", `""`},
		{"05 68656c6c6f", `"hello"`},
		{"30 03 616263", `"abc"`},
		{"31 00" + strings.Repeat("78", 256), `"` + strings.Repeat("x", 256) + `"`},
		{"53 0003 616263", `"abc"`},
		{"52 0002 6162 01 63", `"abc"`},
		{"52 0001 61 52 0001 62 30 01 63", `"abc"`},
		{"52 0000 00", `""`},
		{"01 c3a9", `"é"`},
		{"01 e282ac", `"€"`},
		{"02 eda0bd edb880", `"😀"`},
		{"02 f09f9880", `"😀"`},
		{"52 0001 eda0bd 01 edb880", `"😀"`},
		{"01 eda080", `"\ud800"`},
		{"03 61 c3a9 62", `"aéb"`},

		// binary
		{"20", "Data()"},
		{"23 010203", "Data(010203)"},
		{"2f" + strings.Repeat("ff", 15), "Data(" + strings.Repeat("ff", 15) + ")"},
		{"34 03 616263", "Data(616263)"},
		{"42 0002 0102", "Data(0102)"},
		{"42 0000", "Data()"},
		{"41 0001 01 42 0001 02", "Data(0102)"},
		{"41 0001 01 41 0000 21 02", "Data(0102)"},

		// date
		{"4a 00000000000003e8", "Date(1000)"},
		{"4a 0000000000000000", "Date(0)"},
		{"4b 00000001", "Date(60000)"},
		{"4b ffffffff", "Date(-60000)"},

		// list
		{"57 5a", "[]"},
		{"57 91 92 5a", "[1,2]"},
		{"57 57 91 5a 92 5a", "[[1],2]"},
		{"58 92 91 92", "[1,2]"},
		{"58 90", "[]"},
		{"55 04 5b696e74 91 5a", "[1]"},
		{"56 04 5b696e74 92 91 92", "[1,2]"},
		{"72 04 5b696e74 91 92", "[1,2]"},
		{"72 04 5b696e74 91 92 72 90 93 94", "[[1,2],[3,4]]"}, // type by number
		{"7a 91 92", "[1,2]"},
		{"78", "[]"},
		{"7f 90 91 92 93 94 95 96", "[0,1,2,3,4,5,6]"},

		// map
		{"48 5a", "{}"},
		{"48 0161 91 0162 92 5a", `{"a":1,"b":2}`},
		{"4d 0174 0161 91 5a", `{"a":1}`},
		{"4d 0174 0161 91 5a 4d 90 0162 92 5a", `[{"a":1},{"b":2}]`},
		{"48 91 0161 4e 0162 54 0163 5a", `{"1":"a","null":"b","true":"c"}`},
		{"48 0161 91 0161 92 5a", `{"a":2}`},
		{"48 09 5f5f70726f746f5f5f 91 5a", `{"__proto__":1}`},
		// The original's bug: keys after a nested map.
		{"48 0161 91 0164 48 0165 94 5a 0162 92 5a", `{"a":1,"d":{"e":4},"b":2}`},
		{"48 0161 57 91 5a 0162 48 5a 0163 93 5a", `{"a":[1],"b":{},"c":3}`},

		// class definitions and objects
		{carDef + " 60 03726564 03616263", `{"color":"red","model":"abc"}`},
		{carDef + " 4f 90 03726564 03616263", `{"color":"red","model":"abc"}`},
		{carDef + " 60 03726564 01 61 60 01 62 01 63", `[{"color":"red","model":"a"},{"color":"b","model":"c"}]`},
		{"57 " + carDef + " 60 91 92 5a", `[{"color":1,"model":2}]`},
		{"48 0161 " + carDef + " 60 91 92 5a", `{"a":{"color":1,"model":2}}`},
		{"43 0145 90 60", `{}`},
		{"43 0141 90 43 0142 91 0178 61 93", `{"x":3}`},
		{carDef + " 60 60 91 92 93", `{"color":{"color":1,"model":2},"model":3}`},

		// references
		{"57 48 5a 51 91 5a", "[{},{}]"},
		{"57 57 5a 51 91 5a", "[[],[]]"},
	}
	for _, tc := range tests {
		rt.Set("input", strings.ReplaceAll(tc.in, " ", ""))
		v, err := rt.RunString(`describe(Hessian.decode(fromHex(input)))`)
		if err != nil {
			t.Errorf("decode %s: %v", tc.in, err)
			continue
		}
		if got := v.String(); got != tc.want {
			t.Errorf("decode %s:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestDecodeReferences(t *testing.T) {
	rt := newRuntime(t)
	for src, want := range map[string]bool{
		// [m, Q1]: reference 0 is the list itself, 1 the map.
		`var v = Hessian.decode(fromHex('57485a51915a')); v[0] === v[1] && typeof v[0] === 'object'`: true,
		`var v = Hessian.decode(fromHex('5751905a')); v[0] === v`:                                    true,
		`var v = Hessian.decode(fromHex('48017351905a')); v.s === v`:                                 true,
		`var v = Hessian.decode(fromHex('43014190605190')); v.length === 2 && v[0] === v[1]`:         true,
		// References count lists, maps and objects in order, across top-level values.
		`var v = Hessian.decode(fromHex('485a 575a 5191 5190'.replace(/ /g, ''))); v[2] === v[1] && v[3] === v[0]`: true,
		`Hessian.decode(null) === null && Hessian.decode(undefined) === null`:                                      true,
	} {
		if got := run(t, rt, src).ToBoolean(); got != want {
			t.Errorf("%s = %v", src, got)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	rt := newRuntime(t)
	deep := strings.Repeat("57", maxDepth+1)
	notDeep := strings.Repeat("57", maxDepth) + strings.Repeat("5a", maxDepth)
	if got := run(t, rt, `Array.isArray(Hessian.decode(fromHex('`+notDeep+`')))`); !got.ToBoolean() {
		t.Errorf("%d nested lists not decoded", maxDepth)
	}
	tests := []struct{ in, msg string }{
		{"5a", "unexpected bytecode 'Z'"},
		{"91 5a", "unexpected bytecode 'Z'"},
		{"57 5a 5a", "unexpected bytecode 'Z'"},
		{"48 0161 5a", "unexpected bytecode 'Z'"},
		{"58 92 91 5a", "unexpected bytecode 'Z'"},
		{"40", "unrecognized bytecode 0x40"},
		{"45", "unrecognized bytecode 0x45"},
		{"47", "unrecognized bytecode 0x47"},
		{"50", "unrecognized bytecode 0x50"},
		{"57 91 50 5a", "unrecognized bytecode 0x50"},
		{"48 0161 45 5a", "unrecognized bytecode 0x45"},

		// truncated
		{"49", "unexpected end of data"},
		{"49 000000", "unexpected end of data"},
		{"4c 00000000", "unexpected end of data"},
		{"44 00", "unexpected end of data"},
		{"59 00", "unexpected end of data"},
		{"c0", "unexpected end of data"},
		{"d0 00", "unexpected end of data"},
		{"f0", "unexpected end of data"},
		{"38 00", "unexpected end of data"},
		{"5d", "unexpected end of data"},
		{"5e 00", "unexpected end of data"},
		{"5f 000000", "unexpected end of data"},
		{"05 6162", "unexpected end of data"},
		{"30", "unexpected end of data"},
		{"30 05 61", "unexpected end of data"},
		{"53 00", "unexpected end of data"},
		{"53 0005 61", "unexpected end of data"},
		{"52 0001 61", "unexpected end of data"},
		{"02 c3", "unexpected end of data"},
		{"01 e282", "unexpected end of data"},
		{"25 0102", "unexpected end of data"},
		{"34 05 01", "unexpected end of data"},
		{"42 00", "unexpected end of data"},
		{"41 0001 01", "unexpected end of data"},
		{"4a 0000", "unexpected end of data"},
		{"4b 00", "unexpected end of data"},
		{"57", "unexpected end of data"},
		{"57 91", "unexpected end of data"},
		{"58", "unexpected end of data"},
		{"58 93 91 92", "unexpected end of data"},
		{"58 d7ffff", "unexpected end of data"},
		{"55 0161 91", "unexpected end of data"},
		{"56 0161", "unexpected end of data"},
		{"72", "unexpected end of data"},
		{"72 0161 91", "unexpected end of data"},
		{"48", "unexpected end of data"},
		{"48 0161", "unexpected end of data"},
		{"48 0161 91", "unexpected end of data"},
		{"4d", "unexpected end of data"},
		{"43", "unexpected end of data"},
		{"43 0141", "unexpected end of data"},
		{"43 0141 92 0161", "unexpected end of data"},
		{"43 0141 90", "unexpected end of data"},
		{"43 0141 91 0161 60", "unexpected end of data"},
		{"43 0141 91 0161 4f", "unexpected end of data"},
		{"51", "unexpected end of data"},

		// structure
		{"60", "class definition 0 out of range"},
		{"43 0141 90 61", "class definition 1 out of range"},
		{"4f 8f", "class definition -1 out of range"},
		{"51 90", "reference 0 out of range"},
		{"57 51 91 5a", "reference 1 out of range"},
		{"51 8f", "reference -1 out of range"},
		{"72 90", "type reference 0 out of range"},
		{"72 0161 90 90 72 91", "type reference 1 out of range"},
		{"58 8f", "invalid length -1"},
		{"43 0141 8f", "invalid length -1"},
		{"43 91", "unexpected bytecode 0x91"},
		{"43 0141 91 91", "unexpected bytecode 0x91"},
		{"43 0141 0161", "unexpected bytecode 0x01"},
		{"4f 0161", "unexpected bytecode 0x01"},
		{"58 0161", "unexpected bytecode 0x01"},
		{"51 4e", "unexpected bytecode 'N'"},
		{"72 4e", "unexpected bytecode 'N'"},
		{"52 0001 61 91", "unexpected bytecode 0x91"},
		{"52 0001 61 23 414243", "unexpected bytecode '#'"},
		{"41 0001 01 4e", "unexpected bytecode 'N'"},
		{"41 0001 01 0161", "unexpected bytecode 0x01"},

		// UTF-8
		{"01 80", "bad utf-8 encoding"},
		{"01 ff", "bad utf-8 encoding"},
		{"01 f8 808080", "bad utf-8 encoding"},
		{"01 c3 41", "bad utf-8 encoding"},
		{"01 e2 82 41", "bad utf-8 encoding"},
		{"02 f4 90 80 80", "bad utf-8 encoding"},
		{"02 f0 80 80 80", "bad utf-8 encoding"},

		{deep, "nesting too deep"},
		{strings.Repeat("48 0161", maxDepth+1), "nesting too deep"},
	}
	for _, tc := range tests {
		rt.Set("input", strings.ReplaceAll(tc.in, " ", ""))
		v, err := rt.RunString(`try { describe(Hessian.decode(fromHex(input))) } catch (e) { e instanceof Error ? 'Error: ' + e.message : 'not an Error: ' + e }`)
		if err != nil {
			t.Fatalf("decode %s: %v", trim(tc.in), err)
		}
		if got := v.String(); got != "Error: "+tc.msg {
			t.Errorf("decode %s: got %s, want Error: %s", trim(tc.in), got, tc.msg)
		}
	}
	for _, src := range []string{`Hessian.decode('4e')`, `Hessian.decode({})`, `Hessian.decode(1)`} {
		if _, err := rt.RunString(src); err == nil || !strings.Contains(err.Error(), "TypeError: argument #1 expects a Data object") {
			t.Errorf("%s: err %v, want a TypeError", src, err)
		}
	}
}
