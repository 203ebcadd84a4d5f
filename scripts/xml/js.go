package xml

import (
	"reflect"
	"strconv"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/scripts/jsfunc"

	"github.com/pipy-go/pipy/filters"
)

// node is the Go side of an XML.Node: a goja dynamic object whose three
// properties are read-only (assignments are refused, which throws in strict
// code). The values are kept as given, so node.children.push(x) changes the
// node, as in the original.
type node struct {
	name       goja.Value // a string
	attributes goja.Value // an object or null
	children   goja.Value // an Array or null
}

func (n *node) Get(key string) goja.Value {
	switch key {
	case "name":
		return n.name
	case "attributes":
		return n.attributes
	case "children":
		return n.children
	}
	return nil
}

func (n *node) Set(string, goja.Value) bool { return false }

func (n *node) Has(key string) bool {
	return key == "name" || key == "attributes" || key == "children"
}

func (n *node) Delete(key string) bool { return !n.Has(key) }

func (n *node) Keys() []string { return []string{"name", "attributes", "children"} }

var nodeType = reflect.TypeOf((*node)(nil))

// api is the state shared by the functions of one runtime's XML object.
type api struct {
	rt      *goja.Runtime
	newData func([]byte) goja.Value
	proto   *goja.Object // XML.Node.prototype
}

// New returns the script's `XML` object for rt (spec api.md §10):
//
//	new XML.Node(name[, attributes[, children]])
//	XML.parse(string) / XML.decode(data)   → document node, or null
//	XML.stringify(doc[, space])            → string
//	XML.encode(doc[, space])               → Data (made by newData)
//
// Nodes are dynamic objects (their Export() is the Go node) whose prototype
// is XML.Node.prototype, so `instanceof XML.Node` works; name, attributes
// and children are enumerable read-only properties. See [Docs] for the
// exact behaviour of each member.
//
// The returned object and everything it creates belong to rt and must only
// be used on rt's goroutine.
func New(rt *goja.Runtime, newData func([]byte) goja.Value) *goja.Object {
	a := &api{rt: rt, newData: newData}
	var ctor *goja.Object
	ctor = rt.ToValue(func(call goja.ConstructorCall) *goja.Object {
		proto := a.proto
		if call.NewTarget != nil {
			// Keeps subclasses (class X extends XML.Node) working.
			if p := call.This.Prototype(); p != nil {
				proto = p
			}
		}
		return a.construct(call.Arguments, proto)
	}).(*goja.Object)
	jsfunc.SetMeta(rt, ctor, "Node", 1)
	a.proto = ctor.Get("prototype").(*goja.Object)

	o := rt.NewObject()
	o.Set("Node", ctor)
	jsfunc.Method(rt, o, "parse", 1, func(c goja.FunctionCall) goja.Value {
		s, ok := c.Argument(0).(goja.String)
		if !ok {
			panic(rt.NewTypeError("argument #1 expects a string"))
		}
		return a.parse([]byte(s.String()))
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
		return a.parse(d.Bytes())
	})
	jsfunc.Method(rt, o, "stringify", 1, func(c goja.FunctionCall) goja.Value {
		doc := a.docArg(c.Argument(0))
		if doc == nil {
			return rt.ToValue("")
		}
		return rt.ToValue(string(a.stringify(doc, spaceArg(c.Argument(1)))))
	})
	jsfunc.Method(rt, o, "encode", 1, func(c goja.FunctionCall) goja.Value {
		doc := a.docArg(c.Argument(0))
		if doc == nil {
			return goja.Null()
		}
		return a.newData(a.stringify(doc, spaceArg(c.Argument(1))))
	})
	return o
}

// construct builds a node from the constructor arguments.
func (a *api) construct(args []goja.Value, proto *goja.Object) *goja.Object {
	rt := a.rt
	if len(args) == 0 {
		panic(rt.NewTypeError("requires 1 or more arguments"))
	}
	if _, ok := args[0].(goja.String); !ok {
		panic(rt.NewTypeError("argument #1 expects a string"))
	}
	n := &node{name: args[0], attributes: goja.Null(), children: goja.Null()}
	if len(args) > 1 && !isNullish(args[1]) {
		if _, ok := args[1].(*goja.Object); !ok {
			panic(rt.NewTypeError("argument #2 expects an object"))
		}
		n.attributes = args[1]
	}
	if len(args) > 2 && !isNullish(args[2]) {
		if o, ok := args[2].(*goja.Object); !ok || o.ClassName() != "Array" {
			panic(rt.NewTypeError("argument #3 expects an array"))
		}
		n.children = args[2]
	}
	return a.wrap(n, proto)
}

func (a *api) wrap(n *node, proto *goja.Object) *goja.Object {
	o := a.rt.NewDynamicObject(n)
	o.SetPrototype(proto)
	return o
}

// docArg returns the node behind stringify/encode's first argument, nil for
// null or undefined; anything else throws.
func (a *api) docArg(v goja.Value) *node {
	if isNullish(v) {
		return nil
	}
	n := asNode(v)
	if n == nil {
		panic(a.rt.NewTypeError("argument #1 expects an XML.Node object"))
	}
	return n
}

// asNode returns the node behind v, or nil when v is not an XML.Node. The
// ExportType check is cheap: it never converts a plain object.
func asNode(v goja.Value) *node {
	o, ok := v.(*goja.Object)
	if !ok || o.ExportType() != nodeType {
		return nil
	}
	n, _ := o.Export().(*node)
	return n
}

// spaceArg converts stringify/encode's space argument: a number truncated
// and clamped to 0..10; anything missing or not a number counts as 0.
func spaceArg(v goja.Value) int {
	if isNullish(v) {
		return 0
	}
	n := v.ToInteger()
	return int(min(max(n, 0), 10))
}

func isNullish(v goja.Value) bool {
	return v == nil || goja.IsUndefined(v) || goja.IsNull(v)
}

// arrayLen returns the length of an array value, or -1 when v is not an
// Array.
func arrayLen(v goja.Value) (*goja.Object, int) {
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() != "Array" {
		return nil, -1
	}
	return o, int(o.Get("length").ToInteger())
}

func index(o *goja.Object, i int) goja.Value {
	v := o.Get(strconv.Itoa(i))
	if v == nil {
		return goja.Undefined()
	}
	return v
}
