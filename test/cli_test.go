package test

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

func TestCLIVersion(t *testing.T) {
	code, out := runPipy(t, exitTimeout, "-v")
	if code != 0 {
		t.Errorf("exit status = %d, want 0", code)
	}
	lines := strings.Split(out.stdout(), "\n")
	for _, prefix := range []string{"Version     : ", "Go          : go"} {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				found = true
			}
		}
		if !found {
			t.Errorf("stdout has no line starting with %q:\n%s", prefix, out.stdout())
		}
	}
}

func TestCLIListFilters(t *testing.T) {
	code, out := runPipy(t, exitTimeout, "--list-filters")
	if code != 0 {
		t.Errorf("--list-filters exit status = %d, want 0", code)
	}
	list := out.stdout()
	names := map[string]bool{}
	for _, l := range strings.Split(list, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && strings.HasPrefix(f[1], "(") {
			names[f[0]] = true
		}
	}
	for _, n := range []string{"connect", "decodeHttpRequest", "fork", "link", "wait"} {
		if !names[n] {
			t.Errorf("--list-filters lacks a line for %s", n)
		}
	}

	code2, out2 := runPipy(t, exitTimeout, "--list-modules")
	if code2 != 0 {
		t.Errorf("--list-modules exit status = %d, want 0", code2)
	}
	if out2.stdout() != list {
		t.Errorf("--list-modules output differs from --list-filters:\n%s", out2.stdout())
	}
}

func TestCLIHelpFilters(t *testing.T) {
	code, out := runPipy(t, exitTimeout, "--help-filters")
	if code != 0 {
		t.Errorf("--help-filters exit status = %d, want 0", code)
	}
	help := out.stdout()
	if !strings.Contains(help, "fork(target[, sessionData])\n===========================\n") {
		t.Errorf("--help-filters lacks the fork entry:\n%s", help)
	}
	code2, out2 := runPipy(t, exitTimeout, "--help-modules")
	if code2 != 0 {
		t.Errorf("--help-modules exit status = %d, want 0", code2)
	}
	if out2.stdout() != help {
		t.Errorf("--help-modules output differs from --help-filters")
	}
}

func TestCLIVerify(t *testing.T) {
	code, out := runPipy(t, exitTimeout, "--verify", examplePath(t, "004-http-proxy"))
	if code != 0 {
		t.Errorf("exit status = %d, want 0", code)
	}
	if !strings.Contains(out.stdout(), "Done.") {
		t.Errorf("stdout lacks `Done.`")
	}
	if strings.Contains(out.all(), "Listening on") {
		t.Errorf("--verify opened listeners")
	}
}

func TestCLIBadLogLevel(t *testing.T) {
	code, out := runPipy(t, exitTimeout, "--log-level=bogus", examplePath(t, "002-hello"))
	if code != 255 {
		t.Errorf("exit status = %d, want 255", code)
	}
	if !strings.Contains(out.stderr(), "unknown log level: bogus") {
		t.Errorf("stderr = %q, want `unknown log level: bogus`", out.stderr())
	}
	if s := out.stdout(); s != "" {
		t.Errorf("stdout = %q, want nothing", s)
	}
}

func TestCLIUnknownOption(t *testing.T) {
	code, out := runPipy(t, exitTimeout, "--nope", examplePath(t, "002-hello"))
	if code != 255 {
		t.Errorf("exit status = %d, want 255", code)
	}
	if !strings.Contains(out.stderr(), "unknown option: --nope") {
		t.Errorf("stderr = %q, want `unknown option: --nope`", out.stderr())
	}
	if s := out.stdout(); s != "" {
		t.Errorf("stdout = %q, want nothing", s)
	}
}

// --gui-port and --admin-port: a bad port is a usage error (255) naming the
// option; a console port already in use stops pipy with status 1 and the
// address in the message.
func TestCLIConsolePortErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--gui-port=abc", examplePath(t, "002-hello")},
		{"--spawn=1", "--admin-port=70000", examplePath(t, "002-hello")},
	} {
		code, out := runPipy(t, exitTimeout, args...)
		opt := strings.SplitN(args[len(args)-2], "=", 2)[0]
		if code != 255 || !strings.Contains(out.stderr(), "option "+opt+": ") || !strings.Contains(out.stderr(), "bad port") {
			t.Errorf("%v: exit %d, stderr %q; want 255 and `option %s: ... bad port`", args, code, out.stderr(), opt)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	dir := t.TempDir() // directory mode: nothing else listens
	code, out := runPipy(t, exitTimeout, dir, fmt.Sprintf("--gui-port=%d", port))
	want := fmt.Sprintf("cannot listen on 127.0.0.1:%d", port)
	if code != 1 || !strings.Contains(out.all(), want) {
		t.Errorf("console port in use: exit %d, output %q; want 1 and %q", code, out.all(), want)
	}
}
