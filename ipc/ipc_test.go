package ipc

import (
	"io"
	"net"
	"os"
	"sync"
	"testing"
)

func TestSendRecvWithFiles(t *testing.T) {
	a, f, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := FromFile(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()

	// Send reads lf's descriptor, so lf is closed only after the sender is
	// done. Receiving the message is no such guarantee: the socket is no
	// synchronisation that the os package (or the race detector) knows of.
	var sender sync.WaitGroup
	var sendErr error
	sender.Go(func() {
		sendErr = a.Send(&Message{Type: Stats, Stats: &WorkerStat{PID: 7, Requests: 3, Pipelines: []PipelineStat{{Name: "/p.js [x]", Active: 1}}}})
		if sendErr == nil {
			sendErr = a.Send(&Message{Type: Reload, Listeners: []string{ln.Addr().String()}}, lf)
		}
	})
	defer func() {
		sender.Wait()
		lf.Close()
	}()
	m, files, err := b.Recv()
	if err != nil || m.Type != Stats || m.Stats.PID != 7 || m.Stats.Requests != 3 || m.Stats.Pipelines[0].Active != 1 || len(files) != 0 {
		t.Fatalf("first: %+v %v %v", m, files, err)
	}
	m, files, err = b.Recv()
	if err != nil || m.Type != Reload || len(files) != 1 || m.Listeners[0] != ln.Addr().String() {
		t.Fatalf("second: %+v %v %v", m, files, err)
	}
	sender.Wait()
	if sendErr != nil {
		t.Fatalf("send: %v", sendErr)
	}
	// The received descriptor is a working listening socket.
	ln2, err := net.FileListener(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	go func() {
		c, err := net.Dial("tcp4", ln2.Addr().String())
		if err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	c, err := ln2.Accept()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c)
	if string(got) != "hi" {
		t.Fatalf("got %q", got)
	}
}

func TestRecvAfterClose(t *testing.T) {
	a, f, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := FromFile(f)
	f.Close()
	a.Close()
	if _, _, err := b.Recv(); err == nil {
		t.Fatal("Recv on a closed pair succeeded")
	}
}

func TestFromFileRejectsNonSocket(t *testing.T) {
	f, _ := os.Open(os.DevNull)
	defer f.Close()
	if _, err := FromFile(f); err == nil {
		t.Fatal("FromFile(/dev/null) succeeded")
	}
}
