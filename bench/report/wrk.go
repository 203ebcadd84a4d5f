package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Wrk is what the report uses of one `wrk --latency` run.
type Wrk struct {
	// ReqPerSec is the "Requests/sec:" line.
	ReqPerSec float64
	// P50 and P99 are the latency percentiles of the "Latency Distribution"
	// block, in microseconds.
	P50, P99 float64
	// Requests is the count of the "N requests in T, B read" line.
	Requests int64
	// Seconds is the T of that line: how long wrk ran.
	Seconds float64
	// ThreadReqPerSec is the average of the "Req/Sec" thread statistics
	// (k and M expanded).
	ThreadReqPerSec float64
	// SocketErrors sums the connect, read, write and timeout counts of the
	// "Socket errors:" line (0 when wrk printed none).
	SocketErrors int64
	// SocketErrorList is that line as wrk wrote it ("connect 0, read 3,
	// write 0, timeout 0"); empty when there was none.
	SocketErrorList string
	// Non2xx is the "Non-2xx or 3xx responses:" count (0 when absent).
	Non2xx int64
}

// Errors is what the report calls errors: socket errors plus non-2xx/3xx
// answers.
func (w Wrk) Errors() int64 { return w.SocketErrors + w.Non2xx }

// ParseWrk reads the output of `wrk --latency`. It fails when a figure the
// report needs (Requests/sec, the 50% and 99% latencies, the request count)
// is missing or does not parse; the error says which line.
func ParseWrk(r io.Reader) (Wrk, error) {
	var w Wrk
	var haveRPS, haveP50, haveP99, haveReqs bool
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var err error
		switch {
		case f[0] == "Requests/sec:" && len(f) >= 2:
			w.ReqPerSec, err = strconv.ParseFloat(f[1], 64)
			haveRPS = err == nil
		case f[0] == "Req/Sec" && len(f) >= 2:
			w.ThreadReqPerSec, err = ParseCount(f[1])
		case isPercentile(f[0], "50") && len(f) >= 2:
			w.P50, err = ParseLatency(f[1])
			haveP50 = err == nil
		case isPercentile(f[0], "99") && len(f) >= 2:
			w.P99, err = ParseLatency(f[1])
			haveP99 = err == nil
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			w.Requests, err = strconv.ParseInt(f[0], 10, 64)
			if err == nil {
				w.Seconds, err = ParseLatency(strings.TrimSuffix(f[3], ","))
				w.Seconds /= 1e6
			}
			haveReqs = err == nil
		case strings.HasPrefix(strings.TrimSpace(line), "Socket errors:"):
			w.SocketErrors, err = parseSocketErrors(line)
			_, list, _ := strings.Cut(line, "Socket errors:")
			w.SocketErrorList = strings.TrimSpace(list)
		case strings.HasPrefix(strings.TrimSpace(line), "Non-2xx or 3xx responses:"):
			w.Non2xx, err = strconv.ParseInt(f[len(f)-1], 10, 64)
		}
		if err != nil {
			return Wrk{}, fmt.Errorf("line %d %q: %w", n, strings.TrimSpace(line), err)
		}
	}
	if err := sc.Err(); err != nil {
		return Wrk{}, fmt.Errorf("reading wrk output: %w", err)
	}
	var missing []string
	if !haveRPS {
		missing = append(missing, `"Requests/sec:"`)
	}
	if !haveP50 {
		missing = append(missing, `"50%"`)
	}
	if !haveP99 {
		missing = append(missing, `"99%"`)
	}
	if !haveReqs {
		missing = append(missing, `"N requests in"`)
	}
	if len(missing) > 0 {
		return Wrk{}, fmt.Errorf("not the output of a finished wrk --latency run: no %s line", strings.Join(missing, ", "))
	}
	return w, nil
}

// isPercentile tells whether field is the percentile p of a latency
// distribution: "50%", or "50.000%" as wrk2 prints it.
func isPercentile(field, p string) bool {
	rest, ok := strings.CutPrefix(field, p)
	if !ok || !strings.HasSuffix(rest, "%") {
		return false
	}
	rest = strings.TrimSuffix(rest, "%")
	if rest == "" {
		return true
	}
	return rest[0] == '.' && strings.Trim(rest[1:], "0") == ""
}

// parseSocketErrors sums "Socket errors: connect 0, read 1735, write 0, timeout 0".
func parseSocketErrors(line string) (int64, error) {
	_, list, _ := strings.Cut(line, "Socket errors:")
	var sum int64
	parts := strings.Split(list, ",")
	for _, p := range parts {
		f := strings.Fields(p)
		if len(f) != 2 {
			return 0, fmt.Errorf("want \"KIND COUNT\", got %q", strings.TrimSpace(p))
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s count: %w", f[0], err)
		}
		sum += n
	}
	return sum, nil
}

// timeUnits are wrk's time units (format_time), in microseconds.
var timeUnits = []struct {
	suffix string
	us     float64
}{
	{"us", 1}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6},
}

// ParseLatency converts a wrk time ("103.00us", "2.49ms", "1.24s", "2.00m",
// "1.00h") to microseconds.
func ParseLatency(s string) (float64, error) {
	for _, u := range timeUnits {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		// "us" and "ms" come before "s" in the list, so "2.49ms" is not
		// read as seconds.
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("time %q: %w", s, err)
		}
		// Rounded to the nanosecond: 2.49ms is 2490 us, not 2490.0000000000005.
		return math.Round(v*u.us*1000) / 1000, nil
	}
	return 0, fmt.Errorf("time %q: no unit (us, ms, s, m or h)", s)
}

// ParseCount converts a wrk count with an SI suffix ("3.38k", "1.20M",
// "0.00", "2G") to a number.
func ParseCount(s string) (float64, error) {
	mult := 1.0
	num := s
	switch {
	case strings.HasSuffix(s, "k"):
		mult, num = 1e3, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "M"):
		mult, num = 1e6, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, num = 1e9, strings.TrimSuffix(s, "G")
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("count %q: %w", s, err)
	}
	return v * mult, nil
}
