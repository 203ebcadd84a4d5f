package test

// Faults under load. Each test drives steady keep-alive HTTP traffic
// through bin/pipy on a healthy route while one fault happens on another
// route (or to a process, the script or the console), and asserts that
//
//  1. the worker process survives (same pid; after kill -9 the master
//     restarts it),
//  2. the other sessions are untouched: every request on the healthy route
//     gets the exact expected body, with no failure (kill -9 excepted: the
//     connections of the killed worker fail, and only within a short
//     window),
//  3. the log says what happened.
//
// Everything runs on loopback with free ports. The load is bounded in time
// and modest (8 healthy connections, a few paced faulty ones), and waits are
// on log lines, counters and processes, never blind sleeps.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// faultScript serves four ports:
//
//   - PORT_HEALTHY: a TCP proxy to the service on PORT_SERVICE (one upstream
//     connection per client connection, so keep-alive goes end to end);
//   - PORT_SERVICE: answers every request with BODY;
//   - PORT_TCP_FAULTY: a TCP proxy, like PORT_HEALTHY, to PORT_UPSTREAM,
//     where each test puts its faulty upstream;
//   - PORT_FAULTY: an HTTP proxy (one upstream connection per request, via
//     demux) to PORT_UPSTREAM; it logs every answer with its status and
//     time;
//   - PORT_THROW: a callback that throws on every request.
const faultScript = `pipy({ _t0: 0, _status: 0 })

.listen(PORT_HEALTHY)
  .connect('127.0.0.1:PORT_SERVICE')

.listen(PORT_SERVICE)
  .decodeHttpRequest()
  .replaceMessage(new Message('BODY'))
  .encodeHttpResponse()

.listen(PORT_TCP_FAULTY)
  .connect('127.0.0.1:PORT_UPSTREAM')

.listen(PORT_FAULTY)
  .decodeHttpRequest()
  .demux('forward')
  .encodeHttpResponse()

.pipeline('forward')
  .onMessageStart(() => _t0 = Date.now())
  .encodeHttpRequest()
  .connect('127.0.0.1:PORT_UPSTREAM')
  .decodeHttpResponse()
  .onMessageStart(evt => _status = evt.head.status)
  .onMessageEnd(() => console.log('upstream answered ' + _status + ' after ' + (Date.now() - _t0) + ' ms'))

.listen(PORT_THROW)
  .decodeHttpRequest()
  .onMessageStart(() => { throw new Error('boom') })
  .replaceMessage(new Message('unreachable\n'))
  .encodeHttpResponse()
`

const faultBody = "healthy\n"

// faultEnv is a running pipy on faultScript.
type faultEnv struct {
	p      *pipyProc
	script string
	ports  map[string]int
	master int         // the started process (the master with --spawn)
	before map[int]int // worker pids by slot at start (--spawn), else {0: pid}
}

func (e *faultEnv) port(name string) int { return e.ports[name] }

// faultPorts picks free ports for the script. The upstream port is free
// too: tests that need an upstream listen on it.
func faultPorts(t *testing.T) map[string]int {
	t.Helper()
	ports := map[string]int{}
	seen := map[int]bool{}
	for _, k := range []string{"PORT_HEALTHY", "PORT_SERVICE", "PORT_FAULTY", "PORT_TCP_FAULTY", "PORT_UPSTREAM", "PORT_THROW", "PORT_GUI"} {
		for i := 0; ports[k] == 0; i++ {
			if i == 100 {
				t.Fatalf("no distinct free port for %s", k)
			}
			if p := freePort(t); !seen[p] {
				seen[p] = true
				ports[k] = p
			}
		}
	}
	return ports
}

func faultScriptText(ports map[string]int, body string) string {
	return strings.ReplaceAll(substPorts(faultScript, ports), "BODY", strings.ReplaceAll(body, "\n", `\n`))
}

