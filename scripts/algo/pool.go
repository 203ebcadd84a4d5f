package algo

import (
	"slices"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/scripts/jsfunc"
)

// ResourcePool hands out reusable resources of type R, grouped in pools
// and optionally held by tenants (pools and tenants are identified by K):
// the Go side of algo.ResourcePool. Resources are told apart by the key
// function given to [NewResourcePool], so an allocator should return
// distinct resources. It is not safe for concurrent use.
//
// A freed resource goes to the back of its pool's free list and is reused
// first-in first-out. A tenant holds at most one resource per pool.
type ResourcePool[K comparable, R any] struct {
	key       func(R) K
	free      map[K][]R                     // pool -> freed resources, oldest first
	allocated map[K]*poolAllocation[K, R]   // resource key -> allocation
	tenants   map[K][]*poolAllocation[K, R] // tenant -> its allocations, oldest first
}

type poolAllocation[K comparable, R any] struct {
	res       R
	pool      K
	tenant    K
	hasTenant bool
}

// NewResourcePool returns an empty pool; key identifies resources.
func NewResourcePool[K comparable, R any](key func(R) K) *ResourcePool[K, R] {
	return &ResourcePool[K, R]{
		key:       key,
		free:      make(map[K][]R),
		allocated: make(map[K]*poolAllocation[K, R]),
		tenants:   make(map[K][]*poolAllocation[K, R]),
	}
}

// Allocate returns a resource of pool held by no tenant: the oldest freed
// one, or else a new one from alloc (if alloc panics, nothing changes).
func (p *ResourcePool[K, R]) Allocate(pool K, alloc func() R) R {
	return p.allocate(pool, *new(K), false, alloc)
}

// AllocateFor returns the resource of pool that tenant holds; if it holds
// none, the oldest freed resource of pool or else a new one from alloc,
// which tenant holds from then on.
func (p *ResourcePool[K, R]) AllocateFor(pool, tenant K, alloc func() R) R {
	for _, a := range p.tenants[tenant] {
		if a.pool == pool {
			return a.res
		}
	}
	return p.allocate(pool, tenant, true, alloc)
}

func (p *ResourcePool[K, R]) allocate(pool, tenant K, hasTenant bool, alloc func() R) R {
	var r R
	if q := p.free[pool]; len(q) > 0 {
		r = q[0]
		var zero R
		q[0] = zero
		if len(q) == 1 {
			delete(p.free, pool)
		} else {
			p.free[pool] = q[1:]
		}
	} else {
		r = alloc()
	}
	a := &poolAllocation[K, R]{res: r, pool: pool, tenant: tenant, hasTenant: hasTenant}
	k := p.key(r)
	if old := p.allocated[k]; old != nil {
		p.detach(old) // the allocator returned a resource still in use
	}
	if hasTenant {
		// A reentrant allocator may have given tenant a resource of this
		// pool meanwhile: that one stays allocated but is no longer held.
		for _, b := range p.tenants[tenant] {
			if b.pool == pool {
				p.detach(b)
				break
			}
		}
		p.tenants[tenant] = append(p.tenants[tenant], a)
	}
	p.allocated[k] = a
	return r
}

// detach removes a from its tenant's holdings.
func (p *ResourcePool[K, R]) detach(a *poolAllocation[K, R]) {
	if !a.hasTenant {
		return
	}
	held := slices.DeleteFunc(p.tenants[a.tenant], func(b *poolAllocation[K, R]) bool { return b == a })
	if len(held) == 0 {
		delete(p.tenants, a.tenant)
	} else {
		p.tenants[a.tenant] = held
	}
	a.hasTenant = false
}

// Free returns an allocated resource to the back of its pool's free list
// and reports whether it was allocated.
func (p *ResourcePool[K, R]) Free(r R) bool {
	k := p.key(r)
	a := p.allocated[k]
	if a == nil {
		return false
	}
	delete(p.allocated, k)
	p.detach(a)
	p.free[a.pool] = append(p.free[a.pool], a.res)
	return true
}

// FreeTenant frees every resource tenant holds, in the order they were
// allocated, and returns how many there were.
func (p *ResourcePool[K, R]) FreeTenant(tenant K) int {
	held := p.tenants[tenant]
	delete(p.tenants, tenant)
	for _, a := range held {
		a.hasTenant = false
		delete(p.allocated, p.key(a.res))
		p.free[a.pool] = append(p.free[a.pool], a.res)
	}
	return len(held)
}

// Allocated returns the number of resources allocated and not freed.
func (p *ResourcePool[K, R]) Allocated() int { return len(p.allocated) }

// Idle returns the number of freed resources of pool waiting for reuse.
func (p *ResourcePool[K, R]) Idle(pool K) int { return len(p.free[pool]) }

func initResourcePool(rt *goja.Runtime, call goja.ConstructorCall) {
	allocator := optionalFunc(rt, "ResourcePool", call, 0)
	if allocator == nil {
		panic(rt.NewTypeError("%s", "ResourcePool: argument #1 expects a function"))
	}
	p := NewResourcePool[Key](KeyOf)
	jsfunc.Method(rt, call.This, "allocate", 0, func(c goja.FunctionCall) goja.Value {
		pool, tenant := c.Argument(0), c.Argument(1)
		alloc := func() goja.Value {
			v := callJS(allocator, pool, tenant)
			if v == nil {
				v = goja.Undefined()
			}
			return v
		}
		if isNullish(tenant) {
			return p.Allocate(KeyOf(pool), alloc)
		}
		return p.AllocateFor(KeyOf(pool), KeyOf(tenant), alloc)
	})
	jsfunc.Method(rt, call.This, "free", 1, func(c goja.FunctionCall) goja.Value {
		p.Free(c.Argument(0))
		return goja.Undefined()
	})
	jsfunc.Method(rt, call.This, "freeTenant", 1, func(c goja.FunctionCall) goja.Value {
		if t := c.Argument(0); !isNullish(t) {
			p.FreeTenant(KeyOf(t))
		}
		return goja.Undefined()
	})
}
