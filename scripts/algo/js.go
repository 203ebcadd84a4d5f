package algo

import (
	"strconv"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/scripts/jsfunc"
)

// New returns the script's `algo` object for rt:
//
//	new algo.URLRouter([rules])               .add(pattern, value), .find(...parts)
//	new algo.RoundRobinLoadBalancer([weights]) .set(target, weight), .select([tag])
//	new algo.LeastWorkLoadBalancer([weights])  .set(target, weight), .select([tag]), .deselect(target)
//	new algo.HashingLoadBalancer([targets])    .add(target), .select(tag)
//	new algo.Cache(allocate[, free])           .get(key), .clear()
//	new algo.ResourcePool(allocator)           .allocate([pool[, tenant]]), .free(resource), .freeTenant(tenant)
//	new algo.Percentile(scores)                .score(x), .calculate(p), .reset()
//	algo.hash(value)
//
// rules and weights are objects read in property order ({pattern: value},
// {target: weight}); targets is an array. Targets, tags and URL parts are
// used in their string form (String(x)). Errors are thrown as JavaScript
// exceptions: an invalid pattern as a GoError wrapping
// [ErrInvalidURLPattern] ("invalid URL pattern"), a missing
// HashingLoadBalancer.select tag as a TypeError ("requires 1 or more
// arguments"), unordered Percentile scores as a GoError wrapping
// [ErrScoresNotAscending] ("scores are not in ascending order"), a
// callback argument that is not a function as a TypeError.
//
// Cache and ResourcePool compare keys, pools, tenants and resources like a
// JavaScript Map (see [Key]). Their callbacks (allocate, free, allocator)
// are called with this = undefined; an exception they throw propagates to
// the script that called get, clear or allocate.
//
// Methods are own, non-enumerable properties of each instance (native
// functions closing over the Go value), so calls involve no reflection.
// RoundRobinLoadBalancer deliberately has no deselect: scripts call
// `balancer.deselect?.(target)`, which must do nothing for it.
//
// The returned object and everything it creates belong to rt and must only
// be used on rt's goroutine.
func New(rt *goja.Runtime) *goja.Object {
	o := rt.NewObject()
	o.Set("URLRouter", constructor(rt, "URLRouter", 1, func(call goja.ConstructorCall) {
		initURLRouter(rt, call)
	}))
	o.Set("RoundRobinLoadBalancer", constructor(rt, "RoundRobinLoadBalancer", 1, func(call goja.ConstructorCall) {
		initRoundRobin(rt, call)
	}))
	o.Set("LeastWorkLoadBalancer", constructor(rt, "LeastWorkLoadBalancer", 1, func(call goja.ConstructorCall) {
		initLeastWork(rt, call)
	}))
	o.Set("HashingLoadBalancer", constructor(rt, "HashingLoadBalancer", 1, func(call goja.ConstructorCall) {
		initHashing(rt, call)
	}))
	o.Set("Cache", constructor(rt, "Cache", 1, func(call goja.ConstructorCall) {
		initCache(rt, call)
	}))
	o.Set("ResourcePool", constructor(rt, "ResourcePool", 1, func(call goja.ConstructorCall) {
		initResourcePool(rt, call)
	}))
	o.Set("Percentile", constructor(rt, "Percentile", 1, func(call goja.ConstructorCall) {
		initPercentile(rt, call)
	}))
	hash := rt.ToValue(func(call goja.FunctionCall) goja.Value {
		return rt.ToValue(int64(Hash(call.Argument(0).String())))
	}).(*goja.Object)
	jsfunc.SetMeta(rt, hash, "hash", 1)
	o.Set("hash", hash)
	return o
}

// constructor wraps init as a native constructor; init fills in call.This
// (whose prototype is the constructor's prototype, so instanceof works).
// Called without `new`, the constructor still builds a fresh instance (goja
// would otherwise pass the receiver, e.g. the algo object, as call.This).
func constructor(rt *goja.Runtime, name string, length int, init func(goja.ConstructorCall)) *goja.Object {
	var ctor *goja.Object
	ctor = rt.ToValue(func(call goja.ConstructorCall) *goja.Object {
		if call.NewTarget == nil {
			proto, _ := ctor.Get("prototype").(*goja.Object)
			call.This = rt.CreateObject(proto)
			init(call)
			return call.This
		}
		init(call)
		return nil
	}).(*goja.Object)
	jsfunc.SetMeta(rt, ctor, name, length)
	return ctor
}

func isNullish(v goja.Value) bool {
	return v == nil || goja.IsUndefined(v) || goja.IsNull(v)
}

// forEachProperty calls fn for each own enumerable string-keyed property of
// v, in property order; null and undefined have none.
func forEachProperty(rt *goja.Runtime, v goja.Value, fn func(key string, val goja.Value)) {
	if isNullish(v) {
		return
	}
	obj := v.ToObject(rt)
	for _, k := range obj.Keys() {
		fn(k, obj.Get(k))
	}
}

