package scripts_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/dop251/goja"
	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/scripts"
)

// jsonCheck runs in the script: it decodes a Data and, when that gives a
// value, checks it from the script side. It returns undefined (not JSON),
// the value's JSON.stringify text, or throws with what went wrong.
const jsonCheck = `var check = function (d) {
  var v = JSON.decode(d);
  if (v === undefined) return undefined;
  var s = JSON.stringify(v);
  if (typeof s !== 'string') throw new Error('stringify gave ' + typeof s);
  // Re-encoding then decoding gives the same value.
  var s2 = JSON.stringify(JSON.decode(new Data(s)));
  if (s2 !== s) throw new Error('re-decoded ' + s + ' as ' + s2);
  // JSON.encode is stringify into a Data.
  var e = JSON.encode(v);
  if (!(e instanceof Data) || e.toString() !== s) throw new Error('encode gave ' + e);
  // JSON.parse of the same text agrees.
  var s3 = JSON.stringify(JSON.parse(d.toString()));
  if (s3 !== s) throw new Error('JSON.parse gave ' + s3 + ', decode ' + s);
  // An identity reviver changes nothing and sees every value once
  // (properties and elements, then the root).
  var n = 0;
  var s4 = JSON.stringify(JSON.decode(d, function (k, x) { n++; return x; }));
  if (s4 !== s) throw new Error('with a reviver ' + s4 + ', without ' + s);
  // A reviver returning undefined drops everything.
  if (JSON.decode(d, function () { return undefined; }) !== undefined) throw new Error('dropping reviver kept something');
  return [s, n];
};
pipy()
`

// jsonNorm normalises values decoded by encoding/json (UseNumber) to what
// a JavaScript value stringified and decoded again by encoding/json is:
// numbers are float64. It counts the values and notes numbers beyond
// float64.
type jsonNorm struct {
	values   int
	overflow bool
}

func (j *jsonNorm) value(v any) any {
	j.values++
	switch v := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if math.IsInf(f, 0) {
			j.overflow = true
			return nil
		}
		if err != nil {
			panic(err)
		}
		return f
	case []any:
		for i := range v {
			v[i] = j.value(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = j.value(v[k])
		}
	}
	return v
}

// hasHugeNumber tells whether valid JSON has a number beyond float64, which
// goja's JSON.parse rejects (ECMAScript makes it ±Infinity).
func hasHugeNumber(b []byte) bool {
	v, err := decodeGo(b)
	if err != nil {
		panic(err)
	}
	var j jsonNorm
	j.value(v)
	return j.overflow
}

func decodeGo(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// FuzzJSONDecode checks JSON.decode (and through it PipyJS's JSON.parse,
// stringify, encode and the reviver) against encoding/json on one runtime
// reused across inputs:
//   - it never throws nor panics, whatever the bytes;
//   - it accepts what encoding/json accepts (json.Valid) and gives
//     undefined for the rest (invalid JSON, bytes outside strings that are
//     not UTF-8), with two exceptions: nesting deeper than encoding/json's
//     limit (10000) may be accepted, and a number beyond float64 may be
//     rejected (goja does; ECMAScript makes it ±Infinity, written as null);
//   - the value is the one encoding/json decodes (invalid UTF-8 in strings
//     and lone surrogate escapes become U+FFFD in both), compared through
//     its stringify text;
//   - stringify then decode gives the same text; encode agrees with
//     stringify; JSON.parse of the Data's text agrees with decode;
//   - an identity reviver changes nothing and is called once per value; a
//     reviver returning undefined drops the whole value.
func FuzzJSONDecode(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,2,{"b":null}],"c":"s"}`,
		`[]`,
		`0`,
		` "x" `,
		`{"a":1,"a":2}`,
		`{"__proto__":{"x":1}}`,
		`[-0,1e400,-1e400,1e-400,123456789012345678901234567890,0.1,5e-324]`,
		`"\ud800\udc00\ud800x\u0000\"\\\/\b\f\n\r\t"`,
		"\"\xff\xfe\xc3\x28\"",
		"\xef\xbb\xbf{}",
		`{"a":[1,]}`,
		`[1 2]`,
		`{'a':1}`,
		`01`,
		`NaN`,
		"\"\x01\"",
		strings.Repeat("[", 100) + strings.Repeat("]", 100),
		strings.Repeat(`{"a":[`, 20) + strings.Repeat("]}", 20),
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	file := filepath.Join(dir, "main.js")
	if err := os.WriteFile(file, []byte(jsonCheck), 0o644); err != nil {
		f.Fatal(err)
	}
	env := &filters.Env{Loop: filters.NewLoop(), Log: hclog.NewNullLogger(), Print: func(string) {}}
	prog, err := scripts.Load(file, env)
	if err != nil {
		f.Fatal(err)
	}
	check, ok := goja.AssertFunction(prog.Script.Runtime().Get("check"))
	if !ok {
		f.Fatal("check is not a function")
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := prog.Script.EventValue(filters.NewDataBytes(append([]byte(nil), in...)))
		res, err := check(goja.Undefined(), d)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		valid := json.Valid(in)
		if goja.IsUndefined(res) {
			if valid && !hasHugeNumber(in) {
				t.Fatalf("%q: undefined, but encoding/json accepts it", in)
			}
			return
		}
		if !valid {
			if err := json.Unmarshal(in, new(json.RawMessage)); err != nil && strings.Contains(err.Error(), "exceeded max depth") {
				return
			}
			t.Fatalf("%q: decoded as %v, but encoding/json rejects it", in, res)
		}
		out := res.Export().([]any)
		s := out[0].(string)
		calls := out[1].(int64)
		want, err := decodeGo(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeGo([]byte(s))
		if err != nil {
			t.Fatalf("%q: stringify gave %q: %v", in, s, err)
		}
		var jw, jg jsonNorm
		want, got = jw.value(want), jg.value(got)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decoded as %s, encoding/json says %#v", in, s, want)
		}
		if calls != int64(jw.values) {
			t.Fatalf("%q: reviver called %d times for %d values", in, calls, jw.values)
		}
	})
}
