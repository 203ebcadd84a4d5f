// Package console serves the web console (docs/console.md): a REST API to
// browse and edit the files of the served directory, start and stop the
// program, see its pipeline graphs, follow the log and the workers' stats,
// and the browser UI embedded from ui/dist.
//
// It is a development tool without authentication. File access never
// leaves the served directory; state-changing requests from other web
// origins and requests naming an unexpected Host (DNS rebinding) are
// refused.
package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/logging"
	"github.com/pipy-go/pipy/scripts"
)

// Config is what the console serves.
type Config struct {
	// Root is the served directory, absolute.
	Root string
	// Program controls the running program; nil serves files only.
	Program ProgramControl
	// Log is the log whose history /api/log and /api/events serve.
	Log *logging.Output
	// Stats returns the current counters of every worker; nil means none.
	Stats func() []WorkerStats
	// Logger gets the console's own messages; nil discards them.
	Logger hclog.Logger
	// AllowedHosts are extra host names (without port) accepted in the
	// Host header of API requests, besides IP addresses, "localhost",
	// "*.localhost", single-label names and this machine's host name.
	AllowedHosts []string
}

// ProgramControl starts and stops the program the console shows.
type ProgramControl interface {
	// Current returns the root module of the running program, e.g.
	// "/002-hello/pipy.js", or "" when nothing runs.
	Current() string
	// Start loads and runs the module at path (relative to Root, with a
	// leading slash), replacing the current program.
	Start(path string) error
	// Stop stops the running program, if any.
	Stop() error
	// Config returns the live graph of every module of the running
	// program; empty when nothing runs.
	Config() map[string]*scripts.Graph
}

// WorkerStats are the counters of one worker. RequestsPerSec is computed by
// the console from successive samples; the value Stats returns is ignored.
type WorkerStats struct {
	ID             int     `json:"id"`
	PID            int     `json:"pid"`
	Connections    int64   `json:"connections"`
	Requests       int64   `json:"requests"`
	RequestsPerSec float64 `json:"requestsPerSec"`
	Memory         int64   `json:"memory"`
	BytesIn        int64   `json:"bytesIn"`
	BytesOut       int64   `json:"bytesOut"`
}

// Limits on request bodies.
const (
	MaxFileSize    = 16 << 20 // POST /api/files/<path>
	MaxScriptSize  = 16 << 20 // POST /api/graph
	MaxProgramPath = 64 << 10 // POST /api/program
)

// Server is the console: an http.Handler, and a server of its own with
// Serve.
type Server struct {
	cfg      Config
	log      hclog.Logger
	root     string // cleaned Root
	realRoot string // Root with symlinks resolved
	hosts    map[string]bool
	assets   fs.FS
	static   sync.Map // name → *asset

	progMu sync.Mutex // serialises Start/Stop
	stats  statsSampler
	now    func() time.Time

	// Event stream timing (shortened by tests).
	logEvery, statsEvery, heartbeatEvery time.Duration

	mu      sync.Mutex
	servers []*http.Server
	done    chan struct{}
	closed  bool
}

// New returns a console serving cfg.
func New(cfg Config) *Server { return newServer(cfg, distFS()) }

func newServer(cfg Config, assets fs.FS) *Server {
	s := &Server{
		cfg:            cfg,
		log:            cfg.Logger,
		root:           filepath.Clean(cfg.Root),
		assets:         assets,
		now:            time.Now,
		logEvery:       100 * time.Millisecond,
		statsEvery:     time.Second,
		heartbeatEvery: 15 * time.Second,
		done:           make(chan struct{}),
		hosts:          map[string]bool{"localhost": true},
	}
	if s.log == nil {
		s.log = hclog.NewNullLogger()
	}
	s.realRoot = s.root
	if r, err := filepath.EvalSymlinks(s.root); err == nil {
		s.realRoot = r
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		s.hosts[strings.ToLower(h)] = true
	}
	for _, h := range cfg.AllowedHosts {
		s.hosts[strings.ToLower(strings.TrimSuffix(h, "."))] = true
	}
	return s
}

// Serve accepts connections on ln until ln fails or Close is called; it
// returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          s.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close closes the listeners and every connection, event streams included.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.done)
	var first error
	for _, srv := range s.servers {
		if err := srv.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	p := r.URL.Path
	if p != "/api" && !strings.HasPrefix(p, "/api/") {
		s.serveStatic(w, r)
		return
	}
	h.Set("Cache-Control", "no-store")
	if !s.hostAllowed(r.Host) {
		s.text(w, http.StatusForbidden, "host not allowed: "+r.Host+"\n")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !s.sameOrigin(r) {
		s.text(w, http.StatusForbidden, "cross-origin request refused\n")
		return
	}
	switch {
	case p == "/api/files":
		if allow(w, r, http.MethodGet) {
			s.listFiles(w, r)
		}
	case strings.HasPrefix(p, "/api/files/"):
		s.file(w, r, strings.TrimPrefix(p, "/api/files/"))
	case p == "/api/program":
		s.program(w, r)
	case p == "/api/config":
		if allow(w, r, http.MethodGet) {
			s.config(w, r)
		}
	case p == "/api/graph":
		if allow(w, r, http.MethodPost) {
			s.graph(w, r)
		}
	case p == "/api/log":
		if allow(w, r, http.MethodGet) {
			s.logLines(w, r)
		}
	case p == "/api/stats":
		if allow(w, r, http.MethodGet) {
			s.json(w, http.StatusOK, struct {
				Workers []WorkerStats `json:"workers"`
			}{s.stats.sample(s.cfg.Stats, s.now())})
		}
	case p == "/api/events":
		if allow(w, r, http.MethodGet) {
			s.events(w, r)
		}
	default:
		s.empty(w, http.StatusNotFound)
	}
}

// allow answers 405 unless the request uses one of methods (GET implies
// HEAD).
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m || m == http.MethodGet && r.Method == http.MethodHead {
			return true
		}
	}
	list := strings.Join(methods, ", ")
	if strings.Contains(list, http.MethodGet) {
		list += ", " + http.MethodHead
	}
	w.Header().Set("Allow", list)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusMethodNotAllowed)
	return false
}

// hostAllowed protects against DNS rebinding: a page of another site whose
// name was made to resolve to this machine would send its own name.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	switch {
	case host == "":
		return true // HTTP/1.0 without a Host header
	case net.ParseIP(host) != nil:
		return true
	case s.hosts[host], strings.HasSuffix(host, ".localhost"), !strings.Contains(host, "."):
		return true
	}
	return false
}

// sameOrigin refuses state-changing requests made by pages of other web
// origins (a form posted by any site the developer visits). Pages served
// from the loopback interface (a front-end dev server) are accepted.
func (s *Server) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return r.Header.Get("Sec-Fetch-Site") != "cross-site"
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // includes "null"
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	h := strings.ToLower(u.Hostname())
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Responses. Every one but the event stream has a Content-Length.

func (s *Server) empty(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

func (s *Server) text(w http.ResponseWriter, status int, body string) {
	s.reply(w, status, "text/plain; charset=utf-8", []byte(body))
}

func (s *Server) json(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.log.Error("cannot encode a response", "error", err)
		s.empty(w, http.StatusInternalServerError)
		return
	}
	s.reply(w, status, "application/json", bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

func (s *Server) reply(w http.ResponseWriter, status int, ctype string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", itoa(int64(len(body))))
	w.WriteHeader(status)
	w.Write(body)
}
