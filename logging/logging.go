// Package logging gives pipy its log format on top of go-hclog: lines of
// "YYYY-MM-DD HH:MM:SS [level] message" on stdout, raw lines for print() and
// dump(), and an in-memory history of the last 1000 lines for the console.
//
// It imports only go-hclog and the standard library; every other package may
// import it.
package logging

import (
	"bytes"
	"io"
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

var levelTags = []struct{ from, to []byte }{
	{[]byte("[TRACE] "), []byte("[debug] ")},
	{[]byte("[DEBUG] "), []byte("[debug] ")},
	{[]byte("[INFO]  "), []byte("[info] ")},
	{[]byte("[WARN]  "), []byte("[warning] ")},
	{[]byte("[ERROR] "), []byte("[error] ")},
}

// Write takes formatted lines from hclog, rewrites the level tag to pipy's
// spelling and records them.
func (o *Output) Write(p []byte) (int, error) {
	n := len(p)
	for _, t := range levelTags {
		if i := bytes.Index(p, t.from); i >= 0 && i < 40 {
			q := make([]byte, 0, len(p))
			q = append(q, p[:i]...)
			q = append(q, t.to...)
			q = append(q, p[i+len(t.from):]...)
			p = q
			break
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.w.Write(p)
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		o.record(line)
	}
	return n, nil
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

// New returns a logger writing to out at the given level.
func New(out *Output, level hclog.Level) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Level:      level,
		Output:     out,
		TimeFormat: "2006-01-02 15:04:05",
		Color:      hclog.ColorOff,
	})
}

// Multi logs each line of a multi-line text at the given level.
func Multi(log hclog.Logger, level hclog.Level, text string) {
	for _, line := range strings.Split(text, "\n") {
		log.Log(level, line)
	}
}
