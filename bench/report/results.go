package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// SpawnServer is the server name of the scaling line (pipy --spawn=N on
// http-hello) in the raw directory and in results.tsv.
const SpawnServer = "pipy-spawn"

// Meta is run.txt: the settings of a run and facts about the machine,
// written by bench/run.sh as KEY=VALUE lines (a later line wins).
type Meta struct {
	// Date is when the run finished, as printed in the report.
	Date string
	// Duration, Runs and Warmup are BENCH_DURATION, BENCH_RUNS and
	// BENCH_WARMUP.
	Duration, Runs, Warmup int
	// Conns are the wrk concurrencies; the first is the load level.
	Conns []int
	// Scenarios and Servers are the selected ones, in order.
	Scenarios, Servers []string
	// Unsupported lists the SCENARIO/SERVER pairs that are not run (n/a).
	Unsupported []string
	// BackendScenarios are the scenarios with an upstream backend.
	BackendScenarios []string
	// H2Scenarios are the HTTP/2 scenarios: measured with h2load (one
	// run of H2Clients connections of H2Streams concurrent streams)
	// instead of wrk at each of Conns.
	H2Scenarios []string
	// H2Clients and H2Streams are h2load's -c and -m (0: not recorded).
	H2Clients, H2Streams int
	// Scaling tells whether the pipy --spawn line ran.
	Scaling bool
	// Spawn is the worker count of the --spawn line.
	Spawn int
	// ServerCPU, ClientCPU and BackendCPU are the cores of the server under
	// test, of wrk and of the proxies' backend.
	ServerCPU, ClientCPU, BackendCPU string
	// NProc, CPUModel, Kernel and LoadAvg describe the machine.
	NProc    int
	CPUModel string
	Kernel   string
	LoadAvg  string
	// Commit is the repository's short commit.
	Commit string
	// ClkTck is the kernel's clock ticks per second (getconf CLK_TCK).
	ClkTck int
	// BinBytes and StrippedBytes are the sizes of bin/pipy as built and
	// stripped; -1 when unknown.
	BinBytes, StrippedBytes int64
}

// ParseMeta reads run.txt (see Meta).
func ParseMeta(r io.Reader) (Meta, error) {
	kv := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Meta{}, fmt.Errorf("line %d %q: want KEY=VALUE", n, line)
		}
		kv[k] = v
	}
	if err := sc.Err(); err != nil {
		return Meta{}, fmt.Errorf("reading run.txt: %w", err)
	}
	var errs []error
	num := func(key string) int {
		s, ok := kv[key]
		if !ok {
			errs = append(errs, fmt.Errorf("no %s=", key))
			return 0
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%s: not a whole number", key, s))
		}
		return v
	}
	size := func(key string) int64 {
		s := kv[key]
		if s == "" {
			return -1
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%s: not a whole number", key, s))
		}
		return v
	}
	text := func(key string) string {
		s, ok := kv[key]
		if !ok {
			errs = append(errs, fmt.Errorf("no %s=", key))
		}
		return s
	}
	m := Meta{
		Date:             kv["date"],
		Duration:         num("duration"),
		Runs:             num("runs"),
		Warmup:           num("warmup"),
		Scenarios:        strings.Fields(text("scenarios")),
		Servers:          strings.Fields(text("servers")),
		Unsupported:      strings.Fields(kv["unsupported"]),
		BackendScenarios: strings.Fields(kv["backend_scenarios"]),
		H2Scenarios:      strings.Fields(kv["h2_scenarios"]),
		Scaling:          kv["scaling"] == "true",
		ServerCPU:        text("server_cpu"),
		ClientCPU:        text("client_cpu"),
		BackendCPU:       text("backend_cpu"),
		NProc:            num("nproc"),
		CPUModel:         kv["cpu_model"],
		Kernel:           kv["kernel"],
		LoadAvg:          kv["loadavg"],
		Commit:           kv["commit"],
		ClkTck:           num("clk_tck"),
		BinBytes:         size("bin_bytes"),
		StrippedBytes:    size("stripped_bytes"),
	}
	if m.Scaling {
		m.Spawn = num("spawn")
	}
	// Older run.txt files have no h2 scenarios.
	if _, ok := kv["h2_clients"]; ok {
		m.H2Clients, m.H2Streams = num("h2_clients"), num("h2_streams")
	}
	for _, c := range strings.Fields(text("conns")) {
		v, err := strconv.Atoi(c)
		if err != nil || v <= 0 {
			errs = append(errs, fmt.Errorf("conns: %q is not a positive whole number", c))
			continue
		}
		m.Conns = append(m.Conns, v)
	}
	if len(errs) == 0 {
		switch {
		case len(m.Conns) == 0:
			errs = append(errs, errors.New("conns= is empty"))
		case m.Runs <= 0:
			errs = append(errs, errors.New("runs= must be positive"))
		}
	}
	if len(errs) > 0 {
		return Meta{}, errors.Join(errs...)
	}
	return m, nil
}

