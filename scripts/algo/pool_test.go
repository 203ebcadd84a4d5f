package algo

import (
	"testing"
)

func identity(r int) int { return r }

func TestResourcePoolSpecSequence(t *testing.T) {
	p := NewResourcePool[string](func(r int) string { return string(rune('0' + r)) })
	n := 0
	alloc := func() int { n++; return n }
	steps := []struct {
		pool, tenant string
		want         int
	}{
		{"p", "t1", 1}, {"p", "t1", 1}, {"p", "t2", 2}, {"p", "", 3},
	}
	for _, s := range steps {
		var got int
		if s.tenant == "" {
			got = p.Allocate(s.pool, alloc)
		} else {
			got = p.AllocateFor(s.pool, s.tenant, alloc)
		}
		if got != s.want {
			t.Fatalf("allocate(%q, %q) = %d; want %d", s.pool, s.tenant, got, s.want)
		}
	}
	if got := p.FreeTenant("t1"); got != 1 {
		t.Errorf("FreeTenant = %d", got)
	}
	if got := p.AllocateFor("p", "t3", alloc); got != 1 {
		t.Errorf("allocate('p', 't3') = %d; want 1", got)
	}
	if p.Allocated() != 3 || n != 3 {
		t.Errorf("Allocated = %d, allocator calls %d", p.Allocated(), n)
	}
}

func TestResourcePool(t *testing.T) {
	p := NewResourcePool[int](identity)
	n := 0
	alloc := func() int { n++; return n }
	a, b, c := p.Allocate(1, alloc), p.Allocate(1, alloc), p.Allocate(2, alloc)
	if a != 1 || b != 2 || c != 3 {
		t.Fatal(a, b, c)
	}
	// FIFO reuse within a pool; pools are separate.
	p.Free(b)
	p.Free(a)
	if p.Free(a) || p.Free(99) {
		t.Error("Free of a free or unknown resource reported true")
	}
	if p.Idle(1) != 2 || p.Idle(2) != 0 {
		t.Errorf("Idle = %d, %d", p.Idle(1), p.Idle(2))
	}
	if got := p.Allocate(2, alloc); got != 4 {
		t.Errorf("pool 2 reused a pool 1 resource: %d", got)
	}
	if x, y := p.Allocate(1, alloc), p.Allocate(1, alloc); x != 2 || y != 1 {
		t.Errorf("reuse order %d, %d; want 2, 1", x, y)
	}
	// A tenant holds one resource per pool; freeing it ends the holding.
	r1 := p.AllocateFor(1, 100, alloc)
	r2 := p.AllocateFor(2, 100, alloc)
	if r1 != 5 || r2 != 6 || p.AllocateFor(1, 100, alloc) != 5 || p.AllocateFor(2, 100, alloc) != 6 {
		t.Fatal("tenant holdings")
	}
	p.Free(r1)
	if got := p.AllocateFor(1, 100, alloc); got != 5 { // reused from the free list
		t.Errorf("after Free, AllocateFor = %d; want 5", got)
	}
	p.Free(5)
	if got := p.AllocateFor(1, 101, alloc); got != 5 {
		t.Errorf("other tenant got %d; want 5", got)
	}
	if got := p.AllocateFor(1, 100, alloc); got != 7 {
		t.Errorf("tenant 100 got %d; want a new 7", got)
	}
	// FreeTenant frees in allocation order: 6 (pool 2) then 7 (pool 1).
	if got := p.FreeTenant(100); got != 2 {
		t.Errorf("FreeTenant = %d", got)
	}
	if p.FreeTenant(100) != 0 || p.FreeTenant(12345) != 0 {
		t.Error("FreeTenant twice")
	}
	if got := p.Allocate(2, alloc); got != 6 {
		t.Errorf("got %d; want 6", got)
	}
	if got := p.Allocate(1, alloc); got != 7 {
		t.Errorf("got %d; want 7", got)
	}
	// An allocator that panics changes nothing.
	before := p.Allocated()
	func() {
		defer func() { recover() }()
		p.AllocateFor(3, 200, func() int { panic("boom") })
	}()
	if p.Allocated() != before || p.FreeTenant(200) != 0 {
		t.Error("a panicking allocator left state behind")
	}
}

