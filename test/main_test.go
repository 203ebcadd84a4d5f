package test

// TestMain decides which pipy binary the end-to-end tests run, so that they
// never test a stale one by accident:
//
//   - PIPY_BIN set: that binary (the run fails at once if it is missing; a
//     relative path is taken from test/, where `go test` runs the tests, so
//     give an absolute one). This is how to test a race-built binary, or
//     another pipy.
//   - otherwise: ./cmd/pipy is built into a temporary directory, with the
//     flags of build.sh except stripping (-trimpath, CGO_ENABLED=0, version,
//     commit and date stamped from git). The console UI bundle is built too
//     when npm is on PATH and PIPY_SKIP_UI is empty, from a copy of
//     console/ui in the same temporary directory, and embedded through a
//     `go build -overlay` that puts its files in console/ui/dist: the source
//     tree is not written (a concurrent `go test ./...` may be compiling the
//     console package from it). Without npm, or with PIPY_SKIP_UI=1, the
//     overlay hides any bundle left in console/ui/dist, so the binary has
//     none and the tests that need it skip (see requireConsoleUI).
//
// The temporary directory is removed after the run.
//
// Race reports: with PIPY_RACE_DIR set (meant for a binary built with
// `go build -race`), TestMain makes a fresh directory run-* under it and sets
//
//	GORACE="log_path=<run dir>/race halt_on_error=0 exitcode=0 atexit_sleep_ms=0 $GORACE"
//
// in its own environment, which every pipy that the tests start inherits:
// workers spawned by a master, children started by exec() and the pipy that
// the browser test starts through node included. Each process that finds a
// race writes its reports to <run dir>/race.<pid> as it finds them (a
// process killed later keeps them). exitcode=0 leaves exit statuses to what
// the tests assert, and atexit_sleep_ms=0 their timing (the race runtime
// otherwise sleeps 1 s in every exiting process, so a master that waits for
// its workers takes 2 s to stop); the reports decide instead: after the
// tests, TestMain prints every report file and fails the run if there is
// any.
//
//	go build -race -o /tmp/pipy-race ./cmd/pipy
//	PIPY_BIN=/tmp/pipy-race PIPY_RACE_DIR=/tmp/races go test -count=1 ./test/

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pipyBinary is the absolute path of the binary under test, set by TestMain
// before any test runs. Tests reach it through pipyBin.
var pipyBinary string

const (
	buildTimeout = 10 * time.Minute // each step of building the binary
	modulePath   = "github.com/pipy-go/pipy"
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests locates or builds the binary, runs the tests and checks the race
// reports; it returns the exit status.
func runTests(m *testing.M) int {
	bin, cleanup, err := binaryUnderTest()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: test setup: %v\n", err)
		return 1
	}
	defer cleanup()
	pipyBinary = bin

	raceRun := ""
	if dir := os.Getenv("PIPY_RACE_DIR"); dir != "" {
		if raceRun, err = setUpRaceLog(dir); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: test setup: %v\n", err)
			return 1
		}
	}

	code := m.Run()

	if raceRun != "" {
		n, err := printRaceReports(os.Stdout, raceRun)
		switch {
		case err != nil:
			fmt.Fprintf(os.Stdout, "FAIL: reading race reports in %s: %v\n", raceRun, err)
			code = 1
		case n > 0:
			fmt.Fprintf(os.Stdout, "FAIL: %d race report file(s) in %s (DATA RACE in a pipy process)\n", n, raceRun)
			code = 1
		default:
			fmt.Fprintf(os.Stdout, "race: no reports in %s\n", raceRun)
		}
	}
	return code
}

