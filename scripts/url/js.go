package url

import (
	"slices"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/scripts/jsfunc"
)

// keys are the URL properties a script sees, in the order Object.keys and
// JSON.stringify list them.
var keys = []string{
	"protocol", "auth", "username", "password", "host", "hostname", "port",
	"origin", "pathname", "search", "query", "path", "hash", "href",
}

// New returns the script's `URL` constructor for rt:
//
//	new URL(url[, base])
//
// url and base are used in their string form; a null or undefined base
// means none. Without arguments it throws a TypeError ("requires 1 or more
// arguments"); a control character in url or base throws a GoError wrapping
// [ErrInvalidURL] ("invalid URL"). Called without `new` it still constructs.
//
// An instance is a goja dynamic object backed by a *URL (see [FromValue]):
// the properties listed in [URL]'s documentation are own, enumerable,
// read-only strings (assigning one is ignored, or a TypeError in strict
// code); other properties can be added freely. URL.prototype.toString()
// returns href.
//
// The constructor and its instances belong to rt and must only be used on
// rt's goroutine.
func New(rt *goja.Runtime) goja.Value {
	var ctor, proto *goja.Object
	ctor = rt.ToValue(func(call goja.ConstructorCall) *goja.Object {
		if len(call.Arguments) == 0 {
			panic(rt.NewTypeError("%s", "requires 1 or more arguments"))
		}
		base := ""
		if b := call.Argument(1); !goja.IsUndefined(b) && !goja.IsNull(b) {
			base = b.String()
		}
		u, err := Parse(call.Arguments[0].String(), base)
		if err != nil {
			panic(rt.NewGoError(err))
		}
		o := rt.NewDynamicObject(&object{rt: rt, u: u})
		if call.NewTarget != nil && call.This != nil {
			o.SetPrototype(call.This.Prototype()) // subclasses
		} else {
			o.SetPrototype(proto)
		}
		return o
	}).(*goja.Object)
	jsfunc.SetMeta(rt, ctor, "URL", 1)
	proto = ctor.Get("prototype").(*goja.Object)
	toString := rt.ToValue(func(call goja.FunctionCall) goja.Value {
		u, ok := FromValue(call.This)
		if !ok {
			panic(rt.NewTypeError("%s", "not a URL object"))
		}
		return rt.ToValue(u.Href())
	}).(*goja.Object)
	jsfunc.SetMeta(rt, toString, "toString", 0)
	proto.DefineDataProperty("toString", toString, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	return ctor
}

// FromValue returns the *URL behind a value created by the constructor
// from [New], and false for any other value.
func FromValue(v goja.Value) (*URL, bool) {
	if o, ok := v.(*goja.Object); ok {
		if d, ok := o.Export().(*object); ok {
			return d.u, true
		}
	}
	return nil, false
}

// object is the goja.DynamicObject of a URL instance. Values are converted
// on each read; extra holds properties added by the script.
type object struct {
	rt        *goja.Runtime
	u         *URL
	extra     map[string]goja.Value
	extraKeys []string // insertion order of extra
}

func (o *object) field(key string) (string, bool) {
	u := o.u
	switch key {
	case "protocol":
		return u.Protocol, true
	case "auth":
		return u.Auth, true
	case "username":
		return u.Username, true
	case "password":
		return u.Password, true
	case "host":
		return u.Host, true
	case "hostname":
		return u.Hostname, true
	case "port":
		return u.Port, true
	case "origin":
		return u.Origin(), true
	case "pathname":
		return u.Pathname, true
	case "search":
		return u.Search, true
	case "query":
		return u.Query(), true
	case "path":
		return u.Path(), true
	case "hash":
		return u.Hash, true
	case "href":
		return u.Href(), true
	}
	return "", false
}

func (o *object) Get(key string) goja.Value {
	if s, ok := o.field(key); ok {
		return o.rt.ToValue(s)
	}
	return o.extra[key] // nil when absent: looked up on the prototype
}

func (o *object) Set(key string, val goja.Value) bool {
	if _, ok := o.field(key); ok {
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
	if _, ok := o.field(key); ok {
		return true
	}
	_, ok := o.extra[key]
	return ok
}

func (o *object) Delete(key string) bool {
	if _, ok := o.field(key); ok {
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
