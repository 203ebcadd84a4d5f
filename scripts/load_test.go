package scripts_test

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/scripts"
)

func asLoadError(t *testing.T, err error) *scripts.LoadError {
	t.Helper()
	var le *scripts.LoadError
	if !errors.As(err, &le) {
		t.Fatalf("error %T %v is not a *scripts.LoadError", err, err)
	}
	return le
}

func TestLoadMissingFile(t *testing.T) {
	h := newHarness(t)
	_, err := scripts.Load(filepath.Join(h.dir, "none.js"), h.env)
	le := asLoadError(t, err)
	if !strings.Contains(le.Error(), "none.js") || !strings.Contains(le.Error(), "cannot open script") {
		t.Errorf("got %v", err)
	}
}

func TestLoadOK(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy().listen(8080).link('a').pipeline('a').dump()`)
	if prog.Root == nil || prog.Root.Name != "/main.js" || len(prog.Modules) != 1 || prog.ByName["/main.js"] != prog.Root {
		t.Fatalf("program %+v", prog)
	}
	if prog.Script == nil || prog.Env != h.env {
		t.Errorf("Script/Env not set")
	}
	pls := prog.Root.Pipelines
	if len(pls) != 2 || pls[0].Kind != filters.ListenPipeline || pls[1].Kind != filters.NamedPipeline {
		t.Fatalf("pipelines %v", pls)
	}
	if prog.Root.Named["a"] != pls[1] || pls[1].Module != prog.Root {
		t.Errorf("named pipeline a not registered")
	}
	if n := len(pls[0].Filters); n != 1 || pls[0].Filters[0].Name != "link" || pls[0].Filters[0].Targets[0] != "a" {
		t.Errorf("listen filters %v", pls[0].Filters)
	}
	// The hidden wrapper leaves no __ctx visible to the loaded script's
	// result, and loading logged nothing.
	if s := h.log.String(); s != "" {
		t.Errorf("log: %s", s)
	}
}

func TestLoadSyntaxErrorLine3(t *testing.T) {
	h := newHarness(t)
	path := h.write("main.js", "pipy()\n.pipeline('a')\n.link('b' 'c')\n")
	_, err := scripts.Load(path, h.env)
	if err == nil {
		t.Fatal("no error")
	}
	le := asLoadError(t, err)
	// the offending token 'c' is at line 3, column 11
	if le.Line != 3 || le.Col != 11 {
		t.Errorf("position %d:%d, want 3:11 (%v)", le.Line, le.Col, err)
	}
	if want := path + ":3:11: SyntaxError"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err.Error(), want)
	}
	if le.File != path {
		t.Errorf("File %q, want %q", le.File, path)
	}
	if len(le.Detail) < 2 || le.Detail[0] != "Line 3:  .link('b' 'c')" || !strings.HasSuffix(le.Detail[1], "^") {
		t.Errorf("detail %q", le.Detail)
	}
	if len(le.Detail) >= 2 && len(le.Detail[1]) != len("Line 3:  .link('b' ")+1 {
		t.Errorf("caret %q not under column 11", le.Detail[1])
	}
}

func TestLoadSyntaxErrorLine1(t *testing.T) {
	h := newHarness(t)
	path := h.write("main.js", "pipy().pipeline('a').link('b' 'c')\n")
	_, err := scripts.Load(path, h.env)
	if err == nil {
		t.Fatal("no error")
	}
	le := asLoadError(t, err)
	// 'c' is at column 31 of the file (the hidden prefix is not counted)
	if le.Line != 1 || le.Col != 31 {
		t.Errorf("position %d:%d, want 1:31 (%v)", le.Line, le.Col, err)
	}
	if want := path + ":1:31: SyntaxError"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err.Error(), want)
	}
}

// An error at the end of the input must point into the file, not into the
// hidden wrapper appended after it ("\n}"), and should not name the
// wrapper's brace as the unexpected token.
func TestLoadSyntaxErrorAtEndOfInput(t *testing.T) {
	for _, src := range []string{
		"pipy()\n.pipeline('a'\n", // 3 lines (the last one empty)
		"pipy()\n.pipeline('a'",   // 2 lines
		"pipy()\n/* unterminated",
	} {
		h := newHarness(t)
		path := h.write("main.js", src)
		_, err := scripts.Load(path, h.env)
		if err == nil {
			t.Fatal("no error")
		}
		le := asLoadError(t, err)
		lines := strings.Count(src, "\n") + 1
		if le.Line < 1 || le.Line > lines {
			t.Errorf("%q: line %d is outside the file's %d lines (%v)", src, le.Line, lines, err)
		}
		if len(le.Detail) < 2 {
			t.Errorf("%q: no source excerpt", src)
		}
		if strings.Contains(le.Message, "Unexpected token }") {
			t.Errorf("%q: message names the wrapper's brace: %q", src, le.Message)
		}
	}
}

// A syntax error that goja reports at compile time (after parsing).
func TestLoadCompileError(t *testing.T) {
	h := newHarness(t)
	path := h.write("main.js", "pipy()\nlet a = 1; let a = 2;\n")
	_, err := scripts.Load(path, h.env)
	if err == nil {
		t.Fatal("no error")
	}
	le := asLoadError(t, err)
	if le.Line != 2 || !strings.HasPrefix(err.Error(), path+":2:") || !strings.Contains(err.Error(), "SyntaxError") {
		t.Errorf("got %v (line %d col %d)", err, le.Line, le.Col)
	}
}

func TestLoadExceptionNoPipeline(t *testing.T) {
	h := newHarness(t)
	path := h.write("main.js", "pipy()\n  .decodeHttpRequest()\n")
	_, err := scripts.Load(path, h.env)
	if err == nil {
		t.Fatal("no error")
	}
	le := asLoadError(t, err)
	if !strings.Contains(le.Message, "no pipeline found") {
		t.Errorf("message %q", le.Message)
	}
	if le.Line != 2 {
		t.Errorf("line %d, want 2 (%v)", le.Line, err)
	}
	if !strings.HasPrefix(err.Error(), path+":2:") {
		t.Errorf("error %q", err.Error())
	}
	if len(le.Detail) < 2 || le.Detail[0] != "Line 2:    .decodeHttpRequest()" {
		t.Errorf("detail %q", le.Detail)
	}
}

func TestLoadExceptionLine1(t *testing.T) {
	h := newHarness(t)
	path := h.write("main.js", "pipy().decodeHttpRequest()\n")
	_, err := scripts.Load(path, h.env)
	if err == nil {
		t.Fatal("no error")
	}
	le := asLoadError(t, err)
	if le.Line != 1 || !strings.Contains(le.Message, "no pipeline found") {
		t.Errorf("got %v", err)
	}
	// The call is at column 8 of the file; the error points into it.
	if le.Col < 1 || le.Col > len("pipy().decodeHttpRequest()") {
		t.Errorf("column %d outside the line", le.Col)
	}
}

// Errors raised by native code (filters, pipy(), Data...) should be plain
// Errors: cli.md §4 shows "Error: no pipeline found".
func TestLoadNativeErrorsArePlainErrors(t *testing.T) {
	h := newHarness(t)
	got := h.results(`
t('name', () => { try { new Data('x', 'nope'); } catch (e) { return e.name + ':' + (e instanceof Error); } });
t('typeName', () => { try { new Data('x').push(1); } catch (e) { return e.name; } });
`)
	checkResults(t, got, map[string]any{"typeName": "TypeError"})
	h = newHarness(t)
	err := h.loadErr("pipy()\n.decodeHttpRequest()\n")
	le := asLoadError(t, err)
	checkResults(t, got, map[string]any{"name": "Error:true"})
	if le.Message != "Error: no pipeline found" {
		t.Errorf("message %q, want %q", le.Message, "Error: no pipeline found")
	}
}

func TestLoadThrowInScript(t *testing.T) {
	h := newHarness(t)
	path := h.write("main.js", "pipy()\nthrow new Error('custom failure')\n")
	_, err := scripts.Load(path, h.env)
	le := asLoadError(t, err)
	if le.Line != 2 || le.Message != "Error: custom failure" {
		t.Errorf("got %v (message %q)", err, le.Message)
	}
}

func TestLoadNotConfiguration(t *testing.T) {
	for _, src := range []string{"42", "({})", "'pipy'", "pipy(); 1", "undefined"} {
		h := newHarness(t)
		err := h.loadErr(src)
		asLoadError(t, err)
		if !strings.Contains(err.Error(), "did not return a Configuration object") {
			t.Errorf("%s: %v", src, err)
		}
	}
	h := newHarness(t)
	if err := h.loadErr("42"); !strings.Contains(err.Error(), "42") {
		t.Errorf("message does not show the returned value: %v", err)
	}
}

func TestLoadUnknownFilter(t *testing.T) {
	h := newHarness(t)
	path := h.write("main.js", "pipy()\n.listen(8080)\n.nope()\n")
	_, err := scripts.Load(path, h.env)
	le := asLoadError(t, err)
	if !strings.Contains(err.Error(), "nope") || le.Line != 3 {
		t.Errorf("got %v (line %d)", err, le.Line)
	}
}

func TestLoadWrongArgumentType(t *testing.T) {
	h := newHarness(t)
	path := h.write("main.js", "pipy()\n.pipeline('a')\n.link(42)\n")
	_, err := scripts.Load(path, h.env)
	le := asLoadError(t, err)
	if !strings.Contains(le.Message, "link") || !strings.Contains(le.Message, "argument #1") {
		t.Errorf("message %q", le.Message)
	}
	if le.Line != 3 {
		t.Errorf("line %d, want 3", le.Line)
	}
}

func TestLoadCallbackArgumentType(t *testing.T) {
	h := newHarness(t)
	err := h.loadErr("pipy().pipeline('a').onMessage('x')")
	if !strings.Contains(err.Error(), "onMessage: argument #1 expects a function") {
		t.Errorf("got %v", err)
	}
}

func TestLoadPipelineName(t *testing.T) {
	h := newHarness(t)
	if err := h.loadErr("pipy().pipeline(1)"); !strings.Contains(err.Error(), "pipeline: argument #1 expects a string") {
		t.Errorf("got %v", err)
	}
	h = newHarness(t)
	if err := h.loadErr("pipy().pipeline('a').pipeline('a')"); !strings.Contains(err.Error(), "duplicate pipeline name: a") {
		t.Errorf("got %v", err)
	}
}

func TestLoadDuplicatePort(t *testing.T) {
	h := newHarness(t)
	err := h.loadErr("pipy()\n.listen(8080).dump()\n.listen('8080').dump()\n")
	if !strings.Contains(err.Error(), "port 8080 is declared more than once") {
		t.Errorf("got %v", err)
	}
	if le := asLoadError(t, err); le.Line != 3 {
		t.Errorf("line %d, want 3", le.Line)
	}
	// different hosts, same port: still one port
	h = newHarness(t)
	err = h.loadErr("pipy().listen('127.0.0.1:8080').listen(8080)")
	if !strings.Contains(err.Error(), "port 8080 is declared more than once") {
		t.Errorf("got %v", err)
	}
	// different ports are fine
	h = newHarness(t)
	h.mustLoad("pipy().listen(8080).listen(8081)")
}

func TestLoadListen(t *testing.T) {
	h := newHarness(t)
	// A real pair: listen() checks that the key matches the certificate.
	cert, err := os.ReadFile("../test/009-tls/cert.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile("../test/009-tls/key.pem")
	if err != nil {
		t.Fatal(err)
	}
	certJS, _ := json.Marshal(string(cert))
	keyJS, _ := json.Marshal(string(key))
	prog := h.mustLoad(`pipy()
.listen(8080)
.listen('8081')
.listen('127.0.0.1:8082')
.listen(8083, {reuse: true})
.listen(8084, {reuse: false, tls: {cert: ` + string(certJS) + `, key: ` + string(keyJS) + `}})
.listen(':8085')
.listen(8086, {tls: null})
`)
	pls := prog.Root.Pipelines
	if len(pls) != 7 {
		t.Fatalf("%d pipelines", len(pls))
	}
	type want struct {
		name, host string
		port       int
		reuse      string
		tls        bool
	}
	wants := []want{
		{"0.0.0.0:8080", "0.0.0.0", 8080, "nil", false},
		{"0.0.0.0:8081", "0.0.0.0", 8081, "nil", false},
		{"127.0.0.1:8082", "127.0.0.1", 8082, "nil", false},
		{"0.0.0.0:8083", "0.0.0.0", 8083, "true", false},
		{"0.0.0.0:8084", "0.0.0.0", 8084, "false", true},
		{"0.0.0.0:8085", "0.0.0.0", 8085, "nil", false},
		{"0.0.0.0:8086", "0.0.0.0", 8086, "nil", false},
	}
	for i, w := range wants {
		pl := pls[i]
		l := pl.Listen
		if pl.Kind != filters.ListenPipeline || l == nil {
			t.Errorf("#%d: not a listen pipeline", i)
			continue
		}
		reuse := "nil"
		if l.Reuse != nil {
			reuse = map[bool]string{true: "true", false: "false"}[*l.Reuse]
		}
		if pl.Name != w.name || l.Host != w.host || l.Port != w.port || reuse != w.reuse || l.TLS != w.tls {
			t.Errorf("#%d: name %q host %q port %d reuse %s tls %v; want %+v", i, pl.Name, l.Host, l.Port, reuse, l.TLS, w)
		}
	}
	if l := pls[4].Listen; l.TLSCert != string(cert) || l.TLSKey != string(key) {
		t.Errorf("tls cert/key %q %q", l.TLSCert, l.TLSKey)
	}
}

// An IPv6 listen address must give an address net.Listen accepts.
func TestLoadListenIPv6(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy().listen('[::1]:8085')`)
	l := prog.Root.Pipelines[0].Listen
	if l.Host != "::1" || l.Port != 8085 {
		t.Fatalf("host %q port %d", l.Host, l.Port)
	}
	if _, _, err := net.SplitHostPort(l.Addr()); err != nil || l.Addr() != "[::1]:8085" {
		t.Errorf("Addr() = %q (%v), want [::1]:8085", l.Addr(), err)
	}
}