// binaryUnderTest returns the binary named by PIPY_BIN, or builds one. The
// returned cleanup removes what the build left.
func binaryUnderTest() (bin string, cleanup func(), err error) {
	cleanup = func() {}
	if env := os.Getenv("PIPY_BIN"); env != "" {
		bin, err := filepath.Abs(env)
		if err != nil {
			return "", cleanup, fmt.Errorf("PIPY_BIN=%s: %v", env, err)
		}
		st, err := os.Stat(bin)
		if err != nil {
			return "", cleanup, fmt.Errorf("PIPY_BIN=%s: %v (a relative path is taken from test/: give an absolute one)", env, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", cleanup, fmt.Errorf("PIPY_BIN=%s is not an executable file", env)
		}
		fmt.Fprintf(os.Stderr, "test: testing PIPY_BIN=%s\n", bin)
		return bin, cleanup, nil
	}
	root, err := findRepoRoot()
	if err != nil {
		return "", cleanup, err
	}
	tmp, err := os.MkdirTemp("", "pipy-e2e-")
	if err != nil {
		return "", cleanup, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	start := time.Now()
	bin, ui, err := buildPipy(root, tmp)
	if err != nil {
		cleanup()
		return "", func() {}, err
	}
	fmt.Fprintf(os.Stderr, "test: built %s in %.1f s (console UI bundle: %s)\n", bin, time.Since(start).Seconds(), ui)
	return bin, cleanup, nil
}

// findRepoRoot returns the repository root: the parent of the working
// directory, which `go test` sets to the package directory (test/).
func findRepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := filepath.Dir(wd)
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if filepath.Base(wd) != "test" || err != nil || !bytes.Contains(mod, []byte("module "+modulePath+"\n")) {
		return "", fmt.Errorf("tests must run in <repo>/test of %s, working directory is %s", modulePath, wd)
	}
	return root, nil
}

// buildPipy builds ./cmd/pipy of the repository at root into dir/pipy and
// returns its path and a word on the UI bundle for the log.
func buildPipy(root, dir string) (bin, ui string, err error) {
	overlay, ui, err := buildUIOverlay(root, dir)
	if err != nil {
		return "", "", err
	}
	bin = filepath.Join(dir, "pipy")
	version, commit, date := versionStamp(root)
	ldflags := fmt.Sprintf("-X 'main.version=%s' -X 'main.commit=%s' -X 'main.commitDate=%s'", version, commit, date)
	args := []string{"build", "-trimpath", "-ldflags", ldflags, "-overlay", overlay, "-o", bin, "./cmd/pipy"}
	if err := run(root, []string{"CGO_ENABLED=0"}, "go", args...); err != nil {
		return "", "", err
	}
	return bin, ui, nil
}

// buildUIOverlay writes dir/overlay.json for `go build -overlay`: with the
// UI bundle built from a copy of console/ui in dir/ui when npm is there and
// PIPY_SKIP_UI is empty, and in any case without whatever bundle an earlier
// ./build.sh left in console/ui/dist (only its .keep stays).
func buildUIOverlay(root, dir string) (overlay, ui string, err error) {
	dist := filepath.Join(root, "console", "ui", "dist")
	replace := map[string]string{}
	old, err := os.ReadDir(dist)
	if err != nil {
		return "", "", fmt.Errorf("console UI bundle directory: %v", err)
	}
	for _, e := range old {
		if e.Name() != ".keep" {
			replace[filepath.Join(dist, e.Name())] = "" // deleted
		}
	}

	npm, npmErr := exec.LookPath("npm")
	switch {
	case os.Getenv("PIPY_SKIP_UI") != "":
		ui = "none (PIPY_SKIP_UI is set)"
	case npmErr != nil:
		ui = "none (npm not found)"
	default:
		src := filepath.Join(root, "console", "ui")
		work := filepath.Join(dir, "ui")
		if err := copyTree(src, work, "node_modules", "dist"); err != nil {
			return "", "", fmt.Errorf("copying console/ui: %v", err)
		}
		for _, args := range [][]string{{"ci", "--no-audit", "--no-fund"}, {"run", "build"}} {
			if err := run(work, nil, npm, args...); err != nil {
				return "", "", fmt.Errorf("%v (set PIPY_SKIP_UI=1 to test without the console UI)", err)
			}
		}
		built, err := os.ReadDir(filepath.Join(work, "dist"))
		if err != nil {
			return "", "", fmt.Errorf("console UI bundle: %v", err)
		}
		var names []string
		for _, e := range built {
			if e.Name() != ".keep" && e.Type().IsRegular() {
				replace[filepath.Join(dist, e.Name())] = filepath.Join(work, "dist", e.Name())
				names = append(names, e.Name())
			}
		}
		if len(names) == 0 {
			return "", "", errors.New("npm run build in console/ui left no files in dist/")
		}
		ui = strings.Join(names, ", ")
	}

	text, err := json.Marshal(struct{ Replace map[string]string }{replace})
	if err != nil {
		return "", "", err
	}
	overlay = filepath.Join(dir, "overlay.json")
	return overlay, ui, os.WriteFile(overlay, text, 0o644)
}

// versionStamp returns the version, commit and commit date that build.sh
// stamps into the binary, from git (0.0.0 and empty outside a checkout).
func versionStamp(root string) (version, commit, date string) {
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	version = git("describe", "--tags")
	if version == "" {
		version = "0.0.0"
	}
	return version, git("rev-parse", "--verify", "-q", "HEAD"), git("log", "-1", "--format=%cD")
}

// run runs name with args in dir (with extra environment), bounded by
// buildTimeout, and returns an error carrying its output if it fails.
func run(dir string, env []string, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s (in %s): %v\n%s", strings.Join(cmd.Args, " "), dir, err, out)
	}
	return nil
}

