// Command report does the number work of the benchmark scripts: it parses
// the raw output bench/run.sh and bench/soak.sh collect (wrk, /proc
// snapshots, strace -c, /metrics), takes medians and ratios, and writes the
// reports. The scripts keep the processes (starting servers, pinning, wrk,
// strace, reading /proc); this program keeps the arithmetic, with tests.
//
// bench/run.sh builds it into its state directory and calls
//
//	report line RESULTS SCENARIO SERVER RUN CONNS|strace|h2load
//	    print the progress line of one measurement; exit 2, naming the
//	    file, if its raw output does not parse (the run then failed);
//	    h2load: exit 1 (after the line, which says why) if requests
//	    failed or none succeeded
//	report write [-md FILE] [-text FILE] [-tsv FILE] RESULTS
//	    write latest.md (the report, docs/performance.md), latest.txt (the
//	    tables, also printed) and results.tsv (every measurement) into
//	    RESULTS, or where the flags say
//
// and bench/soak.sh
//
//	report soak-sample CSV ELAPSED METRICS MASTER_STATUS
//	    append one sample (the worker's /metrics, the master's
//	    /proc/PID/status) to CSV and print it; exit 3 if METRICS has no
//	    worker figures
//	report soak-summary -warmup S -tolerance PCT -title TEXT CSV WRK
//	    print the summary; exit 1 if RSS or goroutines left the band, if
//	    there are too few samples or if wrk counted errors
//
// Exit status 2: bad usage or a file that cannot be read or parsed.
//
// # The results directory
//
// bench/run.sh fills RESULTS (BENCH_RESULTS_DIR, default bench/results):
//
//	run.txt                       KEY=VALUE lines: settings and machine (see Meta)
//	versions/NAME.txt             raw `pipy -v`, `nginx -v`, `haproxy -v`,
//	                              `caddy version`, `wrk -v`, `h2load --version`
//	                              (NAME: pipy, nginx, haproxy, caddy, wrk,
//	                              h2load); missing: "-"
//	raw/SCENARIO/SERVER/runR/     one server in one scenario, run R (1..runs);
//	                              SERVER pipy-spawn is the scaling line
//	  mem.idle.txt                /proc/PID/smaps_rollup of every process of
//	                              the server's tree, after start-up and checks
//	  wrk.cN.txt                  `wrk --latency` output, concurrency N
//	  cpu.cN.start, cpu.cN.end    CPU snapshots around that run: line 1
//	                              `date +%s.%N`, then /proc/PID/stat of every
//	                              process of the tree
//	  h2load.txt                  HTTP/2 scenarios (h2_scenarios), instead of
//	                              the wrk files: `h2load -t1 -cC -mM -D T`
//	                              output (the one measured run)
//	  cpu.h2load.start, .end      CPU snapshots around it
//	  mem.load.txt                smaps_rollup right after the first (load)
//	                              concurrency's run (h2: the h2load run)
//	  upstream.txt                `ss -Htn state established` to the backend,
//	                              half-way through the load run (proxies only)
//	  failure.txt                 why the script gave up on this measurement,
//	                              when it knows (e.g. a pipy without demuxHttp)
//	  strace.txt, wrk.strace.txt  BENCH_STRACE=1: `strace -c -f` table and wrk
//	                              output of an extra traced run at the load level
//	  *.failed                    a file of a measurement the script gave up on
//	                              (renamed; never read)
//
// A missing file is a measurement that was not made (the table shows "-" or
// FAILED); a file that is there but does not parse is an error that names it.
// The program writes latest.md, latest.txt and results.tsv next to them.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Exit statuses.
const (
	exitFail  = 1 // a check failed (soak; h2load requests failed)
	exitUsage = 2 // bad usage, unreadable or malformed input
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks a usage error.
var errUsage = errors.New("usage")

// run runs one subcommand and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: report line|write|soak-sample|soak-summary ... (see go doc ./bench/report)")
		return exitUsage
	}
	var err error
	status := 0
	switch args[0] {
	case "line":
		status, err = cmdLine(args[1:], stdout)
	case "write":
		err = cmdWrite(args[1:], stdout)
	case "soak-sample":
		status, err = cmdSoakSample(args[1:], stdout)
	case "soak-summary":
		status, err = cmdSoakSummary(args[1:], stdout, stderr)
	default:
		err = fmt.Errorf("%w: unknown command %q (line, write, soak-sample, soak-summary)", errUsage, args[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "report %s: %v\n", args[0], err)
		if status == 0 {
			status = exitUsage
		}
	}
	return status
}

