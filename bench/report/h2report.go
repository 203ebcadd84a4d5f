package main

import (
	"fmt"
	"strings"
)

// The HTTP/2 scenarios have tables of their own: one h2load run per
// measurement (no concurrency levels), latency as h2load gives it (mean,
// sd, min, max; no percentiles), and a row fails as a whole when any
// request failed.

// h2Key is the key of Notes and Problems.
func h2Key(scenario, server string) string { return scenario + "/" + server }

// H2Status is "" when every h2load run of scenario/server went well, else
// why not: the script's notes (failure.txt, e.g. a pipy without demuxHttp),
// then each run whose requests failed or never succeeded. A server with no
// h2load run and no note failed somewhere the log tells.
func (r Report) H2Status(scenario, server string) string {
	var why []string
	for _, n := range r.Notes[h2Key(scenario, server)] {
		if !contains(why, n) {
			why = append(why, n)
		}
	}
	why = append(why, r.Problems[h2Key(scenario, server)]...)
	if len(why) == 0 {
		if _, ok := r.Median(scenario, server, "rps."+H2Label); !ok {
			why = append(why, "no h2load run (see the log)")
		}
	}
	return strings.Join(why, "; ")
}

// h2OK is the median req/s of scenario/server when its row did not fail.
func (r Report) h2OK(scenario, server string) opt {
	if r.H2Status(scenario, server) != "" {
		return opt{}
	}
	return r.med(scenario, server, "rps."+H2Label)
}

// BestH2Peer is the peer with the highest median req/s in scenario among
// those whose row did not fail; "" if none.
func (r Report) BestH2Peer(scenario string) (string, opt) {
	var best opt
	var name string
	for _, srv := range r.Meta.Servers {
		if srv == "pipy" || !r.Meta.Supported(scenario, srv) {
			continue
		}
		if v := r.h2OK(scenario, srv); v.ok && (!best.ok || v.v > best.v) {
			best, name = v, srv
		}
	}
	return name, best
}

// H2Table is per HTTP/2 scenario and server: req/s (FAILED when the row
// failed), the ratio to the best peer, the latencies, the failed requests
// summed over the runs and the result.
func (r Report) H2Table() Table {
	m := r.Meta
	t := Table{{"scenario", "server", "req/s", "vs best peer", "mean", "sd", "min", "max", "failed", "result"}}
	for _, s := range m.SelectedH2() {
		bestName, best := r.BestH2Peer(s)
		for _, srv := range m.Servers {
			if !m.Supported(s, srv) {
				t = append(t, []string{s, srv, "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a"})
				continue
			}
			status := r.H2Status(s, srv)
			rps := r.h2OK(s, srv)
			vs := fmtRatio(rps.v, rps.ok, best.v, best.ok)
			if srv == bestName {
				vs += " (best)"
			}
			lat := func(metric string) string {
				v := r.med(s, srv, metric+"."+H2Label)
				return fmtMs(v.v, v.ok)
			}
			failed := "-"
			if runs := r.byKey[key(s, srv, "failed."+H2Label)]; len(runs) > 0 {
				var sum float64
				for _, v := range runs {
					sum += v
				}
				failed = fmtNum(sum, true, 0)
			}
			result := "ok"
			if status != "" {
				result = "FAILED: " + status
			}
			t = append(t, []string{s, srv, fmtRPS(rps.v, rps.ok), vs, lat("mean"), lat("sd"), lat("min"), lat("max"), failed, result})
		}
	}
	return t
}

// H2RatiosTable is per HTTP/2 scenario and peer: req/s pipy/peer and mean
// latency peer/pipy ("-" when either row failed).
func (r Report) H2RatiosTable() Table {
	m := r.Meta
	t := Table{{"scenario", "peer", "req/s pipy/peer", "mean latency peer/pipy"}}
	for _, s := range m.SelectedH2() {
		pr := r.h2OK(s, "pipy")
		pm := r.med(s, "pipy", "mean."+H2Label)
		pm.ok = pm.ok && pr.ok
		for _, srv := range m.Servers {
			if srv == "pipy" {
				continue
			}
			if !m.Supported(s, srv) {
				t = append(t, []string{s, srv, "n/a", "n/a"})
				continue
			}
			vr := r.h2OK(s, srv)
			vm := r.med(s, srv, "mean."+H2Label)
			vm.ok = vm.ok && vr.ok
			t = append(t, []string{s, srv, fmtRatio(pr.v, pr.ok, vr.v, vr.ok), fmtRatio(vm.v, vm.ok, pm.v, pm.ok)})
		}
	}
	return t
}

