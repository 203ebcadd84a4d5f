package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Syscall is one row of a `strace -c` table.
type Syscall struct {
	// Name is the system call ("read", "epoll_pwait").
	Name string
	// Calls is how many times it was called.
	Calls int64
	// Errors is how many of those calls failed (blank in the table: 0).
	Errors int64
}

// Strace is a `strace -c` table.
type Strace struct {
	// Syscalls are the rows, in the table's order (by time spent).
	Syscalls []Syscall
	// Calls and Errors are the "total" row.
	Calls, Errors int64
}

// ParseStraceC reads the summary table `strace -c -o FILE` writes:
//
//	% time     seconds  usecs/call     calls    errors syscall
//	------ ----------- ----------- --------- --------- ----------------
//	 44.38    0.720817       13105        55         1 futex
//	 13.83    0.224698          19     11507           write
//	------ ----------- ----------- --------- --------- ----------------
//	100.00    1.624314          48     33238      7965 total
//
// The errors column is blank for a call that never failed. Lines strace
// writes about itself ("strace: Process 12 attached") are skipped.
func ParseStraceC(r io.Reader) (Strace, error) {
	var st Strace
	sc := bufio.NewScanner(r)
	header, total := false, false
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case len(f) == 0, strings.HasPrefix(line, "strace: "), strings.HasPrefix(f[0], "---"):
			continue
		case f[0] == "%" && len(f) > 1 && f[1] == "time":
			if f[len(f)-1] != "syscall" || len(f) != 7 {
				return Strace{}, fmt.Errorf("line %d %q: not the default strace -c columns (%% time, seconds, usecs/call, calls, errors, syscall)", n, line)
			}
			header = true
			continue
		}
		if !header {
			return Strace{}, fmt.Errorf("line %d %q: before the \"%% time ... syscall\" header: not strace -c output", n, line)
		}
		if total {
			return Strace{}, fmt.Errorf("line %d %q: after the total row", n, line)
		}
		var row Syscall
		switch len(f) {
		case 5: // no errors
			row.Name = f[4]
		case 6:
			row.Name = f[5]
			e, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				return Strace{}, fmt.Errorf("line %d %q: errors column: %w", n, line, err)
			}
			row.Errors = e
		default:
			return Strace{}, fmt.Errorf("line %d %q: %d columns, want 5 or 6", n, line, len(f))
		}
		c, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			return Strace{}, fmt.Errorf("line %d %q: calls column: %w", n, line, err)
		}
		row.Calls = c
		if row.Name == "total" {
			st.Calls, st.Errors = row.Calls, row.Errors
			total = true
			continue
		}
		st.Syscalls = append(st.Syscalls, row)
	}
	if err := sc.Err(); err != nil {
		return Strace{}, fmt.Errorf("reading strace -c output: %w", err)
	}
	if !header {
		return Strace{}, fmt.Errorf("no \"%% time ... syscall\" header: empty or not strace -c output (did strace attach?)")
	}
	if !total {
		return Strace{}, fmt.Errorf("no total row: strace -c output cut short")
	}
	var calls, errs int64
	for _, s := range st.Syscalls {
		calls += s.Calls
		errs += s.Errors
	}
	if calls != st.Calls || errs != st.Errors {
		return Strace{}, fmt.Errorf("the rows add up to %d calls, %d errors but the total row says %d, %d", calls, errs, st.Calls, st.Errors)
	}
	return st, nil
}
