// Package algo implements the script global `algo` (spec api.md §14): URL
// routing and load-balancing algorithms, plus the stable string hash exposed
// as algo.hash.
//
// The package has two layers:
//
//   - Pure Go types that know nothing about JavaScript: [URLRouter] (a
//     host/path pattern table), the load balancers [RoundRobin], [LeastWork]
//     and [Hashing], [Hash], the insertion-ordered [Cache], the
//     [ResourcePool] and the bucketed [Percentile]. Their hot methods (Find,
//     Select) do not allocate in the common case.
//   - goja bindings: [New] builds the object a script sees as `algo`, with
//     the constructors URLRouter, RoundRobinLoadBalancer,
//     LeastWorkLoadBalancer, HashingLoadBalancer, Cache, ResourcePool and
//     Percentile and the function hash. Each script object wraps one Go
//     value; its methods are native functions closing over that value, so a
//     call costs no reflection. [Key] turns script values into Go map keys
//     with the equality of a JavaScript Map.
//
// [Docs] documents all of it for the API reference.
//
// Imports: the standard library, github.com/dop251/goja and
// github.com/pipy-go/pipy/scripts/apidoc (itself standard library only).
// algo is a leaf of the scripts tree: it must not import other pipy-go
// packages (scripts, filters, worker, ...); the scripts package imports it
// and installs New(rt) as the global `algo`.
package algo