// cmdLine prints the progress line of one measurement; status exitFail
// when it is an h2load run whose requests failed.
func cmdLine(args []string, w io.Writer) (int, error) {
	if len(args) != 5 {
		return 0, fmt.Errorf("%w: line RESULTS SCENARIO SERVER RUN CONNS|strace|h2load", errUsage)
	}
	results, scenario, server, what := args[0], args[1], args[2], args[4]
	runN, err := strconv.Atoi(args[3])
	if err != nil {
		return 0, fmt.Errorf("%w: run %q: not a number", errUsage, args[3])
	}
	meta, err := readFile(filepath.Join(results, "run.txt"), ParseMeta)
	if err != nil {
		return 0, err
	}
	dir := RunDir(results, scenario, server, runN)
	r, err := ReadRun(dir, meta, server)
	if err != nil {
		return 0, err
	}
	if what == H2Label {
		line, problem, err := H2ProgressLine(r, fmt.Sprintf("%-10s %-10s", scenario, server), runN)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", dir, err)
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return 0, err
		}
		if problem != "" {
			return exitFail, nil
		}
		return 0, nil
	}
	line, err := ProgressLine(r, meta, scenario, server, runN, what)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", dir, err)
	}
	_, err = fmt.Fprintln(w, line)
	return 0, err
}

// ProgressLine is the line bench/run.sh logs after one measurement: what
// is "strace" or a concurrency.
func ProgressLine(r Run, meta Meta, scenario, server string, run int, what string) (string, error) {
	head := fmt.Sprintf("%-10s %-10s", scenario, server)
	if what == "strace" {
		if r.Strace == nil {
			return "", errors.New("no strace.txt")
		}
		n := float64(r.StraceWrk.Requests)
		if n <= 0 {
			return "", errors.New("wrk.strace.txt: no requests")
		}
		calls := append([]Syscall(nil), r.Strace.Syscalls...)
		sort.SliceStable(calls, func(i, j int) bool { return calls[i].Calls > calls[j].Calls })
		var top []string
		for i, s := range calls {
			if i == 3 {
				break
			}
			top = append(top, fmt.Sprintf("%s %.2f", s.Name, float64(s.Calls)/n))
		}
		return fmt.Sprintf("%s strace run %d: %.1f syscalls/req (%s), %s req/s under strace",
			head, run, float64(r.Strace.Calls)/n, strings.Join(top, ", "), num(r.StraceWrk.ReqPerSec)), nil
	}
	c, err := strconv.Atoi(what)
	if err != nil {
		return "", fmt.Errorf("%w: %q is neither strace, h2load nor a concurrency", errUsage, what)
	}
	var cr *ConnRun
	for i := range r.Conns {
		if r.Conns[i].Conns == c {
			cr = &r.Conns[i]
		}
	}
	if cr == nil {
		return "", fmt.Errorf("no wrk.c%d.txt", c)
	}
	extra := ""
	if c == meta.Load() && r.Idle != nil && r.Loaded != nil {
		extra = fmt.Sprintf(", RSS %d -> %d kB", r.Idle.RssKB, r.Loaded.RssKB)
		if r.Upstream >= 0 {
			extra += fmt.Sprintf(", upstream conns %d", r.Upstream)
		}
	}
	return fmt.Sprintf("%s c%-3d run %d: %s req/s, p50 %s us, p99 %s us, CPU %.1f%% (%.2f us/req), errors %d%s",
		head, c, run, num(cr.Wrk.ReqPerSec), num(cr.Wrk.P50), num(cr.Wrk.P99),
		cr.CPU.Percent, cr.CPUPerRequest(), cr.Wrk.Errors(), extra), nil
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// cmdWrite writes the report, the text tables and results.tsv.
func cmdWrite(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("write", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	md := fs.String("md", "", "the Markdown report (default RESULTS/latest.md)")
	text := fs.String("text", "", "the text tables, also printed (default RESULTS/latest.txt)")
	tsv := fs.String("tsv", "", "every measurement (default RESULTS/results.tsv)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: write [-md FILE] [-text FILE] [-tsv FILE] RESULTS", errUsage)
	}
	dir := fs.Arg(0)
	def := func(p *string, name string) {
		if *p == "" {
			*p = filepath.Join(dir, name)
		}
	}
	def(md, "latest.md")
	def(text, "latest.txt")
	def(tsv, "results.tsv")
	res, err := Load(dir)
	if err != nil {
		return err
	}
	rep := Report{res}
	var txt strings.Builder
	if err := rep.WriteText(&txt); err != nil {
		return fmt.Errorf("text tables: %w", err)
	}
	if _, err := io.WriteString(stdout, txt.String()); err != nil {
		return fmt.Errorf("printing the tables: %w", err)
	}
	if err := writeFileWith(*text, func(w io.Writer) error { _, err := io.WriteString(w, txt.String()); return err }); err != nil {
		return err
	}
	if err := writeFileWith(*md, rep.WriteMarkdown); err != nil {
		return err
	}
	return writeFileWith(*tsv, rep.WriteTSV)
}

// writeFileWith writes path with write; errors name the file.
func writeFileWith(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
