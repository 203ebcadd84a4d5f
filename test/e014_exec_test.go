package test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// 014-exec: port 6080 proxies to 8080 (retrying every second) and starts a
// child pipy (../../bin/pipy mock.js) serving 8080 on the first connection.
// The test runs a copy of the example whose child is the binary under test.
func TestExample014Exec(t *testing.T) {
	requirePortsFree(t, 6080, 8080)
	// Whatever happens, leave no child listening on 8080.
	t.Cleanup(func() {
		for _, pid := range e014ListenerPIDs(t, 8080) {
			if strings.Contains(e014Cmdline(pid), "mock.js") {
				t.Logf("cleanup: killing leftover child pid %d (%s)", pid, e014Cmdline(pid))
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	script := copyExample(t, "014-exec", "'../../bin/pipy mock.js'", "'"+pipyBin(t)+" mock.js'")
	p := startScript(t, script, 6080)
	parent := p.cmd.Process.Pid
	const refused = "cannot connect to 127.0.0.1:8080"
	const childListening = "Listening on 0.0.0.0:8080"

	get := func() time.Duration {
		t.Helper()
		start := time.Now()
		r := rawRequest(t, 6080, "GET / HTTP/1.1\r\nHost: 127.0.0.1:6080\r\n\r\n")
		d := time.Since(start)
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectBody(t, r, "Hello!\n")
		return d
	}

	// First request: the child starts; one refused attempt, one retry 1 s later.
	if d := get(); d < 800*time.Millisecond || d > 2500*time.Millisecond {
		t.Errorf("first request took %v, want about one retry delay (~1 s)", d)
	} else {
		t.Logf("first request took %v", d)
	}
	if n := p.countLines(refused); n != 1 {
		t.Errorf("log has %d lines containing %q, want 1", n, refused)
	}
	p.waitForLine(childListening, 3*time.Second) // the child's log, print()ed by the parent

	// Later requests answer immediately.
	for i := 0; i < 3; i++ {
		if d := get(); d > 300*time.Millisecond {
			t.Errorf("request %d took %v, want an immediate answer", i+2, d)
		}
	}
	if n := p.countLines(refused); n != 1 {
		t.Errorf("log has %d lines containing %q after later requests, want 1", n, refused)
	}

	// Kill the child.
	child := e014Child(t, parent)
	t.Logf("child pid %d: %s", child, e014Cmdline(child))
	killed := time.Now()
	if err := syscall.Kill(child, syscall.SIGKILL); err != nil {
		t.Fatalf("kill child %d: %v", child, err)
	}
	p.waitForLine("Child process exited", 3*time.Second)
	if d := time.Since(killed); d > 2*time.Second {
		t.Errorf("`Child process exited` logged %v after killing the child, want within ~1-2 s", d)
	}

	// The next connection starts a new child.
	if d := get(); d > 2500*time.Millisecond {
		t.Errorf("request after the child's exit took %v", d)
	}
	p.waitForCount(childListening, 2, 3*time.Second)
	child2 := e014Child(t, parent)
	if child2 == child {
		t.Errorf("the same child pid %d listens after the restart", child)
	}
	if d := get(); d > 300*time.Millisecond {
		t.Errorf("request to the new child took %v, want an immediate answer", d)
	}

	p.stopOK()

	// The child must be gone with its parent.
	deadline := time.Now().Add(3 * time.Second)
	for {
		pids := e014ListenerPIDs(t, 8080)
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("BUG: child still listening on 8080 3 s after pipy stopped: pids %v (%s); pipy should terminate exec children on shutdown",
				pids, e014Cmdline(pids[0]))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// e014Child returns the pid of the process listening on 8080, checking that
// it is a child of parent.
func e014Child(t *testing.T, parent int) int {
	t.Helper()
	var pids []int
	deadline := time.Now().Add(2 * time.Second)
	for {
		pids = e014ListenerPIDs(t, 8080)
		if len(pids) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(pids) != 1 {
		t.Fatalf("processes listening on 8080: %v, want exactly one (the child)", pids)
	}
	if pp := e014PPid(pids[0]); pp != parent {
		t.Fatalf("process %d listening on 8080 (%s) has parent %d, want pipy %d", pids[0], e014Cmdline(pids[0]), pp, parent)
	}
	return pids[0]
}

// e014ListenerPIDs finds the processes holding a listening TCP socket on
// port (IPv4 or IPv6) by scanning /proc/net/tcp{,6} and /proc/*/fd.
func e014ListenerPIDs(t testing.TB, port int) []int {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != "0A" { // 0A = LISTEN
				continue
			}
			i := strings.LastIndexByte(fs[1], ':')
			if i < 0 {
				continue
			}
			if p, err := strconv.ParseUint(fs[1][i+1:], 16, 16); err == nil && int(p) == port && fs[9] != "0" {
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
		fh.Close()
	}
	if len(inodes) == 0 {
		return nil
	}
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, proc := range procs {
		pid, err := strconv.Atoi(filepath.Base(proc))
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join(proc, "fd"))
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(proc, "fd", fd.Name()))
			if err == nil && inodes[link] {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

func e014PPid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // comm may contain spaces
	if i < 0 {
		return -1
	}
	fs := strings.Fields(s[i+1:]) // state ppid ...
	if len(fs) < 2 {
		return -1
	}
	pp, _ := strconv.Atoi(fs[1])
	return pp
}

func e014Cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}
