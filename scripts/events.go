package scripts

import (
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
)

// Script objects for events and messages are goja dynamic objects whose
// Export() is one of the holder types below; filters unwrap them through
// filters.Wrapped. Methods live on the class prototypes.

type dataObj struct {
	r *Runtime
	d *filters.Data
}

func (o *dataObj) Unwrap() any { return o.d }
func (o *dataObj) Get(key string) goja.Value {
	if key == "size" {
		return o.r.rt.ToValue(o.d.Size())
	}
	return nil
}
func (o *dataObj) Set(key string, val goja.Value) bool { return false }
func (o *dataObj) Has(key string) bool                 { return key == "size" }
func (o *dataObj) Delete(key string) bool              { return false }
func (o *dataObj) Keys() []string                      { return []string{"size"} }

type messageStartObj struct {
	r *Runtime
	e *filters.MessageStart
}

func (o *messageStartObj) Unwrap() any { return o.e }
func (o *messageStartObj) Get(key string) goja.Value {
	if key == "head" {
		v := o.r.HeadValue(o.e.Head)
		if _, isJS := o.e.Head.(goja.Value); !isJS && o.e.Head != nil {
			// Keep the script object, so changes made by the script are
			// what the next filters see.
			o.e.Head = v
		}
		return v
	}
	return nil
}
func (o *messageStartObj) Set(key string, val goja.Value) bool { return false }
func (o *messageStartObj) Has(key string) bool                 { return key == "head" }
func (o *messageStartObj) Delete(key string) bool              { return false }
func (o *messageStartObj) Keys() []string                      { return []string{"head"} }

type messageEndObj struct {
	r *Runtime
	e *filters.MessageEnd
}

func (o *messageEndObj) Unwrap() any { return o.e }
func (o *messageEndObj) Get(key string) goja.Value {
	if key == "tail" {
		v := o.r.HeadValue(o.e.Tail)
		if _, isJS := o.e.Tail.(goja.Value); !isJS && o.e.Tail != nil {
			// Keep the script object, so changes made by the script are
			// what the next filters see.
			o.e.Tail = v
		}
		return v
	}
	return nil
}
func (o *messageEndObj) Set(key string, val goja.Value) bool { return false }
func (o *messageEndObj) Has(key string) bool                 { return key == "tail" }
func (o *messageEndObj) Delete(key string) bool              { return false }
func (o *messageEndObj) Keys() []string                      { return []string{"tail"} }

type sessionEndObj struct {
	r *Runtime
	e *filters.SessionEnd
}

func (o *sessionEndObj) Unwrap() any { return o.e }
func (o *sessionEndObj) Get(key string) goja.Value {
	if key == "error" {
		return o.r.rt.ToValue(o.e.Err.String())
	}
	return nil
}
func (o *sessionEndObj) Set(key string, val goja.Value) bool { return false }
func (o *sessionEndObj) Has(key string) bool                 { return key == "error" }
func (o *sessionEndObj) Delete(key string) bool              { return false }
func (o *sessionEndObj) Keys() []string                      { return []string{"error"} }

type messageObj struct {
	r *Runtime
	m *filters.Message
}

func (o *messageObj) Unwrap() any { return o.m }
func (o *messageObj) Get(key string) goja.Value {
	switch key {
	case "head":
		if o.m.Head == nil {
			return goja.Null()
		}
		return o.m.Head
	case "body":
		if o.m.Body == nil {
			return goja.Null()
		}
		return o.r.dataValue(o.m.Body)
	}
	return nil
}
func (o *messageObj) Set(key string, val goja.Value) bool { return false }
func (o *messageObj) Has(key string) bool                 { return key == "head" || key == "body" }
func (o *messageObj) Delete(key string) bool              { return false }
func (o *messageObj) Keys() []string                      { return []string{"head", "body"} }

func (r *Runtime) wrap(d goja.DynamicObject, proto *goja.Object) *goja.Object {
	o := r.rt.NewDynamicObject(d)
	o.SetPrototype(proto)
	return o
}

func (r *Runtime) dataValue(d *filters.Data) goja.Value {
	d.Escape()
	return r.wrap(&dataObj{r: r, d: d}, r.protoData)
}

