package master

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pipy-go/pipy/console"
	"github.com/pipy-go/pipy/ipc"
)

// The master's views of its workers: the SIGTSTP table, the admin endpoint
// (/metrics, /status, /ready) and the console's stats all come from
// workerStats.

// workerView is what the master knows of one slot.
type workerView struct {
	slot  int
	ready bool
	stats *ipc.WorkerStat // nil while the slot has no running worker with a report
}

// workerStats returns a view of every slot, by slot. With fresh, it first
// asks every ready worker for a report and waits for them a moment; the
// reports otherwise come every second.
func (m *Master) workerStats(fresh bool) []workerView {
	if fresh {
		var waits []func(<-chan time.Time)
		for _, s := range m.slots {
			waits = append(waits, s.askStats())
		}
		deadline := time.After(m.env.statsWait)
		for _, wait := range waits {
			wait(deadline)
		}
	}
	out := make([]workerView, 0, len(m.slots))
	for _, s := range m.slots {
		out = append(out, workerView{slot: s.id, ready: s.isReady(), stats: s.lastStat()})
	}
	return out
}

// statusText renders the status table summed over the workers.
func (m *Master) statusText() string {
	return ipc.StatusText(ipc.SumPipelines(allStats(m.workerStats(true))))
}

func allStats(views []workerView) []*ipc.WorkerStat {
	var all []*ipc.WorkerStat
	for _, v := range views {
		all = append(all, v.stats) // SumPipelines skips nil
	}
	return all
}

// ready reports whether the master serves: started, not stopping, and
// every worker ready. It answers the readiness probe.
func (m *Master) ready() bool {
	m.mu.Lock()
	serving := m.serving
	m.mu.Unlock()
	return serving && m.allReady()
}

// serveAdmin serves /metrics (Prometheus text format, one series per
// worker), /status (JSON) and /ready (200 when ready, else 503) on addr
// ("[host:]port", loopback by default).
func (m *Master) serveAdmin(addr string) error {
	// Through the upgrader, so an upgraded master inherits the socket.
	ln, err := m.upg.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	m.closers = append(m.closers, ln)
	m.log.Info("[admin] Listening on " + ln.Addr().String())
	if !console.Loopback(ln.Addr().String()) {
		m.log.Warn("[admin] listening beyond loopback on " + addr + ": /metrics, /status and /ready have no authentication")
	}
	go http.Serve(ln, m.adminHandler())
	return nil
}

func (m *Master) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, metricsText(m.workerStats(true)))
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(statusJSON(m.workerStats(true)))
	})
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !m.ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready")
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// statusDoc is the JSON of /status.
type statusDoc struct {
	Workers   []workerDoc        `json:"workers"`
	Pipelines []ipc.PipelineStat `json:"pipelines"`
}

type workerDoc struct {
	Slot  int             `json:"slot"`
	Ready bool            `json:"ready"`
	Stats *ipc.WorkerStat `json:"stats"`
}

func statusJSON(views []workerView) statusDoc {
	doc := statusDoc{Workers: []workerDoc{}}
	for _, v := range views {
		doc.Workers = append(doc.Workers, workerDoc{Slot: v.slot, Ready: v.ready, Stats: v.stats})
	}
	doc.Pipelines = ipc.SumPipelines(allStats(views))
	return doc
}

// metricsText renders the Prometheus text format: one series per worker
// that has reported.
func metricsText(views []workerView) string {
	var b strings.Builder
	var live []workerView
	for _, v := range views {
		if v.stats != nil {
			live = append(live, v)
		}
	}
	metric := func(name, typ, help string, value func(*ipc.WorkerStat) int64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, v := range live {
			fmt.Fprintf(&b, "%s{worker=\"%d\"} %d\n", name, v.slot, value(v.stats))
		}
	}
	metric("pipy_connections", "gauge", "Open inbound connections.", func(s *ipc.WorkerStat) int64 { return s.Connections })
	metric("pipy_connections_accepted_total", "counter", "Inbound connections accepted.", func(s *ipc.WorkerStat) int64 { return s.Accepted })
	metric("pipy_bytes_in_total", "counter", "Bytes read from sockets.", func(s *ipc.WorkerStat) int64 { return s.BytesIn })
	metric("pipy_bytes_out_total", "counter", "Bytes written to sockets.", func(s *ipc.WorkerStat) int64 { return s.BytesOut })
	metric("pipy_http_requests_total", "counter", "HTTP requests decoded.", func(s *ipc.WorkerStat) int64 { return s.Requests })
	metric("pipy_script_errors_total", "counter", "Sessions aborted by script errors.", func(s *ipc.WorkerStat) int64 { return s.Errors })
	metric("pipy_memory_bytes", "gauge", "Resident memory of the worker.", func(s *ipc.WorkerStat) int64 { return s.Memory })
	metric("pipy_goroutines", "gauge", "Live goroutines of the worker.", func(s *ipc.WorkerStat) int64 { return s.Goroutines })
	fmt.Fprintf(&b, "# HELP pipy_sessions_active Sessions not yet ended, per pipeline.\n# TYPE pipy_sessions_active gauge\n")
	for _, v := range live {
		for _, p := range v.stats.Pipelines {
			fmt.Fprintf(&b, "pipy_sessions_active{worker=\"%d\",pipeline=%q} %d\n", v.slot, p.Name, p.Active)
		}
	}
	return b.String()
}
