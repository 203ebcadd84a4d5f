package docker

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestContainerEmulation runs the image's file tree the way a container
// runtime would, as far as this machine allows without Docker:
//
//   - the root file system is what stage-rootfs.sh lays out (the Dockerfile's
//     builder step) plus busybox as /bin/sh, /bin/grep and /usr/bin/wget (the
//     alpine tools the entrypoint and the health check use) and /etc/passwd
//     with the pipy user, as the final stage's `adduser` makes it;
//   - the entrypoint and CMD are those of the Dockerfile
//     (/usr/local/bin/docker-entrypoint.sh pipy docker-start) with no path
//     overrides, so the default script is /etc/pipy/test/001-echo/pipy.js on
//     port 6080;
//   - it runs chrooted, as UID/GID 1340, as PID 1 of new PID and mount
//     namespaces, in a new network namespace (only its loopback, so port 6080
//     is its own);
//   - traffic and the health check come from inside, through nsenter (like
//     `docker exec`), and the stop is a SIGTERM to PID 1 (like `docker stop`).
//
// It needs root, unshare, nsenter, ip and busybox; it skips otherwise.
func TestContainerEmulation(t *testing.T) {
	bin := pipyBin(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root (chroot and namespaces)")
	}
	tools := map[string]string{}
	for _, tool := range []string{"unshare", "nsenter", "ip", "busybox"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			if tool == "busybox" {
				t.Skip("busybox not installed (apt-get install busybox): it stands for alpine's /bin/sh and wget")
			}
			t.Skipf("%s not found", tool)
		}
		tools[tool] = p
	}
	probe := exec.Command(tools["unshare"], "--net", "--pid", "--fork", "--mount-proc", "true")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("cannot create namespaces here: %v %s", err, out)
	}

	root := filepath.Join(t.TempDir(), "rootfs")
	if out, err := exec.Command("sh", "stage-rootfs.sh", repoRoot(t), bin, root).CombinedOutput(); err != nil {
		t.Fatalf("stage-rootfs.sh: %v\n%s", err, out)
	}
	addBusybox(t, root, tools["busybox"])
	writeFile(t, filepath.Join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\npipy:x:1340:1340:pipy:/etc/pipy:/sbin/nologin\n")
	writeFile(t, filepath.Join(root, "etc/group"), "root:x:0:root\npipy:x:1340:pipy\n")
	for _, d := range []string{"proc", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(root, "tmp"), 0o1777)
	// The device nodes every container gets (pipy's master opens /dev/null
	// for its workers).
	for name, minor := range map[string]int{"null": 3, "zero": 5, "random": 8, "urandom": 9} {
		p := filepath.Join(root, "dev", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|minor); err != nil {
			t.Skipf("cannot create %s: %v", p, err)
		}
		os.Chmod(p, 0o666)
	}

	const adminPort = "6060"
	// The environment Docker would give: the image's PATH plus docker run -e.
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"PIPY_SPAWN=1",
		"PIPY_ADMIN_PORT=" + adminPort,
	}
	// Bring the new network namespace's loopback up (as root, before the
	// user switch), then become PID 1 of a new PID namespace, chrooted, as
	// 1340:1340, running ENTRYPOINT + CMD.
	cmd := exec.Command(tools["unshare"], "--net", "--",
		"sh", "-c", `ip link set lo up && exec "$@"`, "sh",
		tools["unshare"], "--pid", "--fork", "--kill-child", "--mount-proc",
		"--root="+root, "--wd=/etc/pipy", "--setuid=1340", "--setgid=1340",
		"/usr/local/bin/docker-entrypoint.sh", "pipy", "docker-start")
	cmd.Env = env
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("--- stdout:\n%s--- stderr:\n%s", &stdout, &stderr)
		}
	})

	// PID 1 of the container, seen from here: the --fork child of the inner
	// unshare, which the entrypoint turned into pipy.
	var pid1 int
	deadline := time.Now().Add(startTimeout)
	for pid1 == 0 {
		for _, p := range descendants(cmd.Process.Pid) {
			if a := cmdline(p); len(a) > 0 && a[0] == "/usr/local/bin/pipy" && !strings.HasPrefix(strings.Join(a, " "), "/usr/local/bin/pipy --worker=") {
				pid1 = p
			}
		}
		if pid1 == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("pipy did not start within %v", startTimeout)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if got := nsPID(t, pid1); got != 1 {
		t.Fatalf("pipy is PID %d in its namespace, want 1 (exec'd by the entrypoint)", got)
	}
	want := []string{"/usr/local/bin/pipy", "--drain-timeout=8s", "--admin-port=" + adminPort, "/etc/pipy/test/001-echo/pipy.js"}
	if got := cmdline(pid1); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("PID 1 command line %q, want %q", got, want)
	}

	// exec runs argv inside the container as the pipy user, like docker exec.
	dexec := func(argv ...string) (string, error) {
		args := append([]string{"-t", strconv.Itoa(pid1), "-n", "-r", "-w", "-S", "1340", "-G", "1340", "--"}, argv...)
		c := exec.Command(tools["nsenter"], args...)
		c.Env = env
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		err := runBounded(c, exitTimeout)
		return out.String(), err
	}

	// The default script echoes on 6080, once the workers are up.
	const body = "hello from inside the container"
	var got string
	var err error
	for deadline := time.Now().Add(startTimeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got, err = dexec("/usr/bin/wget", "-q", "-O", "-", "--post-data="+body, "http://127.0.0.1:6080/"); err == nil {
			break
		}
	}
	if err != nil || got != body {
		t.Fatalf("POST to the default script on 6080: %q, %v", got, err)
	}

	ws := workers(pid1)
	if len(ws) != 2 {
		t.Fatalf("PIPY_SPAWN=1: workers %v, want 2", ws)
	}
	for _, p := range append([]int{pid1}, keys(ws)...) {
		if uid := statusField(t, p, "Uid"); strings.Fields(uid)[0] != "1340" {
			t.Errorf("process %d runs as uid %s, want 1340", p, uid)
		}
	}

	if out, err := dexec("/usr/local/bin/docker-entrypoint.sh", "healthcheck"); err != nil {
		t.Fatalf("HEALTHCHECK command: %v\n%s", err, out)
	}
	if out, err := dexec("/etc/pipy/bin/pipy", "--version"); err != nil || !strings.Contains(out, "Version") {
		t.Errorf("/etc/pipy/bin/pipy (for test/014-exec's ../../bin/pipy): %v\n%s", err, out)
	}
	if out, err := dexec("/bin/sh", "-c", ": > /etc/pipy/test/001-echo/pipy.js"); err == nil {
		t.Errorf("the pipy user can overwrite the examples\n%s", out)
	}

	// docker stop: SIGTERM to PID 1; pipy drains and the container exits 0.
	syscall.Kill(pid1, syscall.SIGTERM)
	select {
	case <-done:
		if waitErr != nil {
			t.Fatalf("container exit after SIGTERM: %v, want status 0", waitErr)
		}
	case <-time.After(exitTimeout):
		t.Fatalf("container did not stop within %v of SIGTERM", exitTimeout)
	}
	if !strings.Contains(stdout.String(), "Received SIGTERM") {
		t.Errorf("no graceful SIGTERM handling in the log")
	}
}

