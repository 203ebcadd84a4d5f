package algo

// maxWeight caps weights (including +Inf) so that hits*weight products stay
// finite and comparable.
const maxWeight = 1 << 53

// weighted is the target table shared by [RoundRobin] and [LeastWork]:
// targets in the order they were first added, each with a weight and a hit
// count, plus the sticky tag -> target table.
type weighted struct {
	targets     []target
	index       map[string]int // target name -> position in targets
	sticky      map[string]int // tag -> position in targets
	totalWeight float64        // sum of the weights (all >= 0)
	totalHits   int            // sum of the hits
}

type target struct {
	name   string
	weight float64 // >= 0; 0 means never selected
	hits   int
}

// set adds target with weight, or changes its weight (keeping its hits and
// position). Negative and NaN weights count as 0.
func (w *weighted) set(name string, weight float64) {
	if !(weight > 0) {
		weight = 0
	}
	if weight > maxWeight {
		weight = maxWeight
	}
	if i, ok := w.index[name]; ok {
		w.totalWeight += weight - w.targets[i].weight
		w.targets[i].weight = weight
		return
	}
	if w.index == nil {
		w.index = make(map[string]int)
	}
	w.index[name] = len(w.targets)
	w.targets = append(w.targets, target{name: name, weight: weight})
	w.totalWeight += weight
}

// pick returns the position of the eligible target (weight > 0) with the
// lowest hits/weight, the earliest added one on ties, or -1.
func (w *weighted) pick() int {
	best := -1
	for i := range w.targets {
		t := &w.targets[i]
		if t.weight <= 0 {
			continue
		}
		// t.hits/t.weight < b.hits/b.weight, without dividing.
		if best < 0 || float64(t.hits)*w.targets[best].weight < float64(w.targets[best].hits)*t.weight {
			best = i
		}
	}
	return best
}

func (w *weighted) stick(tag string, i int) {
	if w.sticky == nil {
		w.sticky = make(map[string]int)
	}
	w.sticky[tag] = i
}

func (w *weighted) weight(name string) (float64, bool) {
	i, ok := w.index[name]
	if !ok {
		return 0, false
	}
	return w.targets[i].weight, true
}

// RoundRobin is a smooth weighted round-robin balancer
// (algo.RoundRobinLoadBalancer).
//
// Select picks, among the targets with a weight > 0, the one with the lowest
// hits/weight (ties go to the earliest added target) and counts a hit on it.
// When the total hits reach the total weight all hits are reset to 0, so
// each cycle of total-weight selections gives every target exactly its
// weight (for integer weights). Weights 2, 1, 1 for A, B, C give A, B, C, A,
// A, B, C, A, ...
//
// The zero value is an empty balancer ready to use. Not safe for concurrent
// use.
type RoundRobin struct {
	w weighted
}

// NewRoundRobin returns an empty round-robin balancer.
func NewRoundRobin() *RoundRobin { return new(RoundRobin) }

// Set adds target with weight, or changes the weight of an existing target
// (its position for tie-breaking and its hits are kept). Weights <= 0 (and
// NaN) mean the target is never selected.
func (b *RoundRobin) Set(target string, weight float64) { b.w.set(target, weight) }

// Weight returns the weight of target and whether target is known.
func (b *RoundRobin) Weight(target string) (float64, bool) { return b.w.weight(target) }

// Len returns the number of targets, including those of weight 0.
func (b *RoundRobin) Len() int { return len(b.w.targets) }

// Select returns the next target, or ok == false if no target has a
// weight > 0.
func (b *RoundRobin) Select() (target string, ok bool) {
	i := b.selectIndex()
	if i < 0 {
		return "", false
	}
	return b.w.targets[i].name, true
}

// SelectTag is Select with stickiness: the first target selected for tag is
// remembered and returned for the same tag from then on, without counting
// further hits (even if its weight later drops to 0). A failed selection is
// not remembered.
func (b *RoundRobin) SelectTag(tag string) (target string, ok bool) {
	i := b.selectTagIndex(tag)
	if i < 0 {
		return "", false
	}
	return b.w.targets[i].name, true
}

func (b *RoundRobin) selectTagIndex(tag string) int {
	if i, ok := b.w.sticky[tag]; ok {
		return i
	}
	i := b.selectIndex()
	if i >= 0 {
		b.w.stick(tag, i)
	}
	return i
}

