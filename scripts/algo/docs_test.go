package algo

import (
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// TestDocs checks that Docs has a group for every member of the algo
// object and an entry for every method of every class.
func TestDocs(t *testing.T) {
	groups := map[string][]string{}
	for _, g := range Docs {
		for _, e := range g.Entries {
			groups[g.Name] = append(groups[g.Name], e.Signature)
		}
	}
	rt := newJS(t)
	instances := map[string]string{
		"URLRouter":              `new algo.URLRouter()`,
		"RoundRobinLoadBalancer": `new algo.RoundRobinLoadBalancer()`,
		"LeastWorkLoadBalancer":  `new algo.LeastWorkLoadBalancer()`,
		"HashingLoadBalancer":    `new algo.HashingLoadBalancer()`,
		"Cache":                  `new algo.Cache()`,
		"ResourcePool":           `new algo.ResourcePool(() => 1)`,
		"Percentile":             `new algo.Percentile([])`,
	}
	algo := runJS(t, rt, `algo`).(*goja.Object)
	for _, name := range algo.Keys() {
		if name == "hash" {
			if !has(groups["algo"], "algo.hash(") {
				t.Error("algo.hash is not documented")
			}
			continue
		}
		sigs, ok := groups["algo."+name]
		if !ok {
			t.Errorf("no Docs group for algo.%s", name)
			continue
		}
		if !has(sigs, "new algo."+name+"(") {
			t.Errorf("constructor of algo.%s is not documented", name)
		}
		src, ok := instances[name]
		if !ok {
			t.Errorf("TestDocs does not know how to make an algo.%s", name)
			continue
		}
		methods := runJS(t, rt, `Object.getOwnPropertyNames(`+src+`)`).Export().([]any)
		for _, m := range methods {
			if !has(sigs, "."+m.(string)+"(") {
				t.Errorf("algo.%s's %s is not documented", name, m)
			}
		}
	}
}

func has(sigs []string, part string) bool {
	for _, s := range sigs {
		if strings.Contains(s, part) {
			return true
		}
	}
	return false
}
