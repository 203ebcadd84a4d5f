package algo

import (
	"errors"
	"math"
	"sort"
	"strconv"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/scripts/jsfunc"
)

// ErrScoresNotAscending is returned by [NewPercentile] when the bucket
// bounds are not strictly ascending.
var ErrScoresNotAscending = errors.New("scores are not in ascending order")

// Percentile counts samples in buckets with fixed upper bounds and
// estimates percentiles from the counts: the Go side of algo.Percentile.
// It is not safe for concurrent use.
type Percentile struct {
	bounds []float64
	counts []uint64
	total  uint64
}

// NewPercentile returns a Percentile with the given bucket upper bounds,
// which must be strictly ascending (NaN is not); otherwise it returns
// [ErrScoresNotAscending]. Infinity is a valid last bound.
func NewPercentile(bounds []float64) (*Percentile, error) {
	for i := 1; i < len(bounds); i++ {
		if !(bounds[i] > bounds[i-1]) {
			return nil, ErrScoresNotAscending
		}
	}
	if len(bounds) == 1 && math.IsNaN(bounds[0]) {
		return nil, ErrScoresNotAscending
	}
	return &Percentile{
		bounds: append([]float64(nil), bounds...),
		counts: make([]uint64, len(bounds)),
	}, nil
}

// Score counts x in the first bucket whose bound is >= x. Values above the
// last bound (and NaN) are not counted at all.
func (p *Percentile) Score(x float64) {
	i := sort.SearchFloat64s(p.bounds, x)
	if i < len(p.bounds) {
		p.counts[i]++
		p.total++
	}
}

// Calculate returns the smallest bound at which the cumulative count
// reaches floor(total * pct / 100), where total is the number of counted
// samples: 0 if pct <= 0 (or NaN), +Inf if no bound does (pct > 100, or no
// buckets). With no samples every pct > 0 gives the first bound.
func (p *Percentile) Calculate(pct float64) float64 {
	if !(pct > 0) {
		return 0
	}
	target := math.Floor(float64(p.total) * pct / 100)
	var sum uint64
	for i, n := range p.counts {
		sum += n
		if float64(sum) >= target {
			return p.bounds[i]
		}
	}
	return math.Inf(1)
}

// Reset clears all counts.
func (p *Percentile) Reset() {
	clear(p.counts)
	p.total = 0
}

// Count returns the number of counted samples.
func (p *Percentile) Count() uint64 { return p.total }

// Bounds returns the bucket bounds with the count of each bucket.
func (p *Percentile) Bounds() (bounds []float64, counts []uint64) {
	return append([]float64(nil), p.bounds...), append([]uint64(nil), p.counts...)
}

func initPercentile(rt *goja.Runtime, call goja.ConstructorCall) {
	arg, ok := call.Argument(0).(*goja.Object)
	if !ok {
		panic(rt.NewTypeError("%s", "Percentile: argument #1 expects an array"))
	}
	n := arg.Get("length").ToInteger()
	bounds := make([]float64, 0, max(0, min(n, 1024)))
	for i := int64(0); i < n; i++ {
		v := arg.Get(strconv.FormatInt(i, 10))
		if v == nil {
			v = goja.Undefined()
		}
		bounds = append(bounds, v.ToFloat())
	}
	p, err := NewPercentile(bounds)
	if err != nil {
		panic(rt.NewGoError(err))
	}
	jsfunc.Method(rt, call.This, "score", 1, func(c goja.FunctionCall) goja.Value {
		p.Score(c.Argument(0).ToFloat())
		return goja.Undefined()
	})
	jsfunc.Method(rt, call.This, "calculate", 1, func(c goja.FunctionCall) goja.Value {
		return rt.ToValue(p.Calculate(c.Argument(0).ToFloat()))
	})
	jsfunc.Method(rt, call.This, "reset", 0, func(goja.FunctionCall) goja.Value {
		p.Reset()
		return goja.Undefined()
	})
}
