package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(args ...string) (status int, stdout, stderr string) {
	var out, errOut strings.Builder
	status = run(args, &out, &errOut)
	return status, out.String(), errOut.String()
}

func TestLineCommand(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		// The figures of testdata/results/raw/tcp-proxy/nginx/run1.
		{[]string{"tcp-proxy", "nginx", "1", "50"},
			"tcp-proxy  nginx      c50  run 1: 9354.52 req/s, p50 3480 us, p99 116160 us, CPU 13.7% (22.22 us/req), errors 0, RSS 12068 -> 12532 kB, upstream conns 50\n"},
		{[]string{"tcp-proxy", "nginx", "1", "1"},
			"tcp-proxy  nginx      c1   run 1: 2495.69 req/s, p50 222 us, p99 8730 us, CPU 22.1% (91.49 us/req), errors 0\n"},
		{[]string{"http-hello", "pipy-spawn", "3", "50"},
			"http-hello pipy-spawn c50  run 3: 11443.31 req/s, p50 1550 us, p99 110450 us, CPU 22.6% (20.72 us/req), errors 0, RSS 38228 -> 47844 kB\n"},
	}
	for _, tc := range tests {
		status, out, errOut := runCmd(append([]string{"line", resultsDir}, tc.args...)...)
		if status != 0 || out != tc.want {
			t.Errorf("line %v: status %d, stderr %q\n got %q\nwant %q", tc.args, status, errOut, out, tc.want)
		}
	}
}

func TestLineCommandStrace(t *testing.T) {
	status, out, errOut := runCmd("line", resultsDir, "http-hello", "nginx", "1", "strace")
	if status != 0 {
		t.Fatalf("status %d: %s", status, errOut)
	}
	st, err := readFile(filepath.Join(RunDir(resultsDir, "http-hello", "nginx", 1), "strace.txt"), ParseStraceC)
	if err != nil {
		t.Fatal(err)
	}
	w, err := readFile(filepath.Join(RunDir(resultsDir, "http-hello", "nginx", 1), "wrk.strace.txt"), ParseWrk)
	if err != nil {
		t.Fatal(err)
	}
	perReq := float64(st.Calls) / float64(w.Requests)
	if !strings.HasPrefix(out, "http-hello nginx      strace run 1: ") || !strings.Contains(out, " syscalls/req (recvfrom 1.0") ||
		!strings.Contains(out, num(w.ReqPerSec)+" req/s under strace") || perReq < 1.9 || perReq > 2.3 {
		t.Errorf("got %q (%.2f syscalls/req)", out, perReq)
	}
}

func TestLineCommandMalformed(t *testing.T) {
	dir := copyResults(t)
	path := filepath.Join(RunDir(dir, "http-hello", "pipy", 1), "wrk.c50.txt")
	if err := os.WriteFile(path, []byte("unable to connect to 127.0.0.1:18100 Connection refused\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	status, out, errOut := runCmd("line", dir, "http-hello", "pipy", "1", "50")
	if status != exitUsage || out != "" || !strings.Contains(errOut, path+": not the output of a finished wrk --latency run") {
		t.Errorf("status %d, stdout %q, stderr %q", status, out, errOut)
	}
	status, _, errOut = runCmd("line", resultsDir, "http-hello", "pipy", "1", "7")
	if status != exitUsage || !strings.Contains(errOut, "no wrk.c7.txt") {
		t.Errorf("unknown concurrency: status %d, stderr %q", status, errOut)
	}
}

func TestWriteCommand(t *testing.T) {
	dir := copyResults(t)
	status, out, errOut := runCmd("write", dir)
	if status != 0 {
		t.Fatalf("status %d: %s", status, errOut)
	}
	for _, f := range []string{"latest.md", "latest.txt", "results.tsv"} {
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", "golden", f))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from testdata/golden/%s", f, f)
		}
		if f == "latest.txt" && out != string(want) {
			t.Errorf("printed tables differ from latest.txt")
		}
	}
	md := filepath.Join(t.TempDir(), "performance.md")
	if status, _, errOut := runCmd("write", "-md", md, dir); status != 0 {
		t.Fatalf("-md: status %d: %s", status, errOut)
	}
	if b, err := os.ReadFile(md); err != nil || !strings.HasPrefix(string(b), "# Performance\n") {
		t.Errorf("-md file: %v %.20q", err, b)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{nil, "usage: report line|write|soak-sample|soak-summary"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"line", "x"}, "line RESULTS SCENARIO SERVER RUN CONNS|strace"},
		{[]string{"line", resultsDir, "http-hello", "pipy", "one", "50"}, `run "one": not a number`},
		{[]string{"line", resultsDir, "http-hello", "pipy", "1", "fifty"}, `"fifty" is neither strace, h2load nor a concurrency`},
		{[]string{"write"}, "write [-md FILE] [-text FILE] [-tsv FILE] RESULTS"},
		{[]string{"write", "-x", "y"}, "flag provided but not defined: -x"},
		{[]string{"write", "/nonexistent"}, "/nonexistent/run.txt"},
	}
	for _, tc := range tests {
		status, _, errOut := runCmd(tc.args...)
		if status != exitUsage || !strings.Contains(errOut, tc.wantErr) {
			t.Errorf("%q: status %d, stderr %q; want %d and %q", tc.args, status, errOut, exitUsage, tc.wantErr)
		}
	}
}
