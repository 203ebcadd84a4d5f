package master

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pipy-go/pipy/ipc"
)

// A worker that dies is started again at once in its slot, on the slot's
// socket and with the running program; the other slots are left alone.
func TestRestartAfterCrash(t *testing.T) {
	l := newFakeLauncher(nil)
	h := newHarness(t, helloScript, 2, l, nil).start()
	first := l.current()
	if len(first) != 2 || first[1].sockets[0] == first[2].sockets[0] {
		t.Fatalf("workers %v: want two slots with a socket each", first)
	}
	if first[1].module != "/pipy.js" || first[1].listeners[0] != "0.0.0.0:8080" {
		t.Errorf("assignment: module %q listeners %q", first[1].module, first[1].listeners)
	}
	first[1].crash <- "exit status 2"
	again := l.next(t)
	if again.slot != 1 || again.sockets[0] != first[1].sockets[0] || again.module != "/pipy.js" {
		t.Errorf("restarted worker: slot %d socket %v module %q; want slot 1 on socket %v running /pipy.js",
			again.slot, again.sockets, again.module, first[1].sockets)
	}
	h.waitLine("[master] worker 1 (pid 1001) died: exit status 2")
	if d := again.started.Sub(first[1].started); d > time.Second {
		t.Errorf("restart after %v, want at once", d)
	}
	if h.count("keeps crashing") != 0 {
		t.Errorf("a single crash was reported as `keeps crashing`")
	}
	if l.count() != 3 || l.current()[2] != first[2] {
		t.Errorf("launches %d, want 3 (slot 2 untouched)", l.count())
	}
	for !h.m.ready() {
		time.Sleep(5 * time.Millisecond)
	}
}

// A worker that keeps dying young is restarted after a delay that doubles
// up to a bound; one that then stays up is left alone.
func TestBackoffWhileCrashing(t *testing.T) {
	const crashes = 5
	l := newFakeLauncher(nil)
	h := newHarness(t, helloScript, 1, l, nil).start()
	w := l.current()[1]
	var starts []time.Time
	for i := 0; i < crashes; i++ {
		w.crash <- "exit status 1"
		w = l.next(t)
		starts = append(starts, w.started)
	}
	// Delays before restarts 2..5: 40, 80, 160 (bound), 160 ms.
	want := []time.Duration{40, 80, 160, 160}
	for i, ms := range want {
		d := starts[i+1].Sub(starts[i])
		if d < ms*time.Millisecond || d > ms*time.Millisecond+500*time.Millisecond {
			t.Errorf("restart %d came %v after the previous one, want about %v ms", i+2, d, ms)
		}
	}
	if n := h.count("[master] worker 1 keeps crashing; restarting in"); n != crashes-1 {
		t.Errorf("%d `keeps crashing` lines, want %d", n, crashes-1)
	}
	h.waitLine("restarting in 160ms")
	w.quiet(t, 300*time.Millisecond)
	if l.count() != crashes+1 {
		t.Errorf("%d launches, want %d", l.count(), crashes+1)
	}
}

// SIGHUP: the master loads the new script first, opens the sockets of its
// new port, and every worker gets the program with every socket.
func TestReloadReachesEveryWorker(t *testing.T) {
	l := newFakeLauncher(nil)
	h := newHarness(t, helloScript, 3, l, nil).start()
	ws := l.current()
	writeFile(t, h.root, "pipy.js", twoPortScript)
	h.sigs <- syscall.SIGHUP
	for slot := 1; slot <= 3; slot++ {
		m := ws[slot].expect(t, ipc.Reload)
		if m.Module != "/pipy.js" || strings.Join(m.Listeners, ",") != "0.0.0.0:8080,0.0.0.0:8081" {
			t.Errorf("worker %d: reload %+v, want /pipy.js with both ports", slot, m)
		}
	}
	h.waitLine("Received SIGHUP, reloading script...")
	if h.count("Failed") != 0 {
		t.Errorf("a failure was logged")
	}
	// One socket per slot and port; a worker restarted now gets both.
	h.mu.Lock()
	opened := len(h.listen)
	h.mu.Unlock()
	if want := 2 * (1 + 3); opened != want { // per port: a probe and 3 sockets
		t.Errorf("%d sockets opened, want %d", opened, want)
	}
	ws[2].crash <- "exit status 1"
	if w := l.next(t); w.slot != 2 || len(w.sockets) != 2 {
		t.Errorf("restarted worker %d has sockets %v, want two", w.slot, w.sockets)
	}
}