// startFault writes faultScript (with body as the service's answer) and
// starts pipy on it: with --spawn=<spawn> when spawn > 0 (then it waits for
// the master's ready line), else as one process (then it waits for the
// listening lines). ports comes from faultPorts.
func startFault(t *testing.T, name string, ports map[string]int, body string, spawn int, args ...string) *faultEnv {
	t.Helper()
	script := writeScript(t, name, faultScriptText(ports, body), 0)
	listenPorts := []int{ports["PORT_HEALTHY"], ports["PORT_SERVICE"], ports["PORT_TCP_FAULTY"], ports["PORT_FAULTY"], ports["PORT_THROW"]}
	requirePortsFree(t, listenPorts...)
	e := &faultEnv{script: script, ports: ports}
	if spawn > 0 {
		e.p = startMaster(t, masterOpts{script: script, args: append([]string{fmt.Sprintf("--spawn=%d", spawn)}, args...)})
		e.master = e.p.cmd.Process.Pid
		if pid := waitMasterReady(t, e.p, 0, spawn, 0, 20*time.Second); pid != e.master {
			t.Fatalf("ready line names pid %d, want the started master %d", pid, e.master)
		}
		e.before = waitWorkers(t, e.master, spawn, 5*time.Second)
	} else {
		e.p = startPipy(t, append([]string{script}, args...)...)
		for _, port := range listenPorts {
			e.p.waitListening(port)
		}
		e.master = e.p.cmd.Process.Pid
		e.before = map[int]int{0: e.master}
	}
	return e
}

// expectSameWorkers asserts that the process (or every worker) is alive
// with the pid it had at start, and that no worker death was logged.
func (e *faultEnv) expectSameWorkers(t *testing.T) {
	t.Helper()
	if e.p.exited() {
		t.Fatalf("pipy exited (status %d) during the fault", e.p.exitCode)
	}
	if _, ok := e.before[0]; ok {
		if !procLive(e.master) {
			t.Errorf("pipy (pid %d) is not alive", e.master)
		}
		return
	}
	now := waitWorkers(t, e.master, len(e.before), 5*time.Second)
	for slot, pid := range e.before {
		if now[slot] != pid {
			t.Errorf("worker %d changed from pid %d to %d during the fault", slot, pid, now[slot])
		}
	}
	if n := e.p.countLines("died"); n > 0 {
		t.Errorf("%d worker death(s) logged", n)
	}
}

// ---------------------------------------------------------------------------
// Load

// faultCheck judges one exchange: the response (nil when none could be
// read) and the error of the exchange. It returns nil for an expected
// outcome.
type faultCheck func(r *response, err error) error

// expect200 accepts a 200 response with exactly one of bodies.
func expect200(bodies ...string) faultCheck {
	return func(r *response, err error) error {
		if err != nil {
			return err
		}
		if r.Code != 200 {
			return fmt.Errorf("status %q (body %q), want 200", r.Status, r.Body)
		}
		for _, b := range bodies {
			if string(r.Body) == b {
				return nil
			}
		}
		return fmt.Errorf("body %q, want one of %q", r.Body, bodies)
	}
}

type faultLoadOpts struct {
	conns     int           // concurrent connections (goroutines)
	path      string        // request path
	check     faultCheck    // judges each exchange
	pace      time.Duration // pause between a connection's requests (0: none)
	reconnect int           // open a new connection after this many requests (0: only after a failure)
	timeout   time.Duration // for one exchange (default ioTimeout)
	max       time.Duration // hard limit on the run (default 20 s)
}

// faultLoad is a running load: conns goroutines, each on a keep-alive
// connection, one request at a time. After a failed exchange (an error or
// a check failure) a goroutine counts it and reconnects.
type faultLoad struct {
	name  string
	port  int
	o     faultLoadOpts
	start time.Time
	stopc chan struct{}
	wg    sync.WaitGroup
	ok    atomic.Int64
	fails atomic.Int64

	mu      sync.Mutex
	errs    []string  // the first failures
	lastErr time.Time // time of the last failure
	lats    []int64   // latencies of the expected outcomes, microseconds
	bodies  map[string]int
}

func startLoad(name string, port int, o faultLoadOpts) *faultLoad {
	if o.max == 0 {
		o.max = 20 * time.Second
	}
	if o.timeout == 0 {
		o.timeout = ioTimeout
	}
	if o.path == "" {
		o.path = "/"
	}
	l := &faultLoad{name: name, port: port, o: o, start: time.Now(), stopc: make(chan struct{}), bodies: map[string]int{}}
	deadline := l.start.Add(o.max)
	for i := 0; i < o.conns; i++ {
		l.wg.Add(1)
		go l.run(i, deadline)
	}
	return l
}

