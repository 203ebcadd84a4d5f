package test

// Backpressure (README.md §1.7, recommended behaviour): a peer that does not
// read must not make pipy buffer without bound. pipy must stop reading the
// other side of the session when a connection's output queue is high, and
// resume later without changing the byte stream.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	bpTotal      = 256 << 20 // bytes pushed through pipy
	bpChunk      = 64 << 10  // write size
	bpRSSLimit   = 64 << 20  // pipy's resident memory must stay below this
	bpBlockLimit = 64 << 20  // bytes that may be in flight while the peer does not read
	bpStall      = 5 * time.Second
	bpTransfer   = 90 * time.Second // bound for moving bpTotal once the peer reads
)

// bpPattern holds the stream pattern: byte i of the stream is i % 251.
var bpPattern = func() []byte {
	b := make([]byte, bpChunk+251)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}()

// bpChunkAt returns the n bytes of the pattern stream starting at offset off.
func bpChunkAt(off int64, n int) []byte {
	s := int(off % 251)
	return bpPattern[s : s+n]
}

// bpWriteStream writes bpTotal pattern bytes to c, adding to *written, until
// done or an error; it returns the error (nil when everything was written).
func bpWriteStream(c net.Conn, written *atomic.Int64, deadline time.Time) error {
	return bpWriteStreamN(c, bpTotal, written, deadline)
}

// bpWriteStreamN is bpWriteStream for total bytes.
func bpWriteStreamN(c net.Conn, total int64, written *atomic.Int64, deadline time.Time) error {
	var off int64
	for off < total {
		n := min(bpChunk, int(total-off))
		c.SetWriteDeadline(deadline)
		m, err := c.Write(bpChunkAt(off, n))
		off += int64(m)
		written.Add(int64(m))
		if err != nil {
			return err
		}
	}
	return nil
}

// bpReadStream reads exactly bpTotal bytes from r, checking the pattern. It
// returns the number of bytes read and the first error (pattern mismatch
// included).
func bpReadStream(r io.Reader, setDeadline func(time.Time), deadline time.Time) (int64, error) {
	return bpReadStreamN(r, 0, bpTotal, setDeadline, deadline, nil)
}

