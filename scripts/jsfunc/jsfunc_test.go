package jsfunc

import (
	"testing"

	"github.com/dop251/goja"
)

func TestMethod(t *testing.T) {
	rt := goja.New()
	obj := rt.NewObject()
	Method(rt, obj, "twice", 1, func(c goja.FunctionCall) goja.Value { return rt.ToValue(2 * c.Argument(0).ToInteger()) })
	rt.Set("o", obj)
	v, err := rt.RunString(`[o.twice(21), o.twice.name, o.twice.length, Object.keys(o).length,
		Object.getOwnPropertyDescriptor(o.twice, 'name').writable].join()`)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.String(); got != "42,twice,1,0,false" {
		t.Fatalf("got %s", got)
	}
}
