package test

// A reload frees the program it replaces: 300 SIGHUPs under light traffic
// leave the resident set size where it was after the first 20 (issue 12).
// The first reloads are left out of the comparison because the process is
// still warming up then: the binary's code pages for reloading are touched
// for the first time and the Go runtime sizes its heap. Linux only (the
// RSS is read from /proc).

import (
	"bufio"
	"debug/buildinfo"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	leakReloads   = 300
	leakBaseAfter = 20   // reloads before the baseline RSS is taken
	leakTolerance = 0.10 // RSS after all reloads may exceed the baseline by this
)

const leakScript = `pipy()

.listen(PORT)
  .decodeHttpRequest()
  .replaceMessage(new Message('Hello!\n'))
  .encodeHttpResponse()
`

// mustRSS returns the resident set size of pid in bytes (vmRSS of
// backpressure_test.go), failing the test when it cannot be read.
func mustRSS(t *testing.T, pid int) int64 {
	t.Helper()
	n, err := vmRSS(pid)
	if err != nil {
		t.Fatalf("reading the RSS of pid %d: %v", pid, err)
	}
	return n
}

// lightTraffic is the traffic a reload test runs: a request on a new
// connection every 100 ms from a goroutine, and, after each reload (step),
// one request on a new connection and one on a keep-alive connection that
// is replaced every 8 steps, so that sessions of replaced programs live
// across reloads and end later. It counts answers and failures (anything
// but a 200 with the body want).
type lightTraffic struct {
	port int
	want string

	ok, failed atomic.Int64
	mu         sync.Mutex
	firstErr   string
	stop       chan struct{}
	wg         sync.WaitGroup

	keep  *client // the keep-alive connection (step only)
	steps int
}

func startLightTraffic(port int, want string) *lightTraffic {
	lt := &lightTraffic{port: port, want: want, stop: make(chan struct{})}
	lt.wg.Add(1)
	go func() {
		defer lt.wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-lt.stop:
				return
			case <-tick.C:
			}
			code, body, err := tryGet(port, "/", ioTimeout)
			lt.note(code, body, err)
		}
	}()
	return lt
}

// step sends one request on a new connection and one on the keep-alive
// connection.
func (lt *lightTraffic) step() {
	code, body, err := tryGet(lt.port, "/step", ioTimeout)
	lt.note(code, body, err)
	if lt.keep == nil || lt.steps%8 == 0 {
		if lt.keep != nil {
			lt.keep.c.Close()
			lt.keep = nil
		}
		c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", lt.port), dialTimeout)
		if err != nil {
			lt.note(0, "", err)
			return
		}
		lt.keep = &client{c: c, br: bufio.NewReader(c)}
	}
	lt.steps++
	c := lt.keep
	c.c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(c.c, "GET /keep-alive HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		lt.note(0, "", err)
		c.c.Close()
		lt.keep = nil
		return
	}
	r, err := c.tryReadResponse(ioTimeout)
	if err != nil {
		lt.note(0, "", err)
		c.c.Close()
		lt.keep = nil
		return
	}
	lt.note(r.Code, string(r.Body), nil)
}

func (lt *lightTraffic) note(code int, body string, err error) {
	if err == nil && code == 200 && body == lt.want {
		lt.ok.Add(1)
		return
	}
	lt.failed.Add(1)
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.firstErr == "" {
		lt.firstErr = fmt.Sprintf("status %d, body %q, error %v", code, body, err)
	}
}

// end stops the traffic and checks that every request was answered.
func (lt *lightTraffic) end(t *testing.T) {
	t.Helper()
	close(lt.stop)
	lt.wg.Wait()
	if lt.keep != nil {
		lt.keep.c.Close()
	}
	t.Logf("traffic: %d requests answered, %d failed", lt.ok.Load(), lt.failed.Load())
	if lt.ok.Load() == 0 {
		t.Errorf("no request was answered")
	}
	if lt.failed.Load() > 0 {
		t.Errorf("%d requests failed across the reloads; first: %s", lt.failed.Load(), lt.firstErr)
	}
}

