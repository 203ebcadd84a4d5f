// Package filtertest is the test harness of filters and filter families:
// it loads a small script (through package scripts), runs sessions of one of
// its pipelines inside the loop and records what comes out, in the spirit
// of golang.org/x/net/nettest (one conformance suite, many ways of feeding
// it). Only tests import it; it is the one package below scripts that may
// import scripts.
package filtertest

import (
	_ "github.com/pipy-go/pipy/filters/all" // test scripts may use every filter

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

// World is a loaded program with its environment.
type World struct {
	T    testing.TB
	Env  *filters.Env
	Prog *filters.Program

	mu     sync.Mutex
	prints []string
	logs   bytes.Buffer
}

// Load writes src to pipy.js in a temporary directory and loads it.
func Load(t testing.TB, src string) *World {
	t.Helper()
	return LoadModules(t, src, nil)
}

// LoadModules is Load with other module files (name -> text) beside
// pipy.js.
func LoadModules(t testing.TB, src string, files map[string]string) *World {
	t.Helper()
	w := &World{T: t}
	w.Env = &filters.Env{
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
	prog, err := scripts.Load(writeModules(t, src, files), w.Env)
	if err != nil {
		t.Fatalf("load %q: %v", src, err)
	}
	w.Prog = prog
	return w
}

// writeModules writes pipy.js and the other files into a temporary root
// directory and returns the path of pipy.js.
func writeModules(t testing.TB, src string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "pipy.js")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// LoadErr loads src and returns the load error (nil when it loads).
func LoadErr(t testing.TB, src string) error {
	t.Helper()
	return LoadModulesErr(t, src, nil)
}

// LoadModulesErr is LoadErr with other module files beside pipy.js.
func LoadModulesErr(t testing.TB, src string, files map[string]string) error {
	t.Helper()
	env := &filters.Env{Loop: filters.NewLoop(), Log: hclog.NewNullLogger(), Print: func(string) {}}
	_, err := scripts.Load(writeModules(t, src, files), env)
	return err
}

// ResetPrints forgets what print and dump output so far.
func (w *World) ResetPrints() {
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

// LogText returns everything logged so far.
func (w *World) LogText() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.logs.String()
}

// Printed returns the lines print and dump output so far.
func (w *World) Printed() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.prints...)
}

// RT returns the program's goja runtime.
func (w *World) RT() *goja.Runtime { return w.Prog.Script.Runtime() }

// Pipeline returns the named pipeline of the root module.
func (w *World) Pipeline(name string) *filters.Pipeline {
	w.T.Helper()
	p := w.Prog.Root.Named[name]
	if p == nil {
		w.T.Fatalf("no pipeline %q", name)
	}
	return p
}

// Rec records the output of a session; it is the session's output sink.
type Rec struct {
	W    *World
	S    *filters.Session
	Ctx  *filters.Context
	Evts []filters.Event
	// data holds a copy of the bytes of each Data event at the time it
	// was output (downstream never sees it change afterwards here).
	data map[int]string
}

// Input implements filters.Sink: it records evt (and a copy of its bytes).
func (r *Rec) Input(evt filters.Event) {
	if d, ok := evt.(*filters.Data); ok {
		if r.data == nil {
			r.data = map[int]string{}
		}
		r.data[len(r.Evts)] = string(d.Bytes())
	}
	r.Evts = append(r.Evts, evt)
}

// Session starts a session of pipeline name in a fresh root context.
func (w *World) Session(name string) *Rec { return w.SessionIn(name, nil) }

// SessionIn starts a session with the given inbound connection (nil: none).
func (w *World) SessionIn(name string, in *filters.Inbound) *Rec {
	w.T.Helper()
	p := w.Pipeline(name)
	r := &Rec{W: w}
	w.Env.Loop.Enter()
	r.Ctx = w.Prog.NewContext(in)
	r.S = p.NewSession(r.Ctx, r)
	w.Env.Loop.Leave()
	return r
}

// Feed inputs events inside the loop.
func (r *Rec) Feed(evts ...filters.Event) {
	r.W.Env.Loop.Enter()
	defer r.W.Env.Loop.Leave()
	for _, e := range evts {
		r.S.Input(e)
	}
}

// Run calls f inside the loop.
func (r *Rec) Run(f func()) {
	r.W.Env.Loop.Enter()
	defer r.W.Env.Loop.Leave()
	f()
}

// FeedString inputs each part as a Data event, inside the loop.
func (r *Rec) FeedString(parts ...string) {
	for _, p := range parts {
		r.Feed(Data(p))
	}
}

// Set assigns a context variable of the root module in the session's
// context (inside the loop).
func (r *Rec) Set(name string, v any) {
	r.Run(func() { r.Ctx.Set(r.W.Prog.Root, name, r.W.RT().ToValue(v)) })
}