var libRE = regexp.MustCompile(`(/\S+\.so[.\d]*) \(0x`)

// addBusybox copies busybox (and, when it is dynamic, its libraries) into
// root with alpine's links: /bin/sh, /bin/grep, /usr/bin/wget.
func addBusybox(t *testing.T, root, busybox string) {
	t.Helper()
	copyFile(t, busybox, filepath.Join(root, "bin/busybox"), 0o755)
	for link, target := range map[string]string{"bin/sh": "busybox", "bin/grep": "busybox", "usr/bin/wget": "../../bin/busybox"} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, link)), 0o755)
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	out, _ := exec.Command("ldd", busybox).Output() // fails for a static busybox
	for _, m := range libRE.FindAllStringSubmatch(string(out), -1) {
		copyFile(t, m[1], filepath.Join(root, m[1]), 0o755)
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

// descendants returns all live descendants of pid.
func descendants(pid int) []int {
	var out []int
	for _, c := range children(pid) {
		out = append(out, c)
		out = append(out, descendants(c)...)
	}
	return out
}

// nsPID returns pid's PID in its own (innermost) PID namespace.
func nsPID(t *testing.T, pid int) int {
	t.Helper()
	f := strings.Fields(statusField(t, pid, "NSpid"))
	n, _ := strconv.Atoi(f[len(f)-1])
	return n
}

func statusField(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, name)
	return ""
}

func keys(m map[int]string) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	return out
}
