package algo

import (
	"strconv"
	"testing"

	"github.com/dop251/goja"
)

func TestKeyOf(t *testing.T) {
	rt := goja.New()
	vals := runJS(t, rt, `var o = {}, s = Symbol('s'); [
		undefined, null, true, false, 0, -0, 1, 1.0, 0.5 + 0.5, NaN, 0/0, Infinity, -Infinity,
		'1', '', 'é', 'e\u0301', '\ud800', '\udc00', '\ufffd', '\ud800\ufffd', 1n, 2n ** 64n,
		o, o, {}, s, s, Symbol('s'), [1], Object('x')
	]`).(*goja.Object)
	n := int(vals.Get("length").ToInteger())
	keys := make([]Key, n)
	for i := range keys {
		keys[i] = KeyOf(vals.Get(strconv.Itoa(i)))
	}
	// Pairs that a Map treats as the same key; everything else differs.
	same := map[[2]int]bool{
		{4, 5}: true, {6, 7}: true, {6, 8}: true, {7, 8}: true, {9, 10}: true,
		{23, 24}: true, {26, 27}: true,
	}
	m := runJS(t, rt, `(function(vals) {
		var r = [];
		for (var i = 0; i < vals.length; i++) for (var j = i + 1; j < vals.length; j++)
			r.push(new Map([[vals[i], 1]]).has(vals[j]));
		return r;
	})`)
	f, _ := goja.AssertFunction(m)
	res, err := f(goja.Undefined(), vals)
	if err != nil {
		t.Fatal(err)
	}
	mapSame := res.Export().([]any)
	k := 0
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			want := same[[2]int{i, j}]
			if mapSame[k].(bool) != want {
				t.Errorf("test table wrong for %d, %d: Map says %v", i, j, mapSame[k])
			}
			k++
			if got := keys[i] == keys[j]; got != want {
				t.Errorf("KeyOf(#%d %v) == KeyOf(#%d %v) is %v; want %v", i, vals.Get(strconv.Itoa(i)), j, vals.Get(strconv.Itoa(j)), got, want)
			}
		}
	}
	if KeyOf(nil) != KeyOf(goja.Undefined()) {
		t.Error("KeyOf(nil) != KeyOf(undefined)")
	}
}
