package filters

import (
	"github.com/dop251/goja"
)

// Wrapped is implemented by the script objects that stand for an event or a
// Message; Unwrap returns the Event or *Message.
type Wrapped interface {
	Unwrap() any
}

// Unwrap returns the event or *Message behind a script value, or nil.
func Unwrap(v goja.Value) any {
	o, ok := v.(*goja.Object)
	if !ok {
		return nil
	}
	if w, ok := o.Export().(Wrapped); ok {
		return w.Unwrap()
	}
	return nil
}

// EmitValue outputs a script-produced replacement value as events: an event,
// a Message (expanded), an array of those (null/undefined elements skipped),
// or null/undefined (nothing). Anything else logs "[<filter>] not an Event
// object" and outputs nothing more. Data from scripts is cloned, so a constant
// can be output any number of times.
func EmitValue(s *Session, filter string, v goja.Value, out Sink) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return
	}
	if x := Unwrap(v); x != nil {
		emitOne(x, out)
		return
	}
	if o, ok := v.(*goja.Object); ok && o.ClassName() == "Array" {
		n := int(o.Get("length").ToInteger())
		for i := 0; i < n; i++ {
			e := o.Get(itoa(i))
			if e == nil || goja.IsUndefined(e) || goja.IsNull(e) {
				continue
			}
			x := Unwrap(e)
			if x == nil {
				s.Env().Log.Error("[" + filter + "] not an Event object")
				return
			}
			emitOne(x, out)
		}
		return
	}
	s.Env().Log.Error("[" + filter + "] not an Event object")
}

func emitOne(x any, out Sink) {
	switch e := x.(type) {
	case *Data:
		out.Input(e.Clone())
	case *Message:
		e.Emit(out)
	case Event:
		out.Input(e)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}
