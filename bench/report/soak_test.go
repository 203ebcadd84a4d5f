package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/soak holds a real short soak (SOAK_DURATION=20 SOAK_INTERVAL=5
// bash bench/soak.sh) made by the script as it was before this program (its
// summary computed in awk): its CSV, wrk output and summary; plus a
// /metrics answer and /proc/PID/status of a --spawn=1 master.

func TestWorkerMetrics(t *testing.T) {
	m, err := readFile(filepath.Join("testdata", "soak", "metrics.txt"), WorkerMetrics)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		"pipy_connections": 0, "pipy_connections_accepted_total": 0, "pipy_bytes_in_total": 0,
		"pipy_bytes_out_total": 0, "pipy_http_requests_total": 0, "pipy_script_errors_total": 0,
		"pipy_memory_bytes": 13254656, "pipy_goroutines": 5,
	}
	if len(m) != len(want) {
		t.Errorf("got %d metrics, want %d (per-pipeline series are not worker figures): %v", len(m), len(want), m)
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %d, %v; want %d", k, got, ok, v)
		}
	}
	// Worker 2's figures and other label sets are not worker 1's.
	m, err = WorkerMetrics(strings.NewReader("pipy_goroutines{worker=\"2\"} 9\npipy_goroutines{worker=\"1\",x=\"y\"} 8\n"))
	if err != nil || len(m) != 0 {
		t.Errorf("got %v, %v; want nothing", m, err)
	}
	_, err = WorkerMetrics(strings.NewReader("pipy_goroutines{worker=\"1\"} 1e3\n"))
	if err == nil || !strings.Contains(err.Error(), `line 1: pipy_goroutines{worker="1"}`) {
		t.Errorf("bad value: err = %v", err)
	}
}

func TestStatusRSS(t *testing.T) {
	tests := []struct {
		file string
		want int64
	}{
		{"soak/status-master.txt", 14340 * 1024},
		{"proc/status-pipy.txt", 17828 * 1024},
	}
	for _, tc := range tests {
		got, err := readFile(filepath.Join("testdata", tc.file), StatusRSS)
		if err != nil || got != tc.want {
			t.Errorf("%s: %d, %v; want %d", tc.file, got, err, tc.want)
		}
	}
	if _, err := StatusRSS(strings.NewReader("Name:\tpipy\n")); err == nil || err.Error() != "no VmRSS line" {
		t.Errorf("no VmRSS: err = %v", err)
	}
}

func TestSoakSample(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "soak.csv")
	metrics := filepath.Join("testdata", "soak", "metrics.txt")
	status := filepath.Join("testdata", "soak", "status-master.txt")
	for _, elapsed := range []string{"0", "5"} {
		st, out, errOut := runCmd("soak-sample", csvPath, elapsed, metrics, status)
		want := "soak: " + strings.Repeat(" ", 5-len(elapsed)) + elapsed + "s  rss   12.6 MiB  goroutines     5  connections    0  requests 0\n"
		if st != 0 || out != want {
			t.Errorf("status %d, stderr %q\n got %q\nwant %q", st, errOut, out, want)
		}
	}
	// The master is gone: its field stays empty.
	if st, _, errOut := runCmd("soak-sample", csvPath, "10", metrics, filepath.Join(dir, "nonexistent")); st != 0 {
		t.Errorf("no master: status %d: %s", st, errOut)
	}
	got, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	want := "elapsed_s,rss_bytes,goroutines,connections,requests_total,master_rss_bytes\n" +
		"0,13254656,5,0,0,14684160\n" +
		"5,13254656,5,0,0,14684160\n" +
		"10,13254656,5,0,0,\n"
	if string(got) != want {
		t.Errorf("CSV:\n%s\nwant\n%s", got, want)
	}

	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if st, _, errOut := runCmd("soak-sample", csvPath, "15", empty, status); st != exitNoSample || !strings.Contains(errOut, empty+": no pipy_memory_bytes") {
		t.Errorf("no worker figures: status %d, stderr %q", st, errOut)
	}
	if st, _, _ := runCmd("soak-sample", csvPath, "x", metrics, status); st != exitUsage {
		t.Errorf("bad elapsed: status %d", st)
	}
}

func TestSoakBands(t *testing.T) {
	samples, err := readFile(filepath.Join("testdata", "soak", "soak.csv"), ReadSoakCSV)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 5 || samples[4] != (SoakSample{20, 23080960, 157}) {
		t.Fatalf("samples = %+v", samples)
	}
	rss, gr, n, err := SoakBands(samples, 10)
	if err != nil {
		t.Fatal(err)
	}
	mean := (22876160.0 + 23080960 + 23080960) / 3
	if n != 3 || rss.Min != 22876160 || rss.Max != 23080960 || math.Abs(rss.Mean-mean) > 1e-6 ||
		math.Abs(rss.Low-(22876160-mean)*100/mean) > 1e-9 || !rss.Within(0.6) || rss.Within(0.5) {
		t.Errorf("rss band %+v over %d samples", rss, n)
	}
	if gr != (Band{Min: 157, Max: 157, Mean: 157}) || !gr.Within(0) {
		t.Errorf("goroutine band %+v", gr)
	}
	// With the warm-up in, the start (12.7 MiB, 5 goroutines) is far off.
	rss, _, n, err = SoakBands(samples, 0)
	if err != nil || n != 5 || rss.Within(10) {
		t.Errorf("without warm-up: %+v, %d, %v", rss, n, err)
	}
	if _, _, n, err := SoakBands(samples, 20); err == nil || n != 1 || err.Error() != "too few samples after the warm-up: 1" {
		t.Errorf("one sample: n %d, err %v", n, err)
	}
}