// A script that does not load is stopped by the master: it is logged with
// its location, no worker hears of it and the sockets stay.
func TestFailedReloadKeepsProgram(t *testing.T) {
	l := newFakeLauncher(nil)
	h := newHarness(t, helloScript, 2, l, nil).start()
	ws := l.current()
	writeFile(t, h.root, "pipy.js", "pipy()\n\n.listen(8081)\n  .noSuchFilter()\n")
	h.sigs <- syscall.SIGHUP
	h.waitLine("Failed reloading script: /pipy.js")
	if h.count("noSuchFilter") == 0 || h.count("pipy.js:4") == 0 {
		t.Errorf("the load error does not name the filter and pipy.js:4:\n%s", strings.Join(h.lines(), "\n"))
	}
	ws[1].quiet(t, 100*time.Millisecond)
	ws[2].quiet(t, 0)
	if addrs, _ := h.m.socketsFor(1); strings.Join(addrs, ",") != "0.0.0.0:8080" {
		t.Errorf("sockets after a failed reload: %v", addrs)
	}
	if got := h.m.currentModule(); got != "/pipy.js" {
		t.Errorf("program %q after a failed reload", got)
	}
}

// A worker that fails to reload is reported, and a console start that
// meets one fails.
func TestWorkerReloadErrorReported(t *testing.T) {
	l := newFakeLauncher(func(slot, n int) plan {
		if slot == 2 {
			return plan{reloadErr: "boom"}
		}
		return plan{}
	})
	h := newHarness(t, helloScript, 2, l, func(o *Options) { o.GUIAddr = "127.0.0.1:0" }).start()
	err := programControl{h.m}.Start("/pipy.js")
	if err == nil || !strings.Contains(err.Error(), "worker 2: boom") {
		t.Errorf("Start with a failing worker: %v, want `worker 2: boom`", err)
	}
	h.waitLine("[master] worker 2 failed to reload: boom")
}

// The console starts, switches and stops the program on every worker
// through the master's loop.
func TestConsoleStartStop(t *testing.T) {
	l := newFakeLauncher(nil)
	h := newHarness(t, helloScript, 2, l, func(o *Options) { o.GUIAddr = "127.0.0.1:0" }).start()
	writeFile(t, h.root, "b/b.js", "pipy()\n\n.listen(9090)\n")
	ws := l.current()
	pc := programControl{h.m}
	if got := pc.Current(); got != "/pipy.js" {
		t.Fatalf("Current() = %q", got)
	}
	if _, ok := pc.Config()["/pipy.js"]; !ok {
		t.Errorf("Config() has no graph of /pipy.js")
	}
	if err := pc.Start("b/b.js"); err != nil {
		t.Fatalf("Start(b/b.js): %v", err)
	}
	for _, w := range ws {
		if m := w.expect(t, ipc.Reload); m.Module != "/b/b.js" || strings.Join(m.Listeners, ",") != "0.0.0.0:9090" {
			t.Errorf("worker %d: %+v, want /b/b.js on 9090 only", w.slot, m)
		}
	}
	if got := pc.Current(); got != "/b/b.js" {
		t.Errorf("Current() after Start = %q", got)
	}
	if err := pc.Start("/nope.js"); err == nil {
		t.Errorf("Start(/nope.js) succeeded")
	}
	h.waitLine("Failed starting script: /nope.js")
	if got := pc.Current(); got != "/b/b.js" {
		t.Errorf("Current() after a failed start = %q", got)
	}
	if err := pc.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, w := range ws {
		w.expect(t, ipc.Unload)
	}
	if got, _ := h.m.socketsFor(1); pc.Current() != "" || len(got) != 0 {
		t.Errorf("after Stop: program %q, sockets %v", pc.Current(), got)
	}
	// A worker started now has no program.
	ws[1].crash <- "exit status 1"
	if w := l.next(t); w.module != "" || len(w.listeners) != 0 {
		t.Errorf("restarted after Stop: module %q listeners %v", w.module, w.listeners)
	}
}

