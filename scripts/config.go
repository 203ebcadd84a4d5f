package scripts

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
)

// config is the Configuration object returned by pipy(): it records the
// pipelines a module declares.
type config struct {
	r     *Runtime
	m     *filters.Module
	obj   *goja.Object
	cur   *filters.Pipeline
	tasks int
}

func (r *Runtime) installPipy() {
	pipy := r.rt.ToValue(func(call goja.FunctionCall) goja.Value {
		m := r.loading
		if m == nil {
			r.throw("pipy() can only be called while a module is loading")
		}
		c := r.configs[m]
		if c.obj != nil {
			r.throw("pipy() called twice in module %s", m.Name)
		}
		vars := call.Argument(0)
		if fn, ok := goja.AssertFunction(vars); ok {
			v, err := fn(goja.Undefined())
			if err != nil {
				panic(err)
			}
			if _, ok := v.(*goja.Object); !ok {
				r.throw("function did not return an object")
			}
			vars = v
		}
		if o, ok := vars.(*goja.Object); ok {
			for _, k := range o.Keys() {
				m.VarIndex[k] = len(m.VarNames)
				m.VarNames = append(m.VarNames, k)
				m.VarInit = append(m.VarInit, o.Get(k))
			}
		} else if !goja.IsUndefined(vars) && !goja.IsNull(vars) {
			r.throwType("argument #1 expects an object or a function")
		}
		c.obj = r.newConfigObject(c)
		return c.obj
	}).(*goja.Object)
	pipy.Set("restart", func(goja.FunctionCall) goja.Value {
		if r.env != nil && r.env.Restart != nil {
			r.env.Restart()
		}
		return goja.Undefined()
	})
	r.rt.Set("pipy", pipy)
}

func (r *Runtime) newConfigObject(c *config) *goja.Object {
	o := r.rt.NewDynamicObject(&configHolder{c: c})
	proto := r.rt.NewObject()
	o.SetPrototype(proto)
	self := func(goja.FunctionCall) goja.Value { return o }
	_ = self
	proto.Set("listen", func(call goja.FunctionCall) goja.Value {
		c.listen(call)
		return o
	})
	proto.Set("pipeline", func(call goja.FunctionCall) goja.Value {
		name, ok := call.Argument(0).Export().(string)
		if !ok {
			r.throwType("pipeline: argument #1 expects a string")
		}
		if _, dup := c.m.Named[name]; dup {
			r.throw("pipeline: duplicate pipeline name: %s", name)
		}
		p := &filters.Pipeline{Name: name, Kind: filters.NamedPipeline, Module: c.m}
		c.m.Named[name] = p
		c.add(p)
		return o
	})
	proto.Set("task", func(call goja.FunctionCall) goja.Value {
		iv := call.Argument(0)
		var secs float64
		text := iv.String()
		if s, ok := iv.Export().(string); ok {
			d, err := filters.ParseDuration(s)
			if err != nil {
				r.throw("task: %s", err.Error())
			}
			secs = d.Seconds()
		} else {
			secs = iv.ToFloat()
			text = strconv.FormatFloat(secs, 'f', -1, 64) + "s"
		}
		if !(secs >= 0.01 && secs <= 24*3600) {
			r.throw("task: time interval out of range")
		}
		c.tasks++
		p := &filters.Pipeline{
			Name:   fmt.Sprintf("Task #%d", c.tasks),
			Kind:   filters.TaskPipeline,
			Module: c.m,
			Task:   &filters.TaskSpec{Interval: secs, Text: text},
		}
		c.add(p)
		return o
	})
	for _, spec := range filters.All() {
		spec := spec
		proto.Set(spec.Name, func(call goja.FunctionCall) goja.Value {
			if c.cur == nil {
				r.throw("no pipeline found")
			}
			args := &filters.Args{Filter: spec.Name, Values: call.Arguments, Module: c.m, Script: r, RT: r.rt, Load: r.useModule}
			tpl, err := spec.Make(args)
			if err != nil {
				r.throw("%s", err.Error())
			}
			decl := &filters.FilterDecl{Name: spec.Name, Template: tpl, Location: r.location()}
			decl.Module, decl.Targets = args.Targets(spec.Sub)
			c.cur.Filters = append(c.cur.Filters, decl)
			return o
		})
	}
	return o
}

// configHolder lets loadModule recognise the Configuration object.
type configHolder struct{ c *config }

func (h *configHolder) Get(key string) goja.Value           { return nil }
func (h *configHolder) Set(key string, val goja.Value) bool { return false }
func (h *configHolder) Has(key string) bool                 { return false }
func (h *configHolder) Delete(key string) bool              { return false }
func (h *configHolder) Keys() []string                      { return nil }

func (c *config) add(p *filters.Pipeline) {
	c.m.Pipelines = append(c.m.Pipelines, p)
	c.cur = p
}

