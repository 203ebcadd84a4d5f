package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pipy-go/pipy/scripts"
)

// readBody reads a request body of at most limit bytes; too long gives
// errTooLarge.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errTooLarge
	}
	return b, err
}

func (s *Server) bodyError(w http.ResponseWriter, err error) {
	if errors.Is(err, errTooLarge) {
		s.text(w, http.StatusRequestEntityTooLarge, "request body too large\n")
		return
	}
	s.text(w, http.StatusBadRequest, "cannot read the request body\n")
}

// program serves /api/program.
func (s *Server) program(w http.ResponseWriter, r *http.Request) {
	pc := s.cfg.Program
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		cur := ""
		if pc != nil {
			cur = pc.Current()
		}
		s.text(w, http.StatusOK, cur)
	case http.MethodPost:
		body, err := readBody(w, r, MaxProgramPath)
		if err != nil {
			s.bodyError(w, err)
			return
		}
		p, err := programPath(r.Header.Get("Content-Type"), body)
		if err != nil {
			s.text(w, http.StatusBadRequest, err.Error()+"\n")
			return
		}
		if pc == nil {
			s.text(w, http.StatusServiceUnavailable, "no program control\n")
			return
		}
		s.progMu.Lock()
		err = pc.Start(p)
		s.progMu.Unlock()
		if err != nil {
			s.log.Debug("cannot start the program", "path", p, "error", err)
			s.text(w, http.StatusBadRequest, err.Error()+"\n")
			return
		}
		s.empty(w, http.StatusCreated)
	case http.MethodDelete:
		if pc != nil {
			s.progMu.Lock()
			err := pc.Stop()
			s.progMu.Unlock()
			if err != nil {
				s.text(w, http.StatusInternalServerError, err.Error()+"\n")
				return
			}
		}
		s.empty(w, http.StatusNoContent)
	default:
		allow(w, r, http.MethodGet, http.MethodPost, http.MethodDelete)
	}
}

