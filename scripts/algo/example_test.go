package algo_test

import (
	"fmt"

	"github.com/dop251/goja"
	"github.com/pipy-go/pipy/scripts/algo"
)

func ExampleURLRouter() {
	var r algo.URLRouter[int]
	r.Add("/hi/*", 8081)
	r.Add("*.foo.com/bar", 8082)
	fmt.Println(r.Find("127.0.0.1:6080", "/hi/there"))
	fmt.Println(r.Find("a.foo.com:6080", "/bar"))
	fmt.Println(r.Find("a.b.foo.com", "/bar"))
	// Output:
	// 8081 true
	// 8082 true
	// 0 false
}

func ExampleRoundRobin() {
	var b algo.RoundRobin
	b.Set("A", 2)
	b.Set("B", 1)
	b.Set("C", 1)
	for range 8 {
		t, _ := b.Select()
		fmt.Print(t)
	}
	fmt.Println()
	// Output: ABCAABCA
}

func ExampleNew() {
	rt := goja.New()
	rt.Set("algo", algo.New(rt))
	v, _ := rt.RunString(`
		var lb = new algo.LeastWorkLoadBalancer({a: 1, b: 1});
		var seq = [lb.select(), lb.select(), lb.select()];
		lb.deselect('a');
		seq.push(lb.select());
		seq.join(' ')`)
	fmt.Println(v)
	// Output: a b a a
}
