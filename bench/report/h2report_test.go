package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/results-h2 is a real results directory: bench/run.sh with
// BENCH_SCENARIOS=h2-hello,h2-proxy BENCH_RUNS=3 BENCH_DURATION=1
// BENCH_WARMUP=0 on the 2-CPU bench machine (busy with other work, so the
// numbers are noise), with a pipy that had demuxHttp but not yet muxHttp:
// its h2-hello rows are measured, its h2-proxy runs have a failure.txt and
// nothing else. testdata/golden-h2 holds what the program wrote from it
// (`go test ./bench/report -update` rewrites it).
const resultsH2Dir = "testdata/results-h2"

func TestGoldenH2(t *testing.T) {
	res, err := Load(resultsH2Dir)
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
			path := filepath.Join("testdata", "golden-h2", g.file)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
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

// copyDir copies a testdata results directory into a temporary one.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
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

// row finds the row of t whose first cells are prefix.
func row(t *testing.T, tab Table, prefix ...string) []string {
	t.Helper()
	for _, r := range tab {
		if len(r) >= len(prefix) && strings.Join(r[:len(prefix)], "|") == strings.Join(prefix, "|") {
			return r
		}
	}
	t.Fatalf("no row %q in %q", prefix, tab)
	return nil
}

// The medians are those of the h2load files read one by one, the
// latencies in microseconds; the runs without a measurement are left out.
func TestLoadH2(t *testing.T) {
	res, err := Load(resultsH2Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Meta.IsH2("h2-proxy") || res.Meta.IsH2("http-hello") || res.Meta.H2Clients != 10 || res.Meta.H2Streams != 10 {
		t.Fatalf("meta = %+v", res.Meta)
	}
	if len(res.Meta.WrkScenarios()) != 0 {
		t.Errorf("wrk scenarios %q", res.Meta.WrkScenarios())
	}
	var rps, mean []float64
	for run := 1; run <= 3; run++ {
		r, err := ReadRun(RunDir(resultsH2Dir, "h2-hello", "haproxy", run), res.Meta, "haproxy")
		if err != nil {
			t.Fatal(err)
		}
		if r.H2 == nil || len(r.Conns) != 0 || r.H2.H2load.Protocol != "h2c" || r.H2.CPU.Seconds <= 0 {
			t.Fatalf("run %d: %+v", run, r)
		}
		rps = append(rps, r.H2.H2load.ReqPerSec)
		mean = append(mean, r.H2.H2load.Mean)
	}
	for _, c := range []struct {
		metric string
		runs   []float64
	}{{"rps.h2load", rps}, {"mean.h2load", mean}} {
		want, _ := Median(c.runs)
		got, ok := res.Median("h2-hello", "haproxy", c.metric)
		if !ok || got != want {
			t.Errorf("median %s = %v, %v; want %v (runs %v)", c.metric, got, ok, want, c.runs)
		}
	}
	if got := res.Notes["h2-proxy/pipy"]; len(got) != 3 || got[0] != "pipy: muxHttp not available (not in bin/pipy --list-filters)" {
		t.Errorf("notes = %q", got)
	}
	if _, ok := res.Median("h2-proxy", "pipy", "rps.h2load"); ok {
		t.Error("h2-proxy/pipy has a req/s")
	}
	if up, ok := res.Median("h2-proxy", "haproxy", "upstream"); !ok || up != 100 {
		t.Errorf("h2-proxy/haproxy upstream = %v, %v; want 100", up, ok)
	}
}

func TestH2Tables(t *testing.T) {
	res, err := Load(resultsH2Dir)
	if err != nil {
		t.Fatal(err)
	}
	rep := Report{res}
	tab := rep.H2Table()
	if got := strings.Join(row(t, tab, "h2-proxy", "pipy"), "|"); got !=
		"h2-proxy|pipy|FAILED|-|-|-|-|-|-|FAILED: pipy: muxHttp not available (not in bin/pipy --list-filters)" {
		t.Errorf("h2-proxy/pipy row = %q", got)
	}
	best, _ := rep.BestH2Peer("h2-hello")
	if best != "haproxy" {
		t.Fatalf("best h2-hello peer = %q", best)
	}
	if r := row(t, tab, "h2-hello", "haproxy"); r[3] != "1.00x (best)" || r[8] != "0" || r[9] != "ok" {
		t.Errorf("best peer row = %q", r)
	}
	pipy := row(t, tab, "h2-hello", "pipy")
	p, _ := res.Median("h2-hello", "pipy", "rps.h2load")
	h, _ := res.Median("h2-hello", "haproxy", "rps.h2load")
	if pipy[3] != fmtRatio(p, true, h, true) || pipy[9] != "ok" {
		t.Errorf("pipy row = %q", pipy)
	}
	ratios := rep.H2RatiosTable()
	if r := row(t, ratios, "h2-hello", "haproxy"); r[2] != fmtRatio(p, true, h, true) {
		t.Errorf("ratio row = %q", r)
	}
	if r := row(t, ratios, "h2-proxy", "nginx"); r[2] != "-" || r[3] != "-" {
		t.Errorf("ratio row without pipy = %q", r)
	}
	targets := rep.TargetsTable()
	if r := row(t, targets, "h2-hello: pipy answers every h2load request"); r[2] != "met" || !strings.HasSuffix(r[1], " requests, 0 failed") {
		t.Errorf("h2-hello target = %q", r)
	}
	if r := row(t, targets, "h2-proxy: pipy answers every h2load request"); r[2] != "not met" || !strings.Contains(r[1], "muxHttp not available") {
		t.Errorf("h2-proxy target = %q", r)
	}
	// No wrk scenario was selected: no wrk rows, the wrk targets unmeasured.
	if len(rep.ResultsTable()) != 1 || len(rep.ResourcesTable()) != 1 {
		t.Errorf("wrk tables have rows: %q", rep.ResultsTable())
	}
}

// A run with failed requests fails its row, loudly: FAILED req/s, the
// counts in the result, no ratio; the best peer is then another one.
func TestH2FailedRequests(t *testing.T) {
	dir := copyDir(t, resultsH2Dir)
	mixed, err := os.ReadFile(filepath.Join("testdata", "h2load", "mixed.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(RunDir(dir, "h2-hello", "haproxy", 2), "h2load.txt"), mixed, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep := Report{res}
	r := row(t, rep.H2Table(), "h2-hello", "haproxy")
	if r[2] != "FAILED" || r[3] != "-" || r[8] != "71200" ||
		r[9] != "FAILED: run 2: 71200 of 142405 requests failed (71200 errored)" {
		t.Errorf("failed row = %q", r)
	}
	if best, _ := rep.BestH2Peer("h2-hello"); best != "nginx" {
		t.Errorf("best peer = %q, want nginx (haproxy failed, caddy is slower)", best)
	}
	if r := row(t, rep.H2RatiosTable(), "h2-hello", "haproxy"); r[2] != "-" || r[3] != "-" {
		t.Errorf("ratio to a failed peer = %q", r)
	}
	// pipy failing the same way fails its target.
	if err := os.WriteFile(filepath.Join(RunDir(dir, "h2-hello", "pipy", 3), "h2load.txt"), mixed, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep = Report{res}
	if r := row(t, rep.TargetsTable(), "h2-hello: pipy answers every h2load request"); r[2] != "not met" || !strings.HasPrefix(r[1], "run 3: 71200 of") {
		t.Errorf("target = %q", r)
	}
}

// A run in which nothing was answered (a server that does not speak h2c,
// a closed port) fails the row too, and its 0us latencies are not counted.
func TestH2NothingAnswered(t *testing.T) {
	dir := copyDir(t, resultsH2Dir)
	refused, err := os.ReadFile(filepath.Join("testdata", "h2load", "http1-only.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(RunDir(dir, "h2-hello", "nginx", 1), "h2load.txt"), refused, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := row(t, Report{res}.H2Table(), "h2-hello", "nginx")
	if r[2] != "FAILED" || r[8] != "0" || r[9] != "FAILED: run 1: no request succeeded (100 started, none answered)" {
		t.Errorf("row = %q", r)
	}
	if n := len(res.byKey[key("h2-hello", "nginx", "mean.h2load")]); n != 2 {
		t.Errorf("%d mean latencies, want 2 (runs 2 and 3)", n)
	}
}

func TestLineCommandH2load(t *testing.T) {
	status, out, errOut := runCmd("line", resultsH2Dir, "h2-proxy", "haproxy", "2", "h2load")
	want := "h2-proxy   haproxy    h2load run 2: 28175 req/s, mean 3410 us, sd 2860 us, max 18650 us, CPU 40.0% (14.55 us/req), 28175 succeeded, 0 failed, RSS 15004 -> 16864 kB, upstream conns 100\n"
	if status != 0 || out != want {
		t.Errorf("status %d, stderr %q\n got %q\nwant %q", status, errOut, out, want)
	}
	dir := copyDir(t, resultsH2Dir)
	errored, err := os.ReadFile(filepath.Join("testdata", "h2load", "errored.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(RunDir(dir, "h2-proxy", "haproxy", 2), "h2load.txt"), errored, 0o644); err != nil {
		t.Fatal(err)
	}
	status, out, _ = runCmd("line", dir, "h2-proxy", "haproxy", "2", "h2load")
	if status != exitFail || !strings.HasSuffix(out, ": FAILED: 446380 of 446380 requests failed (446380 errored); no request succeeded\n") {
		t.Errorf("failed requests: status %d, %q", status, out)
	}
	if err := os.WriteFile(filepath.Join(RunDir(dir, "h2-proxy", "haproxy", 2), "h2load.txt"), []byte("starting benchmark...\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	status, out, errOut = runCmd("line", dir, "h2-proxy", "haproxy", "2", "h2load")
	if status != exitUsage || out != "" || !strings.Contains(errOut, "not the output of a finished h2load run") {
		t.Errorf("cut short: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	status, _, errOut = runCmd("line", resultsH2Dir, "h2-proxy", "pipy", "1", "h2load")
	if status != exitUsage || !strings.Contains(errOut, "no h2load.txt") {
		t.Errorf("no h2load.txt: status %d, stderr %q", status, errOut)
	}
}

// An h2load file without its CPU snapshots is an error that names them.
func TestLoadH2MissingSnapshot(t *testing.T) {
	dir := copyDir(t, resultsH2Dir)
	path := filepath.Join(RunDir(dir, "h2-hello", "caddy", 1), "cpu.h2load.end")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want it to name %s", err, path)
	}
}