func TestLoadListenErrors(t *testing.T) {
	for src, want := range map[string]string{
		"pipy().listen(8080, {tls: 'x'})":  "option tls must be an object",
		"pipy().listen(8080, {tls: true})": "option tls must be an object",
		"pipy().listen(8080, 'x')":         "argument #2 expects an object",
		"pipy().listen('abc')":             "invalid port",
		"pipy().listen(70000)":             "port out of range",
		"pipy().listen(-1)":                "port out of range",
		"pipy().listen({})":                "argument #1 expects a number or a string",
		"pipy().listen()":                  "argument #1 expects a number or a string",
	} {
		h := newHarness(t)
		err := h.loadErr(src)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}

func TestLoadTask(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy()
.task('1s').dump()
.task(0.5)
.task('5m')
.task('0.01')
.task('24h')
`)
	pls := prog.Root.Pipelines
	want := []struct {
		name string
		secs float64
		text string
	}{
		{"Task #1", 1, "1s"},
		{"Task #2", 0.5, "0.5s"},
		{"Task #3", 300, "5m"},
		{"Task #4", 0.01, "0.01"},
		{"Task #5", 86400, "24h"},
	}
	if len(pls) != len(want) {
		t.Fatalf("%d pipelines", len(pls))
	}
	for i, w := range want {
		pl := pls[i]
		if pl.Kind != filters.TaskPipeline || pl.Task == nil {
			t.Errorf("#%d not a task", i)
			continue
		}
		if pl.Name != w.name || pl.Task.Interval != w.secs || pl.Task.Text != w.text {
			t.Errorf("#%d: %q %v %q, want %+v", i, pl.Name, pl.Task.Interval, pl.Task.Text, w)
		}
	}
}

func TestLoadTaskErrors(t *testing.T) {
	for src, want := range map[string]string{
		"pipy().task('0.001')": "time interval out of range",
		"pipy().task(0.001)":   "time interval out of range",
		"pipy().task('25h')":   "time interval out of range",
		"pipy().task(0)":       "time interval out of range",
		"pipy().task('abc')":   "invalid duration",
	} {
		h := newHarness(t)
		err := h.loadErr(src)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}

func TestLoadGraphPipelineNotFound(t *testing.T) {
	h := newHarness(t)
	err := h.loadErr("pipy().listen(8080).link('X')")
	var ge *scripts.GraphError
	if !errors.As(err, &ge) {
		t.Fatalf("%T %v is not a *scripts.GraphError", err, err)
	}
	if ge.Message != "pipeline not found: X" || ge.Module != "/main.js" {
		t.Errorf("got %+v", ge)
	}
	// The location is that of the link() call naming the pipeline.
	path := filepath.Join(h.dir, "main.js")
	if !strings.HasPrefix(ge.Location, path+":1:") {
		t.Errorf("Location %q", ge.Location)
	}
	if err.Error() != ge.Location+": [config] pipeline not found: X" {
		t.Errorf("Error() = %q", err.Error())
	}
	if !strings.Contains(ge.Graph, "Module /main.js") || !strings.Contains(ge.Graph, "link") {
		t.Errorf("graph %q", ge.Graph)
	}
}

func TestLoadGraphNotFoundInUnlinkedPipeline(t *testing.T) {
	h := newHarness(t)
	err := h.loadErr("pipy().pipeline('orphan').fork('missing')")
	var ge *scripts.GraphError
	if !errors.As(err, &ge) || ge.Message != "pipeline not found: missing" {
		t.Errorf("got %v", err)
	}
}

func TestLoadGraphLinkWithConditions(t *testing.T) {
	h := newHarness(t)
	err := h.loadErr("pipy().listen(8080).link('a', () => true, 'b').pipeline('a')")
	var ge *scripts.GraphError
	if !errors.As(err, &ge) || ge.Message != "pipeline not found: b" {
		t.Errorf("got %v", err)
	}
}

func TestLoadGraphRecursive(t *testing.T) {
	h := newHarness(t)
	err := h.loadErr("pipy().pipeline('a').link('b').pipeline('b').link('a')")
	var ge *scripts.GraphError
	if !errors.As(err, &ge) {
		t.Fatalf("%T %v is not a *scripts.GraphError", err, err)
	}
	if !strings.HasPrefix(ge.Message, "recursive pipeline: ") {
		t.Errorf("message %q", ge.Message)
	}
	h = newHarness(t)
	err = h.loadErr("pipy().pipeline('self').fork('self')")
	if !errors.As(err, &ge) || ge.Message != "recursive pipeline: self" {
		t.Errorf("self link: %v", err)
	}
}

func TestLoadGraphDiamondIsNotRecursive(t *testing.T) {
	h := newHarness(t)
	h.mustLoad(`pipy()
.listen(8080).fork('a').link('b')
.pipeline('a').link('c')
.pipeline('b').link('c')
.pipeline('c').dump()
`)
}

func TestLoadErrorsLogNothingAtRunTime(t *testing.T) {
	// A failed load returns no program.
	h := newHarness(t)
	prog, err := h.load("pipy().listen(8080).link('X')")
	if prog != nil || err == nil {
		t.Errorf("prog %v err %v", prog, err)
	}
}