func TestReadSoakCSVMalformed(t *testing.T) {
	tests := []struct{ name, in, wantErr string }{
		{"empty", "", "not a soak CSV"},
		{"no header", "0,1,2\n", "not a soak CSV"},
		{"bad number", "elapsed_s,rss_bytes,goroutines\n5,12x,3\n", "line 2"},
		{"short row", "elapsed_s,rss_bytes,goroutines\n5,12\n", "line 2: 2 fields"},
	}
	for _, tc := range tests {
		if _, err := ReadSoakCSV(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.wantErr)
		}
	}
}

const soakTitle = "soak of pipy on test/004-http-proxy: 20s, wrk -t1 -c50, a sample every 5s"

// The summary of the captured soak is the one the awk version wrote.
func TestSoakSummaryCaptured(t *testing.T) {
	csvPath := filepath.Join("testdata", "soak", "soak.csv")
	st, out, errOut := runCmd("soak-summary", "-warmup", "10", "-tolerance", "10", "-title", soakTitle,
		csvPath, filepath.Join("testdata", "soak", "wrk.txt"))
	want, err := os.ReadFile(filepath.Join("testdata", "soak", "summary.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// The run wrote the CSV's path where it was.
	wantText := strings.Replace(string(want), "/tmp/oldsoak/soak-20261203-081417.csv", csvPath, 1)
	if st != 0 || out != wantText || errOut != "" {
		t.Errorf("status %d, stderr %q\n got:\n%s\nwant:\n%s", st, errOut, out, wantText)
	}
}

func TestSoakSummaryFails(t *testing.T) {
	dir := t.TempDir()
	leak := filepath.Join(dir, "leak.csv")
	err := os.WriteFile(leak, []byte("elapsed_s,rss_bytes,goroutines,connections,requests_total,master_rss_bytes\n"+
		"10,20971520,157,100,1,1\n15,23068672,157,100,2,1\n20,25165824,160,100,3,1\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join("testdata", "soak", "soak.csv")
	wrkOK := filepath.Join("testdata", "soak", "wrk.txt")
	tests := []struct {
		name       string
		args       []string
		status     int
		wantOut    string
		wantStderr string
	}{
		{"RSS grows within 10 %", []string{"-warmup", "10", leak, wrkOK}, 0,
			"RSS (MiB)          20.0       24.0       22.0     -9.1%      9.1%  yes\n", ""},
		{"RSS grows, 5 %", []string{"-warmup", "10", "-tolerance", "5", leak, wrkOK}, exitFail,
			"-9.1%      9.1%  NO", "soak: FAIL: RSS or goroutines left the +-5% band"},
		{"non-2xx", []string{"-warmup", "10", good, filepath.Join("testdata", "wrk", "non2xx.txt")}, exitFail,
			"wrk: 180 requests, 89.09 req/s, socket errors: none, non-2xx: 180", "soak: FAIL: wrk counted errors: socket errors: none; non-2xx: 180"},
		{"read errors", []string{"-warmup", "10", good, filepath.Join("testdata", "wrk", "read-errors.txt")}, exitFail,
			"socket errors: connect 0, read 1735, write 0, timeout 0", "soak: FAIL: wrk counted errors"},
		{"wrk died", []string{"-warmup", "10", good, filepath.Join("testdata", "wrk", "refused.txt")}, exitFail,
			"wrk: ?\n", "soak: FAIL: wrk reported nothing usable: testdata/wrk/refused.txt: not the output"},
		{"too few samples", []string{"-warmup", "20", good, wrkOK}, exitFail,
			"too few samples after the warm-up: 1\n", "soak: FAIL: too few samples after the warm-up: 1"},
		{"bad CSV", []string{filepath.Join("testdata", "soak", "wrk.txt"), wrkOK}, exitUsage,
			"", "testdata/soak/wrk.txt: no \"elapsed_s,"},
		{"usage", []string{good}, exitUsage, "", "soak-summary [-warmup S]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, out, errOut := runCmd(append([]string{"soak-summary"}, tc.args...)...)
			if st != tc.status || !strings.Contains(out, tc.wantOut) || !strings.Contains(errOut, tc.wantStderr) {
				t.Errorf("status %d (want %d)\nstdout:\n%s\nstderr:\n%s", st, tc.status, out, errOut)
			}
		})
	}
}