func (c *config) listen(call goja.FunctionCall) {
	r := c.r
	spec := &filters.ListenSpec{Host: "0.0.0.0", Limits: filters.DefaultLimits()}
	a := call.Argument(0)
	switch v := a.Export().(type) {
	case int64:
		spec.Port = int(v)
	case float64:
		spec.Port = int(v)
	case string:
		host, port := "", v
		if strings.Contains(v, ":") {
			h, p, err := net.SplitHostPort(v)
			if err != nil {
				r.throw("listen: invalid address: %s", v)
			}
			host, port = h, p
		}
		n, err := strconv.Atoi(strings.TrimSpace(port))
		if err != nil {
			r.throw("listen: invalid port: %s", v)
		}
		spec.Port = n
		if host != "" {
			spec.Host = host
		}
	default:
		r.throwType("listen: argument #1 expects a number or a string")
	}
	if spec.Port < 0 || spec.Port > 65535 {
		r.throw("listen: port out of range: %d", spec.Port)
	}
	if opts, ok := call.Argument(1).(*goja.Object); ok {
		if v := opts.Get("reuse"); v != nil && !goja.IsUndefined(v) {
			b := v.ToBoolean()
			spec.Reuse = &b
		}
		if v := opts.Get("tls"); v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
			t, ok := v.(*goja.Object)
			if !ok {
				r.throw("option tls must be an object")
			}
			spec.TLS = true
			if s := t.Get("cert"); s != nil && !goja.IsUndefined(s) {
				spec.TLSCert = s.String()
			}
			if s := t.Get("key"); s != nil && !goja.IsUndefined(s) {
				spec.TLSKey = s.String()
			}
			if _, err := filters.KeyPair(spec.TLSCert, spec.TLSKey, &r.prog.Files); err != nil {
				r.throw("listen %s: %v", spec.Addr(), err)
			}
		}
		c.listenLimits(opts, &spec.Limits)
	} else if !goja.IsUndefined(call.Argument(1)) {
		r.throwType("listen: argument #2 expects an object")
	}
	if spec.Port != 0 {
		if prev, dup := r.ports[spec.Port]; dup {
			r.throw("port %d is declared more than once (first in %s)", spec.Port, prev)
		}
		r.ports[spec.Port] = c.m.Name
	}
	p := &filters.Pipeline{Name: spec.Addr(), Kind: filters.ListenPipeline, Module: c.m, Listen: spec}
	c.add(p)
}

// listenLimits reads the limit options of listen() into lim, throwing a
// load error that names the option for a bad value.
func (c *config) listenLimits(opts *goja.Object, lim *filters.Limits) {
	r := c.r
	get := func(name string) goja.Value {
		v := opts.Get(name)
		if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
			return nil
		}
		return v
	}
	// number reads a finite number, or a string through parse.
	number := func(name, what string, v goja.Value, parse func(string) (float64, error)) float64 {
		switch x := v.Export().(type) {
		case int64:
			return float64(x)
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				break
			}
			return x
		case string:
			if parse != nil {
				f, err := parse(x)
				if err != nil {
					r.throw("listen: option %s: %v", name, err)
				}
				return f
			}
		}
		r.throwType("listen: option %s expects %s, got %s", name, what, v.String())
		return 0
	}
	for i := range filters.ListenOptions {
		o := &filters.ListenOptions[i]
		v := get(o.Name)
		if v == nil || o.Set == nil {
			continue
		}
		var f float64
		switch o.Kind {
		case filters.OptionSize:
			f = number(o.Name, "a size (number of bytes or a string such as '16k')", v, func(s string) (float64, error) {
				n, err := filters.ParseSize(s)
				return float64(n), err
			})
		case filters.OptionCount:
			f = number(o.Name, "an integer", v, nil)
		case filters.OptionDuration:
			f = number(o.Name, "a duration (seconds or a string such as '10s')", v, func(s string) (float64, error) {
				d, err := filters.ParseDuration(s)
				return d.Seconds(), err
			}) * float64(time.Second)
		}
		if o.Kind != filters.OptionDuration && f != math.Trunc(f) || f < float64(o.Min) || f > float64(o.Max) {
			r.throw("listen: option %s out of range: %s (%s)", o.Name, v.String(), o.Range())
		}
		o.Set(lim, int64(f))
	}
}

// location returns "file:line:col" of the script code calling into Go.
func (r *Runtime) location() string {
	for _, f := range r.rt.CaptureCallStack(4, nil) {
		p := f.Position()
		if p.Filename == "" || p.Line == 0 {
			continue
		}
		col := p.Column
		if p.Line == 1 {
			col -= len(prefix)
		}
		return fmt.Sprintf("%s:%d:%d", p.Filename, p.Line, col)
	}
	return ""
}

// useModule loads a module named by use(), resolving it against the root
// directory, while the current module is loading.
func (r *Runtime) useModule(name string) (*filters.Module, error) {
	saved := r.loading
	m, err := r.loadModule(name)
	r.loading = saved
	if saved != nil {
		r.rt.Set("__ctx", r.rt.NewDynamicObject(&ctxObject{r: r, m: saved}))
	}
	if err != nil {
		return nil, fmt.Errorf("cannot load module %s: %w", normalizeModule(name), err)
	}
	return m, nil
}
