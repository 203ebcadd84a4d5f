package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Table is a table of cells; the first row is the header.
type Table [][]string

// WriteText prints t with aligned columns (each as wide as its widest cell,
// two spaces apart, no trailing blanks) and a dashed line under the header.
func (t Table) WriteText(w io.Writer) error {
	var widths []int
	for _, row := range t {
		for i, c := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	line := func(cells func(i int) string) {
		var l strings.Builder
		for i, wd := range widths {
			fmt.Fprintf(&l, "%-*s  ", wd, cells(i))
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	for r, row := range t {
		line(func(i int) string {
			if i < len(row) {
				return row[i]
			}
			return ""
		})
		if r == 0 {
			line(func(i int) string { return strings.Repeat("-", widths[i]) })
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown prints t as a Markdown table; the first left columns are
// left-aligned, the others right-aligned.
func (t Table) WriteMarkdown(w io.Writer, left int) error {
	var b strings.Builder
	for r, row := range t {
		b.WriteString("|")
		for _, c := range row {
			b.WriteString(" " + c + " |")
		}
		b.WriteByte('\n')
		if r == 0 {
			b.WriteString("|")
			for i := range row {
				if i < left {
					b.WriteString("---|")
				} else {
					b.WriteString("--:|")
				}
			}
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Cell formatters: an unmeasured value prints "-" (req/s: FAILED).

func fmtRPS(v float64, ok bool) string {
	if !ok {
		return "FAILED"
	}
	return fmt.Sprintf("%.0f", v)
}

// fmtMs formats microseconds as milliseconds.
func fmtMs(us float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.2f ms", us/1000)
}

// fmtMiB formats kB as MiB.
func fmtMiB(kb float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", kb/1024)
}

func fmtPct(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", v)
}

func fmtNum(v float64, ok bool, digits int) string {
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', digits, 64)
}

func fmtBytes(b int64) string {
	if b < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/1048576)
}

func fmtInt(b int64) string {
	if b < 0 {
		return "-"
	}
	return strconv.FormatInt(b, 10)
}

// Ratio is a/b; false when either is missing or b is not positive.
func Ratio(a float64, aok bool, b float64, bok bool) (float64, bool) {
	if !aok || !bok || b <= 0 {
		return 0, false
	}
	return a / b, true
}

// fmtRatio formats a/b as "1.23x", or "-" (see Ratio).
func fmtRatio(a float64, aok bool, b float64, bok bool) string {
	r, ok := Ratio(a, aok, b, bok)
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.2fx", r)
}

// opt is a value that may be missing.
type opt struct {
	v  float64
	ok bool
}

func (r *Results) med(scenario, server, metric string) opt {
	v, ok := r.Median(scenario, server, metric)
	return opt{v, ok}
}

func cs(c int) string { return "c" + strconv.Itoa(c) }

// Report writes the tables of a results directory.
type Report struct {
	*Results
}

// ResultsTable is per scenario and server: req/s, p50 and p99 at each
// concurrency, then the errors.
func (r Report) ResultsTable() Table {
	m := r.Meta
	head := []string{"scenario", "server"}
	for _, c := range m.Conns {
		head = append(head, "req/s "+cs(c), "p50 "+cs(c), "p99 "+cs(c))
	}
	for _, c := range m.Conns {
		head = append(head, "errors "+cs(c))
	}
	t := Table{head}
	for _, s := range m.WrkScenarios() {
		for _, srv := range m.Servers {
			row := []string{s, srv}
			if !m.Supported(s, srv) {
				for range m.Conns {
					row = append(row, "n/a", "n/a", "n/a", "n/a")
				}
				t = append(t, row)
				continue
			}
			for _, c := range m.Conns {
				rps := r.med(s, srv, "rps."+cs(c))
				p50 := r.med(s, srv, "p50."+cs(c))
				p99 := r.med(s, srv, "p99."+cs(c))
				row = append(row, fmtRPS(rps.v, rps.ok), fmtMs(p50.v, p50.ok), fmtMs(p99.v, p99.ok))
			}
			for _, c := range m.Conns {
				e := r.med(s, srv, "errors."+cs(c))
				row = append(row, fmtNum(e.v, e.ok, 0))
			}
			t = append(t, row)
		}
	}
	return t
}

// RatiosTable is per scenario and peer: req/s pipy/peer and p99 peer/pipy
// at each concurrency.
func (r Report) RatiosTable() Table {
	m := r.Meta
	head := []string{"scenario", "peer"}
	for _, c := range m.Conns {
		head = append(head, "req/s pipy/peer "+cs(c), "p99 peer/pipy "+cs(c))
	}
	t := Table{head}
	for _, s := range m.WrkScenarios() {
		for _, srv := range m.Servers {
			if srv == "pipy" {
				continue
			}
			row := []string{s, srv}
			for _, c := range m.Conns {
				if !m.Supported(s, srv) {
					row = append(row, "n/a", "n/a")
					continue
				}
				pr, vr := r.med(s, "pipy", "rps."+cs(c)), r.med(s, srv, "rps."+cs(c))
				pp, vp := r.med(s, "pipy", "p99."+cs(c)), r.med(s, srv, "p99."+cs(c))
				row = append(row, fmtRatio(pr.v, pr.ok, vr.v, vr.ok), fmtRatio(vp.v, vp.ok, pp.v, pp.ok))
			}
			t = append(t, row)
		}
	}
	return t
}

// ResourcesTable is per scenario and server: RSS idle and after load, CPU
// at the load level, CPU per request at each concurrency, upstream
// connections.
func (r Report) ResourcesTable() Table {
	m := r.Meta
	l := cs(m.Load())
	head := []string{"scenario", "server", "RSS idle", "RSS after " + l, "CPU " + l}
	for _, c := range m.Conns {
		head = append(head, "CPU us/req "+cs(c))
	}
	head = append(head, "upstream conns "+l)
	t := Table{head}
	for _, s := range m.WrkScenarios() {
		for _, srv := range m.Servers {
			row := []string{s, srv}
			if !m.Supported(s, srv) {
				row = append(row, "n/a", "n/a", "n/a")
				for range m.Conns {
					row = append(row, "n/a")
				}
				t = append(t, append(row, "n/a"))
				continue
			}
			idle, load, cpu := r.med(s, srv, "rss_idle"), r.med(s, srv, "rss_load"), r.med(s, srv, "cpu."+l)
			row = append(row, fmtMiB(idle.v, idle.ok), fmtMiB(load.v, load.ok), fmtPct(cpu.v, cpu.ok))
			for _, c := range m.Conns {
				v := r.med(s, srv, "cpureq."+cs(c))
				row = append(row, fmtNum(v.v, v.ok, 1))
			}
			if m.NeedsBackend(s) {
				v := r.med(s, srv, "upstream")
				row = append(row, fmtNum(v.v, v.ok, 0))
			} else {
				row = append(row, "-")
			}
			t = append(t, row)
		}
	}
	return t
}

// ScalingTable compares pipy --spawn=N with the single pinned process on
// http-hello at the load level.
func (r Report) ScalingTable() Table {
	m := r.Meta
	l := cs(m.Load())
	t := Table{{"http-hello", "req/s " + l, "p99 " + l, "RSS idle", "RSS after " + l, "CPU " + l, "vs pipy"}}
	for _, srv := range []string{"pipy", SpawnServer} {
		label := "pipy (1 process, CPU " + m.ServerCPU + ")"
		vs := "1.00x"
		if srv == SpawnServer {
			label = fmt.Sprintf("pipy --spawn=%d (not pinned)", m.Spawn)
			a, b := r.med("http-hello", SpawnServer, "rps."+l), r.med("http-hello", "pipy", "rps."+l)
			vs = fmtRatio(a.v, a.ok, b.v, b.ok)
		}
		rps, p99 := r.med("http-hello", srv, "rps."+l), r.med("http-hello", srv, "p99."+l)
		idle, load := r.med("http-hello", srv, "rss_idle"), r.med("http-hello", srv, "rss_load")
		cpu := r.med("http-hello", srv, "cpu."+l)
		t = append(t, []string{label, fmtRPS(rps.v, rps.ok), fmtMs(p99.v, p99.ok), fmtMiB(idle.v, idle.ok),
			fmtMiB(load.v, load.ok), fmtPct(cpu.v, cpu.ok), vs})
	}
	return t
}

// HasSyscalls tells whether any run was traced (BENCH_STRACE=1).
func (r Report) HasSyscalls() bool {
	for _, v := range r.Values {
		if v.Metric == "syscalls" {
			return true
		}
	}
	return false
}

// SyscallsTable is per scenario and server: system calls per request in
// the traced run, failed ones, and the most frequent calls.
func (r Report) SyscallsTable() Table {
	m := r.Meta
	l := cs(m.Load())
	t := Table{{"scenario", "server", "syscalls/req " + l, "failed/req " + l, "most frequent (calls/req)"}}
	for _, s := range m.WrkScenarios() {
		for _, srv := range m.Servers {
			if !m.Supported(s, srv) {
				t = append(t, []string{s, srv, "n/a", "n/a", "n/a"})
				continue
			}
			all, failed := r.med(s, srv, "syscalls"), r.med(s, srv, "syscall_errors")
			t = append(t, []string{s, srv, fmtNum(all.v, all.ok, 1), fmtNum(failed.v, failed.ok, 2), r.topSyscalls(s, srv, 4)})
		}
	}
	return t
}

// topSyscalls lists the n system calls of scenario/server with the most
// calls per request (medians), "read 1.69, write 1.00, ...".
func (r Report) topSyscalls(scenario, server string, n int) string {
	type call struct {
		name string
		v    float64
	}
	var calls []call
	prefix := key(scenario, server, "syscall.")
	for k, vs := range r.byKey {
		if name, ok := strings.CutPrefix(k, prefix); ok {
			v, _ := Median(vs)
			calls = append(calls, call{name, v})
		}
	}
	if len(calls) == 0 {
		return "-"
	}
	sort.Slice(calls, func(i, j int) bool {
		if calls[i].v != calls[j].v {
			return calls[i].v > calls[j].v
		}
		return calls[i].name < calls[j].name
	})
	var parts []string
	for i, c := range calls {
		if i == n {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", c.name, c.v))
	}
	return strings.Join(parts, ", ")
}

// verdict is "met", "not met", or "not measured".
func verdict(ok, measured bool) string {
	switch {
	case !measured:
		return "not measured"
	case ok:
		return "met"
	}
	return "not met"
}

// targetScenarios are the scenarios the p99 target is checked for, in
// order (every known scenario; an unselected one is "not measured").
var targetScenarios = []string{"http-hello", "tcp-proxy", "http-route"}

// TargetsTable checks the targets: req/s ratios at the load level, p99 no
// worse than the best peer's, RSS and binary size limits.
func (r Report) TargetsTable() Table {
	m := r.Meta
	l := cs(m.Load())
	t := Table{{"target", "measured", "result"}}
	ratio := func(s, peer, label string) {
		var a, b opt
		if m.Measured(s, "pipy") && m.Measured(s, peer) {
			a, b = r.med(s, "pipy", "rps."+l), r.med(s, peer, "rps."+l)
		}
		t = append(t, []string{label, fmtRatio(a.v, a.ok, b.v, b.ok), verdict(a.v >= b.v, a.ok && b.ok)})
	}
	ratio("http-hello", "nginx", "http-hello: pipy req/s >= 1.0x nginx")
	ratio("tcp-proxy", "nginx", "tcp-proxy: pipy req/s >= 1.0x nginx (stream)")
	ratio("http-route", "haproxy", "http-route: pipy req/s >= 1.0x HAProxy")
	for _, s := range targetScenarios {
		t = append(t, r.targetP99(s))
	}
	for _, s := range h2TargetScenarios {
		t = append(t, r.targetH2(s))
	}
	// Idle RSS over every scenario; RSS after load over those with a c50.
	maxOver := func(metric string) opt {
		var best opt
		if !contains(m.Servers, "pipy") {
			return best
		}
		scenarios := m.Scenarios
		if metric == "rss_load" {
			scenarios = m.WrkScenarios()
		}
		for _, s := range scenarios {
			if v := r.med(s, "pipy", metric); v.ok && (!best.ok || v.v > best.v) {
				best = v
			}
		}
		return best
	}
	idle := maxOver("rss_idle")
	t = append(t, []string{"pipy RSS idle <= 8 MiB (largest over the scenarios)", fmtMiB(idle.v, idle.ok),
		verdict(idle.v <= 8*1024, idle.ok)})
	load := maxOver("rss_load")
	t = append(t, []string{"pipy RSS after " + l + " <= 14 MiB (largest over the scenarios)", fmtMiB(load.v, load.ok),
		verdict(load.v <= 14*1024, load.ok)})
	t = append(t, []string{"stripped bin/pipy <= 10 MiB", fmtBytes(m.StrippedBytes),
		verdict(m.StrippedBytes <= 10*1048576, m.StrippedBytes >= 0)})
	return t
}

// targetP99 checks that pipy's p99 is no worse than the best peer's at
// every concurrency; a concurrency without numbers makes the target "not
// measured" (the comparisons before it are still shown).
func (r Report) targetP99(s string) []string {
	m := r.Meta
	label := s + ": pipy p99 <= best peer p99"
	measured, ok := m.Measured(s, "pipy"), true
	var parts []string
	for _, c := range m.Conns {
		if !measured {
			break
		}
		v := r.med(s, "pipy", "p99."+cs(c))
		var best opt
		var bestPeer string
		for _, srv := range m.Servers {
			if srv == "pipy" || !m.Supported(s, srv) {
				continue
			}
			if p := r.med(s, srv, "p99."+cs(c)); p.ok && (!best.ok || p.v < best.v) {
				best, bestPeer = p, srv
			}
		}
		if !v.ok || !best.ok {
			measured = false
			break
		}
		parts = append(parts, fmt.Sprintf("%s %s vs %s (%s)", cs(c), fmtMs(v.v, true), fmtMs(best.v, true), bestPeer))
		if v.v > best.v {
			ok = false
		}
	}
	joined := "-"
	if len(parts) > 0 {
		joined = strings.Join(parts, "; ")
	}
	return []string{label, joined, verdict(ok, measured && len(parts) > 0)}
}

// WriteText writes the terminal summary (also bench/results/latest.txt).
func (r Report) WriteText(w io.Writer) error {
	m := r.Meta
	ew := &errWriter{w: w}
	section := func(title string, t Table) {
		ew.printf("%s\n", title)
		if ew.err == nil {
			ew.err = t.WriteText(w)
		}
	}
	wrk := len(m.WrkScenarios()) > 0
	if wrk {
		section(fmt.Sprintf("Results (median of %d run(s); wrk -t1 -cN, %ds each)", m.Runs, m.Duration), r.ResultsTable())
		ew.printf("\n")
		section("pipy vs peers (req/s: pipy/peer, p99: peer/pipy; above 1.00x pipy is better)", r.RatiosTable())
		ew.printf("\n")
		section(fmt.Sprintf("Resources (RSS: server and its children; CPU: %% of one core during the c%d run)", m.Load()), r.ResourcesTable())
	}
	if len(m.SelectedH2()) > 0 {
		if wrk {
			ew.printf("\n")
		}
		section(fmt.Sprintf("HTTP/2 (median of %d run(s); %s over h2c; latency: h2load's time for request)", m.Runs, m.h2Command()), r.H2Table())
		ew.printf("\n")
		section("HTTP/2 pipy vs peers (req/s: pipy/peer, mean latency: peer/pipy; above 1.00x pipy is better)", r.H2RatiosTable())
		ew.printf("\n")
		section("HTTP/2 resources (RSS: server and its children; CPU: % of one core during the h2load run)", r.H2ResourcesTable())
	}
	if r.HasSyscalls() {
		ew.printf("\n")
		section(fmt.Sprintf("Syscalls (strace -c during an extra c%d run; per request)", m.Load()), r.SyscallsTable())
	}
	if m.Scaling {
		ew.printf("\n")
		section(fmt.Sprintf("Scaling (http-hello; pipy --spawn=%d not pinned, wrk pinned to CPU %s)", m.Spawn, m.ClientCPU), r.ScalingTable())
	}
	ew.printf("\n")
	section("Targets", r.TargetsTable())
	return ew.err
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func (e *errWriter) table(t Table, left int) {
	if e.err == nil {
		e.err = t.WriteMarkdown(e.w, left)
	}
}

// WriteMarkdown writes the report, docs/performance.md.
func (r Report) WriteMarkdown(w io.Writer) error {
	m := r.Meta
	v := r.Versions
	l := m.Load()
	e := &errWriter{w: w}
	p := e.printf
	p("# Performance\n\n")
	p("Generated by `make bench` (`bench/run.sh`, see [bench/README.md](../bench/README.md)) on %s.\n", m.Date)
	p("Do not edit by hand: run the benchmark again.\n\n")
	p("pipy is compared with nginx, HAProxy and Caddy on the same machine, in the same run, with the\n")
	p("same load generator. Each server under test runs as one process (or one worker) with one\n")
	p("thread, pinned to CPU %s; %s (one thread) is pinned to CPU %s. Ratios matter more than\n", m.ServerCPU, m.loadGenerators(), m.ClientCPU)
	p("absolute numbers, which depend on the machine and on whatever else runs on it.\n\n")
	if m.ShortRun() {
		p("> **Short run** (%d s per measurement, %d run(s)): a smoke test of the harness, the numbers\n", m.Duration, m.Runs)
		p("> are not meaningful. Use the defaults (10 s, 3 runs) on an otherwise idle machine.\n\n")
	}
	cpuModel := m.CPUModel
	if cpuModel == "" {
		cpuModel = "unknown"
	}
	p("## Machine\n\n")
	p("- CPU: %s, %d CPUs (`nproc`)\n", cpuModel, m.NProc)
	p("- kernel: %s\n", m.Kernel)
	p("- load average before the run: %s\n", m.LoadAvg)
	p("- pipy: %s, repo commit %s\n", v.Pipy, m.Commit)
	p("- nginx: %s\n", v.Nginx)
	p("- HAProxy: %s\n", v.HAProxy)
	p("- Caddy: %s\n", v.Caddy)
	p("- wrk: %s\n", v.Wrk)
	if len(m.SelectedH2()) > 0 {
		p("- h2load: %s\n", v.H2load)
	}
	p("- bin/pipy: %s bytes (%s), stripped %s bytes (%s)\n\n", fmtInt(m.BinBytes), fmtBytes(m.BinBytes),
		fmtInt(m.StrippedBytes), fmtBytes(m.StrippedBytes))
	p("## Settings\n\n")
	p("- scenarios: %s; servers: %s\n", strings.Join(m.Scenarios, " "), strings.Join(m.Servers, " "))
	if len(m.WrkScenarios()) > 0 {
		p("- load: `wrk -t1 -cN -d%ds --latency`, N in {%s}, after %d s of warm-up at c%d; %d run(s), median of each value, server order reversed every other run\n",
			m.Duration, joinInts(m.Conns), m.Warmup, l, m.Runs)
	}
	if len(m.SelectedH2()) > 0 {
		p("- HTTP/2 load: `%s http://127.0.0.1:PORT/` (one thread, h2c with prior knowledge), after %d s of warm-up the same way; %d run(s), median of each value\n",
			m.h2Command(), m.Warmup, m.Runs)
	}
	p("- cores: server under test on CPU %s, %s on CPU %s, the proxies' backend (nginx, 1 worker) on CPU %s\n",
		m.ServerCPU, m.loadGenerators(), m.ClientCPU, m.BackendCPU)
	p("- pipy: one process, GOMAXPROCS=1; nginx: `worker_processes 1`; HAProxy: `nbthread 1`; Caddy: GOMAXPROCS=1, admin and logs off\n\n")
	p("## Scenarios\n\n")
	p("| scenario | what | pipy |\n|---|---|---|\n")
	p("| http-hello | every request answered `200 Hello!\\n` by the server itself | `test/002-hello/pipy.js` |\n")
	p("| tcp-proxy | raw TCP proxy to the nginx backend (nginx `stream`, HAProxy `mode tcp`; Caddy has no TCP proxy: n/a) | `bench/scripts/tcp-proxy.js` |\n")
	p("| http-route | HTTP reverse proxy: `/api/*` and `/hello*` routed to two upstream pools of the backend, upstream keep-alive; wrk alternates `GET /api/hello` and `GET /hello` | `bench/scripts/routing.js` |\n")
	p("| h2-hello | HTTP/2 in clear text (h2c, prior knowledge), every request answered `200 Hello!\\n` by the server itself (nginx `listen ... http2`, HAProxy `bind ... proto h2`, Caddy `protocols h1 h2c`) | `bench/scripts/h2-hello.js` (`demuxHttp`) |\n")
	p("| h2-proxy | h2c front end proxying every request to the backend over HTTP/1.1 with keep-alive | `bench/scripts/h2-proxy.js` (`demuxHttp`, `muxHttp`) |\n\n")
	p("## Results\n\n")
	if len(m.WrkScenarios()) > 0 {
		p("Medians; latencies are wrk's percentiles (closed loop). errors: socket errors + non-2xx answers.\n\n")
		e.table(r.ResultsTable(), 2)
		p("\n### pipy vs peers\n\n")
		p("req/s pipy/peer and p99 peer/pipy: above 1.00x pipy is better.\n\n")
		e.table(r.RatiosTable(), 2)
		p("\n### Resources\n\n")
		p("RSS: Rss (smaps_rollup) of the server and its children (nginx master + worker), idle = after start-up and\n")
		p("the check requests, after = right after the c%d run. CPU: CPU time of the server during the c%d\n", l, l)
		p("run, in %% of one core (near 100%%: the server was the bottleneck); CPU us/req: its CPU time per\n")
		p("request. upstream conns: established connections to the backend half-way through the c%d run.\n\n", l)
		e.table(r.ResourcesTable(), 2)
	}
	if len(m.SelectedH2()) > 0 {
		if len(m.WrkScenarios()) > 0 {
			p("\n")
		}
		p("### HTTP/2\n\n")
		p("`%s` over h2c, medians. req/s: h2load's figure (answered requests per second). vs best peer:\n", m.h2Command())
		p("req/s over that of the fastest peer whose row did not fail. Latency: h2load's \"time for request\"\n")
		p("(mean, standard deviation, min, max; h2load gives no percentiles). failed: requests that did not\n")
		p("succeed (h2load's failed: reset streams, closed connections, non-2xx/3xx answers), summed over the\n")
		p("runs. A row **FAILED** when any request failed or none succeeded in any run, or when the server\n")
		p("could not be measured; its req/s and ratios are then left out.\n\n")
		e.table(r.H2Table(), 2)
		p("\nreq/s pipy/peer and mean latency peer/pipy: above 1.00x pipy is better.\n\n")
		e.table(r.H2RatiosTable(), 2)
		p("\nRSS idle and right after the h2load run; CPU of the server during it, in %% of one core, and per\n")
		p("request; upstream conns: established connections to the backend half-way through it.\n\n")
		e.table(r.H2ResourcesTable(), 2)
	}
	if r.HasSyscalls() {
		p("\n### Syscalls\n\n")
		p("`strace -c -f` attached to the server and its children during an extra c%d run after the\n", l)
		p("measured ones (`BENCH_STRACE=1`): system calls per request, failed ones (EAGAIN reads among\n")
		p("them) and the most frequent calls. strace slows the server down, so only the counts per\n")
		p("request mean something here, not the rate.\n\n")
		e.table(r.SyscallsTable(), 2)
	}
	if m.Scaling {
		p("\n### Scaling\n\n")
		p("pipy `--spawn=%d` (master + %d workers, each GOMAXPROCS=1) is **not pinned**: its workers share\n", m.Spawn, m.Spawn)
		p("the %d CPUs with wrk, which stays pinned to CPU %s. On a 2-CPU machine the second worker mostly\n", m.NProc, m.ClientCPU)
		p("takes CPU time from wrk, so this shows the overhead of --spawn more than its scaling.\n\n")
		e.table(r.ScalingTable(), 1)
	}
	p("\n## Targets\n\n")
	p("Computed from the numbers above (req/s and RSS after load at c%d).\n\n", l)
	e.table(r.TargetsTable(), 3)
	p("\n## Notes\n\n")
	p("- Each proxy keeps its upstream connections alive its own way: nginx and HAProxy reuse idle\n")
	p("  connections (about one per concurrent request), Caddy keeps a pool per upstream, pipy's\n")
	p("  `mux` sends all requests of a pool over one shared, pipelined connection (see upstream conns).\n")
	p("- The answers differ a little: nginx and Caddy add `Server`, `Date` and `Content-Type`, HAProxy\n")
	p("  `content-type`; pipy sends `Connection` and `Content-Length` only. nginx gets\n")
	p("  `keepalive_requests 100000000` because pipy never closes a keep-alive connection on its own.\n")
	p("- pipy runs with `--drain-timeout=1s`, which only shortens its shutdown between measurements\n")
	p("  (an idle `mux` upstream session would otherwise hold it for about 10 s).\n")
	if len(m.SelectedH2()) > 0 {
		p("- HTTP/2: nginx (`listen ... http2` on a plain port) and HAProxy (`bind ... proto h2`) speak only\n")
		p("  h2c with prior knowledge on their h2 ports, Caddy (`protocols h1 h2c`) and pipy (`demuxHttp`) serve\n")
		p("  HTTP/1.x and h2c on the same port. Every proxy talks HTTP/1.1 with keep-alive to the backend.\n")
		p("  pipy's HTTP/2 answers carry `:status` only (END_STREAM ends the body), the peers' the same\n")
		p("  fields as over HTTP/1.1. h2load runs on one core: a server CPU clearly below 100%% means\n")
		p("  the client was the limit, and the ratio says more about h2load than about the servers.\n")
	}
	if m.BackendCPU == m.ClientCPU {
		p("- The backend and %s share CPU %s, so in the proxy scenarios the client side can limit the\n", m.loadGenerators(), m.ClientCPU)
		p("  rate: a server CPU clearly below 100%% means the server under test was not the bottleneck.\n")
	} else {
		p("- A server CPU clearly below 100%% means the server under test was not the bottleneck.\n")
	}
	p("\n## Reproduce\n\n")
	p("```sh\n")
	p("make bench      # = ./build.sh, then bash bench/run.sh\n")
	p("BENCH_DURATION=%d BENCH_RUNS=%d BENCH_WARMUP=%d BENCH_CONNS=\"%s\" \\\n", m.Duration, m.Runs, m.Warmup, joinInts(m.Conns))
	if len(m.SelectedH2()) > 0 && m.H2Clients > 0 {
		p("  BENCH_H2_CLIENTS=%d BENCH_H2_STREAMS=%d \\\n", m.H2Clients, m.H2Streams)
	}
	p("  BENCH_SCENARIOS=\"%s\" BENCH_SERVERS=\"%s\" bash bench/run.sh\n", strings.Join(m.Scenarios, " "), strings.Join(m.Servers, " "))
	p("```\n\n")
	p("Raw wrk output and every measurement of every run: `bench/results/` (not committed).\n")
	return e.err
}

// loadGenerators names the load generators of the selected scenarios: wrk,
// h2load (HTTP/2) or both.
func (m Meta) loadGenerators() string {
	switch {
	case len(m.SelectedH2()) == 0:
		return "wrk"
	case len(m.WrkScenarios()) == 0:
		return "h2load"
	}
	return "wrk (h2load for HTTP/2)"
}

func joinInts(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, " ")
}

// WriteTSV writes results.tsv: every measurement of every run, one per
// line: run, scenario, server, metric, value.
func (r Report) WriteTSV(w io.Writer) error {
	e := &errWriter{w: w}
	e.printf("run\tscenario\tserver\tmetric\tvalue\n")
	for _, v := range r.Values {
		e.printf("%d\t%s\t%s\t%s\t%s\n", v.Run, v.Scenario, v.Server, v.Metric, strconv.FormatFloat(v.V, 'f', -1, 64))
	}
	return e.err
}
