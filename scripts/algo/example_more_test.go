package algo_test

import (
	"fmt"

	"github.com/dop251/goja"
	"github.com/pipy-go/pipy/scripts/algo"
)

func ExamplePercentile() {
	p, _ := algo.NewPercentile([]float64{1, 5, 10, 50})
	for _, x := range []float64{1, 5, 5, 100} {
		p.Score(x)
	}
	fmt.Println(p.Calculate(50), p.Calculate(90), p.Calculate(100), p.Calculate(0))
	// Output: 1 5 5 0
}

func ExampleResourcePool() {
	p := algo.NewResourcePool[string](func(r int) string { return fmt.Sprint(r) })
	n := 0
	alloc := func() int { n++; return n }
	seq := []int{p.AllocateFor("p", "t1", alloc), p.AllocateFor("p", "t1", alloc), p.AllocateFor("p", "t2", alloc), p.Allocate("p", alloc)}
	p.FreeTenant("t1")
	seq = append(seq, p.AllocateFor("p", "t3", alloc))
	fmt.Println(seq)
	// Output: [1 1 2 3 1]
}

func ExampleKeyOf() {
	rt := goja.New()
	rt.Set("algo", algo.New(rt))
	v, _ := rt.RunString(`
		var n = 0;
		var cache = new algo.Cache(k => ++n);
		[cache.get(1), cache.get(1.0), cache.get('1'), cache.get(NaN), cache.get(NaN)].join(' ')`)
	fmt.Println(v)
	// Output: 1 1 2 3 3
}
