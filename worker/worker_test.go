package worker

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/ipc"
	"github.com/pipy-go/pipy/logging"
)

// newTestWorker returns a worker logging at debug level into the returned
// buffer.
func newTestWorker(t *testing.T) (*Worker, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	out := logging.NewOutput(buf)
	w := New(Options{}, logging.New(out, hclog.Debug), out)
	return w, buf
}

// syncBuffer is a bytes.Buffer that the worker's goroutines may write while
// the test reads it: every method holds mu.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func writeScript(t *testing.T, src string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "main.js")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func get(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
	b, err := io.ReadAll(bufio.NewReader(c))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStartServeReloadShutdown(t *testing.T) {
	w, logs := newTestWorker(t)
	f := writeScript(t, `pipy().listen('127.0.0.1:0').decodeHttpRequest().replaceMessage(new Message('one')).encodeHttpResponse()`)
	if err := w.Start(f); err != nil {
		t.Fatal(err)
	}
	addr := w.Addr(0)
	if got := get(t, addr); !strings.HasSuffix(got, "\r\n\r\none") {
		t.Fatalf("response = %q", got)
	}
	os.WriteFile(f, []byte(`pipy().listen('127.0.0.1:0').decodeHttpRequest().replaceMessage(new Message('two')).encodeHttpResponse()`), 0o644)
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	if w.Addr(0) != addr {
		t.Fatalf("reload re-created a listener with the same options: %s -> %s", addr, w.Addr(0))
	}
	if got := get(t, addr); !strings.HasSuffix(got, "\r\n\r\ntwo") {
		t.Fatalf("after reload: %q", got)
	}
	// A broken script keeps the running program.
	os.WriteFile(f, []byte(`pipy().listen(`), 0o644)
	if err := w.Reload(); err == nil {
		t.Fatal("reload of a broken script succeeded")
	}
	if !strings.Contains(logs.String(), "Failed reloading script: /main.js") {
		t.Fatalf("log lacks the failure:\n%s", logs)
	}
	if got := get(t, addr); !strings.HasSuffix(got, "\r\n\r\ntwo") {
		t.Fatalf("after failed reload: %q", got)
	}
	if !w.Shutdown(nil, time.Second) {
		t.Fatal("shutdown did not drain")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("listener still open after shutdown")
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	w, _ := newTestWorker(t)
	f := writeScript(t, `pipy().listen('`+ln.Addr().String()+`')`)
	err = w.Start(f)
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("err = %v, want the address in it", err)
	}
}

func TestStatusTable(t *testing.T) {
	w, _ := newTestWorker(t)
	f := writeScript(t, `pipy().listen('127.0.0.1:0')`)
	if err := w.Start(f); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown(nil, time.Second)
	c, err := net.Dial("tcp", w.Addr(0))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "ping")
	buf := make([]byte, 4)
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo = %q, %v", buf, err)
	}
	text := w.StatusText()
	for _, want := range []string{"PIPELINE", "#ALLOCATED", "#ACTIVE", "/main.js [127.0.0.1:0]", "TOTAL"} {
		if !strings.Contains(text, want) {
			t.Fatalf("status lacks %q:\n%s", want, text)
		}
	}
	c.Close()
}

func TestTable(t *testing.T) {
	got := ipc.Table([]string{"A", "BB"}, [][]string{{"  xyz", "1"}, {"TOTAL", "10"}})
	want := "A      BB  \n-----------\n  xyz  1   \nTOTAL  10  \n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}