// raceBuilt reports whether the binary under test was built with -race.
func raceBuilt(t *testing.T) bool {
	t.Helper()
	info, err := buildinfo.ReadFile(pipyBin(t))
	if err != nil {
		t.Fatalf("reading the build info of %s: %v", pipyBin(t), err)
	}
	for _, s := range info.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

// reloadRSS sends leakReloads SIGHUPs to p, calling reloaded(mark) after
// each to wait for its outcome and then a traffic step, and checks the RSS
// of the processes of rss() (by name) after all of them against its value
// after the first leakBaseAfter: their sum, and each process but those
// named in notEach.
func reloadRSS(t *testing.T, p *pipyProc, lt *lightTraffic, reloaded func(mark int), rss func() map[string]int64, notEach ...string) {
	t.Helper()
	start := time.Now()
	sum := func(m map[string]int64) (n int64) {
		for _, v := range m {
			n += v
		}
		return n
	}
	show := func(i int, m map[string]int64) string {
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		parts := make([]string, 0, len(m))
		for _, k := range names {
			parts = append(parts, fmt.Sprintf("%s %.1f", k, float64(m[k])/(1<<20)))
		}
		if len(m) == 1 {
			return fmt.Sprintf("%d: %.1f MiB", i, float64(sum(m))/(1<<20))
		}
		return fmt.Sprintf("%d: %.1f MiB (%s)", i, float64(sum(m))/(1<<20), strings.Join(parts, ", "))
	}
	var base, final map[string]int64
	trail := []string{show(0, rss())}
	for i := 1; i <= leakReloads; i++ {
		mark := p.lineMark()
		p.signal(syscall.SIGHUP)
		reloaded(mark)
		lt.step()
		if i == leakBaseAfter || i%50 == 0 {
			m := rss()
			trail = append(trail, show(i, m))
			if i == leakBaseAfter {
				base = m
			}
			final = m
		}
	}
	t.Logf("RSS after reloads:\n  %s\n(%d reloads in %v)", strings.Join(trail, "\n  "), leakReloads, time.Since(start).Round(time.Millisecond))
	if raceBuilt(t) {
		// The race detector's own memory grows with every goroutine the
		// traffic starts (some 3 MiB over 1,000 reloads): the numbers say
		// nothing about pipy's.
		t.Logf("%s is race-built: RSS logged, not checked", pipyBin(t))
		return
	}
	check := func(what string, from, to int64) {
		if limit := float64(from) * (1 + leakTolerance); float64(to) > limit {
			t.Errorf("RSS of %s grew from %.1f MiB after %d reloads to %.1f MiB after %d (more than %.0f %%): a reload does not free what it replaces",
				what, float64(from)/(1<<20), leakBaseAfter, float64(to)/(1<<20), leakReloads, leakTolerance*100)
		}
	}
	if len(base) > 1 {
		check("all processes", sum(base), sum(final))
	}
	for name := range base {
		if !slices.Contains(notEach, name) {
			check(name, base[name], final[name])
		}
	}
}

func TestReloadLeakSingleProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the RSS from /proc (Linux only)")
	}
	port := freePort(t)
	const name = "reload_leak.js"
	script := writeScript(t, name, leakScript, port)
	p := startScript(t, script, port)
	lt := startLightTraffic(port, "Hello!\n")
	pid := p.cmd.Process.Pid
	reloadRSS(t, p, lt, func(mark int) {
		p.waitLineSince(mark, "Script reloaded: /"+name, 10*time.Second)
	}, func() map[string]int64 { return map[string]int64{"pipy": mustRSS(t, pid)} })
	lt.end(t)
	p.stopOK()
}

func TestReloadLeakSpawnTwo(t *testing.T) {
	port := freePort(t)
	const name = "reload_leak_spawn.js"
	p, _ := startSpawned(t, name, leakScript, port, 2, nil, "--spawn=2")
	master := p.cmd.Process.Pid
	workers := waitWorkers(t, master, 2, 10*time.Second)
	lt := startLightTraffic(port, "Hello!\n")
	// A worker that died (say, out of memory) and was restarted would
	// look smaller: the pids must stay the same.
	reloadRSS(t, p, lt, func(mark int) {
		waitReloaded(t, p, mark, name, 2)
	}, func() map[string]int64 {
		if now, _ := workersOf(master); fmt.Sprint(now) != fmt.Sprint(workers) {
			t.Fatalf("workers changed during the reloads: %v -> %v", workers, now)
		}
		m := map[string]int64{"master": mustRSS(t, master)}
		for slot, pid := range workers {
			m[fmt.Sprintf("worker %d", slot)] = mustRSS(t, pid)
		}
		return m
	})
	lt.end(t)
}
