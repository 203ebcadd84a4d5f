package algo

import "github.com/pipy-go/pipy/scripts/apidoc"

// Docs documents the `algo` object and every class it holds for the
// generated API reference.
var Docs = []apidoc.Group{
	{
		Name: "algo",
		Doc:  "Routing, load-balancing, caching, pooling and statistics helpers. Each constructor also works without `new`.",
		Entries: []apidoc.Entry{
			{Signature: "algo.hash(value)", Doc: "a non-negative integer below 2^53 derived from String(value) (FNV-1a 64, masked to 53 bits): the same value gives the same number, in every process."},
		},
	},
	{
		Name: "algo.URLRouter",
		Doc: "Maps `host/path` patterns to values. A pattern is `<domain>/<path>`; the domain may be empty (any host) " +
			"and may start with a `*` label matching exactly one label (`*.foo.com` matches `a.foo.com`, not `a.b.foo.com` or `foo.com`); " +
			"a path whose last segment is `*` is a prefix (`/hi/*` matches `/hi`, `/hi/` and `/hi/x/y`), any other path must match exactly (the query is ignored).",
		Entries: []apidoc.Entry{
			{Signature: "new algo.URLRouter([rules])", Doc: "rules is an object `{ pattern: value }`, added in property order. Throws `invalid URL pattern` for a pattern without `/` or whose domain contains `:`."},
			{Signature: "router.add(pattern, value)", Doc: "adds one rule; throws `invalid URL pattern` like the constructor."},
			{Signature: "router.find(...parts)", Doc: "joins the non-null parts with `/` into `host/path[?query]` and returns the matched value, or `undefined`. " +
				"The port in the host is ignored; the exact host's rules are tried first (exact path, then the longest prefix), then the `*.` rules of the parent domain, then the host-less rules."},
		},
	},
	{
		Name: "algo.RoundRobinLoadBalancer",
		Doc:  "Weighted round robin: with weights 2, 1, 1 for A, B, C the selections are A, B, C, A and repeat.",
		Entries: []apidoc.Entry{
			{Signature: "new algo.RoundRobinLoadBalancer([weights])", Doc: "weights is an object `{ target: weight }`; negative weights count as 0, and targets of weight 0 are never selected."},
			{Signature: "balancer.set(target, weight)", Doc: "adds a target or changes its weight."},
			{Signature: "balancer.select([tag])", Doc: "the eligible target with the lowest hits/weight (ties: the earliest added), counting a hit; all hits reset when they reach the total weight. " +
				"With a tag (not undefined), the first target selected for that tag is returned for it from then on. `undefined` when no target has a weight > 0. " +
				"There is no deselect (`balancer.deselect?.(target)` does nothing)."},
		},
	},
	{
		Name: "algo.LeastWorkLoadBalancer",
		Doc:  "Least outstanding work: a selection counts a hit on the target until it is deselected.",
		Entries: []apidoc.Entry{
			{Signature: "new algo.LeastWorkLoadBalancer([weights])", Doc: "weights is an object `{ target: weight }` as for RoundRobinLoadBalancer."},
			{Signature: "balancer.set(target, weight)", Doc: "adds a target or changes its weight."},
			{Signature: "balancer.select([tag])", Doc: "the eligible target with the lowest hits/weight, counting a hit (never reset); sticky per tag like RoundRobinLoadBalancer; `undefined` when none is eligible."},
			{Signature: "balancer.deselect(target)", Doc: "removes one hit from target (not below 0)."},
		},
	},
	{
		Name: "algo.HashingLoadBalancer",
		Doc:  "Selects a target by hashing a tag.",
		Entries: []apidoc.Entry{
			{Signature: "new algo.HashingLoadBalancer([targets])", Doc: "targets is an array of strings."},
			{Signature: "balancer.add(target)", Doc: "appends a target."},
			{Signature: "balancer.select(tag)", Doc: "`targets[algo.hash(tag) % targets.length]`, `undefined` when there are no targets; throws a TypeError `requires 1 or more arguments` without a tag."},
		},
	},
	{
		Name: "algo.Cache",
		Doc:  "A cache filled on demand. Keys are compared like the keys of a Map: primitives by value (`1` and `'1'` differ, NaN equals NaN), objects by identity.",
		Entries: []apidoc.Entry{
			{Signature: "new algo.Cache(allocate[, free])", Doc: "allocate(key) makes the value for a missing key; free(key, value) is told about each entry that clear() removes. " +
				"Both are optional (without allocate, get returns `undefined` on a miss); anything but a function, null or undefined throws a TypeError."},
			{Signature: "cache.get(key)", Doc: "the value cached for key; on a miss calls allocate(key), stores the result (even `null` or `undefined`) and returns it. An exception from allocate propagates and nothing is stored."},
			{Signature: "cache.clear()", Doc: "removes every entry, oldest first, calling free(key, value) for each (if free was given). If free throws, the exception propagates and the entries not yet freed stay."},
		},
	},
	{
		Name: "algo.ResourcePool",
		Doc: "Reusable resources grouped in pools and optionally held by tenants. Pools, tenants and resources are compared like the keys of a Map, " +
			"so the allocator should return distinct resources.",
		Entries: []apidoc.Entry{
			{Signature: "new algo.ResourcePool(allocator)", Doc: "allocator(pool, tenant) makes a new resource; throws a TypeError if it is not a function."},
			{Signature: "pool.allocate([pool[, tenant]])", Doc: "with a tenant (not null or undefined), the resource that tenant already holds in pool if any; " +
				"otherwise the oldest freed resource of pool (first in, first out) or else a new one from allocator(pool, tenant), which the tenant then holds. " +
				"An exception from the allocator propagates."},
			{Signature: "pool.free(resource)", Doc: "returns an allocated resource to its pool for reuse (and takes it from its tenant); anything else is ignored."},
			{Signature: "pool.freeTenant(tenant)", Doc: "frees every resource tenant holds, in the order they were allocated."},
		},
	},
	{
		Name: "algo.Percentile",
		Doc:  "Percentiles estimated from counts in buckets with fixed upper bounds.",
		Entries: []apidoc.Entry{
			{Signature: "new algo.Percentile(scores)", Doc: "scores is an array of strictly ascending numbers, the bucket upper bounds (Infinity is allowed last); " +
				"throws `scores are not in ascending order` otherwise, and a TypeError if scores is not an object."},
			{Signature: "percentile.score(x)", Doc: "counts x in the first bucket whose bound is >= x; values above the last bound are not counted."},
			{Signature: "percentile.calculate(p)", Doc: "the smallest bound at which the cumulative count reaches floor(count * p / 100); 0 for p <= 0, `Infinity` if no bound does. " +
				"With bounds [1, 5, 10, 50] and scores 1, 5, 5, 100: calculate(50) = 1, calculate(90) = 5, calculate(100) = 5."},
			{Signature: "percentile.reset()", Doc: "clears all counts."},
		},
	},
}
