package test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// e007Post is one request received by the test's log collector.
type e007Post struct {
	at     time.Time
	conn   int
	method string
	path   string
	header http.Header
	host   string
	body   []byte
}

// e007Collector is a raw HTTP/1.1 server on 127.0.0.1:8123 recording every
// request (the log posts carry no Host header, which net/http would reject).
type e007Collector struct {
	mu    sync.Mutex
	posts []e007Post
	errs  []string
	ch    chan struct{} // one token per post
	ln    net.Listener
	conns int
}

func startE007Collector(t *testing.T) *e007Collector {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:8123")
	if err != nil {
		t.Fatalf("collector: listen 127.0.0.1:8123: %v", err)
	}
	c := &e007Collector{ch: make(chan struct{}, 1000), ln: ln}
	var wg sync.WaitGroup
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		c.mu.Lock()
		for _, nc := range open {
			nc.Close()
		}
		c.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.conns++
			id := c.conns
			open = append(open, nc)
			c.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				br := bufio.NewReader(nc)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						if err != io.EOF && !strings.Contains(err.Error(), "use of closed") {
							c.mu.Lock()
							c.errs = append(c.errs, fmt.Sprintf("conn %d: reading request: %v", id, err))
							c.mu.Unlock()
						}
						return
					}
					body, err := io.ReadAll(req.Body)
					if err != nil {
						c.mu.Lock()
						c.errs = append(c.errs, fmt.Sprintf("conn %d: reading body: %v", id, err))
						c.mu.Unlock()
						return
					}
					c.mu.Lock()
					c.posts = append(c.posts, e007Post{
						at: time.Now(), conn: id, method: req.Method, path: req.URL.Path,
						header: req.Header, host: req.Host, body: body,
					})
					c.mu.Unlock()
					c.ch <- struct{}{}
					if _, err := io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"); err != nil {
						return
					}
				}
			}()
		}
	}()
	return c
}

func (c *e007Collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.posts)
}

func (c *e007Collector) get(i int) e007Post {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.posts[i]
}

// waitPost waits for post number i (0-based) to arrive.
func (c *e007Collector) waitPost(t *testing.T, i int, timeout time.Duration) e007Post {
	t.Helper()
	deadline := time.After(timeout)
	for c.count() <= i {
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("log post #%d not received within %v (%d received)", i+1, timeout, c.count())
		}
	}
	return c.get(i)
}

// expectNoPost asserts that no more than n posts arrive during d.
func (c *e007Collector) expectNoPost(t *testing.T, n int, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	if got := c.count(); got > n {
		p := c.get(n)
		t.Errorf("unexpected log post #%d (body %q)", n+1, p.body)
	}
}

