package main

import (
	"strings"
	"testing"
)

// testMeta is a selection of three scenarios and servers, two
// concurrencies, as run.txt would describe it.
func testMeta() Meta {
	return Meta{
		Date: "2026-12-03 08:00 UTC", Duration: 10, Runs: 3, Warmup: 2,
		Conns:            []int{50, 1},
		Scenarios:        []string{"http-hello", "tcp-proxy", "http-route"},
		Servers:          []string{"pipy", "nginx", "haproxy", "caddy"},
		Unsupported:      []string{"tcp-proxy/caddy"},
		BackendScenarios: []string{"tcp-proxy", "http-route"},
		ServerCPU:        "0", ClientCPU: "1", BackendCPU: "1", NProc: 2, ClkTck: 100,
		BinBytes: -1, StrippedBytes: -1,
	}
}

// point is one measured value of one run.
type point struct {
	run              int
	scenario, server string
	metric           string
	v                float64
}

func testResults(m Meta, points ...point) *Results {
	r := &Results{Meta: m, byKey: map[string][]float64{}}
	for _, p := range points {
		r.add(p.run, p.scenario, p.server, p.metric, p.v)
	}
	return r
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
		ok   bool
	}{
		{"none", nil, 0, false},
		{"one", []float64{42}, 42, true},
		{"odd, unsorted", []float64{30, 10, 20}, 20, true},
		{"even: mean of the middle two", []float64{4, 1, 3, 2}, 2.5, true},
		{"even, two", []float64{161979.12, 161980.5}, 161979.81, true},
		{"odd with an outlier", []float64{100, 1e9, 101}, 101, true},
		{"even with equal middle", []float64{5, 7, 7, 9}, 7, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			got, ok := Median(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Median(%v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
			for i := range in {
				if in[i] != tc.in[i] {
					t.Fatalf("Median sorted its argument: %v", tc.in)
				}
			}
		})
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		name     string
		a        float64
		aok      bool
		b        float64
		bok      bool
		want     string
		wantFlag bool
	}{
		{"both", 161979, true, 174838, true, "0.93x", true},
		{"pipy better", 60786, true, 26149, true, "2.32x", true},
		{"peer missing", 161979, true, 0, false, "-", false},
		{"pipy missing", 0, false, 174838, true, "-", false},
		{"peer zero", 5, true, 0, true, "-", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ok := Ratio(tc.a, tc.aok, tc.b, tc.bok)
			if got := fmtRatio(tc.a, tc.aok, tc.b, tc.bok); got != tc.want || ok != tc.wantFlag {
				t.Errorf("got %q, %v; want %q, %v", got, ok, tc.want, tc.wantFlag)
			}
		})
	}
}

func TestFormatters(t *testing.T) {
	tests := []struct{ got, want string }{
		{fmtRPS(161979.4, true), "161979"},
		{fmtRPS(0, false), "FAILED"},
		{fmtMs(800, true), "0.80 ms"},
		{fmtMs(1240000, true), "1240.00 ms"},
		{fmtMs(0, false), "-"},
		{fmtMiB(12528, true), "12.2 MiB"},
		{fmtMiB(0, false), "-"},
		{fmtPct(99.4, true), "99%"},
		{fmtPct(0, false), "-"},
		{fmtNum(6.15, true, 1), "6.2"},
		{fmtNum(2, true, 0), "2"},
		{fmtNum(0, false, 1), "-"},
		{fmtBytes(16994466), "16.2 MiB"},
		{fmtBytes(-1), "-"},
		{fmtInt(-1), "-"},
		{fmtInt(16994466), "16994466"},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%d: got %q, want %q", i, tc.got, tc.want)
		}
	}
}

