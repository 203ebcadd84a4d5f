package hessian

import (
	"errors"
	"reflect"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/scripts/jsfunc"

	"github.com/pipy-go/pipy/filters"
)

// maxDepth bounds the nesting of lists, maps and objects, in both
// directions, so that neither hostile input nor a deep script value can
// exhaust the stack.
const maxDepth = 10000

// api is the state shared by one runtime's Hessian functions.
type api struct {
	rt      *goja.Runtime
	newData func([]byte) goja.Value
	date    goja.Value // the Date constructor, captured at New
}

// New returns the script's `Hessian` object for rt (spec api.md §11):
//
//	Hessian.encode(value) → Data (made by newData)
//	Hessian.decode(data)  → value
//
// See [Docs] for the value mapping. Decoding errors are thrown as Error
// objects whose message is the original's (`unrecognized bytecode 0x41`,
// `unexpected bytecode 'Z'`) or says what else is wrong
// (`unexpected end of data`, ...).
//
// The returned object and everything it creates belong to rt and must only
// be used on rt's goroutine.
func New(rt *goja.Runtime, newData func([]byte) goja.Value) *goja.Object {
	a := &api{rt: rt, newData: newData, date: rt.Get("Date")}
	o := rt.NewObject()
	jsfunc.Method(rt, o, "encode", 1, func(c goja.FunctionCall) goja.Value {
		e := encoder{rt: rt}
		e.top(c.Argument(0))
		return newData(e.b)
	})
	jsfunc.Method(rt, o, "decode", 1, func(c goja.FunctionCall) goja.Value {
		v := c.Argument(0)
		if isNullish(v) {
			return goja.Null()
		}
		d, ok := filters.Unwrap(v).(*filters.Data)
		if !ok {
			panic(rt.NewTypeError("argument #1 expects a Data object"))
		}
		val, err := a.decode(d.Bytes())
		if err != nil {
			panic(rt.NewGoError(err))
		}
		return val
	})
	return o
}

var wrappedType = reflect.TypeOf((*filters.Wrapped)(nil)).Elem()

// asData returns the Data behind o, or nil. Only objects exported as a
// filters.Wrapped are exported (ExportType does not convert anything).
func asData(o *goja.Object) *filters.Data {
	if t := o.ExportType(); t == nil || !t.Implements(wrappedType) {
		return nil
	}
	d, _ := filters.Unwrap(o).(*filters.Data)
	return d
}

func isNullish(v goja.Value) bool {
	return v == nil || goja.IsUndefined(v) || goja.IsNull(v)
}

// Errors other than bytecode errors.
var (
	ErrTruncated = errors.New("unexpected end of data")
	ErrTooDeep   = errors.New("nesting too deep")
	ErrBadUTF8   = errors.New("bad utf-8 encoding")
)
