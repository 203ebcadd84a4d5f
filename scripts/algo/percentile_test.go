package algo

import (
	"errors"
	"math"
	"testing"
)

func TestPercentileSpec(t *testing.T) {
	p, err := NewPercentile([]float64{1, 5, 10, 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []float64{1, 5, 5, 100} {
		p.Score(x)
	}
	if p.Count() != 3 {
		t.Errorf("Count = %d; want 3 (100 is above the last bound)", p.Count())
	}
	for pct, want := range map[float64]float64{50: 1, 90: 5, 100: 5, 0: 0, -5: 0, 101: 5, 200: math.Inf(1), 34: 1, 67: 5} {
		if got := p.Calculate(pct); got != want {
			t.Errorf("Calculate(%v) = %v; want %v", pct, got, want)
		}
	}
	if got := p.Calculate(math.NaN()); got != 0 {
		t.Errorf("Calculate(NaN) = %v", got)
	}
	p.Reset()
	if p.Count() != 0 || p.Calculate(50) != 1 {
		t.Errorf("after Reset: Count %d, Calculate(50) %v", p.Count(), p.Calculate(50))
	}
}

func TestPercentile(t *testing.T) {
	// Example 006's latency bounds, ending with Infinity.
	bounds := []float64{1, 2, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100,
		200, 300, 400, 500, 1000, 2000, 5000, 10000, 30000, 60000, math.Inf(1)}
	p, err := NewPercentile(bounds)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		p.Score(float64(i)) // 1 .. 100
	}
	p.Score(1e9) // counted in the Infinity bucket
	p.Score(math.NaN())
	p.Score(-3) // first bucket
	if p.Count() != 102 {
		t.Errorf("Count = %d", p.Count())
	}
	for pct, want := range map[float64]float64{1: 1, 2: 1, 3: 2, 50: 50, 99: 100, 99.5: 100, 100: math.Inf(1)} {
		if got := p.Calculate(pct); got != want {
			t.Errorf("Calculate(%v) = %v; want %v", pct, got, want)
		}
	}
	b, c := p.Bounds()
	if len(b) != len(bounds) || c[0] != 2 || c[len(c)-1] != 1 {
		t.Errorf("Bounds = %v, %v", b, c)
	}
	b[0] = 99 // a copy
	if p.Calculate(1) != 1 {
		t.Error("Bounds returned the internal slice")
	}
	empty, err := NewPercentile(nil)
	if err != nil || !math.IsInf(empty.Calculate(50), 1) {
		t.Errorf("empty Percentile: %v, %v", err, empty)
	}
	empty.Score(1)
}

func TestPercentileErrors(t *testing.T) {
	for _, b := range [][]float64{{1, 1}, {2, 1}, {1, math.NaN()}, {math.NaN()}, {1, 5, 3}, {math.Inf(1), 1}} {
		if p, err := NewPercentile(b); !errors.Is(err, ErrScoresNotAscending) || p != nil {
			t.Errorf("NewPercentile(%v) = %v, %v", b, p, err)
		}
	}
	if ErrScoresNotAscending.Error() != "scores are not in ascending order" {
		t.Error(ErrScoresNotAscending)
	}
	for _, b := range [][]float64{{}, {1}, {-1, 0, math.Inf(1)}, {math.Inf(-1), 0}} {
		if _, err := NewPercentile(b); err != nil {
			t.Errorf("NewPercentile(%v): %v", b, err)
		}
	}
}

func TestJSPercentile(t *testing.T) {
	rt := newJS(t)
	tests := []struct{ src, want string }{
		// The spec's verified values.
		{`var p = new algo.Percentile([1, 5, 10, 50]); [1, 5, 5, 100].forEach(x => p.score(x));
		  [p.calculate(50), p.calculate(90), p.calculate(100), p.calculate(0)].join()`, "1,5,5,0"},
		{`p.calculate(1000)`, "Infinity"},
		{`p.reset(); p.score('7'); p.calculate(100)`, "10"},
		{`p.score(); p.calculate(100)`, "10"}, // undefined is NaN: not counted
		{`typeof p.calculate(50)`, "number"},
		{`var q = new algo.Percentile([1, 2, Number.POSITIVE_INFINITY]); q.score(1e9); q.calculate(100)`, "Infinity"},
		{`new algo.Percentile(['1', '2']).calculate(50)`, "1"},
		{`new algo.Percentile([]).calculate(50)`, "Infinity"},
		// Class shape and errors.
		{`(p instanceof algo.Percentile) + ' ' + algo.Percentile.name + ' ' + Object.keys(p).length`, "true Percentile 0"},
		{`try { new algo.Percentile([1, 1]) } catch (e) { (e instanceof Error) + ' ' + e.message }`, "true scores are not in ascending order"},
		{`try { new algo.Percentile([5, 1]) } catch (e) { e.message }`, "scores are not in ascending order"},
		{`try { new algo.Percentile([1, 'x']) } catch (e) { e.message }`, "scores are not in ascending order"},
		{`try { new algo.Percentile() } catch (e) { (e instanceof TypeError) + ' ' + e.message }`, "true Percentile: argument #1 expects an array"},
	}
	for _, tc := range tests {
		if got := runJS(t, rt, tc.src).String(); got != tc.want {
			t.Errorf("%s\n = %s\nwant %s", tc.src, got, tc.want)
		}
	}
	if _, err := rt.RunString(`algo.Percentile([3, 2])`); !errors.Is(err, ErrScoresNotAscending) {
		t.Errorf("exception %v does not wrap ErrScoresNotAscending", err)
	}
}

func BenchmarkPercentileScore(b *testing.B) {
	p, _ := NewPercentile([]float64{1, 2, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100,
		200, 300, 400, 500, 1000, 2000, 5000, 10000, 30000, 60000, math.Inf(1)})
	b.ReportAllocs()
	x := 0.0
	for b.Loop() {
		p.Score(x)
		x += 7
		if x > 70000 {
			x = 0
		}
	}
}