// EventValue implements filters.Script.
func (r *Runtime) EventValue(evt filters.Event) goja.Value {
	switch e := evt.(type) {
	case *filters.Data:
		return r.dataValue(e)
	case *filters.MessageStart:
		return r.wrap(&messageStartObj{r: r, e: e}, r.protoMessageStart)
	case *filters.MessageEnd:
		return r.wrap(&messageEndObj{r: r, e: e}, r.protoMessageEnd)
	case *filters.SessionEnd:
		return r.wrap(&sessionEndObj{r: r, e: e}, r.protoSessionEnd)
	}
	return goja.Undefined()
}

// MessageValue implements filters.Script.
func (r *Runtime) MessageValue(m *filters.Message) goja.Value {
	return r.wrap(&messageObj{r: r, m: m}, r.protoMessage)
}

// HeadValue implements filters.Script.
func (r *Runtime) HeadValue(head any) goja.Value {
	switch h := head.(type) {
	case nil:
		return goja.Null()
	case goja.Value:
		return h
	case filters.Head:
		return h.ToObject(r.rt)
	}
	return r.rt.ToValue(head)
}

func thisData(r *Runtime, call goja.FunctionCall) *filters.Data {
	if o, ok := call.This.(*goja.Object); ok {
		if d, ok := o.Export().(*dataObj); ok {
			return d.d
		}
	}
	r.throwType("not a Data object")
	return nil
}

// newDataFrom builds a Data from constructor arguments.
func (r *Runtime) newDataFrom(args []goja.Value) *filters.Data {
	if len(args) == 0 || goja.IsUndefined(args[0]) {
		return filters.NewData()
	}
	a := args[0]
	if x := filters.Unwrap(a); x != nil {
		if d, ok := x.(*filters.Data); ok {
			return d.Clone()
		}
	}
	switch v := a.Export().(type) {
	case int64:
		return filters.NewDataBytes(make([]byte, max(v, 0)))
	case float64:
		return filters.NewDataBytes(make([]byte, max(int(v), 0)))
	case string:
		enc := "utf8"
		if len(args) > 1 && !goja.IsUndefined(args[1]) {
			enc = args[1].String()
		}
		b, err := decodeString(v, enc)
		if err != nil {
			r.throw("%s", err.Error())
		}
		return filters.NewDataBytes(b)
	}
	r.throwType("argument #1 expects a number or a string or a Data object")
	return nil
}

type encError string

func (e encError) Error() string { return string(e) }

// decodeString converts s in the given encoding to bytes.
func decodeString(s, enc string) ([]byte, error) {
	switch enc {
	case "utf8", "utf-8", "":
		return []byte(s), nil
	case "hex", "hdex":
		if len(s)%2 != 0 {
			return nil, encError("incomplete hex string")
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, encError("invalid hex string")
		}
		return b, nil
	case "base64":
		if len(s)%4 != 0 {
			return nil, encError("incomplete Base64 string")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, encError("invalid Base64 encoding")
		}
		return b, nil
	case "base64url":
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return nil, encError("invalid Base64Url encoding")
		}
		return b, nil
	}
	return nil, encError("unknown encoding")
}

func (r *Runtime) makeClass(name string, parent *goja.Object, ctor func(call goja.ConstructorCall) *goja.Object) (*goja.Object, *goja.Object) {
	c, proto := r.newClass(parent, ctor)
	r.rt.Set(name, c)
	return c, proto
}

// makeClassOn defines a class as a property of obj (e.g. http.File).
func (r *Runtime) makeClassOn(obj *goja.Object, name string, ctor func(call goja.ConstructorCall) *goja.Object) (*goja.Object, *goja.Object) {
	c, proto := r.newClass(nil, ctor)
	obj.Set(name, c)
	return c, proto
}