// bpReadStreamN reads the pattern stream from offset from up to total,
// calling pace (when not nil) after each read.
func bpReadStreamN(r io.Reader, from, total int64, setDeadline func(time.Time), deadline time.Time, pace func(got int64) bool) (int64, error) {
	buf := make([]byte, 256<<10)
	got := from
	v := byte(from % 251) // expected value of the next byte
	for got < total {
		if pace != nil && !pace(got) {
			return got, nil
		}
		setDeadline(deadline)
		n, err := r.Read(buf[:min(len(buf), int(total-got))])
		for i, b := range buf[:n] {
			if b != v {
				return got + int64(i), fmt.Errorf("byte %d = %d, want %d", got+int64(i), b, v)
			}
			v++
			if v == 251 {
				v = 0
			}
		}
		got += int64(n)
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// rssSampler samples the resident memory of a process group (pipy and any
// children it may spawn) until stopped, keeping the maximum.
type rssSampler struct {
	pgid int
	max  atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func startRSSSampler(t *testing.T, pid int) *rssSampler {
	t.Helper()
	s := &rssSampler{pgid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	if _, err := groupRSS(pid); err != nil {
		t.Skipf("cannot read /proc: %v", err)
	}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if v, err := groupRSS(s.pgid); err == nil && v > s.max.Load() {
				s.max.Store(v)
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *rssSampler) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// groupRSS sums VmRSS (bytes) over the processes whose process group is pgid.
func groupRSS(pgid int) (int64, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var total int64
	found := false
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may contain spaces.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		rss, err := vmRSS(pid)
		if err != nil {
			continue
		}
		total += rss
		found = true
	}
	if !found {
		return 0, fmt.Errorf("no process in group %d", pgid)
	}
	return total, nil
}

func vmRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			fs := strings.Fields(v)
			if len(fs) >= 1 {
				kb, err := strconv.ParseInt(fs[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, errors.New("no VmRSS")
}

// bpUpstream is a test server on 127.0.0.1 accepting one connection.
type bpUpstream struct {
	ln   net.Listener
	port int
	conn chan net.Conn
}

func startUpstream(t *testing.T) *bpUpstream {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("upstream listen: %v", err)
	}
	u := &bpUpstream{ln: ln, port: ln.Addr().(*net.TCPAddr).Port, conn: make(chan net.Conn, 1)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		t.Cleanup(func() { c.Close() })
		u.conn <- c
	}()
	return u
}

// accepted waits for the upstream connection.
func (u *bpUpstream) accepted(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-u.conn:
		return c
	case <-time.After(ioTimeout):
		t.Fatalf("pipy did not connect to the upstream 127.0.0.1:%d", u.port)
		return nil
	}
}

func startProxy(t *testing.T, name string, upPort int) (*pipyProc, int) {
	t.Helper()
	port := freePort(t)
	script := writeScript(t, name, substPorts(`pipy()

.listen(PORT_P)
  .connect('127.0.0.1:PORT_UP')
`, map[string]int{"PORT_P": port, "PORT_UP": upPort}), 0)
	return startScript(t, script, port), port
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// TestBackpressureDownloadToStalledClient: the upstream pushes 256 MiB, the
// client does not read. pipy must stop reading the upstream (bounded memory,
// upstream blocked), then deliver every byte in order once the client reads.
func TestBackpressureDownloadToStalledClient(t *testing.T) {
	up := startUpstream(t)
	p, port := startProxy(t, "bp_download.js", up.port)
	rss := startRSSSampler(t, p.cmd.Process.Pid)

	c := dial(t, port)
	c.send("x")
	uc := up.accepted(t)

	var written atomic.Int64
	upDone := make(chan error, 1)
	go func() {
		upDone <- bpWriteStream(uc, &written, time.Now().Add(bpStall+bpTransfer))
	}()

	// The client reads nothing for a while.
	time.Sleep(bpStall)
	stalled := written.Load()
	maxStalled := rss.max.Load()
	t.Logf("client not reading for %v: upstream wrote %s, pipy max RSS %s", bpStall, mib(stalled), mib(maxStalled))
	if stalled >= bpBlockLimit {
		t.Errorf("upstream wrote %s while the client read nothing, want < %s: pipy did not stop reading the upstream", mib(stalled), mib(bpBlockLimit))
	}
	if maxStalled >= bpRSSLimit {
		t.Errorf("pipy RSS reached %s while the client read nothing, want < %s", mib(maxStalled), mib(bpRSSLimit))
	}
	select {
	case err := <-upDone:
		t.Fatalf("upstream writer finished while the client read nothing (wrote %s, err %v)", mib(written.Load()), err)
	default:
	}

	// Now the client reads everything: all bytes, in order.
	got, err := bpReadStream(c.c, func(d time.Time) { c.c.SetReadDeadline(d) }, time.Now().Add(bpTransfer))
	if err != nil {
		t.Fatalf("client received %s of %s, then: %v (upstream wrote %s)", mib(got), mib(bpTotal), err, mib(written.Load()))
	}
	select {
	case err := <-upDone:
		if err != nil {
			t.Errorf("upstream write: %v", err)
		}
	case <-time.After(ioTimeout):
		t.Errorf("upstream writer still blocked after the client received everything")
	}
	if m := rss.max.Load(); m >= bpRSSLimit {
		t.Errorf("pipy RSS reached %s during the transfer, want < %s", mib(m), mib(bpRSSLimit))
	}
	t.Logf("transfer complete; pipy max RSS %s", mib(rss.max.Load()))

	// The upstream closes: the client sees the end of the stream.
	uc.Close()
	c.expectEOF(5 * time.Second)
	p.stopOK()
}

// TestBackpressureUploadToStalledUpstream: the client pushes 256 MiB to an
// upstream that does not read. pipy must stop reading the client (bounded
// memory, client blocked), then deliver every byte in order once the
// upstream reads.
func TestBackpressureUploadToStalledUpstream(t *testing.T) {
	up := startUpstream(t)
	p, port := startProxy(t, "bp_upload.js", up.port)
	rss := startRSSSampler(t, p.cmd.Process.Pid)

	c := dial(t, port)
	var sent atomic.Int64
	clientDone := make(chan error, 1)
	go func() {
		clientDone <- bpWriteStream(c.c, &sent, time.Now().Add(bpStall+bpTransfer))
	}()
	uc := up.accepted(t)

	// The upstream reads nothing for a while.
	time.Sleep(bpStall)
	stalled := sent.Load()
	maxStalled := rss.max.Load()
	t.Logf("upstream not reading for %v: client sent %s, pipy max RSS %s", bpStall, mib(stalled), mib(maxStalled))
	if stalled >= bpBlockLimit {
		t.Errorf("client sent %s while the upstream read nothing, want < %s: pipy did not stop reading the client", mib(stalled), mib(bpBlockLimit))
	}
	if maxStalled >= bpRSSLimit {
		t.Errorf("pipy RSS reached %s while the upstream read nothing, want < %s", mib(maxStalled), mib(bpRSSLimit))
	}
	select {
	case err := <-clientDone:
		t.Fatalf("client writer finished while the upstream read nothing (sent %s, err %v)", mib(sent.Load()), err)
	default:
	}

	// Now the upstream reads everything: all bytes, in order.
	got, err := bpReadStream(uc, func(d time.Time) { uc.SetReadDeadline(d) }, time.Now().Add(bpTransfer))
	if err != nil {
		t.Fatalf("upstream received %s of %s, then: %v (client sent %s)", mib(got), mib(bpTotal), err, mib(sent.Load()))
	}
	select {
	case err := <-clientDone:
		if err != nil {
			t.Errorf("client write: %v", err)
		}
	case <-time.After(ioTimeout):
		t.Errorf("client writer still blocked after the upstream received everything")
	}
	if m := rss.max.Load(); m >= bpRSSLimit {
		t.Errorf("pipy RSS reached %s during the transfer, want < %s", mib(m), mib(bpRSSLimit))
	}
	t.Logf("transfer complete; pipy max RSS %s", mib(rss.max.Load()))

	// The client closes: the upstream sees the end of the stream.
	c.closeWrite()
	uc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := io.Copy(io.Discard, uc); err != nil || n != 0 {
		t.Errorf("after the client half-closed, upstream read %d more bytes, err %v; want EOF", n, err)
	}
	uc.Close()
	c.close()
	p.stopOK()
}

// TestBackpressureSlowReader512MiB: a 512 MiB download through the TCP
// proxy to a client that first reads nothing, then reads slowly, then
// fast. pipy's memory stays under 64 MiB throughout and every byte arrives
// in order.
func TestBackpressureSlowReader512MiB(t *testing.T) {
	const total = 512 << 20
	up := startUpstream(t)
	p, port := startProxy(t, "bp_512.js", up.port)
	rss := startRSSSampler(t, p.cmd.Process.Pid)

	c := dial(t, port)
	c.send("x")
	uc := up.accepted(t)

	var written atomic.Int64
	upDone := make(chan error, 1)
	go func() {
		upDone <- bpWriteStreamN(uc, total, &written, time.Now().Add(60*time.Second))
	}()

	time.Sleep(bpStall)
	stalled := written.Load()
	t.Logf("client not reading for %v: upstream wrote %s of %s, pipy max RSS %s", bpStall, mib(stalled), mib(total), mib(rss.max.Load()))
	if stalled >= bpBlockLimit {
		t.Errorf("upstream wrote %s while the client read nothing, want < %s", mib(stalled), mib(bpBlockLimit))
	}

	// A slow reader: 256 KiB every 50 ms (5 MiB/s) for 2 s.
	deadline := time.Now().Add(60 * time.Second)
	setDL := func(d time.Time) { c.c.SetReadDeadline(d) }
	slowEnd := time.Now().Add(2 * time.Second)
	got, err := bpReadStreamN(c.c, 0, total, setDL, deadline, func(int64) bool {
		time.Sleep(50 * time.Millisecond)
		return time.Now().Before(slowEnd)
	})
	if err != nil {
		t.Fatalf("slow read: %v after %s", err, mib(got))
	}
	t.Logf("slow reader: read %s in 2 s, upstream wrote %s, pipy max RSS %s", mib(got), mib(written.Load()), mib(rss.max.Load()))
	if ahead := written.Load() - got; ahead >= bpBlockLimit {
		t.Errorf("upstream %s ahead of the slow reader, want < %s", mib(ahead), mib(bpBlockLimit))
	}

	// Then everything, fast.
	got, err = bpReadStreamN(c.c, got, total, setDL, deadline, nil)
	if err != nil {
		t.Fatalf("client received %s of %s, then: %v", mib(got), mib(total), err)
	}
	if err := <-upDone; err != nil {
		t.Errorf("upstream write: %v", err)
	}
	if m := rss.max.Load(); m >= bpRSSLimit {
		t.Errorf("pipy RSS reached %s, want < %s", mib(m), mib(bpRSSLimit))
	}
	t.Logf("512 MiB delivered in order; pipy max RSS %s", mib(rss.max.Load()))
	uc.Close()
	c.expectEOF(5 * time.Second)
	p.stopOK()
}
