package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from testdata/results")

// testdata/results is a real results directory: bench/run.sh with
// BENCH_DURATION=1 BENCH_WARMUP=0 BENCH_RUNS=3 BENCH_SCENARIOS=http-hello,tcp-proxy
// BENCH_SERVERS=pipy,nginx,caddy BENCH_STRACE=1 BENCH_STRACE_DURATION=1 on
// the 2-CPU bench machine. testdata/golden holds what the program wrote from
// it; `go test ./bench/report -update` rewrites it after a deliberate change
// of the report.
const resultsDir = "testdata/results"

func TestGolden(t *testing.T) {
	res, err := Load(resultsDir)
	if err != nil {
		t.Fatal(err)
	}
	rep := Report{res}
	for _, g := range []struct {
		file  string
		write func(io.Writer) error
	}{
		{"latest.md", rep.WriteMarkdown},
		{"latest.txt", rep.WriteText},
		{"results.tsv", rep.WriteTSV},
	} {
		t.Run(g.file, func(t *testing.T) {
			var b strings.Builder
			if err := g.write(&b); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", g.file)
			if *update {
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != string(want) {
				t.Errorf("%s differs from the golden file (go test ./bench/report -update after a deliberate change); got:\n%s", g.file, b.String())
			}
		})
	}
}

// The medians of the report are those of the raw files: check one cell of
// each kind against the runs read one by one.
func TestLoadMedians(t *testing.T) {
	res, err := Load(resultsDir)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Meta
	var rps, cpu, idle []float64
	for run := 1; run <= 3; run++ {
		r, err := ReadRun(RunDir(resultsDir, "tcp-proxy", "nginx", run), m, "nginx")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Conns) != 2 || r.Conns[0].Conns != 50 || r.Conns[1].Conns != 1 {
			t.Fatalf("run %d: concurrencies %+v", run, r.Conns)
		}
		if r.Upstream != 50 {
			t.Errorf("run %d: %d upstream connections, want 50 (one per wrk connection)", run, r.Upstream)
		}
		rps = append(rps, r.Conns[0].Wrk.ReqPerSec)
		cpu = append(cpu, round(r.Conns[1].CPU.Percent, 1))
		idle = append(idle, float64(r.Idle.RssKB))
	}
	for _, c := range []struct {
		metric string
		runs   []float64
	}{{"rps.c50", rps}, {"cpu.c1", cpu}, {"rss_idle", idle}} {
		want, _ := Median(c.runs)
		got, ok := res.Median("tcp-proxy", "nginx", c.metric)
		if !ok || got != want {
			t.Errorf("median %s = %v, %v; want %v (runs %v)", c.metric, got, ok, want, c.runs)
		}
	}
	// The scaling line ran at the load level only.
	if _, ok := res.Median("http-hello", SpawnServer, "rps.c50"); !ok {
		t.Error("no pipy-spawn rps.c50")
	}
	if _, ok := res.Median("http-hello", SpawnServer, "rps.c1"); ok {
		t.Error("pipy-spawn has rps.c1")
	}
	// caddy has no tcp-proxy; nothing is read for it.
	if _, ok := res.Median("tcp-proxy", "caddy", "rss_idle"); ok {
		t.Error("tcp-proxy/caddy has values")
	}
}

