package hessian

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
)

// dataObj stands in for the scripts package's Data objects: a dynamic
// object whose Export() implements filters.Wrapped.
type dataObj struct{ d *filters.Data }

func (o *dataObj) Unwrap() any                 { return o.d }
func (o *dataObj) Get(string) goja.Value       { return nil }
func (o *dataObj) Set(string, goja.Value) bool { return false }
func (o *dataObj) Has(string) bool             { return false }
func (o *dataObj) Delete(string) bool          { return false }
func (o *dataObj) Keys() []string              { return nil }

func newDataFunc(rt *goja.Runtime) func([]byte) goja.Value {
	return func(b []byte) goja.Value { return rt.NewDynamicObject(&dataObj{filters.NewDataBytes(b)}) }
}

// jsHelpers: describe(v) prints a decoded value unambiguously (Data as
// Data(hex), Date as Date(ms), undefined); roundTrip(v) decodes what
// encode(v) gives.
const jsHelpers = `
function describe(v) {
	if (v === undefined) return 'undefined';
	if (isData(v)) return 'Data(' + hex(v) + ')';
	if (v instanceof Date) return 'Date(' + v.getTime() + ')';
	if (Array.isArray(v)) return '[' + v.map(describe).join(',') + ']';
	if (v !== null && typeof v === 'object')
		return '{' + Object.keys(v).map(k => JSON.stringify(k) + ':' + describe(v[k])).join(',') + '}';
	return JSON.stringify(v);
}
function roundTrip(v) { return Hessian.decode(Hessian.encode(v)) }
`

func newRuntime(t testing.TB) *goja.Runtime {
	t.Helper()
	rt := goja.New()
	rt.SetMaxCallStackSize(10000)
	newData := newDataFunc(rt)
	rt.Set("Hessian", New(rt, newData))
	rt.Set("isData", func(v goja.Value) bool { _, ok := filters.Unwrap(v).(*filters.Data); return ok })
	rt.Set("hex", func(v goja.Value) string { return hex.EncodeToString(filters.Unwrap(v).(*filters.Data).Bytes()) })
	rt.Set("fromHex", func(s string) goja.Value {
		b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			panic(rt.NewGoError(err))
		}
		return newData(b)
	})
	if _, err := rt.RunString(jsHelpers); err != nil {
		t.Fatal(err)
	}
	return rt
}

func run(t testing.TB, rt *goja.Runtime, src string) goja.Value {
	t.Helper()
	v, err := rt.RunString(src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return v
}

func TestExample013RoundTrip(t *testing.T) {
	rt := newRuntime(t)
	sample, err := os.ReadFile("testdata/sample.json")
	if err != nil {
		t.Fatal(err)
	}
	rt.Set("sample", string(sample))

	// The encoding, byte by byte.
	want := "4e" + "46" + "54" + "490000007b" +
		"44" + hex.EncodeToString(be64(math.Float64bits(3.14159265))) +
		"0648656c6c6f21" +
		"48" + "0161" + "4900000001" + "0162" + "4900000002" + "0163" + "4900000003" +
		"0164" + "48" + "0165" + "4900000064" + "0166" + "49000000c8" + "5a" + "5a" +
		"485a"
	if got := run(t, rt, `hex(Hessian.encode(JSON.parse(sample)))`).String(); got != want {
		t.Fatalf("encoding:\n got %s\nwant %s", got, want)
	}

	got := run(t, rt, `JSON.stringify(roundTrip(JSON.parse(sample)))`).String()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(sample, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("round trip:\n got %s\nwant %s", got, sample)
	}

	for src, want := range map[string]string{
		`JSON.stringify(roundTrip({a: 1}), null, 2)`:                             "{\n  \"a\": 1\n}",
		`JSON.stringify(roundTrip([7]))`:                                         `7`,
		`JSON.stringify(roundTrip({a:1,b:2,c:3,d:{e:100,f:200}}))`:               `{"a":1,"b":2,"c":3,"d":{"e":100,"f":200}}`,
		`JSON.stringify(roundTrip([{a:[1,[2,{b:[]}]],c:{}}, [[]], 'x']))`:        `[{"a":[1,[2,{"b":[]}]],"c":{}},[[]],"x"]`,
		`describe(roundTrip([]))`:                                                `undefined`,
		`describe(roundTrip([new Date(1234567), fromHex('00ff'), 2**40, -0.5]))`: `[Date(1234567),Data(00ff),1099511627776,-0.5]`,
	} {
		if got := run(t, rt, src).String(); got != want {
			t.Errorf("%s = %s, want %s", src, got, want)
		}
	}
}

func be64(u uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(u >> (56 - 8*i))
	}
	return b
}

