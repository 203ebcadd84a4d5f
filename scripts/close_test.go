package scripts_test

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/scripts"
)

const closeScript = `pipy({ _n: 0 })
.pipeline('p')
  .onMessageStart(() => _n++)
  .replaceMessage(() => new Message('n=' + _n))
`

// TestCloseEndsRuntime: after Close, no script code runs in the program;
// a session that calls into it ends with a runtime error naming the cause.
func TestCloseEndsRuntime(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(closeScript)
	if got := h.runMessage(prog, "p", nil).body(); got != "n=1" {
		t.Fatalf("before Close: %q", got)
	}
	c, ok := prog.Script.(io.Closer)
	if !ok {
		t.Fatalf("%T is not an io.Closer", prog.Script)
	}
	h.env.Loop.Run(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
	out := h.runMessage(prog, "p", nil)
	end := out.end()
	if end == nil || end.Err != filters.RuntimeError || !strings.Contains(end.Message, "program has ended") {
		t.Fatalf("session after Close output %s, end %+v; want a RuntimeError saying the program has ended", out.kinds(), end)
	}
	var err error
	h.env.Loop.Run(func() { _, err = prog.Script.Call(prog.NewContext(nil), nil) })
	if !errors.Is(err, scripts.ErrEnded) {
		t.Fatalf("Call after Close: %v, want ErrEnded", err)
	}
}

// TestClosedProgramsAreCollected: loading keeps no reference to a program
// outside it, so once closed and dropped every program is collected.
func TestClosedProgramsAreCollected(t *testing.T) {
	h := newHarness(t)
	const n = 50
	var live atomic.Int64
	for i := 0; i < n; i++ {
		prog := h.mustLoad(closeScript)
		h.runMessage(prog, "p", nil)
		live.Add(1)
		runtime.AddCleanup(prog, func(l *atomic.Int64) { l.Add(-1) }, &live)
		h.env.Loop.Run(func() { prog.Script.(io.Closer).Close() })
	}
	// Cleanups run after a collection, on a goroutine of their own.
	deadline := time.Now().Add(5 * time.Second)
	for live.Load() > 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if k := live.Load(); k > 0 {
		t.Fatalf("%d of %d closed programs are still reachable", k, n)
	}
}

// TestReleaseSharedEndsScriptSessions: ReleaseShared ends the sessions
// made with new Session that still run, and only those.
func TestReleaseSharedEndsScriptSessions(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy({ _g: { s: [] } })
.pipeline('make')
  .onMessageStart(() => { _g.s.push(new Session(__filename, 'bg')); _g.s.push(new Session(__filename, 'quick')) })
.pipeline('bg')
  .dummy()
.pipeline('quick')
  .replaceSessionStart(() => new SessionEnd)
`)
	h.runMessage(prog, "make", nil)
	bg := pipelineOf(t, prog, "bg")
	if n := bg.ActiveN.Load(); n != 1 {
		t.Fatalf("active bg sessions = %d, want 1", n)
	}
	h.runMessage(prog, "make", nil)
	if n := bg.ActiveN.Load(); n != 2 {
		t.Fatalf("active bg sessions = %d, want 2", n)
	}
	rel, ok := prog.Script.(interface{ ReleaseShared() })
	if !ok {
		t.Fatalf("%T has no ReleaseShared", prog.Script)
	}
	h.env.Loop.Run(rel.ReleaseShared)
	if n := bg.ActiveN.Load(); n != 0 {
		t.Fatalf("%d bg sessions active after ReleaseShared, want 0", n)
	}
	// The sessions fed by runMessage were not made by a script: they run on.
	if n := pipelineOf(t, prog, "make").ActiveN.Load(); n != 2 {
		t.Fatalf("%d make sessions active after ReleaseShared, want 2", n)
	}
	h.env.Loop.Run(rel.ReleaseShared) // nothing left: a no-op
}