func initURLRouter(rt *goja.Runtime, call goja.ConstructorCall) {
	r := new(URLRouter[goja.Value])
	add := func(pattern string, value goja.Value) {
		if value == nil {
			value = goja.Undefined()
		}
		if err := r.Add(pattern, value); err != nil {
			panic(rt.NewGoError(err))
		}
	}
	forEachProperty(rt, call.Argument(0), add)
	jsfunc.Method(rt, call.This, "add", 2, func(c goja.FunctionCall) goja.Value {
		add(c.Argument(0).String(), c.Argument(1))
		return goja.Undefined()
	})
	jsfunc.Method(rt, call.This, "find", 0, func(c goja.FunctionCall) goja.Value {
		var buf [4]string
		parts := buf[:0]
		for _, a := range c.Arguments {
			if !isNullish(a) {
				parts = append(parts, a.String())
			}
		}
		if v, ok := r.Find(parts...); ok {
			return v
		}
		return goja.Undefined()
	})
}

// weightedTargets keeps the script values of a balancer's targets, in the
// same order as weighted.targets, so select returns them without
// converting.
type weightedTargets struct {
	w    *weighted
	vals []goja.Value
}

func (t *weightedTargets) set(rt *goja.Runtime, name string, weight float64) {
	t.w.set(name, weight)
	for len(t.vals) < len(t.w.targets) {
		t.vals = append(t.vals, rt.ToValue(t.w.targets[len(t.vals)].name))
	}
}

func (t *weightedTargets) value(i int) goja.Value {
	if i < 0 {
		return goja.Undefined()
	}
	return t.vals[i]
}

// initWeighted reads the weights argument and defines set(target, weight).
func initWeighted(rt *goja.Runtime, call goja.ConstructorCall, w *weighted) *weightedTargets {
	t := &weightedTargets{w: w}
	forEachProperty(rt, call.Argument(0), func(k string, v goja.Value) {
		t.set(rt, k, v.ToFloat())
	})
	jsfunc.Method(rt, call.This, "set", 2, func(c goja.FunctionCall) goja.Value {
		t.set(rt, c.Argument(0).String(), c.Argument(1).ToFloat())
		return goja.Undefined()
	})
	return t
}

// tagArg returns select's tag argument and whether one was given (not
// undefined).
func tagArg(c goja.FunctionCall) (string, bool) {
	if len(c.Arguments) == 0 || goja.IsUndefined(c.Arguments[0]) {
		return "", false
	}
	return c.Arguments[0].String(), true
}

func initRoundRobin(rt *goja.Runtime, call goja.ConstructorCall) {
	b := new(RoundRobin)
	t := initWeighted(rt, call, &b.w)
	jsfunc.Method(rt, call.This, "select", 0, func(c goja.FunctionCall) goja.Value {
		if tag, ok := tagArg(c); ok {
			return t.value(b.selectTagIndex(tag))
		}
		return t.value(b.selectIndex())
	})
	// No deselect: see New.
}

func initLeastWork(rt *goja.Runtime, call goja.ConstructorCall) {
	b := new(LeastWork)
	t := initWeighted(rt, call, &b.w)
	jsfunc.Method(rt, call.This, "select", 0, func(c goja.FunctionCall) goja.Value {
		if tag, ok := tagArg(c); ok {
			return t.value(b.selectTagIndex(tag))
		}
		return t.value(b.selectIndex())
	})
	jsfunc.Method(rt, call.This, "deselect", 1, func(c goja.FunctionCall) goja.Value {
		b.Deselect(c.Argument(0).String())
		return goja.Undefined()
	})
}

func initHashing(rt *goja.Runtime, call goja.ConstructorCall) {
	h := new(Hashing)
	var vals []goja.Value
	add := func(v goja.Value) {
		s := v.String()
		h.Add(s)
		vals = append(vals, rt.ToValue(s))
	}
	if arg := call.Argument(0); !isNullish(arg) {
		obj := arg.ToObject(rt)
		n := obj.Get("length").ToInteger()
		for i := int64(0); i < n; i++ {
			v := obj.Get(strconv.FormatInt(i, 10))
			if v == nil {
				v = goja.Undefined()
			}
			add(v)
		}
	}
	jsfunc.Method(rt, call.This, "add", 1, func(c goja.FunctionCall) goja.Value {
		add(c.Argument(0))
		return goja.Undefined()
	})
	jsfunc.Method(rt, call.This, "select", 1, func(c goja.FunctionCall) goja.Value {
		if len(c.Arguments) == 0 {
			panic(rt.NewTypeError("%s", "requires 1 or more arguments"))
		}
		i := h.selectIndex(c.Arguments[0].String())
		if i < 0 {
			return goja.Undefined()
		}
		return vals[i]
	})
}