// H2ResourcesTable is per HTTP/2 scenario and server: RSS idle and after
// the h2load run, CPU during it, CPU per request, upstream connections.
func (r Report) H2ResourcesTable() Table {
	m := r.Meta
	t := Table{{"scenario", "server", "RSS idle", "RSS after h2load", "CPU h2load", "CPU us/req", "upstream conns"}}
	for _, s := range m.SelectedH2() {
		for _, srv := range m.Servers {
			if !m.Supported(s, srv) {
				t = append(t, []string{s, srv, "n/a", "n/a", "n/a", "n/a", "n/a"})
				continue
			}
			idle, load := r.med(s, srv, "rss_idle"), r.med(s, srv, "rss_load")
			cpu, req := r.med(s, srv, "cpu."+H2Label), r.med(s, srv, "cpureq."+H2Label)
			up := "-"
			if m.NeedsBackend(s) {
				v := r.med(s, srv, "upstream")
				up = fmtNum(v.v, v.ok, 0)
			}
			t = append(t, []string{s, srv, fmtMiB(idle.v, idle.ok), fmtMiB(load.v, load.ok), fmtPct(cpu.v, cpu.ok),
				fmtNum(req.v, req.ok, 1), up})
		}
	}
	return t
}

// h2TargetScenarios are the HTTP/2 scenarios of the targets, in order.
var h2TargetScenarios = []string{"h2-hello", "h2-proxy"}

// targetH2 checks that pipy answered every h2load request of scenario.
func (r Report) targetH2(s string) []string {
	label := s + ": pipy answers every h2load request"
	if !r.Meta.Measured(s, "pipy") {
		return []string{label, "-", verdict(false, false)}
	}
	status := r.H2Status(s, "pipy")
	if status != "" {
		return []string{label, status, "not met"}
	}
	var ok float64
	for _, v := range r.byKey[key(s, "pipy", "ok."+H2Label)] {
		ok += v
	}
	return []string{label, fmt.Sprintf("%s requests, 0 failed", fmtNum(ok, true, 0)), "met"}
}

// h2Command is the h2load command line of the run, as the report shows it.
func (m Meta) h2Command() string {
	c, s := "?", "?"
	if m.H2Clients > 0 {
		c, s = fmt.Sprint(m.H2Clients), fmt.Sprint(m.H2Streams)
	}
	return fmt.Sprintf("h2load -t1 -c%s -m%s -D %d", c, s, m.Duration)
}

// H2ProgressLine is the line bench/run.sh logs after an h2load run, and
// the run's problem ("" if none).
func H2ProgressLine(r Run, head string, run int) (string, string, error) {
	if r.H2 == nil {
		return "", "", fmt.Errorf("no %s.txt", H2Label)
	}
	h := r.H2.H2load
	line := fmt.Sprintf("%s h2load run %d: %s req/s, mean %s us, sd %s us, max %s us, CPU %.1f%% (%.2f us/req), %d succeeded, %d failed",
		head, run, num(h.ReqPerSec), num(h.Mean), num(h.SD), num(h.Max), r.H2.CPU.Percent, r.H2.CPUPerRequest(),
		h.Succeeded, h.Failures())
	if r.Idle != nil && r.Loaded != nil {
		line += fmt.Sprintf(", RSS %d -> %d kB", r.Idle.RssKB, r.Loaded.RssKB)
	}
	if r.Upstream >= 0 {
		line += fmt.Sprintf(", upstream conns %d", r.Upstream)
	}
	p := h.Problem()
	if p != "" {
		line += ": FAILED: " + p
	}
	return line, p, nil
}
