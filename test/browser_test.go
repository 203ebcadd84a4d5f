package test

// TestBrowserConsole runs the web console's browser tests (test/browser, a
// Node script driving Debian's headless Chromium with playwright-core) against
// the binary under test. See test/browser/README.md.
//
// Requirements, installed here when possible:
//   - /usr/bin/chromium: `apt-get install -y chromium` when running as root,
//     otherwise the test is skipped with a message saying how to install it;
//   - node >= 20 and npm (needed by ./build.sh for the console UI anyway);
//   - test/browser/node_modules: `npm ci` when missing.
//
// A binary without the console (no --gui-port in --help) makes the test
// fail; one without the UI bundle (built without npm, or with PIPY_SKIP_UI)
// makes it skip, saying so.

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	chromiumBin       = "/usr/bin/chromium"
	browserTestBudget = 5 * time.Minute  // the whole node run
	npmCITimeout      = 5 * time.Minute  // npm ci in test/browser
	aptTimeout        = 10 * time.Minute // apt-get install chromium
)

func TestBrowserConsole(t *testing.T) {
	bin := pipyBin(t)
	dir := filepath.Join(repoRoot(t), "test", "browser")

	// The binary must have the console.
	help, _ := exec.Command(bin, "--help").CombinedOutput()
	if !strings.Contains(string(help), "--gui-port") {
		t.Fatalf("%s --help does not mention --gui-port: the web console is missing from this binary (rebuild with ./build.sh)", bin)
	}
	requireConsoleUI(t)

	ensureChromium(t)
	node := ensureNode(t)
	ensureNodeModules(t, dir)

	ctx, cancel := context.WithTimeout(context.Background(), browserTestBudget)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "console.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"PIPY_BIN="+bin,
		"PIPY_GUI_PORT="+strconv.Itoa(freePort(t)),
		"CHROMIUM_BIN="+chromiumBin,
		"NO_COLOR=1",
	)
	// Own process group: on timeout, node, its test subprocess, Chromium and
	// pipy are all stopped together.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second

	t.Logf("running (in %s): %s", dir, strings.Join(cmd.Args, " "))
	if err := runStreaming(t, cmd); err != nil {
		if ctx.Err() != nil {
			t.Fatalf("browser tests did not finish within %v: %v", browserTestBudget, err)
		}
		t.Fatalf("browser tests failed: %v (screenshots and pipy's output: %s)", err, filepath.Join(dir, "artifacts"))
	}
	t.Logf("screenshots and pipy's output: %s", filepath.Join(dir, "artifacts"))
}

// runStreaming runs cmd, passing each line of its stdout and stderr to t.Log
// as it arrives.
func runStreaming(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		io.Copy(io.Discard, pr) // a line longer than the buffer: drain
	}()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	return err
}

// ensureChromium installs Debian's chromium when it is missing and we are
// root (as in CI); otherwise it skips the test, saying what to install.
func ensureChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumBin); err == nil {
		return
	}
	if os.Geteuid() != 0 {
		t.Skipf("\n*** SKIPPING the browser tests: %s is missing and this is not root.\n"+
			"*** Install it with:  sudo apt-get install -y chromium   (then rerun)", chromiumBin)
	}
	t.Logf("%s missing: apt-get install -y chromium", chromiumBin)
	apt := func(args ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), aptTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return runStreaming(t, cmd)
	}
	if err := apt("install", "-y", "chromium"); err != nil {
		// Maybe the package lists are stale or absent.
		t.Logf("apt-get install failed (%v); trying apt-get update first", err)
		if err := apt("update"); err != nil {
			t.Fatalf("apt-get update: %v", err)
		}
		if err := apt("install", "-y", "chromium"); err != nil {
			t.Fatalf("apt-get install -y chromium: %v", err)
		}
	}
	if _, err := os.Stat(chromiumBin); err != nil {
		t.Fatalf("apt-get installed chromium but %s is still missing: %v", chromiumBin, err)
	}
}

// ensureNode returns the path of node, failing unless it is version 20 or
// later (playwright-core's minimum).
func ensureNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found in PATH: the browser tests need Node.js >= 20 and npm (also needed by ./build.sh for the console UI)")
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", node, err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if major < 20 {
		t.Fatalf("node %s is too old: the browser tests (playwright-core) need Node.js >= 20", v)
	}
	return node
}

// ensureNodeModules runs `npm ci` in dir when playwright-core is not installed.
func ensureNodeModules(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err == nil {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("npm not found in PATH: needed to install test/browser's packages (npm ci)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), npmCITimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	t.Logf("installing test/browser packages: npm ci")
	if err := runStreaming(t, cmd); err != nil {
		if ctx.Err() != nil {
			t.Fatalf("npm ci in %s did not finish within %v: %v", dir, npmCITimeout, err)
		}
		t.Fatalf("npm ci in %s failed: %v", dir, err)
	}
}