func TestEncode(t *testing.T) {
	rt := newRuntime(t)
	tests := []struct{ src, want string }{
		{`null`, "4e"},
		{`undefined`, "4e"},
		{`true`, "54"},
		{`false`, "46"},
		{`0`, "4900000000"},
		{`-0`, "4900000000"},
		{`1`, "4900000001"},
		{`-1`, "49ffffffff"},
		{`2147483647`, "497fffffff"},
		{`-2147483648`, "4980000000"},
		{`2147483648`, "4c0000000080000000"},
		{`-2147483649`, "4cffffffff7fffffff"},
		{`2**53`, "4c0020000000000000"},
		{`-(2**62)`, "4cc000000000000000"},
		{`2**63`, "4443e0000000000000"},
		{`1e20`, "44" + hex.EncodeToString(be64(math.Float64bits(1e20)))},
		{`1.5`, "443ff8000000000000"},
		{`-0.25`, "44bfd0000000000000"},
		{`NaN`, "447ff8000000000000"},
		{`-NaN`, "447ff8000000000000"},
		{`Infinity`, "447ff0000000000000"},
		{`-Infinity`, "44fff0000000000000"},
		{`10n`, "490000000a"},
		{`2n**40n`, "4c0000010000000000"},
		{`2n**64n`, "4443f0000000000000"},
		{`''`, "00"},
		{`'a'`, "0161"},
		{`'é'`, "01c3a9"},
		{`'€'`, "01e282ac"},
		{`'😀'`, "02eda0bdedb880"},
		{`'\ud800'`, "01eda080"},
		{`'a😀b'`, "0461eda0bdedb88062"},
		{`'x'.repeat(31)`, "1f" + strings.Repeat("78", 31)},
		{`'x'.repeat(32)`, "3020" + strings.Repeat("78", 32)},
		{`'é'.repeat(32)`, "3020" + strings.Repeat("c3a9", 32)},
		{`'x'.repeat(1023)`, "33ff" + strings.Repeat("78", 1023)},
		{`'x'.repeat(1024)`, "530400" + strings.Repeat("78", 1024)},
		{`'x'.repeat(65535)`, "53ffff" + strings.Repeat("78", 65535)},
		{`[]`, ""},
		{`[1, 'a']`, "49000000010161"},
		{`[[]]`, "78"},
		{`[[1, [2]]]`, "7a4900000001" + "794900000002"},
		{`[1, {}]`, "4900000001485a"},
		{`({})`, "485a"},
		{`({a: [1]})`, "480161" + "794900000001" + "5a"},
		{`({'é': null, 2: true})`, "48" + "0132" + "54" + "01c3a9" + "4e" + "5a"},
		{`({__proto__: {inherited: 1}, own: 2})`, "4803" + "6f776e" + "4900000002" + "5a"},
		{`new Date(0)`, "4a0000000000000000"},
		{`new Date(-1)`, "4affffffffffffffff"},
		{`new Date(NaN)`, "4e"},
		{`fromHex('')`, "20"},
		{`fromHex('616263')`, "23616263"},
		{`fromHex('00'.repeat(15))`, "2f" + strings.Repeat("00", 15)},
		{`fromHex('00'.repeat(16))`, "3410" + strings.Repeat("00", 16)},
		{`fromHex('00'.repeat(1023))`, "37ff" + strings.Repeat("00", 1023)},
		{`fromHex('00'.repeat(1024))`, "420400" + strings.Repeat("00", 1024)},
		{`Symbol('s')`, "4e"},
		{`(function f() {})`, "485a"},
		{`[undefined, null]`, "4e4e"},
	}
	for _, tc := range tests {
		if got := run(t, rt, "hex(Hessian.encode("+tc.src+"))").String(); got != tc.want {
			t.Errorf("Hessian.encode(%s):\n got %s\nwant %s", tc.src, trim(got), trim(tc.want))
		}
	}
	for _, src := range []string{
		`var o = {}; o.self = o; Hessian.encode(o)`,
		`var a = [1]; a.push(a); Hessian.encode(a)`,
		`var a = [1]; a.push({x: [a]}); Hessian.encode([a])`,
		`var d = []; for (var i = 0; i < 10001; i++) d = [d]; Hessian.encode(d)`,
	} {
		if _, err := rt.RunString(src); err == nil || !strings.Contains(err.Error(), "TypeError") {
			t.Errorf("%s: err %v, want a TypeError", src, err)
		}
	}
	// Shared (not cyclic) values are written twice.
	if got := run(t, rt, `var s = {}; hex(Hessian.encode([s, s]))`).String(); got != "485a485a" {
		t.Errorf("shared object: %s", got)
	}
}