// programPath reads the module path of POST /api/program: the body as
// text, or {"path": "..."} when sent as JSON. The result is a clean path
// with a leading slash, so it cannot name a file above the root.
func programPath(ctype string, body []byte) (string, error) {
	p := string(body)
	if mt, _, _ := mime.ParseMediaType(ctype); mt == "application/json" {
		var req struct {
			Path *string `json:"path"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || req.Path == nil {
			return "", errors.New(`bad JSON: want {"path": "/dir/script.js"}`)
		}
		p = *req.Path
	}
	p = strings.TrimSpace(p)
	if p == "" || strings.ContainsRune(p, 0) {
		return "", errors.New("no module path")
	}
	p = path.Clean("/" + p)
	if p == "/" {
		return "", errors.New("no module path")
	}
	return p, nil
}

// config serves GET /api/config: the live graphs.
func (s *Server) config(w http.ResponseWriter, r *http.Request) {
	var g map[string]*scripts.Graph
	if s.cfg.Program != nil {
		g = s.cfg.Program.Config()
	}
	if g == nil {
		g = map[string]*scripts.Graph{}
	}
	s.json(w, http.StatusOK, g)
}

// graph serves POST /api/graph: the static graph of the posted source.
func (s *Server) graph(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, MaxScriptSize)
	if err != nil {
		s.bodyError(w, err)
		return
	}
	g, err := scripts.StaticGraph(string(body))
	if err != nil {
		resp := struct {
			Error  string `json:"error"`
			Line   int    `json:"line,omitempty"`
			Column int    `json:"column,omitempty"`
		}{Error: err.Error()}
		var se *scripts.SyntaxError
		if errors.As(err, &se) {
			resp.Line, resp.Column = se.Line, se.Column
		}
		s.json(w, http.StatusBadRequest, resp)
		return
	}
	s.json(w, http.StatusOK, g)
}

// logLines serves GET /api/log: the lines after the first x-log-size ones
// still in the history, and the total count in x-log-size.
func (s *Server) logLines(w http.ResponseWriter, r *http.Request) {
	since, err := strconv.Atoi(strings.TrimSpace(r.Header.Get("X-Log-Size")))
	if err != nil || since < 0 {
		since = 0
	}
	total, lines := 0, []string(nil)
	if s.cfg.Log != nil {
		total, lines = s.cfg.Log.History(since)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	w.Header().Set("X-Log-Size", strconv.Itoa(total))
	s.text(w, http.StatusOK, b.String())
}

// statsSampler computes requests per second from successive samples.
type statsSampler struct {
	mu   sync.Mutex
	prev map[int]rateSample // by worker ID
}

type rateSample struct {
	pid      int
	at       time.Time
	requests int64
	rate     float64
}

// rateWindow is the shortest time over which a rate is measured; samples
// closer together reuse the last rate.
const rateWindow = 500 * time.Millisecond

func (st *statsSampler) sample(stats func() []WorkerStats, now time.Time) []WorkerStats {
	out := []WorkerStats{}
	if stats != nil {
		out = append(out, stats()...)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.prev == nil {
		st.prev = map[int]rateSample{}
	}
	seen := make(map[int]bool, len(out))
	for i := range out {
		w := &out[i]
		seen[w.ID] = true
		p, ok := st.prev[w.ID]
		if !ok || p.pid != w.PID || w.Requests < p.requests {
			// New or restarted worker: measure from now on.
			st.prev[w.ID] = rateSample{pid: w.PID, at: now, requests: w.Requests}
			w.RequestsPerSec = 0
			continue
		}
		if dt := now.Sub(p.at); dt >= rateWindow {
			p.rate = float64(w.Requests-p.requests) / dt.Seconds()
			p.at, p.requests = now, w.Requests
			st.prev[w.ID] = p
		}
		w.RequestsPerSec = p.rate
	}
	for id := range st.prev {
		if !seen[id] {
			delete(st.prev, id)
		}
	}
	return out
}

// events serves GET /api/events, a stream of Server-Sent Events:
//
//	event: log      one log line per event; id is the line's number (1-based),
//	                so a reconnecting EventSource resumes where it stopped
//	event: stats    the /api/stats JSON, every second
//	event: program  the running program's module ("" for none), at the
//	                start and whenever it changes
//
// plus a comment every 15 s as a heartbeat. Log lines start after the
// Last-Event-ID header or the since query parameter (the number of lines
// the client has, as in x-log-size), else after the lines logged so far.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	since := -1
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("since")} {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
			since = n
			break
		}
	}
	if since < 0 {
		since = 0
		if s.cfg.Log != nil {
			since, _ = s.cfg.Log.History(1 << 62)
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	var buf bytes.Buffer
	flush := func() bool {
		if buf.Len() == 0 {
			return true
		}
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		if err == nil {
			err = rc.Flush()
		}
		return err == nil
	}
	program := ""
	sendProgram := func(force bool) {
		cur := ""
		if s.cfg.Program != nil {
			cur = s.cfg.Program.Current()
		}
		if force || cur != program {
			program = cur
			writeEvent(&buf, "program", "", cur)
		}
	}
	sendStats := func() {
		b, _ := json.Marshal(struct {
			Workers []WorkerStats `json:"workers"`
		}{s.stats.sample(s.cfg.Stats, s.now())})
		writeEvent(&buf, "stats", "", string(b))
	}
	sendLog := func() {
		if s.cfg.Log == nil {
			return
		}
		total, lines := s.cfg.Log.History(since)
		if total < since {
			since = total // a restarted count
		}
		first := total - len(lines)
		for i, l := range lines {
			writeEvent(&buf, "log", strconv.Itoa(first+i+1), l)
		}
		since = total
	}

	buf.WriteString("retry: 2000\n: pipy console events\n\n")
	sendProgram(true)
	sendStats()
	sendLog()
	if !flush() {
		return
	}
	logTick := time.NewTicker(s.logEvery)
	defer logTick.Stop()
	statsTick := time.NewTicker(s.statsEvery)
	defer statsTick.Stop()
	beat := time.NewTicker(s.heartbeatEvery)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-logTick.C:
			sendLog()
		case <-statsTick.C:
			sendProgram(false)
			sendStats()
		case <-beat.C:
			buf.WriteString(": ping\n\n")
		}
		if !flush() {
			return
		}
	}
}

// writeEvent appends one event; a payload with line breaks becomes several
// data lines, which the client joins with "\n".
func writeEvent(b *bytes.Buffer, event, id, data string) {
	fmt.Fprintf(b, "event: %s\n", event)
	if id != "" {
		fmt.Fprintf(b, "id: %s\n", id)
	}
	data = strings.ReplaceAll(data, "\r\n", "\n")
	data = strings.ReplaceAll(data, "\r", "\n")
	for _, l := range strings.Split(data, "\n") {
		b.WriteString("data: ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
}
