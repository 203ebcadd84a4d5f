package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files under testdata/wrk are real wrk 4.1.0 outputs captured on the
// bench machine (hello: pipy's 002-hello; the others: a small test server
// that is slow, answers 404, resets connections or never answers).
func TestParseWrkCaptured(t *testing.T) {
	tests := []struct {
		file string
		want Wrk
	}{
		{"hello-c50.txt", Wrk{ReqPerSec: 17605.33, P50: 2490, P99: 27720, Requests: 53242, Seconds: 3.02, ThreadReqPerSec: 17660}},
		{"hello-c1.txt", Wrk{ReqPerSec: 3343.50, P50: 103, P99: 35100, Requests: 10274, Seconds: 3.07, ThreadReqPerSec: 3380}},
		{"slow-seconds.txt", Wrk{ReqPerSec: 2.93, P50: 1240000, P99: 1250000, Requests: 12, Seconds: 4.10, ThreadReqPerSec: 3}},
		{"non2xx.txt", Wrk{ReqPerSec: 89.09, P50: 43990, P99: 77980, Requests: 180, Seconds: 2.02, ThreadReqPerSec: 89.25, Non2xx: 180}},
		{"read-errors.txt", Wrk{ReqPerSec: 0, P50: 0, P99: 0, Requests: 0, Seconds: 2.02, ThreadReqPerSec: 0,
			SocketErrors: 1735, SocketErrorList: "connect 0, read 1735, write 0, timeout 0"}},
		{"timeouts.txt", Wrk{ReqPerSec: 2.32, Requests: 7, Seconds: 3.02, ThreadReqPerSec: 5.33,
			SocketErrors: 7, SocketErrorList: "connect 0, read 0, write 0, timeout 7"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := readFile(filepath.Join("testdata", "wrk", tc.file), ParseWrk)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestWrkErrors(t *testing.T) {
	tests := []struct {
		w    Wrk
		want int64
	}{
		{Wrk{}, 0},
		{Wrk{SocketErrors: 3}, 3},
		{Wrk{Non2xx: 180}, 180},
		{Wrk{SocketErrors: 2, Non2xx: 5}, 7},
	}
	for _, tc := range tests {
		if got := tc.w.Errors(); got != tc.want {
			t.Errorf("%+v.Errors() = %d, want %d", tc.w, got, tc.want)
		}
	}
}

func TestParseWrkMalformed(t *testing.T) {
	c50, err := os.ReadFile(filepath.Join("testdata", "wrk", "hello-c50.txt"))
	if err != nil {
		t.Fatal(err)
	}
	without := func(prefix string) string {
		var keep []string
		for _, l := range strings.Split(string(c50), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), prefix) {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	tests := []struct {
		name, input, wantErr string
	}{
		{"refused", "unable to connect to 127.0.0.1:18198 Connection refused\n", `no "Requests/sec:", "50%", "99%", "N requests in" line`},
		{"empty", "", "not the output of a finished wrk --latency run"},
		{"no --latency", without("50%"), `no "50%" line`},
		{"no p99", without("99%"), `no "99%" line`},
		{"cut short", without("Requests/sec:"), `no "Requests/sec:" line`},
		{"bad rate", strings.Replace(string(c50), "17605.33", "17605,33", 1), `"Requests/sec:  17605,33": strconv.ParseFloat`},
		{"unknown unit", strings.Replace(string(c50), "2.49ms", "2.49xs", 1), `time "2.49xs"`},
		{"bad socket errors", string(c50) + "  Socket errors: connect x, read 0\n", "connect count"},
		{"bad count", strings.Replace(string(c50), "53242 requests", "5e3 requests", 1), `"5e3 requests in 3.02s, 3.50MB read"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseWrk(strings.NewReader(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseWrkErrorNamesFile(t *testing.T) {
	path := filepath.Join("testdata", "wrk", "refused.txt")
	_, err := readFile(path, ParseWrk)
	if err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Fatalf("err = %v, want it to start with %q", err, path+": ")
	}
}

func TestParseLatency(t *testing.T) {
	tests := []struct {
		in   string
		want float64 // microseconds
		err  bool
	}{
		{"103.00us", 103, false},
		{"0.00us", 0, false},
		{"2.49ms", 2490, false},
		{"27.72ms", 27720, false},
		{"1.24s", 1240000, false},
		{"2.00m", 120e6, false},
		{"1.50h", 5400e6, false},
		{"3.02s", 3020000, false},
		{"12", 0, true},
		{"ms", 0, true},
		{"1.2.3ms", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseLatency(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseLatency(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseCount(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		err  bool
	}{
		{"3.00", 3, false},
		{"89.25", 89.25, false},
		{"17.66k", 17660, false},
		{"1.20M", 1.2e6, false},
		{"2G", 2e9, false},
		{"k", 0, true},
		{"1.5x", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseCount(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseCount(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestIsPercentile(t *testing.T) {
	tests := []struct {
		field, p string
		want     bool
	}{
		{"50%", "50", true},
		{"50.000%", "50", true},
		{"99%", "99", true},
		{"99.900%", "99", false},
		{"50", "50", false},
		{"500%", "50", false},
		{"91.22%", "99", false},
	}
	for _, tc := range tests {
		if got := isPercentile(tc.field, tc.p); got != tc.want {
			t.Errorf("isPercentile(%q, %q) = %v, want %v", tc.field, tc.p, got, tc.want)
		}
	}
}
