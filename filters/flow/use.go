package flow

import (
	"github.com/pipy-go/pipy/filters"

	"fmt"

	"github.com/dop251/goja"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "use", Args: "module, pipeline[, argv...]", Description: "Sends events to a pipeline in a different module",
		Params: []filters.Param{
			{Name: "module", Type: "string", Help: "Filename of the module"},
			{Name: "pipeline", Type: "string", Help: "Name of the pipeline"},
			{Name: "argv", Type: "array|function", Help: "Arguments that are visible from the new session with __argv"},
		},
		Make: makeUse,
		Sub:  filters.ModuleAndPipeline,
	})
}

type useTemplate struct {
	module   *filters.Module
	pipeline string
	argv     filters.Lazy // an array or a function
}

func makeUse(a *filters.Args) (filters.Template, error) {
	name, err := requireString(a, 0)
	if err != nil {
		return nil, err
	}
	pl, err := requireString(a, 1)
	if err != nil {
		return nil, err
	}
	if a.Load == nil {
		return nil, a.Errorf("modules cannot be loaded here")
	}
	m, err := a.Load(name)
	if err != nil {
		return nil, a.Errorf("%v", err)
	}
	t := &useTemplate{module: m, pipeline: pl}
	switch extra := a.Values[min(2, len(a.Values)):]; {
	case len(extra) == 1 && (a.IsFunc(2) || isArray(extra[0])):
		t.argv = filters.NewLazy(extra[0])
	case len(extra) >= 1:
		t.argv = filters.NewLazy(a.RT.NewArray(toAny(extra)...))
	}
	return t, nil
}

func isArray(v goja.Value) bool {
	o, ok := v.(*goja.Object)
	return ok && o.ClassName() == "Array"
}

func toAny(vs []goja.Value) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

func (t *useTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &use{t: t, s: s, out: out}
}

// use runs the session through a named pipeline of another module, sharing
// the context; the array given as argv becomes that module's __argv.
type use struct {
	t     *useTemplate
	s     *filters.Session
	out   filters.Sink
	sub   *filters.Session
	ended bool
}

func (f *use) Input(evt filters.Event) {
	if f.ended {
		return
	}
	if f.sub == nil {
		p := f.t.module.Named[f.t.pipeline]
		if p == nil {
			f.s.Abort(fmt.Errorf("[use] unknown pipeline: %s in %s", f.t.pipeline, f.t.module.Name))
			return
		}
		ctx := f.s.Context
		if f.t.argv.IsSet() {
			v, err := f.t.argv.Eval(f.s)
			if err != nil {
				f.s.Abort(err)
				return
			}
			if !isArray(v) {
				v = f.s.Script().Runtime().NewArray(v)
			}
			if ctx.Argv == nil {
				ctx.Argv = make([]goja.Value, len(ctx.Vars))
			}
			ctx.Argv[f.t.module.Index] = v
		}
		f.sub = p.NewSession(ctx, f.out)
		sub := f.sub
		f.s.OnEnd(func() { sub.End(filters.NoError) })
	}
	if evt.Kind() == filters.KindSessionEnd {
		f.ended = true
	}
	f.sub.Input(evt)
}