func (l *faultLoad) stopped(deadline time.Time) bool {
	select {
	case <-l.stopc:
		return true
	default:
		return time.Now().After(deadline)
	}
}

func (l *faultLoad) run(id int, deadline time.Time) {
	defer l.wg.Done()
	var c *client
	defer func() {
		if c != nil {
			c.c.Close()
		}
	}()
	n := 0
	for !l.stopped(deadline) {
		if c == nil || l.o.reconnect > 0 && n%l.o.reconnect == 0 {
			if c != nil {
				c.c.Close()
				c = nil
			}
			nc, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", l.port), dialTimeout)
			if err != nil {
				l.record(nil, err, 0)
				continue
			}
			c = &client{c: nc, br: bufio.NewReader(nc)}
		}
		n++
		t0 := time.Now()
		r, err := faultExchange(c, l.o.timeout, fmt.Sprintf("GET %s?c=%d&n=%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", l.o.path, id, n))
		if !l.record(r, err, time.Since(t0)) || err != nil || r.Close {
			c.c.Close()
			c = nil
		}
		if l.o.pace > 0 {
			select {
			case <-l.stopc:
			case <-time.After(l.o.pace):
			}
		}
	}
}

// faultExchange sends one request on c and reads the response.
func faultExchange(c *client, timeout time.Duration, req string) (*response, error) {
	c.c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c.c, req); err != nil {
		return nil, err
	}
	// On an error in the body, r holds the head (and err says why).
	return c.tryReadResponse(timeout)
}

// record judges one exchange and reports whether it was expected.
func (l *faultLoad) record(r *response, err error, lat time.Duration) bool {
	cerr := l.o.check(r, err)
	l.mu.Lock()
	defer l.mu.Unlock()
	if r != nil {
		l.bodies[string(r.Body)]++
	}
	if cerr != nil {
		l.fails.Add(1)
		l.lastErr = time.Now()
		if len(l.errs) < 10 {
			l.errs = append(l.errs, fmt.Sprintf("%s: %v", time.Since(l.start).Round(time.Millisecond), cerr))
		}
		return false
	}
	l.ok.Add(1)
	l.lats = append(l.lats, lat.Microseconds())
	return true
}

// waitOK waits until n more expected outcomes than at the call have been
// counted, failing after timeout.
func (l *faultLoad) waitOK(t *testing.T, n int64, timeout time.Duration) {
	t.Helper()
	want := l.ok.Load() + n
	deadline := time.Now().Add(timeout)
	for l.ok.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s load: %d expected outcomes in %v, want %d (failures %d: %v)", l.name, l.ok.Load(), timeout, want, l.fails.Load(), l.firstErrs())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runFor lets the load run until d after its start (bounded by its max).
func (l *faultLoad) runFor(d time.Duration) {
	select {
	case <-time.After(time.Until(l.start.Add(d))):
	case <-l.stopc:
	}
}

// stop ends the load and waits for its goroutines.
func (l *faultLoad) stop() {
	select {
	case <-l.stopc:
	default:
		close(l.stopc)
	}
	l.wg.Wait()
}

func (l *faultLoad) firstErrs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

// latency returns the q-quantile (0..1) of the latencies of expected
// outcomes.
func (l *faultLoad) latency(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lats) == 0 {
		return 0
	}
	s := append([]int64(nil), l.lats...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q * float64(len(s)-1))
	return time.Duration(s[i]) * time.Microsecond
}

func (l *faultLoad) summary() string {
	return fmt.Sprintf("%s: %d ok, %d failed in %v; latency p50 %v p99 %v max %v",
		l.name, l.ok.Load(), l.fails.Load(), time.Since(l.start).Round(time.Millisecond),
		l.latency(0.5).Round(time.Microsecond), l.latency(0.99).Round(time.Microsecond), l.latency(1).Round(time.Microsecond))
}

// expectClean asserts that the load saw no failure and some successes.
func (l *faultLoad) expectClean(t *testing.T) {
	t.Helper()
	t.Log(l.summary())
	if f := l.fails.Load(); f > 0 {
		t.Errorf("%s: %d failed exchanges, want 0; first: %v", l.name, f, l.firstErrs())
	}
	if l.ok.Load() == 0 {
		t.Errorf("%s: no successful exchange", l.name)
	}
}

