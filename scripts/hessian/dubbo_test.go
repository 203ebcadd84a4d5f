package hessian

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	dubbo "github.com/apache/dubbo-go-hessian2"
)

// Interop with github.com/apache/dubbo-go-hessian2 (a test-only
// dependency), the Hessian codec of Dubbo's Go implementation, for nested
// arrays both ways.

// dubboJSON turns a value decoded by dubbo-go-hessian2 into the JSON value
// (as encoding/json would parse it) that it stands for.
func dubboJSON(t *testing.T, v any) any {
	t.Helper()
	switch v := v.(type) {
	case nil:
		return nil
	case bool, string:
		return v
	case int32:
		return float64(v)
	case int64:
		return float64(v)
	case float64:
		return v
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = dubboJSON(t, e)
		}
		return out
	case map[any]any:
		out := map[string]any{}
		for k, e := range v {
			out[fmt.Sprint(k)] = dubboJSON(t, e)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice { // a typed list: []int32, []string, ...
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = dubboJSON(t, rv.Index(i).Interface())
		}
		return out
	}
	t.Fatalf("unexpected %T from dubbo-go-hessian2: %#v", v, v)
	return nil
}

// nestedArrays are script values (each the one element of a top-level
// array, so encoded as one list) exercising the list forms.
var nestedArrays = []string{
	`[]`,
	`[1]`,
	`[1, 2, 3, 4, 5, 6, 7]`,
	`[1, 2, 3, 4, 5, 6, 7, 8]`,
	`[[]]`,
	`[[1, [2, [3, []]]], ['a', null, true, 1.5]]`,
	`[{a: [1, [2]], b: []}, [{c: [[], [[]]]}]]`,
	`Array.from({length: 50}, (_, i) => [i, String(i), [i]])`,
	`Array.from({length: 3000}, (_, i) => i)`,
	`Array.from({length: 8}, (_, i) => Array.from({length: i}, () => [i]))`,
}

func TestDubboGoHessian2ReadsOurs(t *testing.T) {
	rt := newRuntime(t)
	for _, src := range nestedArrays {
		b, err := hex.DecodeString(run(t, rt, "hex(Hessian.encode(["+src+"]))").String())
		if err != nil {
			t.Fatal(err)
		}
		d := dubbo.NewDecoder(b)
		v, err := d.Decode()
		if err != nil {
			t.Errorf("dubbo-go-hessian2 cannot decode Hessian.encode([%s]) = %s: %v", src, trim(hex.EncodeToString(b)), err)
			continue
		}
		if _, err := d.Decode(); err == nil {
			t.Errorf("%s: dubbo-go-hessian2 found more than one value", src)
		}
		var want any
		if err := json.Unmarshal([]byte(run(t, rt, "JSON.stringify("+src+")").String()), &want); err != nil {
			t.Fatal(err)
		}
		if got := dubboJSON(t, v); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: dubbo-go-hessian2 decoded %s", src, trim(fmt.Sprint(got)))
		}
	}
}

func TestDubboGoHessian2WrittenReadByUs(t *testing.T) {
	rt := newRuntime(t)
	shared := []any{int32(9)}
	long := make([]any, 1000)
	for i := range long {
		long[i] = []any{int32(i), fmt.Sprint(i)}
	}
	for _, tc := range []struct {
		v    any
		want string // JSON.stringify of what we decode
	}{
		{[]any{}, `[]`},
		{[]any{int32(1)}, `[1]`},
		{[]any{[]any{}, []any{[]any{}}}, `[[],[[]]]`},
		{[]any{int32(1), []any{"a", []any{nil, true, 1.5, int64(1) << 40}}}, `[1,["a",[null,true,1.5,1099511627776]]]`},
		{[]any{[]int32{1, 2, 3}, []string{"x", "y"}}, `[[1,2,3],["x","y"]]`}, // typed lists 'V'
		{map[string]any{"a": []any{[]any{int32(1)}, []any{}}}, `{"a":[[1],[]]}`},
		{[]any{shared, shared}, `[[9],[9]]`}, // the second one a reference 'Q'
		{long, ""},
	} {
		e := dubbo.NewEncoder()
		if err := e.Encode(tc.v); err != nil {
			t.Fatalf("dubbo-go-hessian2 Encode(%#v): %v", tc.v, err)
		}
		h := hex.EncodeToString(e.Buffer())
		want := tc.want
		if want == "" {
			b, _ := json.Marshal(tc.v)
			want = string(b)
		}
		if got := run(t, rt, "JSON.stringify(Hessian.decode(fromHex('"+h+"')))").String(); got != want {
			t.Errorf("decode(%s):\n got %s\nwant %s", trim(h), trim(got), trim(want))
		}
		// And what we write again for it dubbo-go-hessian2 reads as the same.
		b, _ := hex.DecodeString(run(t, rt, "hex(Hessian.encode([Hessian.decode(fromHex('"+h+"'))]))").String())
		v, err := dubbo.NewDecoder(b).Decode()
		if err != nil {
			t.Errorf("%s: dubbo-go-hessian2 cannot read it back: %v", trim(want), err)
			continue
		}
		if got, _ := json.Marshal(dubboJSON(t, v)); string(got) != want {
			t.Errorf("%s: dubbo-go-hessian2 read back %s", trim(want), trim(string(got)))
		}
	}
}