func (r *Runtime) newClass(parent *goja.Object, ctor func(call goja.ConstructorCall) *goja.Object) (*goja.Object, *goja.Object) {
	proto := r.rt.NewObject()
	if parent != nil {
		proto.SetPrototype(parent)
	}
	c := r.rt.ToValue(ctor).(*goja.Object)
	c.DefineDataProperty("prototype", proto, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	proto.DefineDataProperty("constructor", c, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	return c, proto
}

func (r *Runtime) installEvents() {
	r.protoEvent = r.rt.NewObject()

	var ctor *goja.Object
	ctor, r.protoData = r.makeClass("Data", r.protoEvent, func(call goja.ConstructorCall) *goja.Object {
		return r.dataValue(r.newDataFrom(call.Arguments)).(*goja.Object)
	})
	r.ctorData = ctor
	r.protoData.Set("push", func(call goja.FunctionCall) goja.Value {
		d := thisData(r, call)
		a := call.Argument(0)
		if x := filters.Unwrap(a); x != nil {
			if o, ok := x.(*filters.Data); ok {
				d.Push(o)
				return call.This
			}
		}
		if s, ok := a.Export().(string); ok {
			d.PushString(s)
			return call.This
		}
		r.throwType("argument #1 expects a Data or a string")
		return nil
	})
	r.protoData.Set("shift", func(call goja.FunctionCall) goja.Value {
		d := thisData(r, call)
		return r.dataValue(d.Shift(int(call.Argument(0).ToInteger())))
	})
	r.protoData.Set("toString", func(call goja.FunctionCall) goja.Value {
		d := thisData(r, call)
		enc := "utf8"
		if a := call.Argument(0); !goja.IsUndefined(a) {
			enc = a.String()
		}
		switch enc {
		case "hex", "hdex":
			return r.rt.ToValue(hex.EncodeToString(d.Bytes()))
		case "base64":
			return r.rt.ToValue(base64.StdEncoding.EncodeToString(d.Bytes()))
		case "base64url":
			return r.rt.ToValue(base64.RawURLEncoding.EncodeToString(d.Bytes()))
		}
		return r.rt.ToValue(d.String())
	})

	_, r.protoMessageStart = r.makeClass("MessageStart", r.protoEvent, func(call goja.ConstructorCall) *goja.Object {
		var head any
		if a := call.Argument(0); !goja.IsUndefined(a) && !goja.IsNull(a) {
			if _, ok := a.(*goja.Object); !ok {
				r.throwType("argument #1 expects an object")
			}
			head = a
		}
		return r.EventValue(&filters.MessageStart{Head: head}).(*goja.Object)
	})
	_, r.protoMessageEnd = r.makeClass("MessageEnd", r.protoEvent, func(call goja.ConstructorCall) *goja.Object {
		a := call.Argument(0)
		if goja.IsUndefined(a) || goja.IsNull(a) {
			return r.EventValue(filters.TheMessageEnd).(*goja.Object)
		}
		if _, ok := a.(*goja.Object); !ok {
			r.throwType("argument #1 expects an object")
		}
		return r.EventValue(&filters.MessageEnd{Tail: a}).(*goja.Object)
	})
	_, r.protoSessionEnd = r.makeClass("SessionEnd", r.protoEvent, func(call goja.ConstructorCall) *goja.Object {
		e := &filters.SessionEnd{}
		if a := call.Argument(0); !goja.IsUndefined(a) && !goja.IsNull(a) {
			code, ok := filters.ParseErrorCode(a.String())
			if !ok {
				e.Message = a.String()
			}
			e.Err = code
		}
		return r.EventValue(e).(*goja.Object)
	})
	r.ctorMessage, r.protoMessage = r.makeClass("Message", nil, func(call goja.ConstructorCall) *goja.Object {
		return r.MessageValue(r.newMessage(call.Arguments)).(*goja.Object)
	})
}

func (r *Runtime) newMessage(args []goja.Value) *filters.Message {
	m := &filters.Message{}
	if len(args) == 0 || goja.IsNull(args[0]) || goja.IsUndefined(args[0]) {
		if len(args) > 1 {
			m.Body = r.bodyValue(args[1])
		}
		return m
	}
	a := args[0]
	if x := filters.Unwrap(a); x != nil {
		if d, ok := x.(*filters.Data); ok {
			m.Body = d
			return m
		}
	}
	if s, ok := a.Export().(string); ok {
		m.Body = filters.NewDataString(s)
		return m
	}
	if _, ok := a.(*goja.Object); !ok {
		r.throwType("argument #1 expects an object")
	}
	m.Head = a
	if len(args) > 1 {
		m.Body = r.bodyValue(args[1])
	}
	return m
}

func (r *Runtime) bodyValue(v goja.Value) *filters.Data {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	if x := filters.Unwrap(v); x != nil {
		if d, ok := x.(*filters.Data); ok {
			return d
		}
	}
	return filters.NewDataString(v.String())
}
