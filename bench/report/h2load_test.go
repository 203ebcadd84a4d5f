package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files under testdata/h2load are real h2load outputs (nghttp2 1.52.0,
// Debian's nghttp2-client) captured on the bench machine: nginx-hello is
// the h2-hello scenario against nginx 1.22 (`listen ... http2`) from a
// bench/run.sh run; the others are h2load against an nginx location that
// answers 404 (non2xx), one that resets every stream (`return 444`:
// errored), both in turn (mixed), a closed port (refused) and pipy's
// HTTP/1-only hello (http1-only: the streams are started, none answered).
func TestParseH2loadCaptured(t *testing.T) {
	tests := []struct {
		file    string
		want    H2load
		problem string
	}{
		{"nginx-hello.txt", H2load{Seconds: 3, ReqPerSec: 42156, Protocol: "h2c",
			Total: 126468, Started: 126568, Done: 126468, Succeeded: 126468, S2xx: 126468,
			Min: 29, Max: 36150, Mean: 2310, SD: 3080}, ""},
		{"non2xx.txt", H2load{Seconds: 2, ReqPerSec: 44477.5, Protocol: "h2c",
			Total: 88955, Started: 89055, Done: 88955, Failed: 88955, S4xx: 88955,
			Min: 74, Max: 7810, Mean: 2070, SD: 883},
			"88955 of 88955 requests failed (88955 4xx/5xx); no request succeeded"},
		{"errored.txt", H2load{Seconds: 2, Protocol: "h2c",
			Total: 446380, Started: 446480, Done: 446380, Failed: 446380, Errored: 446380},
			"446380 of 446380 requests failed (446380 errored); no request succeeded"},
		{"mixed.txt", H2load{Seconds: 2, ReqPerSec: 35602.5, Protocol: "h2c",
			Total: 142405, Started: 142505, Done: 142405, Succeeded: 71205, Failed: 71200, Errored: 71200, S2xx: 71206,
			Min: 41, Max: 10130, Mean: 1270, SD: 770},
			"71200 of 142405 requests failed (71200 errored)"},
		{"refused.txt", H2load{Seconds: 2},
			"no connection (h2load printed no application protocol); no request succeeded"},
		{"http1-only.txt", H2load{Seconds: 2, Protocol: "h2c", Started: 100},
			"no request succeeded (100 started, none answered)"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := readFile(filepath.Join("testdata", "h2load", tc.file), ParseH2load)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if p := got.Problem(); p != tc.problem {
				t.Errorf("Problem() = %q, want %q", p, tc.problem)
			}
		})
	}
}

func TestH2loadFailures(t *testing.T) {
	tests := []struct {
		h    H2load
		want int64
	}{
		{H2load{}, 0},
		{H2load{Failed: 5, Errored: 3}, 5},
		{H2load{Timeout: 2}, 2},
		{H2load{S5xx: 4, Failed: 1}, 4},
	}
	for _, tc := range tests {
		if got := tc.h.Failures(); got != tc.want {
			t.Errorf("%+v.Failures() = %d, want %d", tc.h, got, tc.want)
		}
	}
	if p := (H2load{Protocol: "http/1.1", Succeeded: 3, Done: 3}).Problem(); p != "protocol http/1.1, not h2c" {
		t.Errorf("HTTP/1.1: Problem() = %q", p)
	}
	if p := (H2load{Protocol: "h2c", Succeeded: 7, Done: 9, Failed: 2, Timeout: 2}).Problem(); p != "2 of 9 requests failed (2 timed out)" {
		t.Errorf("timeouts: Problem() = %q", p)
	}
}

func TestParseH2loadMalformed(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "h2load", "nginx-hello.txt"))
	if err != nil {
		t.Fatal(err)
	}
	without := func(prefix string) string {
		var keep []string
		for _, l := range strings.Split(string(good), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), prefix) {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	replace := func(old, new string) string { return strings.Replace(string(good), old, new, 1) }
	tests := []struct {
		name, input, wantErr string
	}{
		{"empty", "", `not the output of a finished h2load run: no "finished in", "requests:", "status codes:", "time for request:" line`},
		{"killed", without("finished in"), `no "finished in" line`},
		{"no requests", without("requests:"), `no "requests:" line`},
		{"no status", without("status codes:"), `no "status codes:" line`},
		{"no times", without("time for request:"), `no "time for request:" line`},
		{"bad rate", replace("42156.00 req/s", "42156,00 req/s"), `"finished in 3.00s, 42156,00 req/s, 2.93MB/s"`},
		{"no rate", replace("42156.00 req/s, 2.93MB/s", "2.93MB/s"), `"2.93MB/s": want N req/s`},
		{"one field", replace("3.00s, 42156.00 req/s, 2.93MB/s", "3.00s"), `want "finished in T, N req/s, ..."`},
		{"bad count", replace("0 errored", "x errored"), "errored count"},
		{"missing count", replace(", 0 timeout", ""), "no timeout count"},
		{"bad time", replace("36.15ms", "36.15xs"), `time "36.15xs"`},
		{"short times", strings.Replace(replace("    92.36%", ""), "3.08ms", "", 1), "want min, max, mean and sd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseH2load(strings.NewReader(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