func (b *RoundRobin) selectIndex() int {
	w := &b.w
	i := w.pick()
	if i < 0 {
		return -1
	}
	w.targets[i].hits++
	w.totalHits++
	if float64(w.totalHits) >= w.totalWeight {
		for j := range w.targets {
			w.targets[j].hits = 0
		}
		w.totalHits = 0
	}
	return i
}

// LeastWork is a least-outstanding-work balancer
// (algo.LeastWorkLoadBalancer).
//
// Select picks, among the targets with a weight > 0, the one with the lowest
// hits/weight (ties go to the earliest added target) and counts a hit on it;
// hits are never reset, Deselect takes one back when the work is done. With
// targets a and b of weight 1: Select, Select, Select gives a, b, a; after
// Deselect("a") the next Select gives a.
//
// The zero value is an empty balancer ready to use. Not safe for concurrent
// use.
type LeastWork struct {
	w weighted
}

// NewLeastWork returns an empty least-work balancer.
func NewLeastWork() *LeastWork { return new(LeastWork) }

// Set adds target with weight, or changes the weight of an existing target
// (its position for tie-breaking and its hits are kept). Weights <= 0 (and
// NaN) mean the target is never selected.
func (b *LeastWork) Set(target string, weight float64) { b.w.set(target, weight) }

// Weight returns the weight of target and whether target is known.
func (b *LeastWork) Weight(target string) (float64, bool) { return b.w.weight(target) }

// Len returns the number of targets, including those of weight 0.
func (b *LeastWork) Len() int { return len(b.w.targets) }

// Hits returns the outstanding hits of target (0 if unknown).
func (b *LeastWork) Hits(target string) int {
	if i, ok := b.w.index[target]; ok {
		return b.w.targets[i].hits
	}
	return 0
}

// Select returns the target with the least work and counts a hit on it, or
// ok == false if no target has a weight > 0.
func (b *LeastWork) Select() (target string, ok bool) {
	i := b.selectIndex()
	if i < 0 {
		return "", false
	}
	return b.w.targets[i].name, true
}

// SelectTag is Select with stickiness: the first target selected for tag is
// remembered and returned for the same tag from then on, without counting
// further hits. A failed selection is not remembered.
func (b *LeastWork) SelectTag(tag string) (target string, ok bool) {
	i := b.selectTagIndex(tag)
	if i < 0 {
		return "", false
	}
	return b.w.targets[i].name, true
}

func (b *LeastWork) selectTagIndex(tag string) int {
	if i, ok := b.w.sticky[tag]; ok {
		return i
	}
	i := b.selectIndex()
	if i >= 0 {
		b.w.stick(tag, i)
	}
	return i
}

func (b *LeastWork) selectIndex() int {
	i := b.w.pick()
	if i >= 0 {
		b.w.targets[i].hits++
		b.w.totalHits++
	}
	return i
}

// Deselect takes one hit back from target (never below 0). Unknown targets
// are ignored.
func (b *LeastWork) Deselect(target string) {
	if i, ok := b.w.index[target]; ok && b.w.targets[i].hits > 0 {
		b.w.targets[i].hits--
		b.w.totalHits--
	}
}

// Hashing is a consistent-by-tag balancer (algo.HashingLoadBalancer): Select
// returns targets[Hash(tag) % len(targets)], so the same tag maps to the
// same target as long as the target list does not change.
//
// The zero value is an empty balancer ready to use. Not safe for concurrent
// use.
type Hashing struct {
	targets []string
}

// NewHashing returns a balancer over a copy of targets.
func NewHashing(targets ...string) *Hashing {
	return &Hashing{targets: append([]string(nil), targets...)}
}

// Add appends target (duplicates are kept and weigh double).
func (h *Hashing) Add(target string) { h.targets = append(h.targets, target) }

// Len returns the number of targets.
func (h *Hashing) Len() int { return len(h.targets) }

// Select returns the target for tag, or ok == false if there are no
// targets.
func (h *Hashing) Select(tag string) (target string, ok bool) {
	i := h.selectIndex(tag)
	if i < 0 {
		return "", false
	}
	return h.targets[i], true
}

func (h *Hashing) selectIndex(tag string) int {
	if len(h.targets) == 0 {
		return -1
	}
	return int(Hash(tag) % uint64(len(h.targets)))
}
