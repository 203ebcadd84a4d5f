// Package logging gives pipy its log format on top of go-hclog: lines of
// "YYYY-MM-DD HH:MM:SS [level] message key=value ..." on stdout, raw lines
// for print() and dump(), and an in-memory history of the last 1000 lines
// for the console.
//
// Loggers are hclog InterceptLoggers used as structured loggers (a message
// plus key/value pairs); a sink formats each entry in pipy's spelling of the
// levels, so nothing parses hclog's own output. It is a leaf: it imports
// only go-hclog and the standard library.
package logging

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// HistorySize is the number of lines kept in memory.
const HistorySize = 1000

// Output is where log lines go: a writer (normally stdout) plus the history.
// It is safe for concurrent use.
type Output struct {
	mu      sync.Mutex
	w       io.Writer
	history [HistorySize]string
	total   int
	subs    map[chan string]struct{}
}

// NewOutput returns an Output writing to w.
func NewOutput(w io.Writer) *Output { return &Output{w: w} }

// Write records lines written by something other than a logger of New (a
// standard library logger, say) as they are.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.w.Write(p)
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		o.record(line)
	}
	return len(p), nil
}

// Line writes a raw line (print, dump) without a level prefix.
func (o *Output) Line(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	io.WriteString(o.w, s+"\n")
	o.record(s)
}

// Timestamp returns the log time prefix for now.
func Timestamp() string { return time.Now().Format("2006-01-02 15:04:05") }

func (o *Output) record(line string) {
	o.history[o.total%HistorySize] = line
	o.total++
	for ch := range o.subs {
		select {
		case ch <- line:
		default:
		}
	}
}

// History returns the total number of lines logged so far and the kept lines
// after the first `since`.
func (o *Output) History(since int) (total int, lines []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	start := max(since, o.total-HistorySize, 0)
	for i := start; i < o.total; i++ {
		lines = append(lines, o.history[i%HistorySize])
	}
	return o.total, lines
}

// ParseLevel maps a --log-level value to an hclog level.
func ParseLevel(s string) (hclog.Level, bool) {
	switch s {
	case "debug":
		return hclog.Debug, true
	case "info":
		return hclog.Info, true
	case "warn", "warning":
		return hclog.Warn, true
	case "error":
		return hclog.Error, true
	}
	return hclog.NoLevel, false
}

// New returns a logger writing to out at the given level. Loggers made
// from it with Named or With write through the same sink.
func New(out *Output, level hclog.Level) hclog.Logger {
	l := hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Level:  level,
		Output: io.Discard,
		// hclog's own formatter is never used: every entry goes to the sink.
		Exclude: func(hclog.Level, string, ...any) bool { return true },
	})
	l.RegisterSink(&sink{out: out, logger: l})
	return l
}

// sink formats log entries in pipy's format and writes them to an Output.
type sink struct {
	out    *Output
	logger hclog.Logger // whose level applies
}

// levelNames are pipy's spellings of the levels, as the original prints
// them.
var levelNames = map[hclog.Level]string{
	hclog.Trace: "debug",
	hclog.Debug: "debug",
	hclog.Info:  "info",
	hclog.Warn:  "warning",
	hclog.Error: "error",
}

// Accept implements hclog.SinkAdapter.
func (s *sink) Accept(name string, level hclog.Level, msg string, args ...any) {
	if level < s.logger.GetLevel() {
		return
	}
	s.out.Entry(Format(time.Now(), level, name, msg, args...))
}

// Format renders one entry: "YYYY-MM-DD HH:MM:SS [level] name: message:
// key=value ..." (hclog's layout in pipy's spelling of the levels). Values with spaces, quotes or nothing in them are
// quoted; an odd argument out is written under the key EXTRA_VALUE_AT_END,
// as hclog does.
func Format(t time.Time, level hclog.Level, name, msg string, args ...any) string {
	var b strings.Builder
	b.WriteString(t.Format("2006-01-02 15:04:05"))
	b.WriteString(" [")
	b.WriteString(levelNames[level])
	b.WriteString("] ")
	if name != "" {
		b.WriteString(name)
		b.WriteString(": ")
	}
	b.WriteString(msg)
	if len(args) > 0 {
		b.WriteByte(':')
	}
	for i := 0; i < len(args); i += 2 {
		key, val := "EXTRA_VALUE_AT_END", args[i]
		if i+1 < len(args) {
			key, val = fmt.Sprint(args[i]), args[i+1]
		}
		b.WriteByte(' ')
		b.WriteString(key)
		b.WriteByte('=')
		v := fmt.Sprint(val)
		if v == "" || strings.ContainsAny(v, " \t\n\"=") {
			v = strconv.Quote(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

// Entry writes one formatted log line (which may hold newlines) and records
// each of its lines.
func (o *Output) Entry(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	io.WriteString(o.w, line+"\n")
	for _, l := range strings.Split(line, "\n") {
		o.record(l)
	}
}

// Multi logs each line of a multi-line text at the given level.
func Multi(log hclog.Logger, level hclog.Level, text string) {
	for _, line := range strings.Split(text, "\n") {
		log.Log(level, line)
	}
}
