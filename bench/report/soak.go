package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// soakHeader is the header of the soak CSV file.
var soakHeader = []string{"elapsed_s", "rss_bytes", "goroutines", "connections", "requests_total", "master_rss_bytes"}

// exitNoSample is the status of soak-sample when /metrics had no worker
// figures (bench/soak.sh warns and goes on).
const exitNoSample = 3

// WorkerMetrics reads the figures of worker 1 from the master's /metrics
// (Prometheus text: `NAME{worker="1"} VALUE`), by metric name.
func WorkerMetrics(r io.Reader) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		name, ok := strings.CutSuffix(f[0], `{worker="1"}`)
		if !ok || strings.ContainsAny(name, "{},") {
			continue
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", n, f[0], err)
		}
		out[name] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading /metrics: %w", err)
	}
	return out, nil
}

// StatusRSS is VmRSS of a /proc/PID/status file, in bytes.
func StatusRSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "VmRSS:" && f[2] == "kB" {
			v, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS: %w", err)
			}
			return v * 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading /proc/PID/status: %w", err)
	}
	return 0, errors.New("no VmRSS line")
}

// cmdSoakSample appends one sample to the soak CSV and prints it.
func cmdSoakSample(args []string, w io.Writer) (int, error) {
	if len(args) != 4 {
		return exitUsage, fmt.Errorf("%w: soak-sample CSV ELAPSED METRICS MASTER_STATUS", errUsage)
	}
	csvPath, elapsed, metricsPath, statusPath := args[0], args[1], args[2], args[3]
	if _, err := strconv.Atoi(elapsed); err != nil {
		return exitUsage, fmt.Errorf("%w: elapsed %q: not a number of seconds", errUsage, elapsed)
	}
	m, err := readFile(metricsPath, WorkerMetrics)
	if err != nil {
		return exitUsage, err
	}
	rss, okR := m["pipy_memory_bytes"]
	gr, okG := m["pipy_goroutines"]
	if !okR || !okG {
		return exitNoSample, fmt.Errorf("%s: no pipy_memory_bytes or pipy_goroutines of worker 1", metricsPath)
	}
	opt := func(name string) string {
		if v, ok := m[name]; ok {
			return strconv.FormatInt(v, 10)
		}
		return ""
	}
	// The master may be gone (the script notices and fails): an empty field.
	master := ""
	if v, err := readFile(statusPath, StatusRSS); err == nil {
		master = strconv.FormatInt(v, 10)
	}
	row := []string{elapsed, strconv.FormatInt(rss, 10), strconv.FormatInt(gr, 10),
		opt("pipy_connections"), opt("pipy_http_requests_total"), master}
	if err := appendCSV(csvPath, row); err != nil {
		return exitUsage, err
	}
	_, err = fmt.Fprintf(w, "soak: %5ss  rss %6.1f MiB  goroutines %5d  connections %4s  requests %s\n",
		elapsed, float64(rss)/1048576, gr, row[3], row[4])
	return 0, err
}