// healthyLoad is the load on the healthy route: 8 keep-alive connections,
// each pausing 2 ms between requests (a few thousand requests a second:
// steady, but modest on a shared machine).
func healthyLoad(e *faultEnv, bodies ...string) *faultLoad {
	if len(bodies) == 0 {
		bodies = []string{faultBody}
	}
	return startLoad("healthy", e.port("PORT_HEALTHY"), faultLoadOpts{conns: 8, pace: 2 * time.Millisecond, check: expect200(bodies...)})
}

// ---------------------------------------------------------------------------
// Upstreams

// faultUpstream listens on port and handles each connection with serve
// (in a goroutine of its own) until the test ends.
func faultUpstream(t *testing.T, port int, serve func(c *net.TCPConn, br *bufio.Reader)) *atomic.Int64 {
	t.Helper()
	ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("upstream listen on %d: %v", port, err)
	}
	var conns sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	accepted := new(atomic.Int64)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		conns.Wait()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			open[c] = true
			mu.Unlock()
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer func() {
					mu.Lock()
					delete(open, c)
					mu.Unlock()
					c.Close()
				}()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				serve(c.(*net.TCPConn), bufio.NewReader(c))
			}()
		}
	}()
	return accepted
}

// readRequestHead reads one request head (without a body).
func readRequestHead(br *bufio.Reader) error {
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if l == "\r\n" || l == "\n" {
			return nil
		}
	}
}

// ---------------------------------------------------------------------------
// The faults

// faultAnswerRE matches the script's log line for each proxied answer.
var faultAnswerRE = regexp.MustCompile(`\[pjs\] upstream answered (\d+) after (\d+) ms`)

// Upstream refused: the faulty route proxies to a closed port. The script's
// error path (decodeHttpResponse turns the refused connection into a
// synthetic response) answers 503 Connection Refused on the same
// keep-alive connection; the healthy route is unaffected.
func TestFaultUpstreamRefused(t *testing.T) {
	ports := faultPorts(t)
	e := startFault(t, "fault_refused.js", ports, faultBody, 1)
	up := e.port("PORT_UPSTREAM")
	requirePortsFree(t, up) // nothing listens there

	h := healthyLoad(e)
	h.waitOK(t, 100, 10*time.Second)
	mark := e.p.lineMark()
	f := startLoad("refused", e.port("PORT_FAULTY"), faultLoadOpts{conns: 4, pace: 10 * time.Millisecond, max: 2 * time.Second,
		check: func(r *response, err error) error {
			if err != nil {
				return err
			}
			if r.Code != 503 || r.Status != "503 Connection Refused" || r.Close {
				return fmt.Errorf("got %q (close %v), want 503 Connection Refused on a kept-alive connection", r.Status, r.Close)
			}
			return nil
		}})
	f.waitOK(t, 20, 10*time.Second)
	e.p.waitLineSince(mark, fmt.Sprintf("cannot connect to 127.0.0.1:%d, Connection refused", up), 5*time.Second)
	e.p.waitLineSince(mark, "[pjs] upstream answered 503 after", 5*time.Second)
	f.runFor(2 * time.Second)
	f.stop()
	h.waitOK(t, 100, 10*time.Second) // the healthy route goes on after the fault
	h.runFor(3 * time.Second)
	h.stop()

	h.expectClean(t)
	f.expectClean(t)
	e.expectSameWorkers(t)
	l, _ := e.p.lookLineSince(mark, "Connection refused", 0)
	t.Logf("log: %s", l)
	e.p.stopOK()
}