// 007-logging: request/response records batched and posted to a collector.
// Runs a copy of the script without its mock collector on 8123 and records
// the posts with a collector of the test's own.
func TestExample007Logging(t *testing.T) {
	src, err := os.ReadFile(examplePath(t, "007-logging"))
	if err != nil {
		t.Fatal(err)
	}
	const block = "// Mock logging service on port 8123\n" +
		".listen(8123)\n" +
		"  .decodeHttpRequest()\n" +
		"  .replaceMessage(\n" +
		"    new Message('OK')\n" +
		"  )\n" +
		"  .encodeHttpResponse()\n\n"
	if n := strings.Count(string(src), block); n != 1 {
		t.Fatalf("the .listen(8123) block occurs %d times in the script, want 1", n)
	}
	script := writeScript(t, "pipy.js", strings.Replace(string(src), block, "", 1), 0)

	requirePortsFree(t, 6080, 8080, 8123)
	coll := startE007Collector(t)
	p := startScript(t, script, 6080, 8080)
	testStart := time.Now()

	type sent struct {
		method, path, ctype, body string
		wantBody                  any // expected request record body: string or nil
	}
	var all []sent
	request := func(s sent) {
		t.Helper()
		raw := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: 127.0.0.1:6080\r\n", s.method, s.path)
		if s.ctype != "" {
			raw += "Content-Type: " + s.ctype + "\r\n"
		}
		if s.method == "POST" {
			raw += fmt.Sprintf("Content-Length: %d\r\n", len(s.body))
		}
		raw += "\r\n" + s.body
		r := rawRequest(t, 6080, raw)
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectBody(t, r, "Hi, there!\n")
		all = append(all, s)
	}

	// 1. The first record is posted at once (the initial flush time is 0).
	request(sent{method: "GET", path: "/first", wantBody: ""})
	first := coll.waitPost(t, 0, 900*time.Millisecond)

	// 2. The next five records are posted together after the fifth.
	group := []sent{
		{method: "POST", path: "/a", ctype: "text/plain", body: "alpha", wantBody: "alpha"},
		{method: "POST", path: "/b", ctype: "application/json; charset=utf-8", body: `{"x":1}`, wantBody: `{"x":1}`},
		{method: "POST", path: "/c", ctype: "application/octet-stream", body: "\x01\x02", wantBody: nil},
		{method: "GET", path: "/d?q=1", wantBody: ""},
		{method: "POST", path: "/e", ctype: "text/html", body: "<p>hi</p>", wantBody: "<p>hi</p>"},
	}
	for i, s := range group {
		request(s)
		if i < len(group)-1 && coll.count() > 1 {
			t.Fatalf("a log post arrived after only %d of the next five records (body %q)", i+1, coll.get(1).body)
		}
	}
	second := coll.waitPost(t, 1, 900*time.Millisecond)

	// 3. Leftovers are posted 5-6 s after the previous flush.
	left := []sent{
		{method: "GET", path: "/left1", wantBody: ""},
		{method: "POST", path: "/left2", ctype: "multipart/form-data; boundary=x", body: "zz", wantBody: "zz"},
	}
	for _, s := range left {
		request(s)
	}
	coll.expectNoPost(t, 2, 3*time.Second)
	third := coll.waitPost(t, 2, 5*time.Second)
	if d := third.at.Sub(second.at); d < 4900*time.Millisecond || d > 7*time.Second {
		t.Errorf("leftover records posted %v after the previous post, want about 5-6 s", d)
	}
	coll.expectNoPost(t, 3, 300*time.Millisecond)

	t.Logf("first post body: %s", first.body)

	// Posts: method, path, headers.
	posts := []e007Post{first, second, third}
	wantCounts := []int{1, 5, 2}
	idx := 0
	for i, post := range posts {
		if post.method != "POST" || post.path != "/where/to/post/the/log" {
			t.Errorf("post #%d: %s %s, want POST /where/to/post/the/log", i+1, post.method, post.path)
		}
		if post.host != "" {
			t.Errorf("post #%d has a Host header %q, want none", i+1, post.host)
		}
		if post.header.Get("Content-Length") != fmt.Sprint(len(post.body)) {
			t.Errorf("post #%d: Content-Length %q, body %d bytes", i+1, post.header.Get("Content-Length"), len(post.body))
		}
		records := e007ParseBatch(t, i+1, post.body)
		if len(records) != wantCounts[i] {
			t.Errorf("post #%d has %d records, want %d", i+1, len(records), wantCounts[i])
			continue
		}
		for j, rec := range records {
			e007CheckRecord(t, fmt.Sprintf("post #%d record %d", i+1, j+1), rec, all[idx+j], testStart)
		}
		idx += len(records)
	}
	coll.mu.Lock()
	for _, e := range coll.errs {
		t.Errorf("collector: %s", e)
	}
	t.Logf("collector saw %d connection(s) for %d posts", coll.conns, len(coll.posts))
	coll.mu.Unlock()

	e007Stop(t, p)
}

// e007Stop stops pipy with SIGINT. The shared mux session keeps its
// connection to the collector, so pipy may keep logging `Waiting for
// remaining N sessions...` (allowed for examples with long-lived upstream
// connections): then a second SIGINT forces the shutdown. Either way the
// exit must be clean (`Stopped.`, `Done.`, status 0).
func e007Stop(t *testing.T, p *pipyProc) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(2500 * time.Millisecond):
		if p.countLines("Waiting for remaining") == 0 {
			t.Errorf("pipy neither stopped nor logged `Waiting for remaining N sessions...` 2.5 s after SIGINT")
		}
		t.Logf("pipy still waiting 2.5 s after SIGINT; sending a second SIGINT")
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.done:
			if p.countLines("Forcing to shut down...") == 0 {
				t.Errorf("forced shutdown did not log `Forcing to shut down...`")
			}
		case <-time.After(5 * time.Second):
			t.Errorf("pipy still running 5 s after a second SIGINT")
			p.kill()
			return
		}
	}
	if p.exitCode != 0 {
		t.Errorf("exit status after SIGINT = %d, want 0", p.exitCode)
	}
	out := p.out.stdout()
	iStopped, iDone := strings.Index(out, "Stopped."), strings.LastIndex(out, "Done.")
	if iStopped < 0 || iDone < 0 || iDone < iStopped {
		t.Errorf("stdout lacks `Stopped.` followed by `Done.`")
	}
}

