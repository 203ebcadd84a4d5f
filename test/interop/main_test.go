package interop

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// pipyBinary is the absolute path of the binary under test, set by TestMain.
var pipyBinary string

// TestMain picks the pipy binary the tests run, as test/main_test.go does
// (smaller: no console UI, no race-report collection):
//
//   - PIPY_BIN set: that binary (an absolute path; a relative one is taken
//     from test/interop, where `go test` runs);
//   - otherwise ../../cmd/pipy is built with a plain `go build` into a
//     temporary directory that is removed after the run.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	bin, cleanup, err := binaryUnderTest()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: test setup: %v\n", err)
		return 1
	}
	defer cleanup()
	pipyBinary = bin
	return m.Run()
}

func binaryUnderTest() (string, func(), error) {
	none := func() {}
	if env := os.Getenv("PIPY_BIN"); env != "" {
		bin, err := filepath.Abs(env)
		if err != nil {
			return "", none, fmt.Errorf("PIPY_BIN=%s: %v", env, err)
		}
		st, err := os.Stat(bin)
		if err != nil {
			return "", none, fmt.Errorf("PIPY_BIN=%s: %v (a relative path is taken from test/interop: give an absolute one)", env, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", none, fmt.Errorf("PIPY_BIN=%s is not an executable file", env)
		}
		fmt.Fprintf(os.Stderr, "interop: testing PIPY_BIN=%s\n", bin)
		return bin, none, nil
	}
	root, err := repoRootDir()
	if err != nil {
		return "", none, err
	}
	tmp, err := os.MkdirTemp("", "pipy-interop-")
	if err != nil {
		return "", none, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	bin := filepath.Join(tmp, "pipy")
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/pipy")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", none, fmt.Errorf("go build ./cmd/pipy (in %s): %v\n%s", root, err, out)
	}
	fmt.Fprintf(os.Stderr, "interop: built %s in %.1f s\n", bin, time.Since(start).Seconds())
	return bin, cleanup, nil
}

// repoRootDir returns the repository root, two levels above the working
// directory (test/interop), after checking that it is pipy's module.
func repoRootDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := filepath.Dir(filepath.Dir(wd))
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.Contains(mod, []byte("module github.com/pipy-go/pipy\n")) {
		return "", fmt.Errorf("tests must run in <repo>/test/interop of github.com/pipy-go/pipy, working directory is %s", wd)
	}
	return root, nil
}
