package console

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pipy-go/pipy/logging"
	"github.com/pipy-go/pipy/scripts"
)

// fakeProgram starts any .js file that exists under root.
type fakeProgram struct {
	mu    sync.Mutex
	root  string
	cur   string
	calls []string
}

func (f *fakeProgram) Current() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur
}

func (f *fakeProgram) Start(p string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "start "+p)
	if _, err := os.Stat(filepath.Join(f.root, filepath.FromSlash(p))); err != nil {
		return fmt.Errorf("[pjs] Cannot open script at %s", p)
	}
	f.cur = p
	return nil
}

func (f *fakeProgram) Stop() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "stop")
	f.cur = ""
	return nil
}

func (f *fakeProgram) Config() map[string]*scripts.Graph {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur == "" {
		return nil
	}
	src, _ := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(f.cur)))
	g, _ := scripts.StaticGraph(string(src))
	return map[string]*scripts.Graph{f.cur: g}
}

type fixture struct {
	t    *testing.T
	root string
	out  string // a directory outside the root
	prog *fakeProgram
	log  *logging.Output
	srv  *Server
}

func write(t *testing.T, name, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	out := filepath.Join(base, "outside")
	write(t, filepath.Join(root, "002-hello", "pipy.js"), "pipy().listen(8080).serveHTTP(new Message('hi'))\n")
	write(t, filepath.Join(root, "top.js"), "pipy().listen(80).link('nope')\n")
	write(t, filepath.Join(root, "a", "b", "c.txt"), "deep\n")
	write(t, filepath.Join(root, ".hidden", "x"), "x")
	write(t, filepath.Join(root, "a", ".dotfile"), "x")
	write(t, filepath.Join(root, "etc", "hostname"), "inside the root\n")
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(out, "secret"), "secret\n")
	f := &fixture{t: t, root: root, out: out, prog: &fakeProgram{root: root}, log: logging.NewOutput(io.Discard)}
	f.srv = newServer(Config{Root: root, Program: f.prog, Log: f.log}, fstest.MapFS{})
	return f
}

type response struct {
	code int
	hdr  http.Header
	body string
}

// do sends a request to h and checks that the response has a
// Content-Length matching its body.
func do(t *testing.T, h http.Handler, method, target, body string, hdr ...string) response {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Host = "127.0.0.1:6060"
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := response{rec.Code, rec.Header(), rec.Body.String()}
	if rec.Code != http.StatusNotModified && method != http.MethodHead {
		if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) {
			t.Errorf("%s %s: Content-Length %q for a body of %d bytes", method, target, cl, rec.Body.Len())
		}
	}
	return res
}

func expect(t *testing.T, r response, code int, ctype string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d (body %q)", r.code, code, r.body)
	}
	if got := r.hdr.Get("Content-Type"); got != ctype {
		t.Errorf("content-type %q, want %q", got, ctype)
	}
}

const textPlain = "text/plain; charset=utf-8"

func TestFilesList(t *testing.T) {
	f := newFixture(t)
	if err := os.Symlink(f.out, filepath.Join(f.root, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(f.out, "secret"), filepath.Join(f.root, "secret")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(f.root, "top.js"), filepath.Join(f.root, "alias.js")); err != nil {
		t.Fatal(err)
	}
	r := do(t, f.srv, "GET", "/api/files", "")
	expect(t, r, 200, "application/json")
	want := `{"002-hello":{"pipy.js":""},"a":{"b":{"c.txt":""}},"alias.js":"","empty":{},"etc":{"hostname":""},"top.js":""}`
	if r.body != want {
		t.Errorf("got  %s\nwant %s", r.body, want)
	}
	if r.hdr.Get("Cache-Control") != "no-store" || r.hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", r.hdr)
	}
	expect(t, do(t, f.srv, "POST", "/api/files", ""), 405, "")
}