func TestTableText(t *testing.T) {
	tab := Table{
		{"scenario", "server", "req/s c50"},
		{"http-hello", "pipy", "161979"},
		{"tcp-proxy", "nginx", ""},
	}
	var b strings.Builder
	if err := tab.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"scenario    server  req/s c50\n" +
		"----------  ------  ---------\n" +
		"http-hello  pipy    161979\n" +
		"tcp-proxy   nginx\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestTableMarkdown(t *testing.T) {
	tab := Table{
		{"scenario", "server", "req/s c50", "p99 c50"},
		{"http-hello", "pipy", "161979", "0.80 ms"},
	}
	var b strings.Builder
	if err := tab.WriteMarkdown(&b, 2); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"| scenario | server | req/s c50 | p99 c50 |\n" +
		"|---|---|--:|--:|\n" +
		"| http-hello | pipy | 161979 | 0.80 ms |\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// A peer that failed in every run (haproxy here) shows FAILED and "-"
// ratios; the target against it is "not measured"; an unsupported pair is
// n/a; a scenario that was not selected is "not measured".
func TestReportMissingPeer(t *testing.T) {
	m := testMeta()
	m.Scenarios = []string{"http-hello", "http-route"}
	m.Conns = []int{50}
	var pts []point
	for run := 1; run <= 3; run++ {
		f := float64(run)
		pts = append(pts,
			point{run, "http-hello", "pipy", "rps.c50", 100 + f},
			point{run, "http-hello", "pipy", "p99.c50", 900 - f},
			point{run, "http-hello", "nginx", "rps.c50", 200 + f},
			point{run, "http-hello", "nginx", "p99.c50", 500},
			point{run, "http-route", "pipy", "rps.c50", 50 + f},
			point{run, "http-route", "pipy", "p99.c50", 700},
		)
	}
	rep := Report{testResults(m, pts...)}

	ratios := rep.RatiosTable()
	want := Table{
		{"scenario", "peer", "req/s pipy/peer c50", "p99 peer/pipy c50"},
		{"http-hello", "nginx", "0.50x", "0.56x"},
		{"http-hello", "haproxy", "-", "-"},
		{"http-hello", "caddy", "-", "-"},
		{"http-route", "nginx", "-", "-"},
		{"http-route", "haproxy", "-", "-"},
		{"http-route", "caddy", "-", "-"},
	}
	assertTable(t, "ratios", ratios, want)

	res := rep.ResultsTable()
	if got := res[3]; strings.Join(got, "|") != "http-hello|haproxy|FAILED|-|-|-" {
		t.Errorf("failed peer row = %q", got)
	}
	if got := res[1]; strings.Join(got, "|") != "http-hello|pipy|102|-|0.90 ms|-" {
		t.Errorf("pipy row = %q", got)
	}

	targets := rep.TargetsTable()
	wantTargets := [][]string{
		{"http-hello: pipy req/s >= 1.0x nginx", "0.50x", "not met"},
		{"tcp-proxy: pipy req/s >= 1.0x nginx (stream)", "-", "not measured"},
		{"http-route: pipy req/s >= 1.0x HAProxy", "-", "not measured"},
		{"http-hello: pipy p99 <= best peer p99", "c50 0.90 ms vs 0.50 ms (nginx)", "not met"},
		{"tcp-proxy: pipy p99 <= best peer p99", "-", "not measured"},
		{"http-route: pipy p99 <= best peer p99", "-", "not measured"},
		{"h2-hello: pipy answers every h2load request", "-", "not measured"},
		{"h2-proxy: pipy answers every h2load request", "-", "not measured"},
		{"pipy RSS idle <= 8 MiB (largest over the scenarios)", "-", "not measured"},
		{"pipy RSS after c50 <= 14 MiB (largest over the scenarios)", "-", "not measured"},
		{"stripped bin/pipy <= 10 MiB", "-", "not measured"},
	}
	assertTable(t, "targets", targets[1:], wantTargets)
}

// The p99 target compares with the best peer at each concurrency; a
// concurrency without pipy's number makes it "not measured" but keeps the
// comparisons before it; ties go to the first peer and count as met.
func TestTargetP99(t *testing.T) {
	m := testMeta()
	m.Scenarios = []string{"http-hello"}
	base := []point{
		{1, "http-hello", "pipy", "p99.c50", 300},
		{1, "http-hello", "nginx", "p99.c50", 300},
		{1, "http-hello", "haproxy", "p99.c50", 300},
		{1, "http-hello", "caddy", "p99.c50", 2280},
		{1, "http-hello", "nginx", "p99.c1", 80},
		{1, "http-hello", "haproxy", "p99.c1", 70},
	}
	rep := Report{testResults(m, base...)}
	got := rep.targetP99("http-hello")
	want := []string{"http-hello: pipy p99 <= best peer p99", "c50 0.30 ms vs 0.30 ms (nginx)", "not measured"}
	assertTable(t, "partial", Table{got}, Table{want})

	rep = Report{testResults(m, append(base, point{1, "http-hello", "pipy", "p99.c1", 90})...)}
	got = rep.targetP99("http-hello")
	want = []string{"http-hello: pipy p99 <= best peer p99", "c50 0.30 ms vs 0.30 ms (nginx); c1 0.09 ms vs 0.07 ms (haproxy)", "not met"}
	assertTable(t, "worse at c1", Table{got}, Table{want})

	rep = Report{testResults(m, append(base, point{1, "http-hello", "pipy", "p99.c1", 60})...)}
	if got := rep.targetP99("http-hello"); got[2] != "met" {
		t.Errorf("better or equal everywhere: %q", got)
	}
}

// The RSS targets take pipy's largest median over the selected scenarios.
func TestTargetRSS(t *testing.T) {
	m := testMeta()
	m.StrippedBytes = 10 * 1048576
	rep := Report{testResults(m,
		point{1, "http-hello", "pipy", "rss_idle", 8000},
		point{1, "tcp-proxy", "pipy", "rss_idle", 8192},
		point{1, "http-route", "pipy", "rss_idle", 8100},
		point{1, "http-hello", "pipy", "rss_load", 14337},
		point{1, "http-hello", "nginx", "rss_load", 99999},
	)}
	tab := rep.TargetsTable()
	got := tab[len(tab)-3:]
	want := Table{
		{"pipy RSS idle <= 8 MiB (largest over the scenarios)", "8.0 MiB", "met"},
		{"pipy RSS after c50 <= 14 MiB (largest over the scenarios)", "14.0 MiB", "not met"},
		{"stripped bin/pipy <= 10 MiB", "10.0 MiB", "met"},
	}
	assertTable(t, "rss", got, want)
}

func TestScalingTable(t *testing.T) {
	m := testMeta()
	m.Scaling, m.Spawn = true, 2
	rep := Report{testResults(m,
		point{1, "http-hello", "pipy", "rps.c50", 100000},
		point{1, "http-hello", "pipy", "p99.c50", 800},
		point{1, "http-hello", "pipy", "rss_idle", 12595},
		point{1, "http-hello", "pipy", "rss_load", 17408},
		point{1, "http-hello", "pipy", "cpu.c50", 99.2},
		point{1, "http-hello", SpawnServer, "rps.c50", 67000},
		point{1, "http-hello", SpawnServer, "cpu.c50", 101},
	)}
	want := Table{
		{"http-hello", "req/s c50", "p99 c50", "RSS idle", "RSS after c50", "CPU c50", "vs pipy"},
		{"pipy (1 process, CPU 0)", "100000", "0.80 ms", "12.3 MiB", "17.0 MiB", "99%", "1.00x"},
		{"pipy --spawn=2 (not pinned)", "67000", "-", "-", "-", "101%", "0.67x"},
	}
	assertTable(t, "scaling", rep.ScalingTable(), want)
}

func TestSyscallsTable(t *testing.T) {
	m := testMeta()
	m.Scenarios = []string{"tcp-proxy"}
	m.Servers = []string{"pipy", "caddy"}
	var pts []point
	for run, v := range []float64{6.4, 6.6, 6.5} {
		pts = append(pts,
			point{run + 1, "tcp-proxy", "pipy", "syscalls", v},
			point{run + 1, "tcp-proxy", "pipy", "syscall_errors", 2},
			point{run + 1, "tcp-proxy", "pipy", "syscall.read", v - 2.4},
			point{run + 1, "tcp-proxy", "pipy", "syscall.write", 2.01},
			point{run + 1, "tcp-proxy", "pipy", "syscall.epoll_pwait", 0.05},
			point{run + 1, "tcp-proxy", "pipy", "syscall.nanosleep", 0.1},
			point{run + 1, "tcp-proxy", "pipy", "syscall.futex", 0.01},
		)
	}
	rep := Report{testResults(m, pts...)}
	if !rep.HasSyscalls() {
		t.Fatal("HasSyscalls = false")
	}
	want := Table{
		{"scenario", "server", "syscalls/req c50", "failed/req c50", "most frequent (calls/req)"},
		{"tcp-proxy", "pipy", "6.5", "2.00", "read 4.10, write 2.01, nanosleep 0.10, epoll_pwait 0.05"},
		{"tcp-proxy", "caddy", "n/a", "n/a", "n/a"},
	}
	assertTable(t, "syscalls", rep.SyscallsTable(), want)
	if (Report{testResults(m)}).HasSyscalls() {
		t.Error("HasSyscalls without strace data")
	}
}

func assertTable(t *testing.T, name string, got, want Table) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d:\n%q", name, len(got), len(want), got)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("%s row %d:\n got %q\nwant %q", name, i, got[i], want[i])
		}
	}
}