// copyTree copies the regular files and directories under src to dst,
// leaving out the top-level entries named in skip.
func copyTree(src, dst string, skip ...string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		for _, s := range skip {
			if rel == s {
				return filepath.SkipDir
			}
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, 0o644)
		}
		return nil
	})
}

// setUpRaceLog makes a fresh run directory under dir and points GORACE's
// log_path into it (see the comment at the top of this file).
func setUpRaceLog(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	runDir, err := os.MkdirTemp(dir, "run-")
	if err != nil {
		return "", err
	}
	if runDir, err = filepath.Abs(runDir); err != nil {
		return "", err
	}
	gorace := strings.TrimSpace("log_path=" + filepath.Join(runDir, "race") + " halt_on_error=0 exitcode=0 atexit_sleep_ms=0 " + os.Getenv("GORACE"))
	if err := os.Setenv("GORACE", gorace); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "test: race reports go to %s (GORACE=%q)\n", runDir, gorace)
	return runDir, nil
}

// printRaceReports writes every race report file in dir to w and returns
// how many there are.
func printRaceReports(w io.Writer, dir string) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "race.*"))
	if err != nil {
		return 0, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(w, "=== race report %s\n%s\n", f, b)
	}
	return len(files), nil
}

// pipyBin returns the absolute path of the binary under test (see
// TestMain).
func pipyBin(t testing.TB) string {
	t.Helper()
	if pipyBinary == "" {
		t.Fatal("no pipy binary: TestMain did not run")
	}
	return pipyBinary
}

// noBundleText is what the console serves for / when the binary was built
// without the UI bundle (console/static.go, placeholderPage).
const noBundleText = "The console UI bundle is not built into this binary"

// requireConsoleUI skips the test unless the binary under test serves the
// console UI bundle: it starts `pipy <empty dir> --gui-port=...` and looks
// at the page served for /.
func requireConsoleUI(t *testing.T) {
	t.Helper()
	port := freePort(t)
	requirePortsFree(t, port)
	dir := t.TempDir()
	p := startPipy(t, dir, fmt.Sprintf("--gui-port=127.0.0.1:%d", port))
	p.waitForLine(fmt.Sprintf("Listening on 127.0.0.1:%d", port), startTimeout)
	c := &http.Client{Timeout: ioTimeout}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("GET / from the console: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / from the console = %d, %v", resp.StatusCode, err)
	}
	p.kill()
	if bytes.Contains(body, []byte(noBundleText)) {
		t.Skipf("\n*** SKIPPING: %s has no console UI bundle (%q).\n"+
			"*** `go test` builds it when npm is on PATH and PIPY_SKIP_UI is empty; a PIPY_BIN binary needs ./build.sh.", pipyBinary, noBundleText)
	}
}
