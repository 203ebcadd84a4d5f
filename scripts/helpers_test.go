package scripts_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dop251/goja"
	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/scripts"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is a temporary root directory with an Env whose log goes to a
// buffer the test can inspect.
type harness struct {
	t   *testing.T
	dir string
	log *syncBuffer
	env *filters.Env
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	log := &syncBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{
		Output:          log,
		Level:           hclog.Trace,
		DisableTime:     true,
		IncludeLocation: false,
	})
	return &harness{
		t:   t,
		dir: t.TempDir(),
		log: log,
		env: &filters.Env{Loop: filters.NewLoop(), Log: logger, Print: func(string) {}},
	}
}

// write stores a file under the root directory and returns its absolute path.
func (h *harness) write(name, text string) string {
	h.t.Helper()
	p := filepath.Join(h.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// load writes src as main.js and loads it.
func (h *harness) load(src string) (*filters.Program, error) {
	h.t.Helper()
	return scripts.Load(h.write("main.js", src), h.env)
}

func (h *harness) mustLoad(src string) *filters.Program {
	h.t.Helper()
	prog, err := h.load(src)
	if err != nil {
		h.t.Fatalf("load failed: %v\nscript:\n%s", err, src)
	}
	return prog
}

// loadErr loads src and fails the test unless loading fails.
func (h *harness) loadErr(src string) error {
	h.t.Helper()
	prog, err := h.load(src)
	if err == nil {
		h.t.Fatalf("load of\n%s\nsucceeded (%d pipelines), want an error", src, len(prog.Pipelines()))
	}
	return err
}

// logLines returns the message part of every log line (the hclog level
// prefix removed).
func (h *harness) logLines() []string {
	var out []string
	for _, l := range strings.Split(h.log.String(), "\n") {
		if l == "" {
			continue
		}
		// hclog pads the level bracket to 7 characters, then a space:
		// "[INFO]  msg", "[ERROR] msg".
		if strings.HasPrefix(l, "[") && len(l) >= 8 {
			l = l[8:]
		}
		out = append(out, l)
	}
	return out
}

func (h *harness) hasLogLine(line string) bool {
	for _, l := range h.logLines() {
		if l == line {
			return true
		}
	}
	return false
}

// sink collects the events a session outputs.
type sink struct{ events []filters.Event }

func (s *sink) Input(evt filters.Event) { s.events = append(s.events, evt) }

// body concatenates the Data events.
func (s *sink) body() string {
	var b strings.Builder
	for _, e := range s.events {
		if d, ok := e.(*filters.Data); ok {
			b.WriteString(d.String())
		}
	}
	return b.String()
}

// end returns the SessionEnd the session output, or nil.
func (s *sink) end() *filters.SessionEnd {
	for _, e := range s.events {
		if se, ok := e.(*filters.SessionEnd); ok {
			return se
		}
	}
	return nil
}

// kinds lists the event kinds in order, e.g. "MessageStart Data MessageEnd".
func (s *sink) kinds() string {
	var k []string
	for _, e := range s.events {
		k = append(k, e.Kind().String())
	}
	return strings.Join(k, " ")
}

func pipelineOf(t *testing.T, prog *filters.Program, name string) *filters.Pipeline {
	t.Helper()
	for _, pl := range prog.Pipelines() {
		if pl.Name == name {
			return pl
		}
	}
	t.Fatalf("no pipeline %q", name)
	return nil
}

// runMessage runs one session of pipeline name in ctx (a fresh root context
// when nil) fed one empty message, and returns what it output.
func (h *harness) runMessage(prog *filters.Program, name string, ctx *filters.Context) *sink {
	h.t.Helper()
	pl := pipelineOf(h.t, prog, name)
	if ctx == nil {
		ctx = prog.NewContext(nil)
	}
	out := &sink{}
	h.env.Loop.Enter()
	s := pl.NewSession(ctx, out)
	s.Input(&filters.MessageStart{})
	s.Input(filters.TheMessageEnd)
	h.env.Loop.Leave()
	return out
}

func runtimeOf(prog *filters.Program) *goja.Runtime { return prog.Script.Runtime() }

// global reads a global of the program's runtime.
func global(t *testing.T, prog *filters.Program, name string) goja.Value {
	t.Helper()
	v := runtimeOf(prog).Get(name)
	if v == nil {
		t.Fatalf("global %s is not defined", name)
	}
	return v
}

// results loads a script that defines a global object R filled by calls of
// t(name, fn): R[name] is fn's result, or "ERR:" + the message it threw.
// It returns R exported to Go.
func (h *harness) results(body string) map[string]any {
	h.t.Helper()
	src := `var R = {};
function t(name, f) { try { R[name] = f(); } catch (e) { R[name] = 'ERR:' + e.message; } }
` + body + `
pipy()
`
	prog := h.mustLoad(src)
	m, ok := global(h.t, prog, "R").Export().(map[string]any)
	if !ok {
		h.t.Fatalf("R is not an object")
	}
	return m
}

func checkResults(t *testing.T, got map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: no result", k)
			continue
		}
		if !equalValue(g, w) {
			t.Errorf("%s = %#v, want %#v", k, g, w)
		}
	}
}

func equalValue(g, w any) bool {
	switch w := w.(type) {
	case int:
		switch g := g.(type) {
		case int64:
			return g == int64(w)
		case float64:
			return g == float64(w)
		}
		return false
	}
	return g == w
}