func TestFileGet(t *testing.T) {
	f := newFixture(t)
	r := do(t, f.srv, "GET", "/api/files/002-hello/pipy.js", "")
	expect(t, r, 200, textPlain)
	if r.body != "pipy().listen(8080).serveHTTP(new Message('hi'))\n" {
		t.Errorf("body %q", r.body)
	}
	// Normalisation: ".", empty segments and ".." stay inside the root.
	for _, p := range []string{"/api/files/./002-hello//pipy.js", "/api/files/a/../002-hello/pipy.js", "/api/files/../../../002-hello/pipy.js"} {
		if r := do(t, f.srv, "GET", p, ""); r.code != 200 || !strings.Contains(r.body, "serveHTTP") {
			t.Errorf("GET %s: %d", p, r.code)
		}
	}
	for _, p := range []string{"/api/files/missing.js", "/api/files/a", "/api/files/a/", "/api/files/", "/api/files/top.js/x", "/api/files/a%00b"} {
		r := do(t, f.srv, "GET", p, "")
		expect(t, r, 404, "")
		if r.body != "" {
			t.Errorf("GET %s: body %q", p, r.body)
		}
	}
	// Spec: /api/files/../../etc/hostname is /etc/hostname inside the root.
	r = do(t, f.srv, "GET", "/api/files/../../etc/hostname", "")
	if r.code != 200 || r.body != "inside the root\n" {
		t.Errorf("traversal: %d %q", r.code, r.body)
	}
	os.Remove(filepath.Join(f.root, "etc", "hostname"))
	expect(t, do(t, f.srv, "GET", "/api/files/../../etc/hostname", ""), 404, "")
	expect(t, do(t, f.srv, "GET", "/api/files/%2e%2e/%2e%2e/etc/passwd", ""), 404, "")
	// HEAD: the headers only.
	r = do(t, f.srv, "HEAD", "/api/files/top.js", "")
	if r.code != 200 || r.hdr.Get("Content-Length") != "31" || r.body != "" {
		t.Errorf("HEAD: %d %v %q", r.code, r.hdr, r.body)
	}
	// Other methods.
	r = do(t, f.srv, "PUT", "/api/files/top.js", "x")
	expect(t, r, 405, "")
	if r.hdr.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
	expect(t, do(t, f.srv, "PATCH", "/api/files/nope", ""), 405, "")
}

// The raw request line reaches the server unchanged (clients normally
// clean it): the lookup still stays inside the root.
func TestFileTraversalOverTheWire(t *testing.T) {
	f := newFixture(t)
	os.Remove(filepath.Join(f.root, "etc", "hostname"))
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	for _, target := range []string{"/api/files/../../etc/hostname", "/api/files/..%2f..%2f..%2fetc%2fhostname", "/api/files/....//....//etc/passwd"} {
		c, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		c.Close()
		if res.StatusCode != 404 || len(body) != 0 {
			t.Errorf("%s: %d %q", target, res.StatusCode, body)
		}
	}
}

