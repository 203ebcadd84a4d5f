package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/strace holds real `strace -c -f -o FILE -p ...` tables (strace
// 6.1) of pipy (one process, 7 threads) and nginx (master and worker)
// under wrk -c50, and the empty file strace leaves when it catches no call.
func TestParseStraceCCaptured(t *testing.T) {
	tests := []struct {
		file          string
		calls, errors int64
		rows          int
		first         Syscall
		check         Syscall // one more row, with a blank errors column or not
	}{
		{"pipy-hello-c50.txt", 33238, 7965, 19, Syscall{"futex", 55, 1}, Syscall{"write", 11507, 0}},
		{"nginx-hello-c50.txt", 64420, 39, 7, Syscall{"writev", 31690, 0}, Syscall{"recvfrom", 31741, 39}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			st, err := readFile(filepath.Join("testdata", "strace", tc.file), ParseStraceC)
			if err != nil {
				t.Fatal(err)
			}
			if st.Calls != tc.calls || st.Errors != tc.errors || len(st.Syscalls) != tc.rows {
				t.Errorf("total %d calls, %d errors, %d rows; want %d, %d, %d", st.Calls, st.Errors, len(st.Syscalls), tc.calls, tc.errors, tc.rows)
			}
			if st.Syscalls[0] != tc.first {
				t.Errorf("first row %+v, want %+v", st.Syscalls[0], tc.first)
			}
			found := false
			for _, s := range st.Syscalls {
				if s.Name == tc.check.Name {
					found = true
					if s != tc.check {
						t.Errorf("row %+v, want %+v", s, tc.check)
					}
				}
			}
			if !found {
				t.Errorf("no %s row", tc.check.Name)
			}
		})
	}
}

func TestParseStraceCMalformed(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "strace", "nginx-hello-c50.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(good), "\n"), "\n")
	cut := strings.Join(lines[:len(lines)-2], "\n") // no total row
	tests := []struct {
		name, input, wantErr string
	}{
		{"empty (no call caught)", "", "no \"% time ... syscall\" header"},
		{"wrk output", "Running 2s test @ http://127.0.0.1:18100/\n", "not strace -c output"},
		{"cut short", cut, "no total row"},
		{"other columns", strings.Replace(string(good), "calls    errors syscall", "calls    errors    usecs syscall", 1), "not the default strace -c columns"},
		{"bad calls", strings.Replace(string(good), "31690", "31x90", 1), "calls column"},
		{"bad errors", strings.Replace(string(good), "39 recvfrom", "3x recvfrom", 1), "errors column"},
		{"wrong total", strings.Replace(string(good), "64420", "64421", 1), "the rows add up to 64420 calls, 39 errors but the total row says 64421, 39"},
		{"row after total", string(good) + "  1.00 0.1 1 1 read\n", "after the total row"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStraceC(strings.NewReader(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseStraceCSkipsItsOwnMessages(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "strace", "nginx-hello-c50.txt"))
	if err != nil {
		t.Fatal(err)
	}
	in := "strace: Process 5086 attached\n" + string(good) + "strace: Process 5086 detached\n"
	st, err := ParseStraceC(strings.NewReader(in))
	if err != nil || st.Calls != 64420 {
		t.Fatalf("got %d calls, %v; want 64420", st.Calls, err)
	}
}

func TestParseStraceCEmptyFileNamed(t *testing.T) {
	path := filepath.Join("testdata", "strace", "empty.txt")
	_, err := readFile(path, ParseStraceC)
	if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), "did strace attach?") {
		t.Fatalf("err = %v", err)
	}
}
