package throttle_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

const tapScript = `pipy({_acct: 'x', _q: 2})
.pipeline('msg')
  .tap(2)
.pipeline('bytes')
  .tap('1k')
.pipeline('unlimited')
  .tap(null)
.pipeline('unlimitedFn')
  .tap(() => undefined)
.pipeline('shared')
  .tap(() => _q, () => _acct)
`

// countOut counts the output events of a kind, inside the loop.
func countOut(r *filtertest.Rec, kind filters.EventKind) int {
	n := 0
	r.Run(func() {
		for _, e := range r.Evts {
			if e.Kind() == kind {
				n++
			}
		}
	})
	return n
}

func TestTapMessagesPerSecond(t *testing.T) {
	t.Parallel()
	w := filtertest.Load(t, tapScript)
	r := w.Session("msg")
	start := time.Now()
	r.Feed(filtertest.Msgs("1", "2", "3", "4", "5")...)
	r.Feed(&filters.SessionEnd{})
	if got := filtertest.KindsNow(r); got != "MS D(1) ME MS D(1) ME" {
		t.Fatalf("at once: %s", got)
	}
	ends := func(n int) func() bool {
		return func() bool {
			c := 0
			for _, e := range r.Evts {
				if e.Kind() == filters.KindMessageEnd {
					c++
				}
			}
			return c >= n
		}
	}
	if d := filtertest.WaitOut(t, r, start, 1700*time.Millisecond, "4 messages", ends(4)); d < 900*time.Millisecond {
		t.Fatalf("messages 3-4 after %v, want ~1s", d)
	}
	if n := countOut(r, filters.KindMessageEnd); n != 4 {
		t.Fatalf("%d messages after the first refill", n)
	}
	if d := filtertest.WaitOut(t, r, start, 2700*time.Millisecond, "5 messages", ends(5)); d < 1900*time.Millisecond {
		t.Fatalf("message 5 after %v, want ~2s", d)
	}
	if got := filtertest.KindsNow(r); got != strings.Repeat("MS D(1) ME ", 5)+"SE" {
		t.Fatalf("final output: %s", got)
	}
	if got := r.BytesOut(); got != "12345" {
		t.Fatalf("order: %q", got)
	}
}

func TestTapBytesPerSecond(t *testing.T) {
	t.Parallel()
	w := filtertest.Load(t, tapScript)
	r := w.Session("bytes")
	in := strings.Repeat("0123456789", 250)
	start := time.Now()
	r.FeedString(in)
	if got := filtertest.KindsNow(r); got != "D(1024)" {
		t.Fatalf("at once: %s", got)
	}
	n := func(k int) func() bool { return func() bool { return len(r.Evts) >= k } }
	if d := filtertest.WaitOut(t, r, start, 1700*time.Millisecond, "second part", n(2)); d < 900*time.Millisecond {
		t.Fatalf("second part after %v", d)
	}
	if got := filtertest.KindsNow(r); got != "D(1024) D(1024)" {
		t.Fatalf("after 1s: %s", got)
	}
	if d := filtertest.WaitOut(t, r, start, 2700*time.Millisecond, "last part", n(3)); d < 1900*time.Millisecond {
		t.Fatalf("last part after %v", d)
	}
	if got := filtertest.KindsNow(r); got != "D(1024) D(1024) D(452)" {
		t.Fatalf("after 2s: %s", got)
	}
	var out string
	r.Run(func() { out = r.BytesOut() })
	if out != in {
		t.Fatal("bytes changed or reordered")
	}
}

// Events other than Data consume nothing in byte mode.
func TestTapBytesOtherEventsFree(t *testing.T) {
	w := filtertest.Load(t, tapScript)
	r := w.Session("bytes")
	r.Feed(filtertest.Msgs("a", "b", "c")...)
	r.Feed(&filters.SessionEnd{})
	if got := filtertest.KindsNow(r); got != "MS D(1) ME MS D(1) ME MS D(1) ME SE" {
		t.Fatalf("got %s", got)
	}
}

func TestTapUnlimited(t *testing.T) {
	w := filtertest.Load(t, tapScript)
	for _, name := range []string{"unlimited", "unlimitedFn"} {
		r := w.Session(name)
		r.Feed(filtertest.Msgs("1", "2", "3", "4", "5")...)
		r.FeedString(strings.Repeat("x", 5000))
		r.Feed(&filters.SessionEnd{})
		if got := filtertest.KindsNow(r); got != strings.Repeat("MS D(1) ME ", 5)+"D(5000) SE" {
			t.Errorf("%s: %s", name, got)
		}
	}
}

func TestTapSharedAccount(t *testing.T) {
	t.Parallel()
	w := filtertest.Load(t, tapScript)
	a := w.Session("shared")
	b := w.Session("shared")
	c := w.Session("shared")
	c.Set("_acct", "y")
	start := time.Now()
	a.Feed(filtertest.Msgs("a1", "a2")...)
	b.Feed(filtertest.Msgs("b1")...)
	c.Feed(filtertest.Msgs("c1")...)
	if got := filtertest.KindsNow(a); got != "MS D(2) ME MS D(2) ME" {
		t.Fatalf("a: %s", got)
	}
	if got := filtertest.KindsNow(b); got != "" {
		t.Fatalf("b passed on a's spent quota: %s", got)
	}
	if got := filtertest.KindsNow(c); got != "MS D(2) ME" {
		t.Fatalf("c (other account): %s", got)
	}
	if d := filtertest.WaitOut(t, b, start, 1700*time.Millisecond, "b's message", func() bool { return len(b.Evts) == 3 }); d < 900*time.Millisecond {
		t.Fatalf("b after %v, want ~1s", d)
	}
	var got string
	b.Run(func() { got = b.BytesOut() })
	if got != "b1" {
		t.Fatalf("b got %q", got)
	}
}

func TestTapBadSizeAborts(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').tap('lots')`)
	r := w.Session("p")
	r.FeedString("x")
	if got := r.Kinds(); got != "SE(RuntimeError)" {
		t.Fatalf("got %s", got)
	}
	if !strings.Contains(w.LogText(), "[tap]") {
		t.Fatalf("log: %s", w.LogText())
	}
}