// e007ParseBatch parses a batch body `{...},{...},` into records.
func e007ParseBatch(t *testing.T, n int, body []byte) []map[string]any {
	t.Helper()
	s := string(body)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "},") {
		t.Errorf("post #%d body %q is not a sequence of `{...},`", n, s)
		return nil
	}
	var records []map[string]any
	if err := json.Unmarshal([]byte("["+strings.TrimSuffix(s, ",")+"]"), &records); err != nil {
		t.Errorf("post #%d body %q: %v", n, s, err)
		return nil
	}
	return records
}

func e007Keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func e007SameKeys(m map[string]any, want ...string) bool {
	got := e007Keys(m)
	sort.Strings(want)
	return strings.Join(got, ",") == strings.Join(want, ",")
}

func e007CheckRecord(t *testing.T, where string, rec map[string]any, s struct {
	method, path, ctype, body string
	wantBody                  any
}, testStart time.Time) {
	t.Helper()
	if !e007SameKeys(rec, "startTime", "method", "path", "protocol", "headers", "body", "latency", "endTime", "response") {
		t.Errorf("%s: keys %v, want startTime, method, path, protocol, headers, body, latency, endTime, response", where, e007Keys(rec))
	}
	if rec["method"] != s.method || rec["path"] != s.path || rec["protocol"] != "HTTP/1.1" {
		t.Errorf("%s: method/path/protocol = %v %v %v, want %s %s HTTP/1.1", where, rec["method"], rec["path"], rec["protocol"], s.method, s.path)
	}
	if h, ok := rec["headers"].(map[string]any); !ok || h["host"] != "127.0.0.1:6080" {
		t.Errorf("%s: headers = %v, want an object with host 127.0.0.1:6080", where, rec["headers"])
	} else if s.ctype != "" && h["content-type"] != s.ctype {
		t.Errorf("%s: headers[content-type] = %v, want %q", where, h["content-type"], s.ctype)
	}
	if rec["body"] != s.wantBody {
		t.Errorf("%s: body = %#v, want %#v", where, rec["body"], s.wantBody)
	}
	start, ok1 := rec["startTime"].(float64)
	end, ok2 := rec["endTime"].(float64)
	lat, ok3 := rec["latency"].(float64)
	now := float64(time.Now().UnixMilli())
	if !ok1 || !ok2 || !ok3 || start < float64(testStart.UnixMilli())-1000 || start > now || end < start || end > now || lat < 0 || lat > end-start+1 {
		t.Errorf("%s: startTime %v, endTime %v, latency %v: not plausible", where, rec["startTime"], rec["endTime"], rec["latency"])
	}
	resp, ok := rec["response"].(map[string]any)
	if !ok {
		t.Errorf("%s: response = %#v, want an object", where, rec["response"])
		return
	}
	if !e007SameKeys(resp, "protocol", "status", "statusText", "headers", "body") {
		t.Errorf("%s: response keys %v, want protocol, status, statusText, headers, body", where, e007Keys(resp))
	}
	if resp["protocol"] != "HTTP/1.1" || resp["status"] != float64(200) || resp["statusText"] != "OK" || resp["body"] != "Hi, there!\n" {
		t.Errorf("%s: response = %v, want HTTP/1.1 200 OK with body \"Hi, there!\\n\"", where, resp)
	}
	if h, ok := resp["headers"].(map[string]any); !ok {
		t.Errorf("%s: response headers = %#v, want an object", where, resp["headers"])
	} else if _, ok := h["connection"]; !ok {
		t.Errorf("%s: response headers %v lack `connection`", where, h)
	}
}