// copyResults copies testdata/results into a temporary directory.
func copyResults(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(resultsDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(resultsDir, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// A measurement the shell gave up on (renamed *.failed) is left out: the
// median is then over the other runs, an even count.
func TestLoadSkipsFailed(t *testing.T) {
	dir := copyResults(t)
	run2 := RunDir(dir, "http-hello", "nginx", 2)
	// As bench/run.sh leaves it when the c50 run fails: that run's files
	// renamed, the c1 and traced runs never made.
	for _, f := range []string{"wrk.c50.txt", "cpu.c50.start", "cpu.c50.end", "mem.load.txt"} {
		if err := os.Rename(filepath.Join(run2, f), filepath.Join(run2, f+".failed")); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"wrk.c1.txt", "cpu.c1.start", "cpu.c1.end", "strace.txt", "wrk.strace.txt"} {
		if err := os.Remove(filepath.Join(run2, f)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []float64
	for _, run := range []int{1, 3} {
		w, err := readFile(filepath.Join(RunDir(dir, "http-hello", "nginx", run), "wrk.c50.txt"), ParseWrk)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, w.ReqPerSec)
	}
	got, _ := res.Median("http-hello", "nginx", "rps.c50")
	if got != (want[0]+want[1])/2 {
		t.Errorf("median rps.c50 = %v, want the mean of runs 1 and 3 %v", got, want)
	}
	// Of the failed run only the idle memory counts.
	var n int
	for _, v := range res.Values {
		if v.Run == 2 && v.Scenario == "http-hello" && v.Server == "nginx" {
			n++
			if v.Metric != "rss_idle" {
				t.Errorf("run 2 of the failed server has %s", v.Metric)
			}
		}
	}
	if n != 1 {
		t.Errorf("run 2 of the failed server has %d values, want 1 (rss_idle)", n)
	}
}

// A server that failed in every run has no values: FAILED in the tables.
func TestLoadServerFailedEveryRun(t *testing.T) {
	dir := copyResults(t)
	for run := 1; run <= 3; run++ {
		if err := os.RemoveAll(RunDir(dir, "tcp-proxy", "pipy", run)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep := Report{res}
	tab := rep.ResultsTable()
	if got := strings.Join(tab[4], "|"); got != "tcp-proxy|pipy|FAILED|-|-|FAILED|-|-|-|-" {
		t.Errorf("row = %q", got)
	}
	for _, row := range rep.RatiosTable() {
		if row[0] == "tcp-proxy" && row[1] == "nginx" && strings.Join(row[2:], "|") != "-|-|-|-" {
			t.Errorf("ratio row = %q", row)
		}
	}
}

// A raw file that is there but does not parse stops the report with an
// error that names it.
func TestLoadMalformedNamesFile(t *testing.T) {
	tests := []struct {
		file, content, wantErr string
	}{
		{"wrk.c1.txt", "unable to connect to 127.0.0.1:18100 Connection refused\n", "not the output of a finished wrk --latency run"},
		{"mem.idle.txt", "", "no [rollup] header"},
		{"cpu.c50.end", "1796285188.65\n", "no /proc/PID/stat line"},
		{"strace.txt", "", "did strace attach?"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			dir := copyResults(t)
			path := filepath.Join(RunDir(dir, "http-hello", "pipy", 2), tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(dir)
			if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q and %q", err, path+": ", tc.wantErr)
			}
		})
	}
}

// A wrk file without the CPU snapshots that go with it is an error too.
func TestLoadMissingSnapshot(t *testing.T) {
	dir := copyResults(t)
	path := filepath.Join(RunDir(dir, "http-hello", "caddy", 1), "cpu.c1.start")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want it to name %s", err, path)
	}
}

func TestParseMeta(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(resultsDir, "run.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMeta(strings.NewReader(string(good)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Runs != 3 || m.Duration != 1 || len(m.Conns) != 2 || m.Load() != 50 || !m.Scaling || m.Spawn != 2 ||
		strings.Join(m.Servers, " ") != "pipy nginx caddy" || m.ClkTck != 100 || m.StrippedBytes <= 0 {
		t.Errorf("meta = %+v", m)
	}
	if m.Supported("tcp-proxy", "caddy") || !m.Supported("tcp-proxy", "nginx") {
		t.Error("Supported does not follow unsupported=")
	}
	if !m.NeedsBackend("tcp-proxy") || m.NeedsBackend("http-hello") {
		t.Error("NeedsBackend does not follow backend_scenarios=")
	}
	if !m.ShortRun() {
		t.Error("a 1 s run is not short")
	}
	replace := func(old, new string) string { return strings.Replace(string(good), old, new, 1) }
	tests := []struct {
		name, input, wantErr string
	}{
		{"not key=value", "duration 10\n", `line 1 "duration 10": want KEY=VALUE`},
		{"missing runs", replace("runs=3\n", ""), "no runs="},
		{"bad duration", replace("duration=1\n", "duration=1s\n"), "duration=1s: not a whole number"},
		{"bad conns", replace("conns=50 1\n", "conns=50 x\n"), `conns: "x" is not a positive whole number`},
		{"no conns", replace("conns=50 1\n", "conns=\n"), "conns= is empty"},
		{"bad size", replace("stripped_bytes=", "stripped_bytes=x"), "stripped_bytes=x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMeta(strings.NewReader(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestReadVersions(t *testing.T) {
	v, err := ReadVersions(filepath.Join(resultsDir, "versions"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.Pipy, "0.0.0 (commit ") || !strings.HasSuffix(v.Pipy, "), go1.26.8") ||
		v.Nginx != "nginx/1.22.1" || v.HAProxy != "2.6.12-1+deb12u4" || v.Caddy != "2.6.2" || v.Wrk != "debian/4.1.0-3+b2" {
		t.Errorf("versions = %+v", v)
	}
	none, err := ReadVersions(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if none != (Versions{"-", "-", "-", "-", "-", "-"}) {
		t.Errorf("no files: %+v", none)
	}
}

func TestPipyVersion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Version     : 0.0.0\nCommit      : 37454b02\nCommit Date : Thu, 3 Dec 2026 07:54:44 +0000\nGo          : go1.26.8\n", "0.0.0 (commit 37454b02), go1.26.8"},
		{"Version     : 1.2.3\n", "1.2.3"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := pipyVersion(tc.in); got != tc.want {
			t.Errorf("pipyVersion(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