// appendCSV appends row to the CSV file at path, writing the header first
// when the file is new or empty.
func appendCSV(path string, row []string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("soak CSV: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("soak CSV: %w", err)
	}
	cw := csv.NewWriter(f)
	if st.Size() == 0 {
		_ = cw.Write(soakHeader)
	}
	_ = cw.Write(row)
	cw.Flush()
	if err := cw.Error(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// SoakSample is one row of the soak CSV.
type SoakSample struct {
	// Elapsed is the seconds since the load started.
	Elapsed int
	// RSS is the worker's resident memory in bytes; Goroutines its
	// goroutine count.
	RSS, Goroutines int64
}

// ReadSoakCSV reads the soak CSV (the columns of soakHeader; the first
// three are needed).
func ReadSoakCSV(r io.Reader) ([]SoakSample, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading the soak CSV: %w", err)
	}
	if len(recs) == 0 || len(recs[0]) < 3 || recs[0][0] != soakHeader[0] {
		return nil, fmt.Errorf("no %q header line: not a soak CSV", strings.Join(soakHeader, ","))
	}
	var out []SoakSample
	for i, rec := range recs[1:] {
		if len(rec) < 3 {
			return nil, fmt.Errorf("line %d: %d fields, want at least 3", i+2, len(rec))
		}
		var s SoakSample
		var e1, e2, e3 error
		s.Elapsed, e1 = strconv.Atoi(rec[0])
		s.RSS, e2 = strconv.ParseInt(rec[1], 10, 64)
		s.Goroutines, e3 = strconv.ParseInt(rec[2], 10, 64)
		if err := errors.Join(e1, e2, e3); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+2, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// Band is the spread of one soak figure after the warm-up.
type Band struct {
	// Min, Max and Mean are over the samples.
	Min, Max, Mean float64
	// Low and High are (Min-Mean) and (Max-Mean) in % of Mean.
	Low, High float64
}

// Within tells whether the figure stayed within +-tol % of its mean.
func (b Band) Within(tol float64) bool { return b.Low >= -tol && b.High <= tol }

// SoakBands are the RSS and goroutine bands of the samples taken at warmup
// seconds or later; an error if there are fewer than two.
func SoakBands(samples []SoakSample, warmup int) (rss, goroutines Band, n int, err error) {
	var r, g []float64
	for _, s := range samples {
		if s.Elapsed < warmup {
			continue
		}
		r = append(r, float64(s.RSS))
		g = append(g, float64(s.Goroutines))
	}
	if len(r) < 2 {
		return Band{}, Band{}, len(r), fmt.Errorf("too few samples after the warm-up: %d", len(r))
	}
	return band(r), band(g), len(r), nil
}

func band(vs []float64) Band {
	b := Band{Min: math.Inf(1), Max: math.Inf(-1)}
	sum := 0.0
	for _, v := range vs {
		b.Min, b.Max = math.Min(b.Min, v), math.Max(b.Max, v)
		sum += v
	}
	b.Mean = sum / float64(len(vs))
	if b.Mean != 0 {
		b.Low = (b.Min - b.Mean) * 100 / b.Mean
		b.High = (b.Max - b.Mean) * 100 / b.Mean
	}
	return b
}

// cmdSoakSummary prints the soak summary and judges it.
func cmdSoakSummary(args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("soak-summary", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	warmup := fs.Int("warmup", 0, "seconds of samples left out")
	tol := fs.Float64("tolerance", 10, "allowed deviation from the mean, in %")
	title := fs.String("title", "soak", "first line of the summary")
	if err := fs.Parse(args); err != nil {
		return exitUsage, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 2 {
		return exitUsage, fmt.Errorf("%w: soak-summary [-warmup S] [-tolerance PCT] [-title TEXT] CSV WRK", errUsage)
	}
	csvPath, wrkPath := fs.Arg(0), fs.Arg(1)
	samples, err := readFile(csvPath, ReadSoakCSV)
	if err != nil {
		return exitUsage, err
	}
	status := 0
	fail := func(format string, a ...any) {
		fmt.Fprintf(stderr, "soak: FAIL: "+format+"\n", a...)
		status = exitFail
	}
	wrkLine := "wrk: ?"
	w, err := readFile(wrkPath, ParseWrk)
	if err != nil {
		fail("wrk reported nothing usable: %v", err)
	} else {
		sock := w.SocketErrorList
		if sock == "" {
			sock = "none"
		}
		wrkLine = fmt.Sprintf("wrk: %d requests, %s req/s, socket errors: %s, non-2xx: %d", w.Requests, num(w.ReqPerSec), sock, w.Non2xx)
		if w.Errors() > 0 {
			fail("wrk counted errors: socket errors: %s; non-2xx: %d", sock, w.Non2xx)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n", *title, wrkLine)
	rss, gr, n, err := SoakBands(samples, *warmup)
	if err != nil {
		fmt.Fprintf(&b, "%v\n", err)
		fail("%v", err)
	} else {
		yes := func(ok bool) string {
			if ok {
				return "yes"
			}
			return "NO"
		}
		fmt.Fprintf(&b, "%-12s %10s %10s %10s %9s %9s  %s\n", "", "min", "max", "mean", "min-mean", "max-mean",
			"within +-"+strconv.FormatFloat(*tol, 'f', -1, 64)+"%")
		fmt.Fprintf(&b, "%-12s %10.1f %10.1f %10.1f %8.1f%% %8.1f%%  %s\n", "RSS (MiB)",
			rss.Min/1048576, rss.Max/1048576, rss.Mean/1048576, rss.Low, rss.High, yes(rss.Within(*tol)))
		fmt.Fprintf(&b, "%-12s %10d %10d %10.1f %8.1f%% %8.1f%%  %s\n", "goroutines",
			int64(gr.Min), int64(gr.Max), gr.Mean, gr.Low, gr.High, yes(gr.Within(*tol)))
		fmt.Fprintf(&b, "samples: %d after the warm-up of %ds\n", n, *warmup)
		if !rss.Within(*tol) || !gr.Within(*tol) {
			fail("RSS or goroutines left the +-%s%% band around their post-warm-up mean", strconv.FormatFloat(*tol, 'f', -1, 64))
		}
	}
	fmt.Fprintf(&b, "csv: %s\n", csvPath)
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return exitUsage, fmt.Errorf("printing the summary: %w", err)
	}
	return status, nil
}
