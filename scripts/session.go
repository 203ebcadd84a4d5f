package scripts

import (
	"strconv"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/scripts/apidoc"
)

// sessionObj is a session made by a script with new Session(module,
// pipeline). It shares the caller's context; its output is discarded.
type sessionObj struct {
	r *Runtime
	s *filters.Session
}

func (o *sessionObj) Get(key string) goja.Value {
	in := o.s.Context.Inbound
	switch key {
	case "done":
		return o.r.rt.ToValue(o.s.Done())
	case "remoteAddress", "localAddress":
		if in == nil {
			return o.r.rt.ToValue("")
		}
		if key == "remoteAddress" {
			return o.r.rt.ToValue(in.RemoteAddr)
		}
		return o.r.rt.ToValue(in.LocalAddr)
	case "remotePort", "localPort":
		if in == nil {
			return o.r.rt.ToValue(0)
		}
		if key == "remotePort" {
			return o.r.rt.ToValue(in.RemotePort)
		}
		return o.r.rt.ToValue(in.LocalPort)
	}
	return nil
}
func (o *sessionObj) Set(key string, val goja.Value) bool { return false }
func (o *sessionObj) Has(key string) bool {
	switch key {
	case "done", "remoteAddress", "remotePort", "localAddress", "localPort":
		return true
	}
	return false
}
func (o *sessionObj) Delete(key string) bool { return false }
func (o *sessionObj) Keys() []string {
	return []string{"done", "remoteAddress", "remotePort", "localAddress", "localPort"}
}

func (r *Runtime) installSession() {
	_, proto := r.makeClass("Session", nil, func(call goja.ConstructorCall) *goja.Object {
		modName := call.Argument(0).String()
		plName := call.Argument(1).String()
		m := r.prog.ByName[normalizeModule(modName)]
		if m == nil {
			r.throw("module not found: %s", modName)
		}
		p := m.Named[plName]
		if p == nil {
			r.throw("pipeline not found: %s", plName)
		}
		ctx := r.current
		if ctx == nil {
			ctx = r.prog.NewContext(nil)
		}
		s := p.NewSession(ctx, filters.Discard)
		if r.made == nil {
			r.made = map[*filters.Session]struct{}{}
		}
		r.made[s] = struct{}{}
		s.OnEnd(func() { delete(r.made, s) })
		return r.wrap(&sessionObj{r: r, s: s}, r.protoSession)
	})
	r.protoSession = proto
	proto.Set("input", func(call goja.FunctionCall) goja.Value {
		o, ok := exportOf(call.This).(*sessionObj)
		if !ok {
			r.throwType("not a Session object")
		}
		for _, a := range call.Arguments {
			r.inputValue(o.s, a)
		}
		return goja.Undefined()
	})
}

// ReleaseShared ends the sessions that scripts made with new Session and
// that are still running. A worker calls it, inside the loop, once the
// program is retired and no connection or task session of it is left:
// such sessions (a background job kept in a global, say, or an exec()'d
// helper process) serve nobody any more, and without an end they would
// keep the program, and whatever they hold, alive for good.
func (r *Runtime) ReleaseShared() {
	for s := range r.made {
		s.End(filters.NoError) // its end hook deletes it from r.made
	}
}

// inputValue feeds a script value (event, Message or array of them) into s.
func (r *Runtime) inputValue(s *filters.Session, v goja.Value) {
	if o, ok := v.(*goja.Object); ok && o.ClassName() == "Array" {
		n := int(o.Get("length").ToInteger())
		for i := 0; i < n; i++ {
			r.inputValue(s, o.Get(itoa(i)))
		}
		return
	}
	switch x := filters.Unwrap(v).(type) {
	case *filters.Data:
		s.Input(x.Clone())
	case *filters.Message:
		x.Emit(s)
	case filters.Event:
		s.Input(x)
	default:
		r.throwType("not an Event object")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func (r *Runtime) installRepeat() {
	r.rt.Set("repeat", func(call goja.FunctionCall) goja.Value {
		count := -1
		fnArg := call.Argument(0)
		if len(call.Arguments) > 1 {
			count = int(call.Argument(0).ToInteger())
			fnArg = call.Argument(1)
		}
		fn, ok := goja.AssertFunction(fnArg)
		if !ok {
			r.throwType("repeat: expects a function")
		}
		var last goja.Value = goja.Undefined()
		for i := 0; count < 0 || i < count; i++ {
			v, err := fn(goja.Undefined(), r.rt.ToValue(i))
			if err != nil {
				panic(err)
			}
			last = v
			if !v.ToBoolean() {
				break
			}
		}
		return last
	})
}

// sessionDocs documents Session and repeat.
var sessionDocs = []apidoc.Group{
	{
		Name: "Session",
		Doc:  "A session of a named pipeline started by a script, sharing the caller's context. Its output is discarded; it lives until it outputs a SessionEnd, or until a reload has replaced the program that started it and that program's last connection and task session have ended: then it is given a SessionEnd.",
		Entries: []apidoc.Entry{
			{Signature: "new Session(moduleName, pipelineName)", Doc: "starts a session; throws `module not found: <name>` or `pipeline not found: <name>`."},
			{Signature: "session.input(...events)", Doc: "feeds events, Messages (expanded) or arrays of them; anything else throws `not an Event object`."},
			{Signature: "session.done", Doc: "true once the session has output a SessionEnd."},
			{Signature: "session.remoteAddress, remotePort, localAddress, localPort", Doc: "the context's inbound connection (`''`/`0` without one)."},
		},
	},
	{
		Name: "repeat",
		Doc:  "A loop for expression-only scripts.",
		Entries: []apidoc.Entry{
			{Signature: "repeat([count, ]fn)", Doc: "calls fn(0), fn(1), ... until fn returns a falsy value (or count calls); returns the last result."},
		},
	},
}