// Load returns the load level: the first concurrency.
func (m Meta) Load() int { return m.Conns[0] }

// Supported tells whether server runs in scenario.
func (m Meta) Supported(scenario, server string) bool {
	return !contains(m.Unsupported, scenario+"/"+server)
}

// NeedsBackend tells whether scenario has an upstream backend.
func (m Meta) NeedsBackend(scenario string) bool { return contains(m.BackendScenarios, scenario) }

// IsH2 tells whether scenario is an HTTP/2 (h2load) scenario.
func (m Meta) IsH2(scenario string) bool { return contains(m.H2Scenarios, scenario) }

// WrkScenarios are the selected scenarios measured with wrk, in order.
func (m Meta) WrkScenarios() []string {
	var out []string
	for _, s := range m.Scenarios {
		if !m.IsH2(s) {
			out = append(out, s)
		}
	}
	return out
}

// SelectedH2 are the selected HTTP/2 scenarios, in order.
func (m Meta) SelectedH2() []string {
	var out []string
	for _, s := range m.Scenarios {
		if m.IsH2(s) {
			out = append(out, s)
		}
	}
	return out
}

// Measured tells whether server was selected in scenario.
func (m Meta) Measured(scenario, server string) bool {
	return contains(m.Servers, server) && contains(m.Scenarios, scenario)
}

// ShortRun tells whether the run was too short to mean anything.
func (m Meta) ShortRun() bool { return m.Duration < 10 || m.Runs < 3 }

// ConnsOf are the concurrencies measured for server: the scaling line only
// runs at the load level.
func (m Meta) ConnsOf(server string) []int {
	if server == SpawnServer {
		return m.Conns[:1]
	}
	return m.Conns
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Versions are the tools' versions, from the raw outputs in versions/.
type Versions struct {
	// Pipy is "VERSION (commit C), GO" from `pipy -v`.
	Pipy string
	// Nginx, HAProxy, Caddy, Wrk and H2load are their version strings.
	Nginx, HAProxy, Caddy, Wrk, H2load string
}

// ReadVersions reads versions/{pipy,nginx,haproxy,caddy,wrk,h2load}.txt under dir;
// a missing or empty file gives "-".
func ReadVersions(dir string) (Versions, error) {
	read := func(name string, parse func(string) string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name+".txt"))
		if errors.Is(err, fs.ErrNotExist) {
			return "-", nil
		}
		if err != nil {
			return "", fmt.Errorf("reading version: %w", err)
		}
		if v := parse(string(b)); v != "" {
			return v, nil
		}
		return "-", nil
	}
	var v Versions
	var err error
	parsers := []struct {
		name  string
		dst   *string
		parse func(string) string
	}{
		{"pipy", &v.Pipy, pipyVersion},
		{"nginx", &v.Nginx, func(s string) string {
			return strings.TrimPrefix(firstLineWith(s, "nginx version: "), "nginx version: ")
		}},
		{"haproxy", &v.HAProxy, func(s string) string {
			f := strings.Fields(firstLineWith(s, "HAProxy version "))
			if len(f) < 3 {
				return ""
			}
			return f[2]
		}},
		{"caddy", &v.Caddy, func(s string) string { return field(firstLine(s), 0) }},
		{"wrk", &v.Wrk, func(s string) string { return field(firstLine(s), 1) }},
		// "h2load nghttp2/1.52.0"
		{"h2load", &v.H2load, func(s string) string { return field(firstLine(s), 1) }},
	}
	for _, p := range parsers {
		if *p.dst, err = read(p.name, p.parse); err != nil {
			return Versions{}, err
		}
	}
	return v, nil
}

