// Package jsfunc makes native Go functions look like declared JavaScript
// functions and methods in goja: a name and a length, and methods that are
// not enumerable. The script API packages (algo, crypto, hessian, netmask,
// url, xml) define their constructors and methods with it.
package jsfunc

import "github.com/dop251/goja"

// SetMeta sets a native function's name and length as for a declared
// JavaScript function (both non-writable, non-enumerable, configurable).
func SetMeta(rt *goja.Runtime, f *goja.Object, name string, length int) {
	f.DefineDataProperty("name", rt.ToValue(name), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	f.DefineDataProperty("length", rt.ToValue(length), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// Method defines fn as a non-enumerable method of obj.
func Method(rt *goja.Runtime, obj *goja.Object, name string, length int, fn func(goja.FunctionCall) goja.Value) {
	f := rt.ToValue(fn).(*goja.Object)
	SetMeta(rt, f, name, length)
	obj.DefineDataProperty(name, f, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}
