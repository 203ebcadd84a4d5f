package algo

import (
	"math"
	"testing"
)

// FuzzResourcePool runs random operation sequences (with a counting
// allocator) and checks the pool's invariants after each step.
func FuzzResourcePool(f *testing.F) {
	f.Add([]byte{0x01, 0x01, 0x11, 0x00, 0x21, 0x31})
	f.Add([]byte{0x00, 0x00, 0x40, 0x50, 0x00, 0x12, 0x22, 0x33, 0x44})
	f.Fuzz(func(t *testing.T, ops []byte) {
		p := NewResourcePool[int](identity)
		n := 0
		alloc := func() int { n++; return n }
		for _, op := range ops {
			pool, tenant := int(op>>4&3), int(op&7)
			switch op >> 6 {
			case 0:
				p.Allocate(pool, alloc)
			case 1:
				r := p.AllocateFor(pool, tenant, alloc)
				if p.AllocateFor(pool, tenant, alloc) != r {
					t.Fatal("AllocateFor is not stable")
				}
			case 2:
				p.Free(int(op & 15))
			case 3:
				p.FreeTenant(tenant)
			}
			checkPool(t, p)
		}
	})
}

func checkPool(t *testing.T, p *ResourcePool[int, int]) {
	t.Helper()
	held := 0
	for tenant, as := range p.tenants {
		if len(as) == 0 {
			t.Fatalf("tenant %d has an empty list", tenant)
		}
		pools := map[int]bool{}
		for _, a := range as {
			if !a.hasTenant || a.tenant != tenant || p.allocated[a.res] != a {
				t.Fatalf("tenant %d: inconsistent allocation %+v", tenant, a)
			}
			if pools[a.pool] {
				t.Fatalf("tenant %d holds two resources of pool %d", tenant, a.pool)
			}
			pools[a.pool] = true
		}
		held += len(as)
	}
	for r, a := range p.allocated {
		if a.res != r {
			t.Fatalf("allocation of %d records %d", r, a.res)
		}
		if a.hasTenant {
			held--
		}
	}
	if held != 0 {
		t.Fatal("tenant lists and allocations disagree")
	}
	for pool, q := range p.free {
		if len(q) == 0 {
			t.Fatalf("pool %d has an empty free list", pool)
		}
		for _, r := range q {
			if p.allocated[r] != nil {
				t.Fatalf("resource %d is both free and allocated", r)
			}
		}
	}
}

// FuzzPercentile checks Calculate against a direct computation from the
// scored values.
func FuzzPercentile(f *testing.F) {
	f.Add([]byte{1, 5, 10, 50}, []byte{1, 5, 5, 100}, 50.0)
	f.Fuzz(func(t *testing.T, rawBounds, scores []byte, pct float64) {
		var bounds []float64
		for _, b := range rawBounds {
			if len(bounds) == 0 || float64(b) > bounds[len(bounds)-1] {
				bounds = append(bounds, float64(b))
			}
		}
		p, err := NewPercentile(bounds)
		if err != nil {
			t.Fatal(err)
		}
		var counted []float64
		for _, s := range scores {
			p.Score(float64(s))
			if len(bounds) > 0 && float64(s) <= bounds[len(bounds)-1] {
				counted = append(counted, float64(s))
			}
		}
		if p.Count() != uint64(len(counted)) {
			t.Fatalf("Count = %d; want %d", p.Count(), len(counted))
		}
		got := p.Calculate(pct)
		want := math.Inf(1)
		if !(pct > 0) {
			want = 0
		} else {
			target := math.Floor(float64(len(counted)) * pct / 100)
			for _, b := range bounds {
				k := 0
				for _, s := range counted {
					if s <= b {
						k++
					}
				}
				if float64(k) >= target {
					want = b
					break
				}
			}
		}
		if got != want {
			t.Fatalf("Calculate(%v) = %v; want %v (bounds %v, scores %v)", pct, got, want, bounds, scores)
		}
	})
}