// Upstream resets mid-response: the upstream writes the head and half of
// the body, then aborts the connection (SO_LINGER 0 and close: an RST).
// Through the TCP proxy the client gets what was sent and then its
// connection closed; through the HTTP proxy (demux) it must get no
// complete response and its connection closed too. The healthy route is
// unaffected either way.
func TestFaultUpstreamReset(t *testing.T) {
	ports := faultPorts(t)
	e := startFault(t, "fault_reset.js", ports, faultBody, 1)
	up := e.port("PORT_UPSTREAM")
	const full = 1000
	faultUpstream(t, up, func(c *net.TCPConn, br *bufio.Reader) {
		if readRequestHead(br) != nil {
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", full, strings.Repeat("x", full/2))
		c.SetLinger(0) // the deferred Close sends an RST
	})

	h := healthyLoad(e)
	h.waitOK(t, 100, 10*time.Second)
	mark := e.p.lineMark()
	// An exchange that gets no answer and no close within hang counts as
	// hung: the client would wait forever.
	const hang = time.Second
	type outcomes struct {
		sync.Mutex
		m map[string]int
	}
	resetCheck := func(o *outcomes) faultCheck {
		return func(r *response, err error) error {
			var what string
			switch {
			case r != nil && err == nil && r.Code == 200:
				return fmt.Errorf("a complete %d-byte response although the upstream reset after %d bytes", len(r.Body), full/2)
			case r != nil && err != nil:
				what = fmt.Sprintf("head %q, then %s in the body", r.Status, faultErrKind(err))
			case r != nil:
				what = fmt.Sprintf("status %q, %d body bytes", r.Status, len(r.Body))
			default:
				what = faultErrKind(err)
			}
			o.Lock()
			o.m[what]++
			o.Unlock()
			return nil
		}
	}
	tcpOut, httpOut := &outcomes{m: map[string]int{}}, &outcomes{m: map[string]int{}}
	ft := startLoad("reset via TCP proxy", e.port("PORT_TCP_FAULTY"), faultLoadOpts{conns: 2, pace: 10 * time.Millisecond, timeout: hang, max: 3 * time.Second, check: resetCheck(tcpOut)})
	fh := startLoad("reset via HTTP proxy", e.port("PORT_FAULTY"), faultLoadOpts{conns: 2, pace: 10 * time.Millisecond, timeout: hang, max: 3 * time.Second, check: resetCheck(httpOut)})
	ft.waitOK(t, 20, 10*time.Second)
	fh.waitOK(t, 2, 10*time.Second)
	readErr := e.p.waitLineSince(mark, fmt.Sprintf("read error from 127.0.0.1:%d", up), 5*time.Second)
	if !strings.Contains(readErr, "connection reset by peer") {
		t.Errorf("log line %q does not say `connection reset by peer`", readErr)
	}
	ft.runFor(2500 * time.Millisecond)
	fh.runFor(2500 * time.Millisecond)
	ft.stop()
	fh.stop()
	h.runFor(3 * time.Second)
	h.stop()

	h.expectClean(t)
	ft.expectClean(t)
	fh.expectClean(t)
	for _, o := range []struct {
		name string
		out  *outcomes
	}{{"TCP proxy", tcpOut}, {"HTTP proxy", httpOut}} {
		for what, n := range o.out.m {
			t.Logf("%s: %s (%d times)", o.name, what, n)
		}
	}
	hung := func(o *outcomes) (n int) {
		for what, k := range o.m {
			if strings.Contains(what, "timeout") {
				n += k
			}
		}
		return n
	}
	if n := hung(tcpOut); n > 0 {
		t.Errorf("TCP proxy: %d clients left hanging after the upstream reset", n)
	}
	e.expectSameWorkers(t)
	t.Logf("log: %s", readErr)
	if n := hung(httpOut); n > 0 {
		// demux must end the client's stream when the answer in progress
		// is cut short (the sub-session's SessionEnd before MessageEnd).
		t.Errorf("HTTP proxy (demux): %d of %d exchanges hung after the upstream reset mid-response", n, fh.ok.Load())
	}
	e.p.stopOK()
}

// faultErrKind names an exchange error without its addresses.
func faultErrKind(err error) string {
	switch {
	case err == nil:
		return "none"
	case isReset(err):
		return "connection reset"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case strings.Contains(err.Error(), "EOF"):
		return "connection closed (EOF)"
	default:
		return err.Error()
	}
}

// Slow upstream: every answer of the upstream takes slowDelay. The four
// slow requests in flight at a time are answered in parallel (about
// slowDelay each, not one after the other), and the healthy route never
// waits for them (no head-of-line blocking across connections).
func TestFaultSlowUpstream(t *testing.T) {
	const slowDelay = 1500 * time.Millisecond
	ports := faultPorts(t)
	e := startFault(t, "fault_slow.js", ports, faultBody, 1)
	up := e.port("PORT_UPSTREAM")
	faultUpstream(t, up, func(c *net.TCPConn, br *bufio.Reader) {
		for readRequestHead(br) == nil {
			time.Sleep(slowDelay) // the fault: a slow upstream
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nslow\n")
		}
	})

	h := healthyLoad(e)
	h.waitOK(t, 100, 10*time.Second)
	mark := e.p.lineMark()
	f := startLoad("slow", e.port("PORT_FAULTY"), faultLoadOpts{conns: 4, max: 4 * time.Second, check: expect200("slow\n")})
	f.waitOK(t, 4, 10*time.Second) // the first round of slow answers
	line := e.p.waitLineSince(mark, "[pjs] upstream answered 200 after", 5*time.Second)
	f.runFor(3500 * time.Millisecond)
	f.stop()
	h.waitOK(t, 100, 10*time.Second)
	h.stop()

	h.expectClean(t)
	f.expectClean(t)
	if min := f.latency(0); min < slowDelay {
		t.Errorf("a slow request was answered after %v, before the upstream's delay %v", min, slowDelay)
	}
	if max := f.latency(1); max > 2*slowDelay {
		t.Errorf("a slow request took %v: the concurrent slow requests were not served in parallel (delay %v)", max, slowDelay)
	}
	if max := h.latency(1); max >= slowDelay {
		t.Errorf("a healthy request took %v, as long as the slow upstream's %v: head-of-line blocking", max, slowDelay)
	}
	if m := faultAnswerRE.FindStringSubmatch(line); m == nil {
		t.Errorf("log line %q does not match %v", line, faultAnswerRE)
	} else if ms, _ := strconv.Atoi(m[2]); time.Duration(ms)*time.Millisecond < slowDelay-50*time.Millisecond {
		t.Errorf("log line %q: the script measured %d ms, want about %v", line, ms, slowDelay)
	}
	t.Logf("log: %s", line)
	e.expectSameWorkers(t)
	e.p.stopOK()
}

// A callback that throws on every request of one route: each of those
// sessions is aborted (the client's connection is closed without an
// answer) and the error is logged with file:line; the healthy route is
// unaffected.
func TestFaultScriptThrows(t *testing.T) {
	const name = "fault_throws.js"
	ports := faultPorts(t)
	e := startFault(t, name, ports, faultBody, 1)
	line := 0
	for i, l := range strings.Split(faultScript, "\n") {
		if strings.Contains(l, "throw new Error('boom')") {
			line = i + 1
		}
	}

	h := healthyLoad(e)
	h.waitOK(t, 100, 10*time.Second)
	mark := e.p.lineMark()
	f := startLoad("throws", e.port("PORT_THROW"), faultLoadOpts{conns: 4, pace: 10 * time.Millisecond, max: 2 * time.Second,
		check: func(r *response, err error) error {
			if r != nil {
				return fmt.Errorf("got a response %q, want the connection closed without one", r.Status)
			}
			if err == nil || !isReset(err) && !strings.Contains(err.Error(), "EOF") {
				return fmt.Errorf("exchange error %v, want the connection closed", err)
			}
			return nil
		}})
	f.waitOK(t, 20, 10*time.Second)
	where := fmt.Sprintf("%s:%d:", name, line)
	l := e.p.waitLineSince(mark, where, 5*time.Second)
	if !strings.Contains(l, "Error: boom") {
		t.Errorf("error line %q does not say `Error: boom`", l)
	}
	e.p.waitLineSince(mark, fmt.Sprintf("Line %d:", line), 5*time.Second)
	f.runFor(2 * time.Second)
	f.stop()
	h.waitOK(t, 100, 10*time.Second)
	h.runFor(3 * time.Second)
	h.stop()

	h.expectClean(t)
	f.expectClean(t)
	e.expectSameWorkers(t)
	t.Logf("log: %s", l)
	e.p.stopOK()
}

// kill -9 of a worker under --spawn=2: the master logs the death and
// restarts the worker on the same sockets. Only exchanges of the killed
// worker fail (at most a couple per connection, all within a short window
// after the kill); requests keep succeeding, and the other worker is not
// touched.
func TestFaultWorkerKilled(t *testing.T) {
	ports := faultPorts(t)
	e := startFault(t, "fault_kill.js", ports, faultBody, 2)
	h := healthyLoad(e)
	h.waitOK(t, 200, 10*time.Second)

	const slot = 1
	victim := e.before[slot]
	mark := e.p.lineMark()
	killedAt := time.Now()
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", victim, err)
	}
	death := e.p.waitLineSince(mark, fmt.Sprintf("[master] worker %d (pid %d) died", slot, victim), 5*time.Second)
	if !strings.Contains(death, "killed by signal") {
		t.Errorf("death line %q does not say `killed by signal`", death)
	}
	var now map[int]int
	for deadline := time.Now().Add(5 * time.Second); ; {
		now = waitWorkers(t, e.master, 2, 5*time.Second)
		if now[slot] != victim {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker %d was not restarted within 5 s of the kill", slot)
		}
		time.Sleep(10 * time.Millisecond)
	}
	restartedAt := time.Now()
	// The new worker serves: its log shows its listeners again.
	e.p.waitLineSince(mark, fmt.Sprintf("[worker %d] [listener] Listening on 0.0.0.0:%d", slot, e.port("PORT_HEALTHY")), 10*time.Second)
	// Requests keep succeeding after the window.
	h.waitOK(t, 500, 10*time.Second)
	h.runFor(time.Since(h.start) + 1500*time.Millisecond)
	h.stop()

	t.Log(h.summary())
	fails := h.fails.Load()
	h.mu.Lock()
	lastErr := h.lastErr
	h.mu.Unlock()
	t.Logf("kill -9 of worker %d (pid %d): new pid %d after %v; %d failed exchanges, the last %v after the kill; first: %v",
		slot, victim, now[slot], restartedAt.Sub(killedAt).Round(time.Millisecond), fails, lastErr.Sub(killedAt).Round(time.Millisecond), h.firstErrs())
	if max := int64(2 * h.o.conns); fails > max {
		t.Errorf("%d failed exchanges after the kill, want at most %d (the killed worker's connections)", fails, max)
	}
	if fails > 0 && lastErr.Sub(killedAt) > 3*time.Second {
		t.Errorf("an exchange failed %v after the kill: want failures only within 3 s", lastErr.Sub(killedAt))
	}
	if now[2] != e.before[2] {
		t.Errorf("worker 2 changed from pid %d to %d although only worker 1 was killed", e.before[2], now[2])
	}
	if n := e.p.countLines("died"); n != 1 {
		t.Errorf("%d worker deaths logged, want 1", n)
	}
	t.Logf("log: %s", death)
	e.p.stopOK()
}

