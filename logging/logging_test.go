package logging

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestFormat(t *testing.T) {
	at := time.Date(2026, 12, 3, 8, 9, 10, 0, time.UTC)
	for _, c := range []struct {
		level hclog.Level
		name  string
		msg   string
		args  []any
		want  string
	}{
		{hclog.Info, "", "Listening on port 80", nil, "2026-12-03 08:09:10 [info] Listening on port 80"},
		{hclog.Warn, "", "[gui] cannot save a file", []any{"path", "/a b.js", "error", errors.New("disk full")},
			`2026-12-03 08:09:10 [warning] [gui] cannot save a file: path="/a b.js" error="disk full"`},
		{hclog.Error, "worker", "exited", []any{"slot", 2, "status", ""}, `2026-12-03 08:09:10 [error] worker: exited: slot=2 status=""`},
		{hclog.Debug, "", "odd", []any{"k", 1, "left"}, "2026-12-03 08:09:10 [debug] odd: k=1 EXTRA_VALUE_AT_END=left"},
		{hclog.Trace, "", `quote "me"`, []any{"v", `a"b`}, `2026-12-03 08:09:10 [debug] quote "me": v="a\"b"`},
	} {
		if got := Format(at, c.level, c.name, c.msg, c.args...); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}

// Loggers of New write pipy's format at their level and above, sub-loggers
// included, and the lines are kept in the history.
func TestNewLevelsAndHistory(t *testing.T) {
	var buf bytes.Buffer
	out := NewOutput(&buf)
	log := New(out, hclog.Info)
	log.Debug("hidden")
	log.Info("shown", "n", 1)
	log.Named("sub").Warn("careful")
	if log.IsDebug() || !log.IsInfo() {
		t.Errorf("IsDebug=%v IsInfo=%v", log.IsDebug(), log.IsInfo())
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], " [info] shown: n=1") || !strings.HasSuffix(lines[1], " [warning] sub: careful") {
		t.Fatalf("output %q", buf.String())
	}
	total, hist := out.History(0)
	if total != 2 || len(hist) != 2 || hist[1] != lines[1] {
		t.Fatalf("history %d %q", total, hist)
	}
	log.SetLevel(hclog.Debug)
	log.Debug("now shown")
	if !strings.Contains(buf.String(), "[debug] now shown") {
		t.Fatalf("after SetLevel: %q", buf.String())
	}
	out.Line("raw print line")
	if _, hist := out.History(3); len(hist) != 1 || hist[0] != "raw print line" {
		t.Fatalf("history after Line: %q", hist)
	}
}