// pipyVersion turns `pipy -v` ("Version     : 0.0.0", "Commit      : ...",
// "Go          : go1.26.8") into "0.0.0 (commit ...), go1.26.8".
func pipyVersion(s string) string {
	var ver, commit, goVer string
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Version":
			ver = v
		case "Commit":
			commit = v
		case "Go":
			goVer = v
		}
	}
	out := ver
	if commit != "" {
		out += " (commit " + commit + ")"
	}
	if goVer != "" {
		out += ", " + goVer
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

func firstLineWith(s, prefix string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, prefix) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

func field(s string, i int) string {
	f := strings.Fields(s)
	if i < len(f) {
		return f[i]
	}
	return ""
}

// Value is one measurement of one run, a row of results.tsv.
type Value struct {
	// Run is the run number, from 1.
	Run int
	// Scenario and Server say what was measured (Server pipy-spawn: the
	// scaling line).
	Scenario, Server string
	// Metric names the figure: rss_idle, rps.c50, cpureq.c1, syscall.read...
	// (bench/README.md lists them with their units).
	Metric string
	// V is the value.
	V float64
}

// Results are the measurements of a results directory.
type Results struct {
	// Meta is run.txt.
	Meta Meta
	// Versions are the tools' versions.
	Versions Versions
	// Values are all measurements, by run, scenario, server, metric.
	Values []Value
	// Notes are the failure.txt lines (why the script gave up on a
	// measurement), by scenario/server, one per run that has one.
	Notes map[string][]string
	// Problems are what went wrong in h2load runs (H2load.Problem), by
	// scenario/server: "run N: ...", one per run that had one.
	Problems map[string][]string
	// byKey holds every value of scenario/server/metric, one per run.
	byKey map[string][]float64
}

func key(scenario, server, metric string) string { return scenario + "/" + server + "/" + metric }

// Median is the median over the runs of one metric; false when no run
// measured it. With an even count it is the mean of the middle two.
func (r *Results) Median(scenario, server, metric string) (float64, bool) {
	return Median(r.byKey[key(scenario, server, metric)])
}

// Median of vs; false when vs is empty. vs is not modified.
func Median(vs []float64) (float64, bool) {
	if len(vs) == 0 {
		return 0, false
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

func (r *Results) add(run int, scenario, server, metric string, v float64) {
	r.Values = append(r.Values, Value{run, scenario, server, metric, v})
	k := key(scenario, server, metric)
	r.byKey[k] = append(r.byKey[k], v)
}

// RunDir is where bench/run.sh puts the raw files of one server in one
// scenario and run: raw/SCENARIO/SERVER/runR under the results directory.
func RunDir(results, scenario, server string, run int) string {
	return filepath.Join(results, "raw", scenario, server, "run"+strconv.Itoa(run))
}

// Load reads a results directory (see the package documentation for its
// layout). Files of a run that the shell gave up on were renamed *.failed
// and are not read; any other file that does not parse is an error that
// names it.
func Load(dir string) (*Results, error) {
	meta, err := readFile(filepath.Join(dir, "run.txt"), ParseMeta)
	if err != nil {
		return nil, err
	}
	vers, err := ReadVersions(filepath.Join(dir, "versions"))
	if err != nil {
		return nil, err
	}
	r := &Results{Meta: meta, Versions: vers, byKey: map[string][]float64{},
		Notes: map[string][]string{}, Problems: map[string][]string{}}
	for run := 1; run <= meta.Runs; run++ {
		for _, s := range meta.Scenarios {
			servers := meta.Servers
			if s == "http-hello" && meta.Scaling {
				servers = append(append([]string(nil), servers...), SpawnServer)
			}
			for _, srv := range servers {
				if !meta.Supported(s, srv) {
					continue
				}
				if err := r.loadRun(RunDir(dir, s, srv, run), run, s, srv); err != nil {
					return nil, err
				}
			}
		}
	}
	return r, nil
}

// loadRun adds the measurements of one run directory; a missing directory
// or file is a measurement that was not made.
func (r *Results) loadRun(dir string, run int, scenario, server string) error {
	m, err := ReadRun(dir, r.Meta, server)
	if err != nil {
		return err
	}
	add := func(metric string, v float64) { r.add(run, scenario, server, metric, v) }
	if m.Failure != "" {
		k := scenario + "/" + server
		r.Notes[k] = append(r.Notes[k], m.Failure)
	}
	if m.Idle != nil {
		add("rss_idle", float64(m.Idle.RssKB))
	}
	if h := m.H2; h != nil {
		// The rate and the failures of every run; the latencies only of
		// a run with answers (h2load prints 0us for none).
		add("rps."+H2Label, h.H2load.ReqPerSec)
		add("ok."+H2Label, float64(h.H2load.Succeeded))
		add("failed."+H2Label, float64(h.H2load.Failures()))
		if h.H2load.Succeeded > 0 {
			add("mean."+H2Label, h.H2load.Mean)
			add("sd."+H2Label, h.H2load.SD)
			add("min."+H2Label, h.H2load.Min)
			add("max."+H2Label, h.H2load.Max)
		}
		if p := h.H2load.Problem(); p != "" {
			k := scenario + "/" + server
			r.Problems[k] = append(r.Problems[k], fmt.Sprintf("run %d: %s", run, p))
		}
		add("cpu."+H2Label, round(h.CPU.Percent, 1))
		add("cpureq."+H2Label, round(h.CPUPerRequest(), 2))
	}
	for _, c := range m.Conns {
		s := "c" + strconv.Itoa(c.Conns)
		add("rps."+s, c.Wrk.ReqPerSec)
		add("p50."+s, c.Wrk.P50)
		add("p99."+s, c.Wrk.P99)
		add("errors."+s, float64(c.Wrk.Errors()))
		add("cpu."+s, round(c.CPU.Percent, 1))
		add("cpureq."+s, round(c.CPUPerRequest(), 2))
	}
	if m.Loaded != nil {
		add("rss_load", float64(m.Loaded.RssKB))
	}
	if m.Upstream >= 0 {
		add("upstream", float64(m.Upstream))
	}
	if m.Strace != nil && m.StraceWrk.Requests > 0 {
		n := float64(m.StraceWrk.Requests)
		add("syscalls", round(float64(m.Strace.Calls)/n, 3))
		add("syscall_errors", round(float64(m.Strace.Errors)/n, 3))
		for _, s := range m.Strace.Syscalls {
			add("syscall."+s.Name, round(float64(s.Calls)/n, 3))
		}
	}
	return nil
}

// round rounds v to digits decimals, as results.tsv keeps it (and the
// medians are taken of what it keeps).
func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// ConnRun is the measured wrk run at one concurrency.
type ConnRun struct {
	// Conns is wrk's -c.
	Conns int
	// Wrk is its output.
	Wrk Wrk
	// CPU is what the server's process tree used during it.
	CPU CPUUse
}

// CPUPerRequest is the server's CPU time per request, in microseconds (0
// when there were no requests).
func (c ConnRun) CPUPerRequest() float64 {
	if c.Wrk.Requests <= 0 {
		return 0
	}
	return c.CPU.Seconds / float64(c.Wrk.Requests) * 1e6
}

// H2Label names the h2load measurement: its files (h2load.txt,
// cpu.h2load.start, cpu.h2load.end), its metrics in results.tsv (rps.h2load,
// mean.h2load...) and the argument of `report line`.
const H2Label = "h2load"

// H2Run is the measured h2load run of an HTTP/2 scenario.
type H2Run struct {
	// H2load is its output.
	H2load H2load
	// CPU is what the server's process tree used during it.
	CPU CPUUse
}

// CPUPerRequest is the server's CPU time per answered request (done:
// succeeded or failed), in microseconds (0 when there were none).
func (h H2Run) CPUPerRequest() float64 {
	if h.H2load.Done <= 0 {
		return 0
	}
	return h.CPU.Seconds / float64(h.H2load.Done) * 1e6
}

// Run is what one run directory holds; nil or -1 for what is missing.
type Run struct {
	// Idle is mem.idle.txt: the memory after start-up and the checks.
	Idle *Memory
	// Conns are the measured concurrencies with a wrk.cN.txt, in the order
	// of Meta.Conns.
	Conns []ConnRun
	// Loaded is mem.load.txt: the memory right after the load-level run.
	Loaded *Memory
	// Upstream is the line count of upstream.txt; -1 without the file.
	Upstream int
	// Strace and StraceWrk are strace.txt and wrk.strace.txt (BENCH_STRACE).
	Strace    *Strace
	StraceWrk Wrk
	// H2 is h2load.txt with its CPU snapshots (HTTP/2 scenarios).
	H2 *H2Run
	// Failure is failure.txt: why the script gave up, when it knew.
	Failure string
}

// ReadRun reads one run directory (raw/SCENARIO/SERVER/runR).
func ReadRun(dir string, meta Meta, server string) (Run, error) {
	run := Run{Upstream: -1}
	var err error
	if run.Idle, err = readOptional(filepath.Join(dir, "mem.idle.txt"), ParseSmapsRollup); err != nil {
		return Run{}, err
	}
	for _, c := range meta.ConnsOf(server) {
		s := "c" + strconv.Itoa(c)
		w, err := readOptional(filepath.Join(dir, "wrk."+s+".txt"), ParseWrk)
		if err != nil {
			return Run{}, err
		}
		if w == nil {
			break // this concurrency failed (or did not run), and so did the rest
		}
		use, err := readCPU(dir, s, meta.ClkTck)
		if err != nil {
			return Run{}, err
		}
		run.Conns = append(run.Conns, ConnRun{Conns: c, Wrk: *w, CPU: use})
	}
	h2, err := readOptional(filepath.Join(dir, H2Label+".txt"), ParseH2load)
	if err != nil {
		return Run{}, err
	}
	if h2 != nil {
		use, err := readCPU(dir, H2Label, meta.ClkTck)
		if err != nil {
			return Run{}, err
		}
		run.H2 = &H2Run{H2load: *h2, CPU: use}
	}
	note, err := readOptional(filepath.Join(dir, "failure.txt"), readLine)
	if err != nil {
		return Run{}, err
	}
	if note != nil {
		run.Failure = *note
	}
	if run.Loaded, err = readOptional(filepath.Join(dir, "mem.load.txt"), ParseSmapsRollup); err != nil {
		return Run{}, err
	}
	up, err := readOptional(filepath.Join(dir, "upstream.txt"), CountLines)
	if err != nil {
		return Run{}, err
	}
	if up != nil {
		run.Upstream = *up
	}
	if run.Strace, err = readOptional(filepath.Join(dir, "strace.txt"), ParseStraceC); err != nil || run.Strace == nil {
		return run, err
	}
	sw, err := readFile(filepath.Join(dir, "wrk.strace.txt"), ParseWrk)
	if err != nil {
		return Run{}, err
	}
	run.StraceWrk = sw
	return run, nil
}

// readCPU reads the CPU snapshots cpu.LABEL.start and cpu.LABEL.end of dir
// and gives what the server used between them.
func readCPU(dir, label string, clkTck int) (CPUUse, error) {
	start, err := readFile(filepath.Join(dir, "cpu."+label+".start"), ParseCPUSnapshot)
	if err != nil {
		return CPUUse{}, err
	}
	endPath := filepath.Join(dir, "cpu."+label+".end")
	end, err := readFile(endPath, ParseCPUSnapshot)
	if err != nil {
		return CPUUse{}, err
	}
	use, err := CPUBetween(start, end, clkTck)
	if err != nil {
		return CPUUse{}, fmt.Errorf("%s: %w", endPath, err)
	}
	return use, nil
}

// readLine reads a one-line note (failure.txt), trimmed; several lines are
// joined with "; ".
func readLine(r io.Reader) (string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; "), nil
}

// readFile parses the file at path; errors name the file.
func readFile[T any](path string, parse func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, fmt.Errorf("reading results: %w", err)
	}
	defer f.Close()
	v, err := parse(f)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// readOptional is readFile that gives nil for a missing file.
func readOptional[T any](path string, parse func(io.Reader) (T, error)) (*T, error) {
	v, err := readFile(path, parse)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}
