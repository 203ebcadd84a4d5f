package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// H2load is what the report uses of one h2load run (nghttp2's HTTP/2 load
// generator, `h2load -t1 -cC -mM -D SECONDS URI`).
type H2load struct {
	// Seconds and ReqPerSec are the "finished in 3.00s, 50507.67 req/s,
	// 3.52MB/s" line. h2load's req/s counts the answered requests, with
	// any status (succeeded + failed - errored), per second.
	Seconds, ReqPerSec float64
	// Protocol is the "Application protocol: h2c" line; empty when h2load
	// printed none (no connection was made).
	Protocol string
	// The "requests:" line: "151523 total, 151623 started, 151523 done,
	// 151523 succeeded, 0 failed, 0 errored, 0 timeout". Failed includes
	// the answers with a status other than 2xx and 3xx, and Errored (reset
	// streams, closed connections).
	Total, Started, Done, Succeeded, Failed, Errored, Timeout int64
	// S2xx... are the "status codes:" line.
	S2xx, S3xx, S4xx, S5xx int64
	// Min, Max, Mean and SD are the "time for request:" line, in
	// microseconds (all 0 when no request was answered).
	Min, Max, Mean, SD float64
}

// Failures is the count of requests that did not succeed: h2load's failed
// (which includes errored ones and HTTP failures), or more if the other
// counts say so.
func (h H2load) Failures() int64 {
	return max(h.Failed, h.Errored, h.Timeout, h.S4xx+h.S5xx)
}

// Problem says what is wrong with the run, "" if nothing: a run fails when
// any request failed or none succeeded. (In a timed run h2load does not
// count the requests still in flight at the end, nor those of a connection
// that never got an answer, as failed: no request succeeding is how a
// server that does not speak h2c shows.)
func (h H2load) Problem() string {
	var p []string
	switch {
	case h.Protocol == "":
		p = append(p, "no connection (h2load printed no application protocol)")
	case h.Protocol != "h2c":
		p = append(p, "protocol "+h.Protocol+", not h2c")
	}
	if n := h.Failures(); n > 0 {
		var detail []string
		if h.Errored > 0 {
			detail = append(detail, fmt.Sprintf("%d errored", h.Errored))
		}
		if h.Timeout > 0 {
			detail = append(detail, fmt.Sprintf("%d timed out", h.Timeout))
		}
		if s := h.S4xx + h.S5xx; s > 0 {
			detail = append(detail, fmt.Sprintf("%d 4xx/5xx", s))
		}
		msg := fmt.Sprintf("%d of %d requests failed", n, h.Done)
		if len(detail) > 0 {
			msg += " (" + strings.Join(detail, ", ") + ")"
		}
		p = append(p, msg)
	}
	if h.Succeeded == 0 {
		msg := "no request succeeded"
		if h.Started > 0 && h.Done == 0 {
			msg += fmt.Sprintf(" (%d started, none answered)", h.Started)
		}
		p = append(p, msg)
	}
	return strings.Join(p, "; ")
}

// ParseH2load reads the output of h2load. It fails when a line the report
// needs ("finished in", "requests:", "status codes:", "time for request:")
// is missing or does not parse; the error says which line.
func ParseH2load(r io.Reader) (H2load, error) {
	var h H2load
	var haveFinished, haveRequests, haveStatus, haveTime bool
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		var err error
		switch {
		case strings.HasPrefix(line, "finished in "):
			err = h.parseFinished(line)
			haveFinished = err == nil
		case strings.HasPrefix(line, "Application protocol:"):
			h.Protocol = strings.TrimSpace(strings.TrimPrefix(line, "Application protocol:"))
		case strings.HasPrefix(line, "requests:"):
			err = parseCounts(strings.TrimPrefix(line, "requests:"), map[string]*int64{
				"total": &h.Total, "started": &h.Started, "done": &h.Done, "succeeded": &h.Succeeded,
				"failed": &h.Failed, "errored": &h.Errored, "timeout": &h.Timeout,
			})
			haveRequests = err == nil
		case strings.HasPrefix(line, "status codes:"):
			err = parseCounts(strings.TrimPrefix(line, "status codes:"), map[string]*int64{
				"2xx": &h.S2xx, "3xx": &h.S3xx, "4xx": &h.S4xx, "5xx": &h.S5xx,
			})
			haveStatus = err == nil
		case strings.HasPrefix(line, "time for request:"):
			err = h.parseTimes(strings.TrimPrefix(line, "time for request:"))
			haveTime = err == nil
		}
		if err != nil {
			return H2load{}, fmt.Errorf("line %d %q: %w", n, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return H2load{}, fmt.Errorf("reading h2load output: %w", err)
	}
	var missing []string
	if !haveFinished {
		missing = append(missing, `"finished in"`)
	}
	if !haveRequests {
		missing = append(missing, `"requests:"`)
	}
	if !haveStatus {
		missing = append(missing, `"status codes:"`)
	}
	if !haveTime {
		missing = append(missing, `"time for request:"`)
	}
	if len(missing) > 0 {
		return H2load{}, fmt.Errorf("not the output of a finished h2load run: no %s line", strings.Join(missing, ", "))
	}
	return h, nil
}

// parseFinished reads "finished in 3.00s, 50507.67 req/s, 3.52MB/s".
func (h *H2load) parseFinished(line string) error {
	parts := strings.Split(strings.TrimPrefix(line, "finished in "), ",")
	if len(parts) < 2 {
		return errors.New(`want "finished in T, N req/s, ..."`)
	}
	var err error
	if h.Seconds, err = ParseLatency(strings.TrimSpace(parts[0])); err != nil {
		return err
	}
	h.Seconds /= 1e6
	rate, ok := strings.CutSuffix(strings.TrimSpace(parts[1]), " req/s")
	if !ok {
		return fmt.Errorf("%q: want N req/s", strings.TrimSpace(parts[1]))
	}
	if h.ReqPerSec, err = strconv.ParseFloat(rate, 64); err != nil {
		return fmt.Errorf("req/s: %w", err)
	}
	return nil
}

// parseCounts reads "151523 total, 151623 started, ..." into the counts
// named by want; every one of them must be there.
func parseCounts(list string, want map[string]*int64) error {
	seen := map[string]bool{}
	for _, p := range strings.Split(list, ",") {
		f := strings.Fields(p)
		if len(f) != 2 {
			return fmt.Errorf("want \"COUNT NAME\", got %q", strings.TrimSpace(p))
		}
		dst, ok := want[f[1]]
		if !ok {
			continue // a count of a later h2load
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return fmt.Errorf("%s count: %w", f[1], err)
		}
		*dst = v
		seen[f[1]] = true
	}
	var missing []string
	for name := range want {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("no %s count", strings.Join(missing, ", "))
	}
	return nil
}

// parseTimes reads "38us 34.68ms 1.93ms 1.64ms 92.86%": min, max, mean,
// sd (and the share within one sd, not used).
func (h *H2load) parseTimes(s string) error {
	f := strings.Fields(s)
	if len(f) < 4 {
		return errors.New("want min, max, mean and sd")
	}
	for i, dst := range []*float64{&h.Min, &h.Max, &h.Mean, &h.SD} {
		v, err := ParseLatency(f[i])
		if err != nil {
			return err
		}
		*dst = v
	}
	return nil
}
