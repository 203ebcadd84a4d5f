package ipc

import (
	"net"
	"os"
	"strings"
	"testing"
)

// The master's side (Args, Environ, ExtraFiles) and the worker's (inherit)
// agree: what one writes the other reads, descriptor for descriptor.
func TestContractRoundTrip(t *testing.T) {
	master, worker, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sock, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	a := &Assignment{Slot: 2, Root: "/srv", Module: "/pipy.js", Listeners: []string{"0.0.0.0:8080"}, Sockets: []*os.File{sock}}

	args := a.Args([]string{"/srv/pipy.js", "--log-level=debug"})
	if args[0] != "--worker=2" || args[1] != "/srv/pipy.js" {
		t.Errorf("Args = %q", args)
	}
	k, v, _ := strings.Cut(args[0], "=")
	if slot, err := ParseSlot(v); k != WorkerFlag || err != nil || slot != 2 {
		t.Errorf("%q does not parse back: %s %d %v", args[0], k, slot, err)
	}
	env := map[string]string{}
	for _, kv := range a.Environ([]string{"HOME=/root", EnvModule + "=/stale.js"}) {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := env[k]; dup {
			t.Errorf("Environ sets %s twice", k)
		}
		env[k] = v
	}
	if env["HOME"] != "/root" || env[EnvModule] != "/pipy.js" {
		t.Errorf("Environ = %v", env)
	}
	// exec.Cmd.ExtraFiles[i] becomes descriptor 3+i.
	fds := map[uintptr]*os.File{}
	for i, f := range a.ExtraFiles(worker) {
		fds[uintptr(3+i)] = f
	}
	newFile := func(fd uintptr, name string) *os.File {
		f := fds[fd]
		if f == nil {
			return nil
		}
		delete(fds, fd)
		return f
	}
	conn, got, err := inherit(2, func(k string) string { return env[k] }, newFile)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	defer got.Close()
	if got.Slot != 2 || got.Root != "/srv" || got.Module != "/pipy.js" || len(got.Sockets) != 1 || got.Listeners[0] != "0.0.0.0:8080" {
		t.Fatalf("inherited %+v", got)
	}
	if len(fds) != 0 {
		t.Errorf("descriptors not taken: %v", fds)
	}
	if err := conn.Send(&Message{Type: Ready}); err != nil {
		t.Fatal(err)
	}
	if m, _, err := master.Recv(); err != nil || m.Type != Ready {
		t.Fatalf("master got %+v %v", m, err)
	}
}

func TestInheritOutsideAMaster(t *testing.T) {
	_, _, err := inherit(1, func(string) string { return "" }, os.NewFile)
	if err == nil || !strings.Contains(err.Error(), EnvRoot) {
		t.Errorf("inherit without the environment: %v, want an error naming %s", err, EnvRoot)
	}
	if _, err := ParseSlot("0"); err == nil {
		t.Errorf("slot 0 accepted")
	}
}

func TestConnPair(t *testing.T) {
	a, b, err := ConnPair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	go a.Send(&Message{Type: Stats})
	if m, _, err := b.Recv(); err != nil || m.Type != Stats || m.Stats != nil {
		t.Fatalf("got %+v %v", m, err)
	}
}
