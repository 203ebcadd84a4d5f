package hessian

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// FuzzDecode checks that decoding never panics or loops, that it either
// returns a value or an error, and that a value it returns (when the input
// has no references) survives encode and decode unchanged as
// described by describe (wrapped in an object, since a top-level array is
// written as a sequence). undefined (no value) and invalid dates are
// written as null.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"4e4654490000007b",
		"48016191016448016594 5a016292 5a",
		"4303436172920563 6f6c6f72056d6f64656c 6003726564 03616263",
		"5748 5a5191 5a",
		"520001eda0bd01edb880",
		"410001014200010 2",
		"4a00000000000003e8 4b00000001",
		"7204 5b696e74 9192 7290 9394",
		"5f00000c44 5d80 5e7fff 3c0000 f800 d7ffff",
	} {
		b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	rt := newRuntime(f)
	a := &api{rt: rt, newData: newDataFunc(rt), date: rt.Get("Date")}
	check, ok := goja.AssertFunction(run(f, rt, `(function (v) {
		var enc = Hessian.encode({v: v}); // first: it throws on cycles, describe would not end
		var d = describe(v === undefined ? null : v).replace(/Date\(NaN\)/g, 'null');
		var again = Hessian.decode(enc).v;
		var e = describe(again);
		return d === e ? '' : d + ' became ' + e;
	})`))
	if !ok {
		f.Fatal("check is not a function")
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := a.decode(in)
		if err != nil {
			if v != nil {
				t.Fatalf("decode(%x) returned a value and %v", in, err)
			}
			return
		}
		if bytes.IndexByte(in, 'Q') >= 0 {
			// References make shared values, which encode (and describe)
			// write out again each time: 2^n work for n nested lists of
			// two references each. Only decoding is checked.
			return
		}
		res, err := check(goja.Undefined(), v)
		if err != nil {
			if strings.Contains(err.Error(), "cyclic object value") {
				return
			}
			t.Fatalf("decode(%x) then encode: %v", in, err)
		}
		if s := res.String(); s != "" {
			t.Fatalf("decode(%x): %s", in, s)
		}
	})
}