// Reload (SIGHUP) with a broken script: the running program keeps serving
// (no failed exchange, still the old answer), the log says `Failed
// reloading script` with the error's location; fixing the file and
// sending SIGHUP again reloads, and new connections get the new answer.
func TestFaultBrokenReload(t *testing.T) {
	const name = "fault_reload.js"
	ports := faultPorts(t)
	e := startFault(t, name, ports, "v1\n", 0)
	// Connections are renewed every 20 requests, so new connections (which
	// get the new program after a reload) keep coming.
	var v2At atomic.Int64
	var fixed atomic.Bool
	h := startLoad("healthy", e.port("PORT_HEALTHY"), faultLoadOpts{conns: 8, pace: 2 * time.Millisecond, reconnect: 20,
		check: func(r *response, err error) error {
			if err := expect200("v1\n", "v2\n")(r, err); err != nil {
				return err
			}
			if string(r.Body) == "v2\n" {
				if !fixed.Load() {
					return fmt.Errorf("the new answer before the fixed script was loaded")
				}
				v2At.CompareAndSwap(0, time.Now().UnixNano())
			}
			return nil
		}})
	h.waitOK(t, 100, 10*time.Second)

	broken := strings.Replace(faultScriptText(ports, "v2\n"), ".replaceMessage(new Message('v2\\n'))", ".replaceMessage(new Message('v2\\n' +))", 1)
	if broken == faultScriptText(ports, "v2\n") {
		t.Fatal("could not break the script")
	}
	brokenLine := 0
	for i, l := range strings.Split(broken, "\n") {
		if strings.Contains(l, "' +))") {
			brokenLine = i + 1
		}
	}
	rewriteScript(t, e.script, broken)
	mark := e.p.lineMark()
	e.p.signal(syscall.SIGHUP)
	failed := e.p.waitLineSince(mark, "Failed reloading script: /"+name, 10*time.Second)
	since := strings.Join(e.p.linesSince(mark), "\n")
	if !strings.Contains(since, fmt.Sprintf("%s:%d:", name, brokenLine)) {
		t.Errorf("the reload error does not give the location %s:%d:\n%s", name, brokenLine, since)
	}
	h.waitOK(t, 300, 10*time.Second) // the old program goes on serving, with v1
	h.runFor(time.Since(h.start) + time.Second)

	rewriteScript(t, e.script, faultScriptText(ports, "v2\n"))
	fixed.Store(true)
	mark = e.p.lineMark()
	e.p.signal(syscall.SIGHUP)
	reloaded := e.p.waitLineSince(mark, "Script reloaded: /"+name, 10*time.Second)
	for deadline := time.Now().Add(10 * time.Second); v2At.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("no answer of the reloaded script within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.waitOK(t, 100, 10*time.Second)
	h.runFor(3 * time.Second)
	h.stop()

	h.expectClean(t)
	if got := mustGet(t, e.port("PORT_HEALTHY"), "/"); got != "v2\n" {
		t.Errorf("a new connection after the reload got %q, want %q", got, "v2\n")
	}
	h.mu.Lock()
	for body, n := range h.bodies {
		t.Logf("answer %q: %d times", body, n)
	}
	h.mu.Unlock()
	e.expectSameWorkers(t)
	t.Logf("log: %s", failed)
	t.Logf("log: %s", reloaded)
	e.p.stopOK()
}

// A console write that fails with an I/O error: the file size limit of the
// process (RLIMIT_FSIZE, which binds root too) is lowered below the size
// of the file being saved, so the write of the temporary file fails with
// EFBIG. POST /api/files/<path> answers 500, the `[gui]` warning names the
// file and the error, the file on disk is unchanged, nothing is left
// behind, the console still saves small files, and the program keeps
// serving.
func TestFaultConsoleWriteFails(t *testing.T) {
	const name = "fault_console.js"
	ports := faultPorts(t)
	gui := ports["PORT_GUI"]
	requirePortsFree(t, gui)
	e := startFault(t, name, ports, faultBody, 0, fmt.Sprintf("--gui-port=%d", gui))
	e.p.waitForLine(fmt.Sprintf("[listener] Listening on 127.0.0.1:%d", gui), startTimeout)
	dir := filepath.Dir(e.script)
	orig, err := os.ReadFile(e.script)
	if err != nil {
		t.Fatal(err)
	}

	h := healthyLoad(e)
	h.waitOK(t, 100, 10*time.Second)

	const limit = 64 << 10
	if err := unix.Prlimit(e.master, unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: limit, Max: limit}, nil); err != nil {
		t.Skipf("cannot lower the file size limit of pid %d: %v", e.master, err)
	}
	mark := e.p.lineMark()
	big := "// " + strings.Repeat("x", 4*limit) + "\n"
	code, body := consoleCall(t, gui, "POST", "/api/files/"+name, big)
	if code/100 == 2 {
		t.Fatalf("POST of a file above the size limit: status %d, want an error", code)
	}
	if code != 500 || !strings.Contains(body, "file too large") {
		t.Errorf("POST answered %d %q, want 500 with `file too large`", code, body)
	}
	warn := e.p.waitLineSince(mark, "[gui] cannot save a file", 5*time.Second)
	if !strings.Contains(warn, name) || !strings.Contains(warn, "file too large") {
		t.Errorf("log line %q does not name the file and the error", warn)
	}
	if got, _ := os.ReadFile(e.script); string(got) != string(orig) {
		t.Errorf("the script was changed by the failed save (%d bytes, was %d)", len(got), len(orig))
	}
	ents, _ := os.ReadDir(dir)
	for _, de := range ents {
		if strings.HasPrefix(de.Name(), ".pipy-console-") {
			t.Errorf("the failed save left %s behind", de.Name())
		}
	}
	// A save within the limit still works.
	if code, body := consoleCall(t, gui, "POST", "/api/files/small.js", "// small\n"); code != 201 {
		t.Errorf("POST of a small file after the failure: %d %q, want 201", code, body)
	}
	h.waitOK(t, 100, 10*time.Second)
	h.runFor(3 * time.Second)
	h.stop()

	h.expectClean(t)
	e.expectSameWorkers(t)
	t.Logf("console answered %d %q", code, strings.TrimSpace(body))
	t.Logf("log: %s", warn)
	e.p.stopOK()
}