func TestResourcePoolDuplicateResource(t *testing.T) {
	p := NewResourcePool[int](identity)
	// An allocator returning the same resource twice: the second allocation
	// replaces the first, and the first tenant no longer holds it.
	p.AllocateFor(1, 10, func() int { return 7 })
	p.AllocateFor(1, 11, func() int { return 7 })
	if got := p.FreeTenant(10); got != 0 {
		t.Errorf("FreeTenant(10) = %d; want 0", got)
	}
	if got := p.FreeTenant(11); got != 1 {
		t.Errorf("FreeTenant(11) = %d; want 1", got)
	}
	if p.Allocated() != 0 || p.Idle(1) != 1 {
		t.Errorf("Allocated %d Idle %d", p.Allocated(), p.Idle(1))
	}
}

func TestResourcePoolReentrant(t *testing.T) {
	p := NewResourcePool[int](identity)
	n := 0
	var alloc func() int
	alloc = func() int {
		n++
		m := n
		if m == 1 {
			if got := p.AllocateFor(1, 10, alloc); got != 2 {
				t.Errorf("inner AllocateFor = %d; want 2", got)
			}
		}
		return m
	}
	if got := p.AllocateFor(1, 10, alloc); got != 1 {
		t.Fatalf("outer AllocateFor = %d; want 1", got)
	}
	// The tenant holds exactly one resource of pool 1, the outer one; the
	// inner one stays allocated without a tenant.
	if got := p.AllocateFor(1, 10, alloc); got != 1 {
		t.Errorf("holding = %d; want 1", got)
	}
	if got := p.FreeTenant(10); got != 1 {
		t.Errorf("FreeTenant = %d; want 1", got)
	}
	if p.Allocated() != 1 || !p.Free(2) {
		t.Errorf("inner resource lost: Allocated = %d", p.Allocated())
	}
}

func TestJSResourcePool(t *testing.T) {
	rt := newJS(t)
	tests := []struct{ src, want string }{
		// The spec's verified sequence.
		{`var n = 0, calls = [];
		  var rp = new algo.ResourcePool((pool, tenant) => (calls.push(pool + '/' + tenant), ++n));
		  var seq = [rp.allocate('p', 't1'), rp.allocate('p', 't1'), rp.allocate('p', 't2'), rp.allocate('p')];
		  rp.freeTenant('t1');
		  seq.push(rp.allocate('p', 't3'));
		  seq.join() + ' ' + calls.join()`, "1,1,2,3,1 p/t1,p/t2,p/undefined"},
		{`rp.free(3); rp.free(3); rp.free('nope'); rp.free(); [rp.allocate('p'), rp.allocate('p')].join()`, "3,4"},
		{`rp.allocate() + ' ' + rp.allocate(undefined, null) + ' ' + calls.slice(-2).join()`, "5 6 undefined/undefined,undefined/null"},
		{`rp.free(5); rp.allocate()`, "5"},
		// Tenants and pools compare like Map keys.
		{`var t = {}; var a = rp.allocate('q', t); [a, rp.allocate('q', t), rp.allocate('q', {})].join()`, "7,7,8"},
		{`rp.freeTenant(t); rp.allocate('q', 1) + ' ' + rp.allocate('q', 1.0) + ' ' + rp.allocate('q', '1')`, "7 7 9"},
		{`rp.freeTenant(); rp.freeTenant(null); rp.freeTenant('unknown'); 'ok'`, "ok"},
		// Object resources by identity.
		{`var objs = new algo.ResourcePool(p => ({p})); var r1 = objs.allocate('x'); objs.free({p: 'x'}); var r2 = objs.allocate('x');
		  (r1 === r2) + ' ' + objs.free(r2) + ' ' + (objs.allocate('x') === r2)`, "false undefined true"},
		// Exceptions propagate.
		{`var bad = new algo.ResourcePool(() => { throw new RangeError('full') });
		  try { bad.allocate('p', 't') } catch (e) { (e instanceof RangeError) + ' ' + e.message }`, "true full"},
		// Class shape and argument checks.
		{`(rp instanceof algo.ResourcePool) + ' ' + algo.ResourcePool.name + ' ' + Object.keys(rp).length`, "true ResourcePool 0"},
		{`try { new algo.ResourcePool() } catch (e) { (e instanceof TypeError) + ' ' + e.message }`, "true ResourcePool: argument #1 expects a function"},
		{`try { new algo.ResourcePool({}) } catch (e) { e.message }`, "ResourcePool: argument #1 expects a function"},
	}
	for _, tc := range tests {
		if got := runJS(t, rt, tc.src).String(); got != tc.want {
			t.Errorf("%s\n = %s\nwant %s", tc.src, got, tc.want)
		}
	}
}
