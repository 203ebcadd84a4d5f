package worker

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/ipc"
	"github.com/pipy-go/pipy/logging"
)

// The worker side of the protocol, as an in-process worker runs it: Serve
// over a socket pair, on sockets handed over like a master does.

// handedSocket opens a loopback socket on an ephemeral port, as a master's
// socket for some listen address, and returns it with its address.
func handedSocket(t *testing.T) (*os.File, string) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ipc.DupSocket(ln.(*net.TCPListener), "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, ln.Addr().String()
}

func httpGet(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
	b, _ := io.ReadAll(c)
	return string(b)
}

// recvType reads messages from the worker until one of type typ.
func recvType(t *testing.T, c *ipc.Conn, typ string) *ipc.Message {
	t.Helper()
	for {
		m, files, err := c.Recv()
		for _, f := range files {
			f.Close()
		}
		if err != nil {
			t.Fatalf("waiting for %q: %v", typ, err)
		}
		if m.Type == typ {
			return m
		}
	}
}

func TestServeProtocol(t *testing.T) {
	root := t.TempDir()
	script := "pipy()\n\n.listen(PORT)\n  .decodeHttpRequest()\n  .replaceMessage(new Message('MSG'))\n  .encodeHttpResponse()\n"
	write := func(name, port, msg string) {
		text := strings.ReplaceAll(strings.ReplaceAll(script, "PORT", port), "MSG", msg)
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.js", "8080", "a")
	write("b.js", "8081", "b")
	sockA, addrA := handedSocket(t)
	sockB, addrB := handedSocket(t)

	var logs syncBuffer
	out := logging.NewOutput(&logs)
	w := New(Options{}, logging.New(out, hclog.Debug), out)
	master, theirs, err := ipc.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	a := &ipc.Assignment{Slot: 1, Root: root, Module: "/a.js", Listeners: []string{"0.0.0.0:8080"}, Sockets: []*os.File{sockA}}
	own, err := a.Dup()
	if err != nil {
		t.Fatal(err)
	}
	status := make(chan int, 1)
	go func() {
		status <- w.Serve(theirs, own, ServeOptions{StatsInterval: 20 * time.Millisecond})
		theirs.Close()
	}()
	defer func() {
		if t.Failed() {
			t.Logf("worker log:\n%s", logs.String())
		}
	}()

	recvType(t, master, ipc.Ready)
	if got := httpGet(t, addrA); !strings.HasSuffix(got, "\r\n\r\na") {
		t.Fatalf("GET on the handed socket: %q", got)
	}
	// Asked for stats, the worker reports the connection.
	master.Send(&ipc.Message{Type: ipc.Stats})
	for {
		m := recvType(t, master, ipc.Stats)
		if m.Stats.Accepted >= 1 {
			break
		}
	}

	// Reload onto another module and socket; a broken module is refused.
	if err := master.Send(&ipc.Message{Type: ipc.Reload, Module: "/b.js", Listeners: []string{"0.0.0.0:8081"}}, sockB); err != nil {
		t.Fatal(err)
	}
	if m := recvType(t, master, ipc.Reloaded); m.Error != "" {
		t.Fatalf("reload: %s", m.Error)
	}
	if got := httpGet(t, addrB); !strings.HasSuffix(got, "\r\n\r\nb") {
		t.Fatalf("GET after the reload: %q", got)
	}
	os.WriteFile(filepath.Join(root, "c.js"), []byte("pipy()\n.listen(8082)\n  .noSuchFilter()\n"), 0o644)
	master.Send(&ipc.Message{Type: ipc.Reload, Module: "/c.js", Listeners: []string{"0.0.0.0:8081"}}, sockB)
	if m := recvType(t, master, ipc.Reloaded); m.Error == "" {
		t.Errorf("a broken module reloaded")
	}

	master.Send(&ipc.Message{Type: ipc.Drain})
	recvType(t, master, ipc.Draining)
	select {
	case s := <-status:
		if s != 0 {
			t.Errorf("exit status %d", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Serve did not return after Drain")
	}
	if !strings.Contains(logs.String(), "[worker] told to stop: draining") {
		t.Errorf("no drain line in the log")
	}
}

// Kill ends a drain that waits for a session, and Serve returns.
func TestServeKillDuringDrain(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "a.js"), []byte("pipy()\n.listen(8080)\n  .dummy()\n"), 0o644)
	sock, addr := handedSocket(t)
	var logs syncBuffer
	out := logging.NewOutput(&logs)
	w := New(Options{}, logging.New(out, hclog.Debug), out)
	master, theirs, err := ipc.ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer theirs.Close()
	own, err := (&ipc.Assignment{Slot: 1, Root: root, Module: "/a.js", Listeners: []string{"0.0.0.0:8080"}, Sockets: []*os.File{sock}}).Dup()
	if err != nil {
		t.Fatal(err)
	}
	kill := make(chan struct{})
	status := make(chan int, 1)
	go func() { status <- w.Serve(theirs, own, ServeOptions{Kill: kill}) }()
	recvType(t, master, ipc.Ready)
	c, err := net.Dial("tcp", addr) // a session that never ends by itself
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for w.ActiveSessions() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	master.Send(&ipc.Message{Type: ipc.Drain})
	recvType(t, master, ipc.Draining)
	select {
	case <-status:
		t.Fatalf("Serve returned with a session open")
	case <-time.After(200 * time.Millisecond):
	}
	close(kill)
	select {
	case <-status:
	case <-time.After(5 * time.Second):
		t.Fatalf("Serve did not return after Kill")
	}
}
