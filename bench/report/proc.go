package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Memory is the resident memory of a process tree, summed from the
// /proc/PID/smaps_rollup files of its processes.
type Memory struct {
	// RssKB is the sum of the "Rss:" lines (the same figure as VmRSS in
	// /proc/PID/status), in kB.
	RssKB int64
	// PssKB is the sum of the "Pss:" lines, in kB.
	PssKB int64
	// Processes is the number of smaps_rollup files (their "[rollup]"
	// header lines).
	Processes int
}

// ParseSmapsRollup reads one or more /proc/PID/smaps_rollup files written
// one after the other (each starts with its "[rollup]" line) and sums them.
func ParseSmapsRollup(r io.Reader) (Memory, error) {
	var m Memory
	sc := bufio.NewScanner(r)
	rss := 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[len(f)-1] == "[rollup]" {
			m.Processes++
			continue
		}
		if f[0] != "Rss:" && f[0] != "Pss:" {
			continue
		}
		if m.Processes == 0 {
			return Memory{}, fmt.Errorf("line %d: %s before any [rollup] header: not smaps_rollup", n, f[0])
		}
		if len(f) != 3 || f[2] != "kB" {
			return Memory{}, fmt.Errorf("line %d %q: want \"%s N kB\"", n, line, f[0])
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("line %d %q: %w", n, line, err)
		}
		if f[0] == "Rss:" {
			m.RssKB += v
			rss++
		} else {
			m.PssKB += v
		}
	}
	if err := sc.Err(); err != nil {
		return Memory{}, fmt.Errorf("reading smaps_rollup: %w", err)
	}
	if m.Processes == 0 {
		return Memory{}, fmt.Errorf("no [rollup] header: not /proc/PID/smaps_rollup output")
	}
	if rss != m.Processes {
		return Memory{}, fmt.Errorf("%d [rollup] headers but %d Rss: lines", m.Processes, rss)
	}
	return m, nil
}

// CPUSnapshot is the CPU time of a process tree at one moment: the first
// line of a snapshot file is the wall-clock time (`date +%s.%N`), every
// other line the /proc/PID/stat of one process of the tree.
type CPUSnapshot struct {
	// Time is the wall-clock time of the snapshot, in seconds since the epoch.
	Time float64
	// Ticks is utime+stime of every process, by pid, in clock ticks.
	Ticks map[int]int64
}

// ParseCPUSnapshot reads a snapshot file (see CPUSnapshot).
func ParseCPUSnapshot(r io.Reader) (CPUSnapshot, error) {
	s := CPUSnapshot{Ticks: map[int]int64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			t, err := strconv.ParseFloat(line, 64)
			if err != nil {
				return CPUSnapshot{}, fmt.Errorf("line 1 %q: want the time in seconds (date +%%s.%%N): %w", line, err)
			}
			s.Time = t
			continue
		}
		if line == "" {
			continue
		}
		pid, ticks, err := parseStat(line)
		if err != nil {
			return CPUSnapshot{}, fmt.Errorf("line %d: %w", n, err)
		}
		s.Ticks[pid] = ticks
	}
	if err := sc.Err(); err != nil {
		return CPUSnapshot{}, fmt.Errorf("reading CPU snapshot: %w", err)
	}
	if n == 0 {
		return CPUSnapshot{}, fmt.Errorf("empty CPU snapshot")
	}
	if len(s.Ticks) == 0 {
		return CPUSnapshot{}, fmt.Errorf("no /proc/PID/stat line after the time")
	}
	return s, nil
}

// parseStat returns the pid and utime+stime of a /proc/PID/stat line:
// "PID (COMM) STATE PPID ..."; COMM may hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseStat(line string) (pid int, ticks int64, err error) {
	open := strings.IndexByte(line, '(')
	end := strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return 0, 0, fmt.Errorf("%.40q...: not a /proc/PID/stat line", line)
	}
	pid, err = strconv.Atoi(strings.TrimSpace(line[:open]))
	if err != nil {
		return 0, 0, fmt.Errorf("/proc/PID/stat pid: %w", err)
	}
	f := strings.Fields(line[end+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields after the command, want at least 13", pid, len(f))
	}
	for _, s := range f[11:13] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/stat utime/stime: %w", pid, err)
		}
		ticks += v
	}
	return pid, ticks, nil
}

// CPUUse is the CPU a process tree used between two snapshots.
type CPUUse struct {
	// Percent is the CPU time in % of one core over the wall-clock time.
	Percent float64
	// Seconds is the CPU time.
	Seconds float64
}

// CPUBetween is the CPU time the tree used from start to end; clkTck is
// the kernel's clock ticks per second (getconf CLK_TCK). A process of end
// that start does not have counts from zero; a process that exited in
// between is lost, as in the kernel's own accounting of a live tree.
func CPUBetween(start, end CPUSnapshot, clkTck int) (CPUUse, error) {
	if clkTck <= 0 {
		return CPUUse{}, fmt.Errorf("clock ticks per second %d: must be positive", clkTck)
	}
	wall := end.Time - start.Time
	if wall <= 0 {
		return CPUUse{}, fmt.Errorf("end snapshot (%.3f) not after the start (%.3f)", end.Time, start.Time)
	}
	var ticks int64
	for pid, t := range end.Ticks {
		ticks += t - start.Ticks[pid]
	}
	secs := float64(ticks) / float64(clkTck)
	return CPUUse{Percent: secs / wall * 100, Seconds: secs}, nil
}

// CountLines counts the non-blank lines of r (the `ss` listing of the
// established upstream connections).
func CountLines(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("counting lines: %w", err)
	}
	return n, nil
}