// Get returns a context variable of the session as JSON.
func (r *Rec) Get(name string) string {
	m := r.W.Prog.Root
	var v goja.Value
	if i, ok := m.VarIndex[name]; ok {
		v = r.Ctx.Vars[m.Index][i]
	} else if r.Ctx.Extra != nil && r.Ctx.Extra[m.Index] != nil {
		v = r.Ctx.Extra[m.Index][name]
	}
	return JSONOf(r.W.RT(), v)
}

// JSONOf renders a script value as JSON ("undefined" for nil).
func JSONOf(rt *goja.Runtime, v goja.Value) string {
	if v == nil {
		return "undefined"
	}
	b, err := json.Marshal(v.Export())
	if err != nil {
		return v.String()
	}
	return string(b)
}

// Data returns a Data holding s.
func Data(s string) *filters.Data { return filters.NewDataBytes([]byte(s)) }

// BytesOut concatenates every Data output.
func (r *Rec) BytesOut() string {
	var b strings.Builder
	for i, e := range r.Evts {
		if e.Kind() == filters.KindData {
			b.WriteString(r.data[i])
		}
	}
	return b.String()
}

// Kinds lists the output event kinds, Data written as D(len).
func (r *Rec) Kinds() string {
	var parts []string
	for i, e := range r.Evts {
		switch e.Kind() {
		case filters.KindData:
			parts = append(parts, fmt.Sprintf("D(%d)", len(r.data[i])))
		case filters.KindMessageStart:
			parts = append(parts, "MS")
		case filters.KindMessageEnd:
			parts = append(parts, "ME")
		case filters.KindSessionEnd:
			se := e.(*filters.SessionEnd)
			parts = append(parts, "SE"+ErrSuffix(se.Err))
		}
	}
	return strings.Join(parts, " ")
}

// ErrSuffix renders an error code as Kinds does: "" or "(Name)".
func ErrSuffix(e filters.ErrorCode) string {
	if e == filters.NoError {
		return ""
	}
	return "(" + e.String() + ")"
}

// Last returns the last output event or nil.
func (r *Rec) Last() filters.Event {
	if len(r.Evts) == 0 {
		return nil
	}
	return r.Evts[len(r.Evts)-1]
}

