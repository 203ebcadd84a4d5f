package exec_test

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

const execScript = `pipy({_g: {notified: 0}})
.pipeline('cat')
  .exec('cat')
.pipeline('exit3')
  .exec(['sh', '-c', 'echo hi; exit 3'])
.pipeline('missing')
  .exec('/nonexistent/pipy-no-such-program --flag')
.pipeline('sleeper')
  .exec(() => ['sh', '-c', 'echo $$; exec sleep 30'])
.pipeline('empty')
  .exec('')
`

func needSh(t *testing.T) {
	t.Helper()
	for _, p := range []string{"sh", "cat", "sleep"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not available", p)
		}
	}
}

// outString is r.bytesOut() read inside the loop.
func outString(r *filtertest.Rec) string {
	var s string
	r.Run(func() { s = r.BytesOut() })
	return s
}

func lastIsSessionEnd(r *filtertest.Rec) bool {
	e := r.Last()
	return e != nil && e.Kind() == filters.KindSessionEnd
}

// alive reports whether process pid exists (and is not yet reaped).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// startSleeper starts a session running a long-lived child and returns it
// with the child's pid.
func startSleeper(t *testing.T, w *filtertest.World) (*filtertest.Rec, int) {
	t.Helper()
	r := w.Session("sleeper")
	start := time.Now()
	r.Feed(filtertest.Data(""))
	filtertest.WaitOut(t, r, start, 5*time.Second, "pid", func() bool { return strings.Contains(r.BytesOut(), "\n") })
	pid, err := strconv.Atoi(strings.TrimSpace(outString(r)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid output %q", outString(r))
	}
	if !alive(pid) {
		t.Fatalf("child %d not running", pid)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	return r, pid
}

func waitGone(t *testing.T, pid int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d still running after %v", pid, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExecCatEchoes(t *testing.T) {
	needSh(t)
	w := filtertest.Load(t, execScript)
	r := w.Session("cat")
	start := time.Now()
	r.Feed(filtertest.Data("hello "), filtertest.Data(""), filters.TheMessageEnd)
	filtertest.WaitOut(t, r, start, 5*time.Second, "echo", func() bool { return r.BytesOut() == "hello " })
	if lastIsSessionEnd(r) {
		t.Fatal("SessionEnd before the input ended")
	}
	r.Feed(filtertest.Data("world"))
	filtertest.WaitOut(t, r, start, 5*time.Second, "second echo", func() bool { return r.BytesOut() == "hello world" })
	r.Feed(&filters.SessionEnd{})
	// stdin EOF: cat exits, then SessionEnd
	filtertest.WaitOut(t, r, start, 5*time.Second, "SessionEnd", func() bool { return lastIsSessionEnd(r) })
	var kinds string
	r.Run(func() {
		kinds = r.Kinds()
		if err := r.WellFormed(); err != nil {
			t.Error(err)
		}
	})
	if !strings.HasSuffix(kinds, "D(0) SE") || !strings.HasPrefix(kinds, "D(6) D(0)") {
		t.Fatalf("events %s (each read is followed by an empty Data)", kinds)
	}
	if strings.Count(kinds, "SE") != 1 {
		t.Fatalf("events %s", kinds)
	}
	// input after the end is ignored
	r.Feed(filtertest.Data("more"))
	if got := outString(r); got != "hello world" {
		t.Fatalf("got %q", got)
	}
}

// Input arriving before the child is started is queued and written.
func TestExecInputBeforeStart(t *testing.T) {
	needSh(t)
	w := filtertest.Load(t, execScript)
	r := w.Session("cat")
	start := time.Now()
	r.Feed(filtertest.Data("a"), filtertest.Data("b"), filtertest.Data("c"), &filters.SessionEnd{})
	filtertest.WaitOut(t, r, start, 5*time.Second, "SessionEnd", func() bool { return lastIsSessionEnd(r) })
	if got := outString(r); got != "abc" {
		t.Fatalf("got %q", got)
	}
}

func TestExecOutputThenSessionEnd(t *testing.T) {
	needSh(t)
	w := filtertest.Load(t, execScript)
	r := w.Session("exit3")
	start := time.Now()
	r.Feed(filtertest.Data(""))
	filtertest.WaitOut(t, r, start, 5*time.Second, "SessionEnd", func() bool { return lastIsSessionEnd(r) })
	if got := outString(r); got != "hi\n" {
		t.Fatalf("got %q", got)
	}
	if got := filtertest.KindsNow(r); got != "D(3) D(0) SE" {
		t.Fatalf("events %s", got)
	}
}

// The group is notified after each output: a wait() in the same context
// group wakes up.
func TestExecNotifiesGroup(t *testing.T) {
	needSh(t)
	w := filtertest.Load(t, `pipy({_out: ''})
.pipeline('p')
  .fork('run')
  .wait(() => _out.length > 0)
  .replaceData(d => d.size > 0 ? new Data('[' + _out + ']') : d)
.pipeline('run')
  .exec('cat')
  .onData(d => _out += d.toString())
`)
	r := w.Session("p")
	start := time.Now()
	r.Feed(filtertest.Data("x"))
	filtertest.WaitOut(t, r, start, 5*time.Second, "wait released", func() bool { return len(r.Evts) > 0 })
	if got := outString(r); got != "[x]" {
		t.Fatalf("got %q", got)
	}
	r.Feed(&filters.SessionEnd{})
}

// A child that exits without reading its stdin: writing the input fails
// (EPIPE), which must not throw away the output the child wrote before.
func TestExecOutputKeptWhenStdinWriteFails(t *testing.T) {
	needSh(t)
	w := filtertest.Load(t, `pipy().pipeline('p').exec(['sh', '-c', 'echo ok'])`)
	for i := 0; i < 5; i++ {
		r := w.Session("p")
		// hold the loop so that the child has exited before the input
		// is written to it
		r.Run(func() {
			r.S.Input(filtertest.Data("x"))
			time.Sleep(150 * time.Millisecond)
		})
		filtertest.WaitOut(t, r, time.Now(), 5*time.Second, "SessionEnd", func() bool { return lastIsSessionEnd(r) })
		if got := outString(r); got != "ok\n" {
			t.Fatalf("attempt %d: output %q (%s), want \"ok\\n\": a write error on the child's "+
				"socket (EPIPE) closes the whole Conn and the unread stdout is lost", i+1, got, filtertest.KindsNow(r))
		}
	}
}

func TestExecMissingProgram(t *testing.T) {
	w := filtertest.Load(t, execScript)
	r := w.Session("missing")
	start := time.Now()
	r.Feed(filtertest.Data("x"))
	filtertest.WaitOut(t, r, start, 5*time.Second, "SessionEnd", func() bool { return lastIsSessionEnd(r) })
	if got := filtertest.KindsNow(r); got != "SE" {
		t.Fatalf("events %s", got)
	}
	if log := w.LogText(); !strings.Contains(log, "[exec] unable to exec: /nonexistent/pipy-no-such-program --flag") {
		t.Fatalf("log: %s", log)
	}
}

func TestExecEmptyCommand(t *testing.T) {
	w := filtertest.Load(t, execScript)
	r := w.Session("empty")
	r.Feed(filtertest.Data("x"))
	if got := filtertest.KindsNow(r); got != "" {
		t.Fatalf("events %s", got)
	}
	if log := w.LogText(); !strings.Contains(log, "[exec] command is empty") {
		t.Fatalf("log: %s", log)
	}
}

// A SessionEnd before any other event starts nothing and ends the output.
func TestExecSessionEndFirst(t *testing.T) {
	w := filtertest.Load(t, execScript)
	r := w.Session("cat")
	r.Feed(&filters.SessionEnd{})
	if got := filtertest.KindsNow(r); got != "SE" {
		t.Fatalf("events %s", got)
	}
}

func TestExecSessionFreedKillsChild(t *testing.T) {
	needSh(t)
	w := filtertest.Load(t, execScript)
	r, pid := startSleeper(t, w)
	// closing stdin does not stop sleep
	r.Feed(&filters.SessionEnd{})
	time.Sleep(100 * time.Millisecond)
	if !alive(pid) || lastIsSessionEnd(r) {
		t.Fatal("child ended on stdin EOF")
	}
	// the session goes away (e.g. its connection was closed)
	r.Run(func() { r.S.Kill() })
	waitGone(t, pid, 5*time.Second)
}

func TestExecTerminateChildren(t *testing.T) {
	needSh(t)
	w := filtertest.Load(t, execScript)
	r, pid := startSleeper(t, w)
	w.Env.Children.Terminate()
	waitGone(t, pid, 5*time.Second)
	// the child exited: the session outputs its SessionEnd
	filtertest.WaitOut(t, r, time.Now(), 5*time.Second, "SessionEnd", func() bool { return lastIsSessionEnd(r) })
}
