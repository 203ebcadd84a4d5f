package master

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/pipy-go/pipy/console"
	"github.com/pipy-go/pipy/ipc"
)

// stats returns the last stats of every live worker, by slot.
func (m *Master) stats() map[int]*ipc.WorkerStat {
	out := map[int]*ipc.WorkerStat{}
	for _, w := range m.workers {
		if s := w.lastStat(); s != nil && w.running() {
			out[w.slot] = s
		}
	}
	return out
}

// statusText renders the status table summed over the workers.
func (m *Master) statusText() string {
	var all []*ipc.WorkerStat
	for _, s := range m.stats() {
		all = append(all, s)
	}
	return ipc.StatusText(ipc.SumPipelines(all))
}

// serveAdmin serves /metrics (Prometheus text format, one series per
// worker) and /status (JSON) on addr ("[host:]port", loopback by default).
func (m *Master) serveAdmin(addr string) error {
	// Through tableflip, so an upgraded master inherits the admin socket.
	ln, err := m.upg.Fds.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, m.metricsText())
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(m.statusJSON())
	})
	m.log.Info("[admin] Listening on " + ln.Addr().String())
	if !console.Loopback(ln.Addr().String()) {
		m.log.Warn("[admin] listening beyond loopback on " + addr + ": /metrics and /status have no authentication")
	}
	go http.Serve(ln, mux)
	return nil
}

type statusDoc struct {
	Workers   []workerDoc        `json:"workers"`
	Pipelines []ipc.PipelineStat `json:"pipelines"`
}

type workerDoc struct {
	Slot  int             `json:"slot"`
	Ready bool            `json:"ready"`
	Stats *ipc.WorkerStat `json:"stats"`
}

func (m *Master) statusJSON() statusDoc {
	doc := statusDoc{}
	stats := m.stats()
	var all []*ipc.WorkerStat
	for _, w := range m.workers {
		s := stats[w.slot]
		doc.Workers = append(doc.Workers, workerDoc{Slot: w.slot, Ready: w.isReady(), Stats: s})
		all = append(all, s)
	}
	doc.Pipelines = ipc.SumPipelines(all)
	return doc
}

func (m *Master) metricsText() string {
	var b strings.Builder
	stats := m.stats()
	slots := make([]int, 0, len(stats))
	for s := range stats {
		slots = append(slots, s)
	}
	sort.Ints(slots)
	metric := func(name, typ, help string, value func(*ipc.WorkerStat) int64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, s := range slots {
			fmt.Fprintf(&b, "%s{worker=\"%d\"} %d\n", name, s, value(stats[s]))
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
	for _, s := range slots {
		for _, p := range stats[s].Pipelines {
			fmt.Fprintf(&b, "pipy_sessions_active{worker=\"%d\",pipeline=%q} %d\n", s, p.Name, p.Active)
		}
	}
	return b.String()
}