// HeadString describes a message head: Go heads by their String method
// (HTTP heads print as "GET / HTTP/1.1 {name: value, ...}"), script values
// as JSON.
func HeadString(rt *goja.Runtime, h any) string {
	switch x := h.(type) {
	case nil:
		return "null"
	case goja.Value:
		return JSONOf(rt, x)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(h)
}

// Summary normalises the output so that differently split inputs compare
// equal: one line per message start, the body of each message concatenated,
// one line per message end and session end.
func (r *Rec) Summary() string {
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
	for i, e := range r.Evts {
		switch x := e.(type) {
		case *filters.Data:
			body.WriteString(r.data[i])
		case *filters.MessageStart:
			flushBody()
			inside = true
			fmt.Fprintf(&b, "start %s\n", HeadString(r.W.RT(), x.Head))
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

// WellFormed checks the event grammar: messages do not nest, nothing follows
// a SessionEnd.
func (r *Rec) WellFormed() error {
	inside := false
	for i, e := range r.Evts {
		switch e.Kind() {
		case filters.KindMessageStart:
			if inside {
				return fmt.Errorf("event %d: MessageStart inside a message (%s)", i, r.Kinds())
			}
			inside = true
		case filters.KindMessageEnd:
			if !inside {
				return fmt.Errorf("event %d: MessageEnd outside a message (%s)", i, r.Kinds())
			}
			inside = false
		case filters.KindSessionEnd:
			if i != len(r.Evts)-1 {
				return fmt.Errorf("event %d: events after SessionEnd (%s)", i, r.Kinds())
			}
		}
	}
	return nil
}

// Guard runs f with a time limit and turns a panic into an error, so a
// malformed input can neither hang nor crash the suite.
func Guard(t testing.TB, limit time.Duration, f func()) {
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

// JSString quotes s as a JavaScript string literal.
func JSString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// SortedKeys returns the keys of m in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// DataAt returns the bytes of output event i (a Data) as they were when it
// was output.
func (r *Rec) DataAt(i int) string { return r.data[i] }

// SplitModes returns the ways an input is fed: whole, split in two at every
// byte boundary (sampled for big inputs), and one byte at a time.
func SplitModes(in string) map[string][]string {
	modes := map[string][]string{"whole": {in}}
	step := 1
	if len(in) > 4096 {
		step = len(in)/64 + 1
	}
	for i := 1; i < len(in); i += step {
		modes[fmt.Sprintf("split@%d", i)] = []string{in[:i], in[i:]}
	}
	if len(in) > 4096 {
		for _, i := range []int{len(in) - 1, len(in) - 2, len(in) - 3, len(in) - 4} {
			modes[fmt.Sprintf("split@%d", i)] = []string{in[:i], in[i:]}
		}
	}
	bytes := make([]string, len(in))
	for i := 0; i < len(in); i++ {
		bytes[i] = in[i : i+1]
	}
	modes["bytewise"] = bytes
	return modes
}

// ByteSplits is SplitModes for binary input: whole, split in two at every
// byte boundary (sampled for big inputs), and one byte at a time. (The
// shared SplitModes ranges over the string by runes, which loses bytes of
// invalid UTF-8 in its bytewise mode.)
func ByteSplits(in string) map[string][]string {
	modes := SplitModes(in)
	bytes := make([]string, len(in))
	for i := 0; i < len(in); i++ {
		bytes[i] = in[i : i+1]
	}
	modes["bytewise"] = bytes
	return modes
}

// Msg returns the events of one message with the given body.
func Msg(body string) []filters.Event {
	return []filters.Event{&filters.MessageStart{}, Data(body), filters.TheMessageEnd}
}

// Msgs returns the events of one message per body.
func Msgs(bodies ...string) []filters.Event {
	var evts []filters.Event
	for _, b := range bodies {
		evts = append(evts, Msg(b)...)
	}
	return evts
}

// kindsNow is r.kinds() read inside the loop.
// KindsNow returns r.Kinds(), read inside the loop.
func KindsNow(r *Rec) string {
	var s string
	r.Run(func() { s = r.Kinds() })
	return s
}

// WaitOut polls until cond holds (evaluated inside the loop) or the limit
// passes; it returns the time elapsed since start.
func WaitOut(t testing.TB, r *Rec, start time.Time, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	for {
		ok := false
		r.Run(func() { ok = cond() })
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s: not after %v (output %s)", what, limit, KindsNow(r))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// GoPipeline builds a program with one pipeline "p" of the given templates,
// for tests of the engine and of filters without a JavaScript runtime.
func GoPipeline(tpls ...filters.Template) (*filters.Pipeline, *filters.Program) {
	env := &filters.Env{Loop: filters.NewLoop(), Log: hclog.NewNullLogger(), Print: func(string) {}}
	prog := &filters.Program{Env: env, ByName: map[string]*filters.Module{}}
	m := &filters.Module{Name: "/test.js", Program: prog, Named: map[string]*filters.Pipeline{}, VarIndex: map[string]int{}}
	prog.Modules = []*filters.Module{m}
	prog.Root = m
	p := &filters.Pipeline{Name: "p", Module: m}
	for _, t := range tpls {
		p.Filters = append(p.Filters, &filters.FilterDecl{Template: t})
	}
	m.Named["p"] = p
	m.Pipelines = []*filters.Pipeline{p}
	return p, prog
}

// Template returns the template a script's call name() (without
// arguments) makes, through the registry.
func Template(t testing.TB, name string) filters.Template {
	t.Helper()
	spec := filters.Lookup(name)
	if spec == nil {
		t.Fatalf("no filter %s", name)
	}
	tpl, err := spec.Make(&filters.Args{Filter: name})
	if err != nil {
		t.Fatalf("%s(): %v", name, err)
	}
	return tpl
}

// ReleasingSink records the kinds and bytes of the events it gets and
// releases Data, as a connection does once it has written them.
type ReleasingSink struct {
	Bytes []byte
	Kinds []filters.EventKind
}

// Input implements filters.Sink.
func (s *ReleasingSink) Input(evt filters.Event) {
	s.Kinds = append(s.Kinds, evt.Kind())
	if d, ok := evt.(*filters.Data); ok {
		s.Bytes = d.AppendTo(s.Bytes)
		d.Release()
	}
}

// FeedPooled puts each part into a pooled buffer the way a connection does,
// inputs it (followed by a flush marker) and returns the buffers, each still
// holding the reader's reference. Call it inside the loop.
func FeedPooled(s *filters.Session, parts ...string) []*filters.Buffer {
	var bufs []*filters.Buffer
	for _, p := range parts {
		b := filters.GetBuffer()
		n := copy(b.B, p)
		s.Input(filters.NewDataBuffer(b, 0, n))
		s.Input(filters.NewData())
		bufs = append(bufs, b)
	}
	return bufs
}

// LoadFilter loads a program whose pipeline "p" is one call of filter
// without arguments.
func LoadFilter(t testing.TB, filter string) *World {
	t.Helper()
	return Load(t, "pipy().pipeline('p')."+filter+"()")
}

// RunParts starts a session of pipeline "p" and feeds it parts, each one
// Data event followed by a flush marker, then a SessionEnd when end is set.
func RunParts(w *World, parts []string, end bool) *Rec {
	r := w.Session("p")
	for _, p := range parts {
		r.Feed(Data(p), filters.NewData())
	}
	if end {
		r.Feed(&filters.SessionEnd{})
	}
	return r
}
