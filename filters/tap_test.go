package filters_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pipy-go/pipy/filters"
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
func countOut(r *rec, kind filters.EventKind) int {
	n := 0
	r.run(func() {
		for _, e := range r.evts {
			if e.Kind() == kind {
				n++
			}
		}
	})
	return n
}

// kindsNow is r.kinds() read inside the loop.
func kindsNow(r *rec) string {
	var s string
	r.run(func() { s = r.kinds() })
	return s
}

// waitOut polls until cond holds (evaluated inside the loop) or the limit
// passes; it returns the time elapsed since start.
func waitOut(t *testing.T, r *rec, start time.Time, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	for {
		ok := false
		r.run(func() { ok = cond() })
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s: not after %v (output %s)", what, limit, kindsNow(r))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTapMessagesPerSecond(t *testing.T) {
	t.Parallel()
	w := load(t, tapScript)
	r := w.session("msg")
	start := time.Now()
	r.feed(msgs("1", "2", "3", "4", "5")...)
	r.feed(&filters.SessionEnd{})
	if got := kindsNow(r); got != "MS D(1) ME MS D(1) ME" {
		t.Fatalf("at once: %s", got)
	}
	ends := func(n int) func() bool {
		return func() bool {
			c := 0
			for _, e := range r.evts {
				if e.Kind() == filters.KindMessageEnd {
					c++
				}
			}
			return c >= n
		}
	}
	if d := waitOut(t, r, start, 1700*time.Millisecond, "4 messages", ends(4)); d < 900*time.Millisecond {
		t.Fatalf("messages 3-4 after %v, want ~1s", d)
	}
	if n := countOut(r, filters.KindMessageEnd); n != 4 {
		t.Fatalf("%d messages after the first refill", n)
	}
	if d := waitOut(t, r, start, 2700*time.Millisecond, "5 messages", ends(5)); d < 1900*time.Millisecond {
		t.Fatalf("message 5 after %v, want ~2s", d)
	}
	if got := kindsNow(r); got != strings.Repeat("MS D(1) ME ", 5)+"SE" {
		t.Fatalf("final output: %s", got)
	}
	if got := r.bytesOut(); got != "12345" {
		t.Fatalf("order: %q", got)
	}
}

func TestTapBytesPerSecond(t *testing.T) {
	t.Parallel()
	w := load(t, tapScript)
	r := w.session("bytes")
	in := strings.Repeat("0123456789", 250)
	start := time.Now()
	r.feedString(in)
	if got := kindsNow(r); got != "D(1024)" {
		t.Fatalf("at once: %s", got)
	}
	n := func(k int) func() bool { return func() bool { return len(r.evts) >= k } }
	if d := waitOut(t, r, start, 1700*time.Millisecond, "second part", n(2)); d < 900*time.Millisecond {
		t.Fatalf("second part after %v", d)
	}
	if got := kindsNow(r); got != "D(1024) D(1024)" {
		t.Fatalf("after 1s: %s", got)
	}
	if d := waitOut(t, r, start, 2700*time.Millisecond, "last part", n(3)); d < 1900*time.Millisecond {
		t.Fatalf("last part after %v", d)
	}
	if got := kindsNow(r); got != "D(1024) D(1024) D(452)" {
		t.Fatalf("after 2s: %s", got)
	}
	var out string
	r.run(func() { out = r.bytesOut() })
	if out != in {
		t.Fatal("bytes changed or reordered")
	}
}

// Events other than Data consume nothing in byte mode.
func TestTapBytesOtherEventsFree(t *testing.T) {
	w := load(t, tapScript)
	r := w.session("bytes")
	r.feed(msgs("a", "b", "c")...)
	r.feed(&filters.SessionEnd{})
	if got := kindsNow(r); got != "MS D(1) ME MS D(1) ME MS D(1) ME SE" {
		t.Fatalf("got %s", got)
	}
}

func TestTapUnlimited(t *testing.T) {
	w := load(t, tapScript)
	for _, name := range []string{"unlimited", "unlimitedFn"} {
		r := w.session(name)
		r.feed(msgs("1", "2", "3", "4", "5")...)
		r.feedString(strings.Repeat("x", 5000))
		r.feed(&filters.SessionEnd{})
		if got := kindsNow(r); got != strings.Repeat("MS D(1) ME ", 5)+"D(5000) SE" {
			t.Errorf("%s: %s", name, got)
		}
	}
}

func TestTapSharedAccount(t *testing.T) {
	t.Parallel()
	w := load(t, tapScript)
	a := w.session("shared")
	b := w.session("shared")
	c := w.session("shared")
	c.set("_acct", "y")
	start := time.Now()
	a.feed(msgs("a1", "a2")...)
	b.feed(msgs("b1")...)
	c.feed(msgs("c1")...)
	if got := kindsNow(a); got != "MS D(2) ME MS D(2) ME" {
		t.Fatalf("a: %s", got)
	}
	if got := kindsNow(b); got != "" {
		t.Fatalf("b passed on a's spent quota: %s", got)
	}
	if got := kindsNow(c); got != "MS D(2) ME" {
		t.Fatalf("c (other account): %s", got)
	}
	if d := waitOut(t, b, start, 1700*time.Millisecond, "b's message", func() bool { return len(b.evts) == 3 }); d < 900*time.Millisecond {
		t.Fatalf("b after %v, want ~1s", d)
	}
	var got string
	b.run(func() { got = b.bytesOut() })
	if got != "b1" {
		t.Fatalf("b got %q", got)
	}
}

func TestTapBadSizeAborts(t *testing.T) {
	w := load(t, `pipy().pipeline('p').tap('lots')`)
	r := w.session("p")
	r.feedString("x")
	if got := r.kinds(); got != "SE(RuntimeError)" {
		t.Fatalf("got %s", got)
	}
	if !strings.Contains(w.logText(), "[tap]") {
		t.Fatalf("log: %s", w.logText())
	}
}
