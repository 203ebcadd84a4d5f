package scripts

import (
	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/scripts/apidoc"
)

// installJSON extends goja's JSON object the PipyJS way: parse returns
// undefined instead of throwing, and decode/encode work on Data.
func (r *Runtime) installJSON() {
	j := r.rt.Get("JSON").ToObject(r.rt)
	parse, _ := goja.AssertFunction(j.Get("parse"))
	stringify, _ := goja.AssertFunction(j.Get("stringify"))
	tryParse := func(s goja.Value, rest ...goja.Value) goja.Value {
		v, err := parse(j, append([]goja.Value{s}, rest...)...)
		if err != nil {
			return goja.Undefined()
		}
		return v
	}
	j.Set("parse", func(call goja.FunctionCall) goja.Value {
		return tryParse(call.Argument(0), call.Arguments[min(1, len(call.Arguments)):]...)
	})
	j.Set("decode", func(call goja.FunctionCall) goja.Value {
		d, ok := filters.Unwrap(call.Argument(0)).(*filters.Data)
		if !ok {
			return goja.Undefined()
		}
		return tryParse(r.rt.ToValue(d.String()), call.Arguments[min(1, len(call.Arguments)):]...)
	})
	// A function replacer also gets the holder as its third argument.
	withHolder := func(args []goja.Value) []goja.Value {
		if len(args) < 2 {
			return args
		}
		fn, ok := goja.AssertFunction(args[1])
		if !ok {
			return args
		}
		out := append([]goja.Value(nil), args...)
		out[1] = r.rt.ToValue(func(call goja.FunctionCall) goja.Value {
			v, err := fn(call.This, call.Argument(0), call.Argument(1), call.This)
			if err != nil {
				panic(err)
			}
			return v
		})
		return out
	}
	j.Set("stringify", func(call goja.FunctionCall) goja.Value {
		v, err := stringify(j, withHolder(call.Arguments)...)
		if err != nil {
			panic(err)
		}
		return v
	})
	j.Set("encode", func(call goja.FunctionCall) goja.Value {
		v, err := stringify(j, withHolder(call.Arguments)...)
		if err != nil {
			panic(err)
		}
		if goja.IsUndefined(v) {
			return v
		}
		return r.dataValue(filters.NewDataString(v.String()))
	})
}

var jsonDocs = apidoc.Group{
	Name: "JSON",
	Doc:  "ECMAScript's JSON object, with PipyJS's non-throwing parse and two methods working on Data.",
	Entries: []apidoc.Entry{
		{Signature: "JSON.parse(string[, reviver])", Doc: "the value, or `undefined` when the text is not valid JSON (it does not throw)."},
		{Signature: "JSON.stringify(value[, replacer[, space]])", Doc: "as in ECMAScript."},
		{Signature: "JSON.decode(data[, reviver])", Doc: "parses the UTF-8 text of a Data; `undefined` when invalid or not a Data."},
		{Signature: "JSON.encode(value[, replacer[, space]])", Doc: "like stringify but returns a Data (`undefined` for `undefined`)."},
	},
}
