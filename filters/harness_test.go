package filters_test

// Test harness: load a tiny script, run sessions of one of its pipelines
// under the loop and record what comes out, in the spirit of
// golang.org/x/net/nettest (one conformance suite, many ways of feeding it).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/scripts"
)

// world is a loaded program with its environment.
type world struct {
	t      testing.TB
	env    *filters.Env
	prog   *filters.Program
	mu     sync.Mutex
	prints []string
	logs   bytes.Buffer
}

// load writes src to pipy.js in a temporary directory and loads it.
func load(t testing.TB, src string) *world {
	t.Helper()
	w := &world{t: t}
	w.env = &filters.Env{
		Loop: filters.NewLoop(),
		Log: hclog.New(&hclog.LoggerOptions{
			Output: syncWriter{&w.mu, &w.logs}, Level: hclog.Trace,
			DisableTime: true,
		}),
		Print: func(line string) {
			w.mu.Lock()
			w.prints = append(w.prints, line)
			w.mu.Unlock()
		},
	}
	file := filepath.Join(t.TempDir(), "pipy.js")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	prog, err := scripts.Load(file, w.env)
	if err != nil {
		t.Fatalf("load %q: %v", src, err)
	}
	w.prog = prog
	return w
}

// loadErr loads src and returns the load error (nil when it loads).
func loadErr(t testing.TB, src string) error {
	t.Helper()
	env := &filters.Env{Loop: filters.NewLoop(), Log: hclog.NewNullLogger(), Print: func(string) {}}
	file := filepath.Join(t.TempDir(), "pipy.js")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := scripts.Load(file, env)
	return err
}

func (w *world) resetPrints() {
	w.mu.Lock()
	w.prints = nil
	w.mu.Unlock()
}

type syncWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (w *world) logText() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.logs.String()
}

func (w *world) printed() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.prints...)
}

func (w *world) rt() *goja.Runtime { return w.prog.Script.Runtime() }

// pipeline returns the named pipeline of the root module.
func (w *world) pipeline(name string) *filters.Pipeline {
	w.t.Helper()
	p := w.prog.Root.Named[name]
	if p == nil {
		w.t.Fatalf("no pipeline %q", name)
	}
	return p
}

// rec records the output of a session.
type rec struct {
	w    *world
	s    *filters.Session
	ctx  *filters.Context
	evts []filters.Event
	// data holds a copy of the bytes of each Data event at the time it
	// was output (downstream never sees it change afterwards here).
	data map[int]string
}

func (r *rec) Input(evt filters.Event) {
	if d, ok := evt.(*filters.Data); ok {
		if r.data == nil {
			r.data = map[int]string{}
		}
		r.data[len(r.evts)] = string(d.Bytes())
	}
	r.evts = append(r.evts, evt)
}

// session starts a session of pipeline name in a fresh root context.
func (w *world) session(name string) *rec { return w.sessionIn(name, nil) }

// sessionIn starts a session with the given inbound connection (nil: none).
func (w *world) sessionIn(name string, in *filters.Inbound) *rec {
	w.t.Helper()
	p := w.pipeline(name)
	r := &rec{w: w}
	w.env.Loop.Enter()
	r.ctx = w.prog.NewContext(in)
	r.s = p.NewSession(r.ctx, r)
	w.env.Loop.Leave()
	return r
}

// feed inputs events inside the loop.
func (r *rec) feed(evts ...filters.Event) {
	r.w.env.Loop.Enter()
	defer r.w.env.Loop.Leave()
	for _, e := range evts {
		r.s.Input(e)
	}
}

// run calls f inside the loop.
func (r *rec) run(f func()) {
	r.w.env.Loop.Enter()
	defer r.w.env.Loop.Leave()
	f()
}

func (r *rec) feedString(parts ...string) {
	for _, p := range parts {
		r.feed(data(p))
	}
}

// set assigns a context variable of the root module in the session's
// context (inside the loop).
func (r *rec) set(name string, v any) {
	r.run(func() { r.ctx.Set(r.w.prog.Root, name, r.w.rt().ToValue(v)) })
}

// get returns a context variable of the session as JSON.
func (r *rec) get(name string) string {
	m := r.w.prog.Root
	var v goja.Value
	if i, ok := m.VarIndex[name]; ok {
		v = r.ctx.Vars[m.Index][i]
	} else if r.ctx.Extra != nil && r.ctx.Extra[m.Index] != nil {
		v = r.ctx.Extra[m.Index][name]
	}
	return jsonOf(r.w.rt(), v)
}

