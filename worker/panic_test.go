package worker

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipy-go/pipy/filters"
)

// panicFilter is a filter test hook: it panics on a Data event holding
// "boom" and passes everything else on.
type panicFilter struct{ out filters.Sink }

func (f *panicFilter) Input(evt filters.Event) {
	if d, ok := evt.(*filters.Data); ok && strings.Contains(d.String(), "boom") {
		panic("test hook: boom")
	}
	f.out.Input(evt)
}

type panicTemplate struct{}

func (panicTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &panicFilter{out: out}
}

var registerPanicHook sync.Once

// A Go panic inside a filter ends that session (its connection closes) with
// the panic and its stack in the log; the worker goes on serving every other
// connection, including one that was open while the panic happened.
func TestPanicInFilterEndsOnlyItsSession(t *testing.T) {
	registerPanicHook.Do(func() {
		filters.Register(&filters.Spec{Name: "testPanicOnBoom", Description: "test hook: panics on data holding boom",
			Make: func(*filters.Args) (filters.Template, error) { return panicTemplate{}, nil }})
	})
	w, logs := newTestWorker(t)
	f := writeScript(t, `pipy().listen('127.0.0.1:0').testPanicOnBoom().decodeHttpRequest().replaceMessage(new Message('fine')).encodeHttpResponse()`)
	if err := w.Start(f); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown(nil, time.Second)
	addr := w.Addr(0)

	// A keep-alive connection opened before the panic.
	other, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetDeadline(time.Now().Add(5 * time.Second))
	otherR := bufio.NewReader(other)
	ask := func() string {
		t.Helper()
		io.WriteString(other, "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
		var head strings.Builder
		for {
			line, err := otherR.ReadString('\n')
			if err != nil {
				t.Fatalf("keep-alive connection: %v (so far %q)", err, head.String())
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		body := make([]byte, 4)
		if _, err := io.ReadFull(otherR, body); err != nil {
			t.Fatal(err)
		}
		return head.String() + string(body)
	}
	if got := ask(); !strings.HasPrefix(got, "HTTP/1.1 200") || !strings.HasSuffix(got, "fine") {
		t.Fatalf("before the panic: %q", got)
	}

	// The panicking connection is closed without an answer.
	bad, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	bad.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(bad, "GET /boom HTTP/1.1\r\n\r\n")
	b, err := io.ReadAll(bad)
	bad.Close()
	if len(b) != 0 {
		t.Fatalf("panicking connection answered %q (%v)", b, err)
	}

	// Everyone else is still served.
	if got := ask(); !strings.HasSuffix(got, "fine") {
		t.Fatalf("open connection after the panic: %q", got)
	}
	if got := get(t, addr); !strings.HasPrefix(got, "HTTP/1.1 200") || !strings.HasSuffix(got, "fine") {
		t.Fatalf("new connection after the panic: %q", got)
	}
	log := logs.String()
	for _, want := range []string{"panic in pipeline 127.0.0.1:0: test hook: boom", "panic_test.go", "goroutine "} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if n := w.Loop.Counters.Errors.Load(); n != 1 {
		t.Errorf("errors counted = %d, want 1", n)
	}
}