func TestSymlinkEscape(t *testing.T) {
	f := newFixture(t)
	if err := os.Symlink(f.out, filepath.Join(f.root, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(f.out, "secret"), filepath.Join(f.root, "secret.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(f.root, "top.js"), filepath.Join(f.root, "alias.js")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/files/out/secret"},
		{"GET", "/api/files/secret.txt"},
		{"POST", "/api/files/out/new.txt"},
		{"POST", "/api/files/out/sub/new.txt"},
		{"POST", "/api/files/out/secret"},
		{"DELETE", "/api/files/out/secret"},
		{"DELETE", "/api/files/secret.txt"},
	} {
		r := do(t, f.srv, c.method, c.path, "pwned")
		if r.code != http.StatusForbidden {
			t.Errorf("%s %s: %d, want 403", c.method, c.path, r.code)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(f.out, "secret")); string(b) != "secret\n" {
		t.Errorf("outside file changed: %q", b)
	}
	entries, _ := os.ReadDir(f.out)
	if len(entries) != 1 {
		t.Errorf("outside directory has %d entries", len(entries))
	}
	if _, err := os.Lstat(filepath.Join(f.root, "secret.txt")); err != nil {
		t.Error("symlink deleted")
	}
	// A symlink that stays inside the root is followed.
	if r := do(t, f.srv, "GET", "/api/files/alias.js", ""); r.code != 200 || !strings.Contains(r.body, "nope") {
		t.Errorf("inside symlink: %d", r.code)
	}
}

func TestFileWriteDelete(t *testing.T) {
	f := newFixture(t)
	r := do(t, f.srv, "POST", "/api/files/new/dir/x.js", "hello")
	expect(t, r, 201, "")
	if b, _ := os.ReadFile(filepath.Join(f.root, "new", "dir", "x.js")); string(b) != "hello" {
		t.Errorf("content %q", b)
	}
	// Overwrite keeps the mode; an empty body makes an empty file.
	os.Chmod(filepath.Join(f.root, "top.js"), 0o600)
	expect(t, do(t, f.srv, "POST", "/api/files/top.js", ""), 201, "")
	fi, _ := os.Stat(filepath.Join(f.root, "top.js"))
	if fi.Size() != 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("size %d mode %v", fi.Size(), fi.Mode())
	}
	r = do(t, f.srv, "GET", "/api/files/new/dir/x.js", "")
	if r.body != "hello" {
		t.Errorf("read back %q", r.body)
	}
	// Cannot be created: a directory, a file used as a directory, the root.
	for _, p := range []string{"/api/files/a", "/api/files/top.js/x", "/api/files/", "/api/files/.."} {
		expect(t, do(t, f.srv, "POST", p, "x"), 404, "")
	}
	// Too large.
	big := strings.Repeat("x", MaxFileSize+1)
	r = do(t, f.srv, "POST", "/api/files/big.txt", big)
	if r.code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d", r.code)
	}
	if _, err := os.Stat(filepath.Join(f.root, "big.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Error("oversized file written")
	}
	// Delete.
	expect(t, do(t, f.srv, "DELETE", "/api/files/new/dir/x.js", ""), 204, "")
	expect(t, do(t, f.srv, "DELETE", "/api/files/new/dir/x.js", ""), 404, "")
	expect(t, do(t, f.srv, "DELETE", "/api/files/a", ""), 404, "")
	expect(t, do(t, f.srv, "DELETE", "/api/files/", ""), 404, "")
	if _, err := os.Stat(filepath.Join(f.root, "a")); err != nil {
		t.Error("directory deleted")
	}
	checkNoTemp(t, f.root)
}

func checkNoTemp(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".pipy-console-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

func TestConcurrentWrites(t *testing.T) {
	f := newFixture(t)
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	const writers, rounds, size = 16, 8, 256 << 10
	contents := make([]string, writers)
	for i := range contents {
		contents[i] = strings.Repeat(string(rune('A'+i)), size)
	}
	uniform := func(s string) bool {
		return len(s) == size && strings.Count(s, s[:1]) == size
	}
	url := ts.URL + "/api/files/shared/file.txt"
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds*2)
	stop := make(chan struct{})
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for n := 0; n < rounds; n++ {
				res, err := http.Post(url, "text/plain", strings.NewReader(contents[i]))
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 201 {
					errs <- fmt.Errorf("POST: %d", res.StatusCode)
				}
			}
		}(i)
	}
	// Readers never see a partial or mixed file.
	var rg sync.WaitGroup
	for i := 0; i < 4; i++ {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := http.Get(url)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode == 200 && !uniform(string(b)) {
					errs <- fmt.Errorf("read a mixed file of %d bytes", len(b))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	b, err := os.ReadFile(filepath.Join(f.root, "shared", "file.txt"))
	if err != nil || !uniform(string(b)) {
		t.Fatalf("final file is not one of the contents (%d bytes, %v)", len(b), err)
	}
	checkNoTemp(t, f.root)
}

func TestProgram(t *testing.T) {
	f := newFixture(t)
	r := do(t, f.srv, "GET", "/api/program", "")
	expect(t, r, 200, textPlain)
	if r.body != "" {
		t.Errorf("program %q", r.body)
	}
	expect(t, do(t, f.srv, "GET", "/api/config", ""), 200, "application/json")
	if r := do(t, f.srv, "GET", "/api/config", ""); r.body != "{}" {
		t.Errorf("config %s", r.body)
	}

	expect(t, do(t, f.srv, "POST", "/api/program", "/002-hello/pipy.js\n"), 201, "")
	if r := do(t, f.srv, "GET", "/api/program", ""); r.body != "/002-hello/pipy.js" {
		t.Errorf("program %q", r.body)
	}
	// Start failure: 400 with the reason.
	r = do(t, f.srv, "POST", "/api/program", "/nope.js")
	expect(t, r, 400, textPlain)
	if !strings.Contains(r.body, "Cannot open script at /nope.js") {
		t.Errorf("body %q", r.body)
	}
	// The path is cleaned: it cannot leave the root.
	do(t, f.srv, "POST", "/api/program", "../../top.js")
	if r := do(t, f.srv, "GET", "/api/program", ""); r.body != "/top.js" {
		t.Errorf("program %q", r.body)
	}
	r = do(t, f.srv, "GET", "/api/config", "")
	if !strings.HasPrefix(r.body, `{"/top.js":{"roots":[0],"nodes":[{"name":"Listen 0.0.0.0:80"`) {
		t.Errorf("config %s", r.body)
	}
	// JSON bodies.
	expect(t, do(t, f.srv, "POST", "/api/program", `{"path":"/002-hello/pipy.js"}`, "Content-Type", "application/json"), 201, "")
	for _, bad := range []string{`{"path":`, `{"file":"/top.js"}`, `[1]`, `{"path":1}`, ``} {
		expect(t, do(t, f.srv, "POST", "/api/program", bad, "Content-Type", "application/json; charset=utf-8"), 400, textPlain)
	}
	expect(t, do(t, f.srv, "POST", "/api/program", "  \n"), 400, textPlain)
	expect(t, do(t, f.srv, "POST", "/api/program", strings.Repeat("a", MaxProgramPath+1)), 413, textPlain)
	// Stop.
	expect(t, do(t, f.srv, "DELETE", "/api/program", ""), 204, "")
	if r := do(t, f.srv, "GET", "/api/program", ""); r.body != "" {
		t.Errorf("program after stop %q", r.body)
	}
	if r := do(t, f.srv, "GET", "/api/config", ""); r.body != "{}" {
		t.Errorf("config after stop %s", r.body)
	}
	expect(t, do(t, f.srv, "PUT", "/api/program", ""), 405, "")
	expect(t, do(t, f.srv, "POST", "/api/config", ""), 405, "")
	want := "start /002-hello/pipy.js,start /nope.js,start /top.js,start /002-hello/pipy.js,stop"
	if got := strings.Join(f.prog.calls, ","); got != want {
		t.Errorf("calls %s", got)
	}
	// Without a program control.
	s := newServer(Config{Root: f.root}, fstest.MapFS{})
	if r := do(t, s, "GET", "/api/program", ""); r.code != 200 || r.body != "" {
		t.Errorf("no control: %d %q", r.code, r.body)
	}
	expect(t, do(t, s, "POST", "/api/program", "/top.js"), 503, textPlain)
	expect(t, do(t, s, "DELETE", "/api/program", ""), 204, "")
}

func TestGraph(t *testing.T) {
	f := newFixture(t)
	r := do(t, f.srv, "POST", "/api/graph", `pipy().listen(80).link("nope")`)
	expect(t, r, 200, "application/json")
	want := `{"roots":[0],"nodes":[{"name":"Listen 0.0.0.0:80","t":"root","c":[1]},{"name":"link","t":"link","p":0,"c":[2]},{"name":"pipeline not found: nope","t":"pipeline","p":1}]}`
	if r.body != want {
		t.Errorf("got  %s\nwant %s", r.body, want)
	}
	r = do(t, f.srv, "POST", "/api/graph", "pipy().listen(80).link(\n")
	expect(t, r, 400, "application/json")
	var e struct {
		Error string `json:"error"`
		Line  int    `json:"line"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error == "" || e.Line != 2 {
		t.Errorf("error body %s (%v)", r.body, err)
	}
	if r := do(t, f.srv, "POST", "/api/graph", ""); r.code != 200 || r.body != `{"roots":[],"nodes":[]}` {
		t.Errorf("empty: %d %s", r.code, r.body)
	}
	expect(t, do(t, f.srv, "GET", "/api/graph", ""), 405, "")
	expect(t, do(t, f.srv, "POST", "/api/graph", strings.Repeat(" ", MaxScriptSize+1)), 413, textPlain)
}

func TestLog(t *testing.T) {
	f := newFixture(t)
	r := do(t, f.srv, "GET", "/api/log", "")
	expect(t, r, 200, textPlain)
	if r.hdr.Get("X-Log-Size") != "0" || r.body != "" {
		t.Errorf("empty log: %v %q", r.hdr, r.body)
	}
	for i := 1; i <= 5; i++ {
		f.log.Line(fmt.Sprintf("line %d", i))
	}
	r = do(t, f.srv, "GET", "/api/log", "")
	if r.hdr.Get("X-Log-Size") != "5" || r.body != "line 1\nline 2\nline 3\nline 4\nline 5\n" {
		t.Errorf("log: %v %q", r.hdr, r.body)
	}
	r = do(t, f.srv, "GET", "/api/log", "", "X-Log-Size", "3")
	if r.hdr.Get("X-Log-Size") != "5" || r.body != "line 4\nline 5\n" {
		t.Errorf("paged: %v %q", r.hdr, r.body)
	}
	r = do(t, f.srv, "GET", "/api/log", "", "x-log-size", "5")
	if r.body != "" {
		t.Errorf("up to date: %q", r.body)
	}
	for _, bad := range []string{"abc", "-4", ""} {
		if r := do(t, f.srv, "GET", "/api/log", "", "X-Log-Size", bad); !strings.HasPrefix(r.body, "line 1\n") {
			t.Errorf("x-log-size %q: %q", bad, r.body)
		}
	}
	// Only the last 1000 lines are kept.
	for i := 6; i <= 1200; i++ {
		f.log.Line(fmt.Sprintf("line %d", i))
	}
	r = do(t, f.srv, "GET", "/api/log", "", "X-Log-Size", "10")
	lines := strings.Split(strings.TrimSuffix(r.body, "\n"), "\n")
	if r.hdr.Get("X-Log-Size") != "1200" || len(lines) != 1000 || lines[0] != "line 201" {
		t.Errorf("history: %s, %d lines from %q", r.hdr.Get("X-Log-Size"), len(lines), lines[0])
	}
	expect(t, do(t, f.srv, "POST", "/api/log", ""), 405, "")
}

func TestStats(t *testing.T) {
	f := newFixture(t)
	r := do(t, f.srv, "GET", "/api/stats", "")
	expect(t, r, 200, "application/json")
	if r.body != `{"workers":[]}` {
		t.Errorf("no stats: %s", r.body)
	}
	var mu sync.Mutex
	reqs := map[int]int64{1: 100, 2: 0}
	pids := map[int]int{1: 1001, 2: 1002}
	stats := func() []WorkerStats {
		mu.Lock()
		defer mu.Unlock()
		var out []WorkerStats
		for id := 1; id <= 2; id++ {
			out = append(out, WorkerStats{ID: id, PID: pids[id], Connections: 3, Requests: reqs[id], RequestsPerSec: 12345, Memory: 1 << 20, BytesIn: 10, BytesOut: 20})
		}
		return out
	}
	s := newServer(Config{Root: f.root, Stats: stats}, fstest.MapFS{})
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	get := func() []WorkerStats {
		r := do(t, s, "GET", "/api/stats", "")
		var v struct{ Workers []WorkerStats }
		if err := json.Unmarshal([]byte(r.body), &v); err != nil {
			t.Fatal(err)
		}
		return v.Workers
	}
	w := get()
	if len(w) != 2 || w[0].RequestsPerSec != 0 || w[0].PID != 1001 || w[1].Requests != 0 {
		t.Fatalf("first sample %+v", w)
	}
	mu.Lock()
	reqs[1], reqs[2] = 300, 50
	mu.Unlock()
	now = now.Add(2 * time.Second)
	if w = get(); w[0].RequestsPerSec != 100 || w[1].RequestsPerSec != 25 {
		t.Errorf("rates %v %v", w[0].RequestsPerSec, w[1].RequestsPerSec)
	}
	// Samples closer than the window keep the last rate.
	mu.Lock()
	reqs[1] = 310
	mu.Unlock()
	now = now.Add(100 * time.Millisecond)
	if w = get(); w[0].RequestsPerSec != 100 || w[0].Requests != 310 {
		t.Errorf("within the window: %+v", w[0])
	}
	// A restarted worker (new PID) starts over.
	mu.Lock()
	pids[2], reqs[2] = 2002, 5
	mu.Unlock()
	now = now.Add(time.Second)
	if w = get(); w[1].RequestsPerSec != 0 || w[0].RequestsPerSec < 9.09 || w[0].RequestsPerSec > 9.10 {
		t.Errorf("after restart %+v", w)
	}
	r = do(t, s, "GET", "/api/stats", "")
	if !strings.Contains(r.body, `"id":1,"pid":1001,"connections":3,"requests":310,"requestsPerSec":`) ||
		!strings.Contains(r.body, `"memory":1048576,"bytesIn":10,"bytesOut":20}`) {
		t.Errorf("JSON %s", r.body)
	}
	expect(t, do(t, s, "DELETE", "/api/stats", ""), 405, "")
}

// sse reads events from a stream.
type sse struct {
	r *bufio.Reader
}

type event struct{ name, id, data string }

func (s *sse) next(t *testing.T) event {
	t.Helper()
	var e event
	var data []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if e.name != "" || data != nil {
				e.data = strings.Join(data, "\n")
				return e
			}
		case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "retry:"):
		case strings.HasPrefix(line, "event: "):
			e.name = line[len("event: "):]
		case strings.HasPrefix(line, "id: "):
			e.id = line[len("id: "):]
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[len("data: "):])
		default:
			t.Fatalf("bad line %q", line)
		}
	}
}

func (s *sse) waitFor(t *testing.T, name string) event {
	t.Helper()
	for {
		if e := s.next(t); e.name == name {
			return e
		}
	}
}

func TestEvents(t *testing.T) {
	f := newFixture(t)
	f.srv.cfg.Stats = func() []WorkerStats { return []WorkerStats{{ID: 1, PID: 42, Requests: 7}} }
	f.srv.statsEvery = 50 * time.Millisecond
	f.srv.logEvery = 10 * time.Millisecond
	f.srv.heartbeatEvery = 30 * time.Millisecond
	f.log.Line("before")
	f.prog.cur = "/top.js"
	ts := httptest.NewServer(f.srv)
	defer ts.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" || res.Header.Get("Content-Length") != "" {
		t.Fatalf("status %d, headers %v", res.StatusCode, res.Header)
	}
	s := &sse{bufio.NewReader(res.Body)}
	if e := s.next(t); e.name != "program" || e.data != "/top.js" {
		t.Errorf("first event %+v", e)
	}
	if e := s.next(t); e.name != "stats" || e.data != `{"workers":[{"id":1,"pid":42,"connections":0,"requests":7,"requestsPerSec":0,"memory":0,"bytesIn":0,"bytesOut":0}]}` {
		t.Errorf("second event %+v", e)
	}
	// Only lines logged after connecting, unless asked.
	f.log.Line("hello from the test")
	f.log.Line("two\rlines")
	if e := s.waitFor(t, "log"); e.data != "hello from the test" || e.id != "2" {
		t.Errorf("log event %+v", e)
	}
	if e := s.waitFor(t, "log"); e.data != "two\nlines" || e.id != "3" {
		t.Errorf("log event %+v", e)
	}
	if e := s.waitFor(t, "stats"); !strings.Contains(e.data, `"pid":42`) {
		t.Errorf("stats event %+v", e)
	}
	f.prog.Stop()
	if e := s.waitFor(t, "program"); e.data != "" {
		t.Errorf("program event %+v", e)
	}
	// The handler ends when the client goes: ts.Close waits for it.
	cancel()
	res.Body.Close()

	// Resuming: Last-Event-ID or since give the lines after that count.
	for _, hdr := range [][2]string{{"Last-Event-ID", "1"}, {"", ""}} {
		target := ts.URL + "/api/events"
		if hdr[0] == "" {
			target += "?since=1"
		}
		req, _ := http.NewRequest("GET", target, nil)
		if hdr[0] != "" {
			req.Header.Set(hdr[0], hdr[1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		s := &sse{bufio.NewReader(res.Body)}
		if e := s.waitFor(t, "log"); e.data != "hello from the test" || e.id != "2" {
			t.Errorf("resumed %+v", e)
		}
		res.Body.Close()
	}
	done := make(chan struct{})
	go func() { ts.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("event stream handlers did not end when the clients went")
	}
	expect(t, do(t, f.srv, "POST", "/api/events", ""), 405, "")
}

func TestStaticPlaceholder(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/", "/index.html"} {
		r := do(t, f.srv, "GET", p, "")
		expect(t, r, 200, "text/html; charset=utf-8")
		for _, want := range []string{"not built", "./build.sh", "cd console/ui &amp;&amp; npm ci &amp;&amp; npm run build"} {
			if !strings.Contains(r.body, want) {
				t.Errorf("%s: placeholder has no %q", p, want)
			}
		}
	}
	r := do(t, f.srv, "GET", "/app.js", "")
	expect(t, r, 404, "")
	if r.body != "" {
		t.Errorf("404 body %q", r.body)
	}
	expect(t, do(t, f.srv, "POST", "/", ""), 405, "")
	expect(t, do(t, f.srv, "GET", "/api/nothing", ""), 404, "")

	// The embedded bundle, built or not, serves a page.
	s := New(Config{Root: f.root})
	if r := do(t, s, "GET", "/", ""); r.code != 200 || !strings.Contains(r.body, "<") {
		t.Errorf("embedded: %d", r.code)
	}
	if r := do(t, s, "GET", "/.keep", ""); r.code != 404 {
		t.Errorf(".keep: %d", r.code)
	}
}

func gunzip(t *testing.T, s string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStaticBundle(t *testing.T) {
	js := strings.Repeat("console.log('pipy');\n", 200)
	css := strings.Repeat("body { color: red }\n", 100)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(css))
	zw.Close()
	assets := fstest.MapFS{
		"index.html":             {Data: []byte("<!doctype html><title>console</title>")},
		"assets/app.js":          {Data: []byte(js)},
		"assets/style.css.gz":    {Data: gz.Bytes()},
		"assets/logo.png":        {Data: []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 600))},
		"assets/.secret":         {Data: []byte("x")},
		"assets/sub/.keep":       {Data: []byte("")},
		"assets/sub/readme.json": {Data: []byte(`{}`)},
	}
	s := newServer(Config{Root: t.TempDir()}, assets)
	r := do(t, s, "GET", "/", "")
	expect(t, r, 200, "text/html; charset=utf-8")
	if r.body != "<!doctype html><title>console</title>" {
		t.Errorf("index %q", r.body)
	}
	// Compressed on the fly when accepted.
	r = do(t, s, "GET", "/assets/app.js", "", "Accept-Encoding", "br, gzip;q=0.8")
	expect(t, r, 200, "text/javascript; charset=utf-8")
	if r.hdr.Get("Content-Encoding") != "gzip" || gunzip(t, r.body) != js || r.hdr.Get("Vary") != "Accept-Encoding" {
		t.Errorf("gzip: %v", r.hdr)
	}
	etag := r.hdr.Get("ETag")
	r = do(t, s, "GET", "/assets/app.js", "", "Accept-Encoding", "gzip;q=0, identity")
	if r.hdr.Get("Content-Encoding") != "" || r.body != js {
		t.Errorf("identity: %v", r.hdr)
	}
	if r.hdr.Get("ETag") == etag {
		t.Error("same ETag for both encodings")
	}
	r = do(t, s, "GET", "/assets/app.js", "", "Accept-Encoding", "gzip", "If-None-Match", etag)
	if r.code != http.StatusNotModified || r.body != "" {
		t.Errorf("revalidation: %d", r.code)
	}
	// Precompressed: sent as is, or decompressed.
	r = do(t, s, "GET", "/assets/style.css", "", "Accept-Encoding", "gzip")
	expect(t, r, 200, "text/css; charset=utf-8")
	if r.hdr.Get("Content-Encoding") != "gzip" || r.body != gz.String() {
		t.Errorf("precompressed: %v", r.hdr)
	}
	r = do(t, s, "GET", "/assets/style.css", "")
	if r.hdr.Get("Content-Encoding") != "" || r.body != css {
		t.Errorf("decompressed: %v %q", r.hdr, r.body[:20])
	}
	// Not compressed: images.
	r = do(t, s, "GET", "/assets/logo.png", "", "Accept-Encoding", "gzip")
	expect(t, r, 200, "image/png")
	if r.hdr.Get("Content-Encoding") != "" {
		t.Error("png compressed")
	}
	for _, p := range []string{"/assets/.secret", "/assets/sub/.keep", "/assets/sub", "/assets/", "/missing", "/assets/../../etc/passwd"} {
		if r := do(t, s, "GET", p, ""); r.code != 404 {
			t.Errorf("%s: %d", p, r.code)
		}
	}
	r = do(t, s, "HEAD", "/assets/app.js", "")
	if r.code != 200 || r.body != "" || r.hdr.Get("Content-Length") != strconv.Itoa(len(js)) {
		t.Errorf("HEAD: %d %v", r.code, r.hdr)
	}
	expect(t, do(t, s, "DELETE", "/assets/app.js", ""), 405, "")
}

func TestRequestOrigin(t *testing.T) {
	f := newFixture(t)
	// Other sites' pages cannot change anything.
	for _, origin := range []string{"http://evil.example", "null", "https://localhost.evil.example"} {
		r := do(t, f.srv, "POST", "/api/files/x.txt", "pwned", "Origin", origin)
		if r.code != 403 {
			t.Errorf("Origin %s: %d", origin, r.code)
		}
	}
	if r := do(t, f.srv, "DELETE", "/api/program", "", "Sec-Fetch-Site", "cross-site"); r.code != 403 {
		t.Errorf("cross-site: %d", r.code)
	}
	if _, err := os.Stat(filepath.Join(f.root, "x.txt")); err == nil {
		t.Error("file written")
	}
	// Same origin, and pages served from loopback (a dev server) can.
	for _, origin := range []string{"http://127.0.0.1:6060", "http://localhost:5173", "http://127.0.0.1:3000", "http://[::1]:8000"} {
		if r := do(t, f.srv, "POST", "/api/files/x.txt", "ok", "Origin", origin); r.code != 201 {
			t.Errorf("Origin %s: %d", origin, r.code)
		}
	}
	// DNS rebinding: names other than loopback/IP/single-label/allowed.
	req := httptest.NewRequest("GET", "/api/files", nil)
	req.Host = "attacker.example.com:6060"
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	if rec.Code != 403 {
		t.Errorf("rebinding host: %d", rec.Code)
	}
	for _, host := range []string{"127.0.0.1:6060", "localhost:6060", "[::1]:6060", "devbox:6060", "app.localhost", "10.0.0.5"} {
		req := httptest.NewRequest("GET", "/api/files", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Errorf("host %s: %d", host, rec.Code)
		}
	}
	s := newServer(Config{Root: f.root, AllowedHosts: []string{"console.example.com"}}, fstest.MapFS{})
	req = httptest.NewRequest("GET", "/api/files", nil)
	req.Host = "Console.Example.com:6060"
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("allowed host: %d", rec.Code)
	}
}

func TestServeClose(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- f.srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	res, err := http.Get(base + "/api/files/top.js")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != "pipy().listen(80).link('nope')\n" || res.ContentLength != int64(len(b)) {
		t.Errorf("%d %q", res.StatusCode, b)
	}
	// An open event stream does not keep Close waiting.
	ev, err := http.Get(base + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Body.Close()
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := io.ReadAll(ev.Body); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("stream ended with %v", err)
	}
	// Serving after Close returns at once.
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := f.srv.Serve(ln2); err != nil {
		t.Errorf("Serve after Close: %v", err)
	}
}