func jsonOf(rt *goja.Runtime, v goja.Value) string {
	if v == nil {
		return "undefined"
	}
	b, err := json.Marshal(v.Export())
	if err != nil {
		return v.String()
	}
	return string(b)
}

func data(s string) *filters.Data { return filters.NewDataBytes([]byte(s)) }

// bytesOut concatenates every Data output.
func (r *rec) bytesOut() string {
	var b strings.Builder
	for i, e := range r.evts {
		if e.Kind() == filters.KindData {
			b.WriteString(r.data[i])
		}
	}
	return b.String()
}

// kinds lists the output event kinds, Data written as D(len).
func (r *rec) kinds() string {
	var parts []string
	for i, e := range r.evts {
		switch e.Kind() {
		case filters.KindData:
			parts = append(parts, fmt.Sprintf("D(%d)", len(r.data[i])))
		case filters.KindMessageStart:
			parts = append(parts, "MS")
		case filters.KindMessageEnd:
			parts = append(parts, "ME")
		case filters.KindSessionEnd:
			se := e.(*filters.SessionEnd)
			parts = append(parts, "SE"+errSuffix(se.Err))
		}
	}
	return strings.Join(parts, " ")
}

func errSuffix(e filters.ErrorCode) string {
	if e == filters.NoError {
		return ""
	}
	return "(" + e.String() + ")"
}

// last returns the last output event or nil.
func (r *rec) last() filters.Event {
	if len(r.evts) == 0 {
		return nil
	}
	return r.evts[len(r.evts)-1]
}

// headString describes a message head: HTTP heads in Go form, script values
// as JSON.
func headString(rt *goja.Runtime, h any) string {
	switch x := h.(type) {
	case nil:
		return "null"
	case *filters.HTTPRequestHead:
		return fmt.Sprintf("%s %s %s %s", x.Method, x.Path, x.Protocol, fieldsString(x.Headers))
	case *filters.HTTPResponseHead:
		return fmt.Sprintf("%s %d %q %s", x.Protocol, x.Status, x.StatusText, fieldsString(x.Headers))
	case goja.Value:
		return jsonOf(rt, x)
	}
	return fmt.Sprint(h)
}

func fieldsString(hs []filters.HeaderField) string {
	parts := make([]string, len(hs))
	for i, f := range hs {
		parts[i] = f.Name + ": " + f.Value
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// summary normalises the output so that differently split inputs compare
// equal: one line per message start, the body of each message concatenated,
// one line per message end and session end.
func (r *rec) summary() string {
	var b strings.Builder
	var body strings.Builder
	inside := false
	flushBody := func() {
		if body.Len() > 0 {
			if inside {
				fmt.Fprintf(&b, "body %q\n", body.String())
			} else {
				fmt.Fprintf(&b, "data %q\n", body.String())
			}
			body.Reset()
		}
	}
	for i, e := range r.evts {
		switch x := e.(type) {
		case *filters.Data:
			body.WriteString(r.data[i])
		case *filters.MessageStart:
			flushBody()
			inside = true
			fmt.Fprintf(&b, "start %s\n", headString(r.w.rt(), x.Head))
		case *filters.MessageEnd:
			flushBody()
			inside = false
			b.WriteString("end\n")
		case *filters.SessionEnd:
			flushBody()
			fmt.Fprintf(&b, "sessionend %q\n", x.Err.String())
		}
	}
	flushBody()
	return b.String()
}

// wellFormed checks the event grammar: messages do not nest, nothing follows
// a SessionEnd.
func (r *rec) wellFormed() error {
	inside := false
	for i, e := range r.evts {
		switch e.Kind() {
		case filters.KindMessageStart:
			if inside {
				return fmt.Errorf("event %d: MessageStart inside a message (%s)", i, r.kinds())
			}
			inside = true
		case filters.KindMessageEnd:
			if !inside {
				return fmt.Errorf("event %d: MessageEnd outside a message (%s)", i, r.kinds())
			}
			inside = false
		case filters.KindSessionEnd:
			if i != len(r.evts)-1 {
				return fmt.Errorf("event %d: events after SessionEnd (%s)", i, r.kinds())
			}
		}
	}
	return nil
}

// guard runs f with a time limit and turns a panic into an error, so a
// malformed input can neither hang nor crash the suite.
func guard(t testing.TB, limit time.Duration, f func()) {
	t.Helper()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		f()
	}()
	select {
	case p := <-done:
		if p != nil {
			t.Fatalf("panic: %v", p)
		}
	case <-time.After(limit):
		t.Fatalf("no result after %v (hang?)", limit)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