func trim(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// TestLongStrings checks the chunked form of strings longer than 65535
// units, in ASCII and not, and that they decode back.
func TestLongStrings(t *testing.T) {
	rt := newRuntime(t)
	for _, tc := range []struct {
		src    string
		n      int    // length in units
		unit   string // hex of one unit's bytes
		chunks []int  // chunk lengths: 'R' all but the last, 'S' the last
	}{
		{`'x'.repeat(65536)`, 65536, "78", []int{65535, 1}},
		{`'x'.repeat(70000)`, 70000, "78", []int{65535, 4465}},
		{`'x'.repeat(131070)`, 131070, "78", []int{65535, 65535}},
		{`'x'.repeat(200000)`, 200000, "78", []int{65535, 65535, 65535, 3395}},
		{`'é'.repeat(70000)`, 70000, "c3a9", []int{65535, 4465}},
		{`'\u4e2d'.repeat(65536)`, 65536, "e4b8ad", []int{65535, 1}},
	} {
		got := run(t, rt, "hex(Hessian.encode("+tc.src+"))").String()
		var want strings.Builder
		for i, n := range tc.chunks {
			code := "52"
			if i == len(tc.chunks)-1 {
				code = "53"
			}
			want.WriteString(code + hex.EncodeToString([]byte{byte(n >> 8), byte(n)}) + strings.Repeat(tc.unit, n))
		}
		if got != want.String() {
			t.Errorf("Hessian.encode(%s): wrong chunks (%d hex digits, want %d)", tc.src, len(got), want.Len())
		}
		if ok := run(t, rt, "var s = "+tc.src+"; roundTrip(s) === s").ToBoolean(); !ok {
			t.Errorf("%s does not round-trip", tc.src)
		}
	}
	// A surrogate pair split across chunks still decodes to the pair.
	if ok := run(t, rt, `var s = 'x'.repeat(65534) + '😀' + 'y'; roundTrip(s) === s`).ToBoolean(); !ok {
		t.Errorf("split surrogate pair does not round-trip")
	}
	if ok := run(t, rt, `var o = {}; o['k'.repeat(70000)] = 'v'.repeat(70000); var r = roundTrip(o); r['k'.repeat(70000)] === o['k'.repeat(70000)]`).ToBoolean(); !ok {
		t.Errorf("long key does not round-trip")
	}
	if ok := run(t, rt, `var d = fromHex('ab'.repeat(140000)); hex(roundTrip(d)) === hex(d) && hex(Hessian.encode(d)).startsWith('41ffff')`).ToBoolean(); !ok {
		t.Errorf("long binary does not round-trip in chunks")
	}
}