// The master tells the upgrader it is ready only when every worker is; an
// upgrade leaves the workers serving until the new binary takes over, and
// then drains them without closing the sockets the new one inherited.
func TestUpgradeReadiness(t *testing.T) {
	release := make(chan struct{})
	l := newFakeLauncher(func(slot, n int) plan {
		if slot == 2 {
			return plan{readyAfter: release}
		}
		return plan{}
	})
	h := newHarness(t, helloScript, 2, l, nil)
	go func() { h.code <- h.m.run() }()
	l.next(t)
	l.next(t)
	time.Sleep(100 * time.Millisecond)
	if h.upg.ready() != 0 || h.m.ready() {
		t.Fatalf("ready before worker 2 was")
	}
	close(release)
	select {
	case <-h.upg.readyC:
	case <-time.After(5 * time.Second):
		t.Fatalf("upgrader not told ready after every worker was")
	}
	h.waitLine("[master] 2 worker(s) ready, pid ")
	ws := l.current()

	h.sigs <- syscall.SIGUSR2
	h.waitLine("Received SIGUSR2, upgrading...")
	ws[1].quiet(t, 150*time.Millisecond)
	h.upg.takeOver()
	for _, w := range ws {
		w.expect(t, ipc.Drain)
	}
	if code := h.exitCode(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	_, files := h.m.socketsFor(1)
	if !listening(files[0]) {
		t.Errorf("the old master shut the sockets down: the new one's workers accept on them")
	}
	if strings.Contains(h.stdout.String(), "Done.") {
		t.Errorf("an upgraded master printed Done.")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.upg.upgrades != 1 {
		t.Errorf("%d upgrades, want 1", h.upg.upgrades)
	}
}

// SIGTERM drains: the sockets stop accepting, every worker gets Drain, and
// at the drain timeout the master stops what is left.
func TestDrainTimeout(t *testing.T) {
	l := newFakeLauncher(func(slot, n int) plan { return plan{holdDrain: true} })
	h := newHarness(t, helloScript, 2, l, func(o *Options) { o.DrainTimeout = 300 * time.Millisecond }).start()
	ws := l.current()
	t0 := time.Now()
	h.sigs <- syscall.SIGTERM
	for _, w := range ws {
		w.expect(t, ipc.Drain)
	}
	if h.m.ready() {
		t.Errorf("ready while draining")
	}
	_, files := h.m.socketsFor(1)
	if listening(files[0]) {
		t.Errorf("the sockets still accept while the master drains")
	}
	for _, w := range ws {
		w.expect(t, ipc.Stop)
	}
	if code := h.exitCode(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	if d := time.Since(t0); d < 300*time.Millisecond {
		t.Errorf("stopped after %v, before the drain timeout", d)
	}
	h.waitLine("Received SIGTERM, shutting down...")
	h.waitLine("drain timeout")
	h.waitLine("Stopped.")
	if out := h.stdout.String(); out != "Done.\n" {
		t.Errorf("stdout %q, want Done.", out)
	}
}

// SIGINT drains without a time limit; a second SIGINT forces: Stop, then
// Kill for a worker that does not stop.
func TestDrainForced(t *testing.T) {
	l := newFakeLauncher(func(slot, n int) plan { return plan{holdDrain: true, ignoreStop: slot == 1} })
	h := newHarness(t, helloScript, 2, l, func(o *Options) { o.DrainTimeout = 100 * time.Millisecond }).start()
	ws := l.current()
	h.sigs <- syscall.SIGINT
	for _, w := range ws {
		w.expect(t, ipc.Drain)
	}
	ws[1].quiet(t, 300*time.Millisecond) // beyond the drain timeout: SIGINT has none
	select {
	case c := <-h.code:
		t.Fatalf("the master stopped (status %d) with sessions open", c)
	default:
	}
	h.sigs <- syscall.SIGINT
	h.waitLine("Forcing to shut down...")
	for _, w := range ws {
		w.expect(t, ipc.Stop)
		w.waitDone(t)
	}
	if st := ws[1].ExitStatus(); !strings.Contains(st, "killed") {
		t.Errorf("worker 1 ignoring Stop ended with %q, want killed", st)
	}
	if code := h.exitCode(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// Stats: SIGTSTP sums the pipelines of every worker from fresh reports, and
// the admin endpoint gives per-worker series, the sums and readiness.
func TestStatsSummedAcrossWorkers(t *testing.T) {
	l := newFakeLauncher(func(slot, n int) plan {
		return plan{stat: ipc.WorkerStat{Accepted: int64(10 * slot), Requests: int64(slot), Pipelines: []ipc.PipelineStat{
			{Name: "/pipy.js [0.0.0.0:8080]", Allocated: int64(slot), Active: 1},
			{Name: fmt.Sprintf("/pipy.js [only%d]", slot), Allocated: 5, Active: 0},
		}}}
	})
	h := newHarness(t, helloScript, 2, l, nil).start()
	ws := l.current()
	h.sigs <- syscall.SIGTSTP
	h.waitLine("Received SIGTSTP, dumping...")
	for _, w := range ws {
		w.expect(t, ipc.Stats) // asked for a fresh report
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(h.stdout.String(), "TOTAL") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	table := h.stdout.String()
	for _, re := range []string{`(?m)^  /pipy.js \[0.0.0.0:8080\] +3 +2 +$`, `(?m)^  /pipy.js \[only1\] +5 +0 +$`, `(?m)^TOTAL +13 +2 +$`} {
		if !regexp.MustCompile(re).MatchString(table) {
			t.Errorf("status table lacks %s:\n%s", re, table)
		}
	}

	srv := httptest.NewServer(h.m.adminHandler())
	defer srv.Close()
	get := func(path string) (int, string) {
		r, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	_, metrics := get("/metrics")
	for _, want := range []string{
		"# TYPE pipy_connections_accepted_total counter\n",
		"pipy_connections_accepted_total{worker=\"1\"} 10\n",
		"pipy_connections_accepted_total{worker=\"2\"} 20\n",
		"pipy_http_requests_total{worker=\"2\"} 2\n",
		"pipy_sessions_active{worker=\"1\",pipeline=\"/pipy.js [0.0.0.0:8080]\"} 1\n",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}
	_, status := get("/status")
	var doc statusDoc
	if err := json.Unmarshal([]byte(status), &doc); err != nil {
		t.Fatalf("/status: %v\n%s", err, status)
	}
	if len(doc.Workers) != 2 || !doc.Workers[1].Ready || doc.Workers[1].Stats.PID != 2001 {
		t.Errorf("/status workers: %+v", doc.Workers)
	}
	if p := doc.Pipelines[0]; p.Name != "/pipy.js [0.0.0.0:8080]" || p.Allocated != 3 || p.Active != 2 {
		t.Errorf("/status pipeline sums: %+v", doc.Pipelines)
	}
	if code, body := get("/ready"); code != 200 || body != "ready\n" {
		t.Errorf("/ready = %d %q", code, body)
	}
	if cs := h.m.consoleStats(); len(cs) != 2 || cs[0].Requests+cs[1].Requests != 3 {
		t.Errorf("console stats: %+v", cs)
	}
	// A worker down makes the master not ready until its slot is back.
	ws[2].Kill()
	h.waitLine("[master] worker 2 (pid 2001) died: killed by signal killed")
	l.next(t)
	deadline = time.Now().Add(5 * time.Second)
	for code, _ := get("/ready"); code != 200; code, _ = get("/ready") {
		if time.Now().After(deadline) {
			t.Fatalf("/ready = %d after the restart", code)
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.sigs <- syscall.SIGINT
	h.exitCode()
	if code, _ := get("/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("/ready = %d after the stop, want 503", code)
	}
}

// A worker that exits during start-up fails the start: status 1, the others
// are stopped.
func TestStartupFailure(t *testing.T) {
	l := newFakeLauncher(func(slot, n int) plan {
		if slot == 2 {
			return plan{exitAtOnce: "exit status 1"}
		}
		return plan{}
	})
	h := newHarness(t, helloScript, 2, l, nil)
	if code := h.m.run(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	h.waitLine("[master] worker 2 exited during start-up (exit status 1)")
	l.current()[1].waitDone(t)
	if h.upg.ready() != 0 {
		t.Errorf("the upgrader was told ready")
	}
}

// A script that does not load stops the master before any worker starts;
// with the console it starts with no program instead.
func TestLoadErrorAtStart(t *testing.T) {
	l := newFakeLauncher(nil)
	h := newHarness(t, "pipy()\n.listen(8080)\n  .noSuchFilter()\n", 2, l, nil)
	if code := h.m.run(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if l.count() != 0 {
		t.Errorf("%d workers launched", l.count())
	}
	h.waitLine("noSuchFilter")

	l = newFakeLauncher(nil)
	h = newHarness(t, "pipy()\n.listen(8080)\n  .noSuchFilter()\n", 1, l, func(o *Options) { o.GUIAddr = "127.0.0.1:0" })
	h.start()
	if w := l.current()[1]; w.module != "" {
		t.Errorf("worker started with %q, want no program", w.module)
	}
	h.waitLine("[gui] the script did not start")
}

// Signals that come while the workers start are not lost: a reload waits
// for the loop, a stop drains what has started.
func TestSignalsDuringStartup(t *testing.T) {
	release := make(chan struct{})
	l := newFakeLauncher(func(slot, n int) plan { return plan{readyAfter: release} })
	h := newHarness(t, helloScript, 1, l, nil)
	go func() { h.code <- h.m.run() }()
	w := l.next(t)
	h.sigs <- syscall.SIGHUP
	time.Sleep(50 * time.Millisecond)
	close(release)
	h.waitLine("[master] 1 worker(s) ready")
	h.waitLine("Received SIGHUP, reloading script...")
	w.expect(t, ipc.Reload)

	release = make(chan struct{}) // never closed: the worker stays in start-up
	h2 := newHarness(t, helloScript, 1, l, nil)
	go func() { h2.code <- h2.m.run() }()
	w = l.next(t)
	h2.sigs <- syscall.SIGTERM
	h2.waitLine("Received SIGTERM, shutting down...")
	w.waitDone(t)
	if code := h2.exitCode(); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
}

// After an upgrade the master takes the sockets it inherited instead of
// opening new ones, except one that no longer listens.
func TestInheritedSockets(t *testing.T) {
	l := newFakeLauncher(nil)
	h := newHarness(t, twoPortScript, 1, l, nil)
	kept, err := h.listenSocket(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	dead, err := h.listenSocket(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	shutdownSocket(dead)
	h.upg.inherited[socketName("0.0.0.0:8080", 0)] = kept
	h.upg.inherited[socketName("0.0.0.0:8081", 0)] = dead
	h.listen = nil
	h.start()
	w := l.current()[1]
	if want := socketAddrs([]*os.File{kept})[0]; w.sockets[0] != want {
		t.Errorf("worker got socket %v for 8080, want the inherited %s", w.sockets, want)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if strings.Join(h.listen, ",") != "0.0.0.0:8081 reuse=false" {
		t.Errorf("sockets opened: %q, want only 8081 (its inherited socket was dead)", h.listen)
	}
	if strings.Join(h.upg.added, ",") != socketName("0.0.0.0:8081", 0) {
		t.Errorf("kept for the next upgrade: %q", h.upg.added)
	}
}
