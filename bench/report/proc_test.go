package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/proc holds real /proc files of the bench's servers: pipy after a
// c50 run, nginx (master and worker: two rollups), and CPU snapshots of a
// pipy --spawn=2 tree (master and two workers) around a 2 s wrk run.
func TestParseSmapsRollupCaptured(t *testing.T) {
	tests := []struct {
		file string
		want Memory
	}{
		{"smaps_rollup-pipy.txt", Memory{RssKB: 17828, PssKB: 17820, Processes: 1}},
		{"smaps_rollup-nginx.txt", Memory{RssKB: 6788 + 5736, PssKB: 0, Processes: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := readFile(filepath.Join("testdata", "proc", tc.file), ParseSmapsRollup)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.PssKB == 0 {
				tc.want.PssKB = got.PssKB // checked below: less than Rss
				if got.PssKB <= 0 || got.PssKB >= got.RssKB {
					t.Errorf("Pss %d kB: want 0 < Pss < Rss %d kB for two processes sharing pages", got.PssKB, got.RssKB)
				}
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// The Rss of smaps_rollup is the figure VmRSS of /proc/PID/status gives
// (both files were read at the same moment).
func TestSmapsRollupMatchesStatus(t *testing.T) {
	m, err := readFile(filepath.Join("testdata", "proc", "smaps_rollup-pipy.txt"), ParseSmapsRollup)
	if err != nil {
		t.Fatal(err)
	}
	rss, err := readFile(filepath.Join("testdata", "proc", "status-pipy.txt"), StatusRSS)
	if err != nil {
		t.Fatal(err)
	}
	if m.RssKB*1024 != rss {
		t.Errorf("smaps_rollup Rss %d kB, status VmRSS %d bytes", m.RssKB, rss)
	}
}

func TestParseSmapsRollupMalformed(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "proc", "smaps_rollup-pipy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(string(good), "\n")
	tests := []struct {
		name, input, wantErr string
	}{
		{"empty (process gone)", "", "no [rollup] header"},
		{"status, not smaps", "Name:\tpipy\nVmRSS:\t   12528 kB\n", "no [rollup] header"},
		{"Rss before header", "Rss: 12 kB\n" + string(good), "Rss: before any [rollup] header"},
		{"no unit", header + "\nRss: 12528\n", `want "Rss: N kB"`},
		{"bad number", header + "\nRss: 12x kB\n", "strconv.ParseInt"},
		{"header without Rss", string(good) + header + "\n", "2 [rollup] headers but 1 Rss: lines"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSmapsRollup(strings.NewReader(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestCPUBetweenCaptured(t *testing.T) {
	start, err := readFile(filepath.Join("testdata", "proc", "cpu-spawn.start"), ParseCPUSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	end, err := readFile(filepath.Join("testdata", "proc", "cpu-spawn.end"), ParseCPUSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	// master 5086: 0+0 -> 0+0; worker 5096: 14+24 -> 31+74; worker 5098: 7+28 -> 29+85.
	wantStart := map[int]int64{5086: 0, 5096: 38, 5098: 35}
	for pid, ticks := range wantStart {
		if start.Ticks[pid] != ticks {
			t.Errorf("start ticks of %d = %d, want %d", pid, start.Ticks[pid], ticks)
		}
	}
	if len(start.Ticks) != 3 || start.Time != 1796285188.654614280 {
		t.Errorf("start = %+v", start)
	}
	use, err := CPUBetween(start, end, 100)
	if err != nil {
		t.Fatal(err)
	}
	wall := 1796285190.703643403 - 1796285188.654614280
	if use.Seconds != 1.46 || math.Abs(use.Percent-146/wall) > 1e-6 {
		t.Errorf("CPU %+v, want 1.46 s, %.6f %%", use, 146/wall)
	}
	if got := round(use.Percent, 1); got != 71.3 {
		t.Errorf("rounded CPU %% = %v, want 71.3 (what the run logged)", got)
	}
}

func TestCPUBetweenProcesses(t *testing.T) {
	start := CPUSnapshot{Time: 10, Ticks: map[int]int64{1: 100, 2: 50, 3: 20}}
	end := CPUSnapshot{Time: 12, Ticks: map[int]int64{1: 200, 2: 150, 4: 10}} // 3 exited, 4 is new
	use, err := CPUBetween(start, end, 100)
	if err != nil {
		t.Fatal(err)
	}
	if use.Seconds != 2.1 || math.Abs(use.Percent-105) > 1e-9 {
		t.Errorf("got %+v, want 2.1 s (100+100+10 ticks), 105 %%", use)
	}
	if _, err := CPUBetween(end, start, 100); err == nil || !strings.Contains(err.Error(), "not after the start") {
		t.Errorf("reversed snapshots: err = %v", err)
	}
	if _, err := CPUBetween(start, end, 0); err == nil || !strings.Contains(err.Error(), "must be positive") {
		t.Errorf("no clock ticks: err = %v", err)
	}
}

func TestParseStat(t *testing.T) {
	stat, err := os.ReadFile(filepath.Join("testdata", "proc", "stat-pipy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, line string
		pid        int
		ticks      int64
		wantErr    string
	}{
		{"captured", strings.TrimSpace(string(stat)), 9341, 41 + 121, ""},
		{"comm with spaces and parens", "77 (a) b (c) S 1 77 77 0 -1 0 0 0 0 0 5 6 0 0", 77, 11, ""},
		{"cut short", "77 (pipy) S 1 77", 0, 0, "want at least 13"},
		{"no comm", "77 pipy S 1", 0, 0, "not a /proc/PID/stat line"},
		{"bad pid", "x (pipy) S 1 77 77 0 -1 0 0 0 0 0 5 6", 0, 0, "pid"},
		{"bad utime", "77 (pipy) S 1 77 77 0 -1 0 0 0 0 0 x 6", 0, 0, "utime/stime"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pid, ticks, err := parseStat(tc.line)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || pid != tc.pid || ticks != tc.ticks {
				t.Errorf("got %d, %d, %v; want %d, %d", pid, ticks, err, tc.pid, tc.ticks)
			}
		})
	}
}

func TestParseCPUSnapshotMalformed(t *testing.T) {
	tests := []struct {
		name, input, wantErr string
	}{
		{"empty", "", "empty CPU snapshot"},
		{"no time", "5086 (pipy) S 1 5086 5086 0 -1 0 0 0 0 0 5 6\n", "want the time in seconds"},
		{"time only (tree gone)", "1796285188.65\n", "no /proc/PID/stat line"},
		{"bad stat", "1796285188.65\n5086 (pipy) S 1\n", "line 2: /proc/5086/stat"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCPUSnapshot(strings.NewReader(tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestCountLines(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"\n\n", 0},
		{"ESTAB 0 0 127.0.0.1:40000 127.0.0.1:18090\nESTAB 0 0 127.0.0.1:40002 127.0.0.1:18091\n", 2},
		{"one line without newline", 1},
	}
	for _, tc := range tests {
		got, err := CountLines(strings.NewReader(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("CountLines(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}
