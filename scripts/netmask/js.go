package netmask

import (
	"slices"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/scripts/jsfunc"
)

// keys are the Netmask properties a script sees, in the order Object.keys
// and JSON.stringify list them.
var keys = []string{"base", "mask", "bitmask", "hostmask", "broadcast", "size", "first", "last"}

// New returns the script's `Netmask` constructor for rt:
//
//	new Netmask(cidr)   .contains(ip), .toString()
//
// cidr is used in its string form; when [Parse] fails the constructor
// throws a GoError wrapping [ErrInvalidCIDR] ("invalid CIDR notation").
// Called without `new` it still constructs.
//
// An instance is a goja dynamic object backed by a *Netmask (see
// [FromValue]): base, mask, hostmask, broadcast, first and last are
// dotted-decimal strings, bitmask and size numbers; all are own,
// enumerable and read-only (assigning one is ignored, or a TypeError in
// strict code); other properties can be added freely. contains and
// toString live on Netmask.prototype.
//
// The constructor and its instances belong to rt and must only be used on
// rt's goroutine.
func New(rt *goja.Runtime) goja.Value {
	var ctor, proto *goja.Object
	ctor = rt.ToValue(func(call goja.ConstructorCall) *goja.Object {
		m, err := Parse(call.Argument(0).String())
		if err != nil {
			panic(rt.NewGoError(err))
		}
		o := rt.NewDynamicObject(&object{rt: rt, m: m})
		if call.NewTarget != nil && call.This != nil {
			o.SetPrototype(call.This.Prototype()) // subclasses
		} else {
			o.SetPrototype(proto)
		}
		return o
	}).(*goja.Object)
	jsfunc.SetMeta(rt, ctor, "Netmask", 1)
	proto = ctor.Get("prototype").(*goja.Object)
	this := func(call goja.FunctionCall) *Netmask {
		m, ok := FromValue(call.This)
		if !ok {
			panic(rt.NewTypeError("%s", "not a Netmask object"))
		}
		return m
	}
	jsfunc.Method(rt, proto, "contains", 1, func(call goja.FunctionCall) goja.Value {
		m := this(call)
		return rt.ToValue(len(call.Arguments) > 0 && m.Contains(call.Arguments[0].String()))
	})
	jsfunc.Method(rt, proto, "toString", 0, func(call goja.FunctionCall) goja.Value {
		return rt.ToValue(this(call).String())
	})
	return ctor
}

// FromValue returns the *Netmask behind a value created by the constructor
// from [New], and false for any other value.
func FromValue(v goja.Value) (*Netmask, bool) {
	if o, ok := v.(*goja.Object); ok {
		if d, ok := o.Export().(*object); ok {
			return d.m, true
		}
	}
	return nil, false
}

// object is the goja.DynamicObject of a Netmask instance. Values are
// converted on each read; extra holds properties added by the script.
type object struct {
	rt        *goja.Runtime
	m         *Netmask
	extra     map[string]goja.Value
	extraKeys []string // insertion order of extra
}

func (o *object) field(key string) (goja.Value, bool) {
	m := o.m
	switch key {
	case "base":
		return o.rt.ToValue(m.Base().String()), true
	case "mask":
		return o.rt.ToValue(m.Mask().String()), true
	case "bitmask":
		return o.rt.ToValue(m.Bitmask()), true
	case "hostmask":
		return o.rt.ToValue(m.Hostmask().String()), true
	case "broadcast":
		return o.rt.ToValue(m.Broadcast().String()), true
	case "size":
		return o.rt.ToValue(m.Size()), true
	case "first":
		return o.rt.ToValue(m.First().String()), true
	case "last":
		return o.rt.ToValue(m.Last().String()), true
	}
	return nil, false
}

func isField(key string) bool { return slices.Contains(keys, key) }

func (o *object) Get(key string) goja.Value {
	if v, ok := o.field(key); ok {
		return v
	}
	return o.extra[key] // nil when absent: looked up on the prototype
}

func (o *object) Set(key string, val goja.Value) bool {
	if isField(key) {
		return false
	}
	if o.extra == nil {
		o.extra = make(map[string]goja.Value)
	}
	if _, ok := o.extra[key]; !ok {
		o.extraKeys = append(o.extraKeys, key)
	}
	o.extra[key] = val
	return true
}

func (o *object) Has(key string) bool {
	if isField(key) {
		return true
	}
	_, ok := o.extra[key]
	return ok
}

func (o *object) Delete(key string) bool {
	if isField(key) {
		return false
	}
	if _, ok := o.extra[key]; ok {
		delete(o.extra, key)
		o.extraKeys = slices.DeleteFunc(o.extraKeys, func(k string) bool { return k == key })
	}
	return true
}

func (o *object) Keys() []string {
	return append(slices.Clip(keys), o.extraKeys...) // always a fresh slice
}
