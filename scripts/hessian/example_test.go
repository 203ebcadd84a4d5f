package hessian_test

import (
	"encoding/hex"
	"fmt"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/scripts/hessian"
)

// data is a minimal script Data object: the scripts package makes real ones.
type data struct{ *filters.Data }

func (d data) Unwrap() any                 { return d.Data }
func (d data) Get(string) goja.Value       { return nil }
func (d data) Set(string, goja.Value) bool { return false }
func (d data) Has(string) bool             { return false }
func (d data) Delete(string) bool          { return false }
func (d data) Keys() []string              { return nil }

func ExampleNew() {
	rt := goja.New()
	rt.Set("Hessian", hessian.New(rt, func(b []byte) goja.Value {
		return rt.NewDynamicObject(data{filters.NewDataBytes(b)})
	}))
	v, _ := rt.RunString(`Hessian.encode([1, 'hi', {a: [true, null]}])`)
	fmt.Println(hex.EncodeToString(filters.Unwrap(v).(*filters.Data).Bytes()))
	v, _ = rt.RunString(`JSON.stringify(Hessian.decode(Hessian.encode([1, 'hi', {a: [true, null]}])))`)
	fmt.Println(v)
	// Output:
	//49000000010268694801617a544e5a
	// [1,"hi",{"a":[true,null]}]
}
