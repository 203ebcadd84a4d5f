package test

// Signals (cli.md §6): SIGTSTP status dump, SIGINT graceful drain, a second
// SIGINT forcing the shutdown, SIGTERM draining with a timeout.

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const signalsHTTPScript = `pipy()

.listen(PORT)
  .decodeHttpRequest()
  .replaceMessage(new Message('ok'))
  .encodeHttpResponse()
`

// startHTTPScript writes signalsHTTPScript as name on a free port and starts
// pipy on it.
func startHTTPScript(t *testing.T, name string) (*pipyProc, int) {
	t.Helper()
	port := freePort(t)
	script := writeScript(t, name, signalsHTTPScript, port)
	return startScript(t, script, port), port
}

// statusRow is one row of the SIGTSTP pipeline table.
type statusRow struct {
	name          string
	alloc, active int
}

// statusDump sends SIGTSTP and returns the pipeline table it prints (the
// header line, the dashes line and the rows up to and including TOTAL).
func statusDump(t *testing.T, p *pipyProc) []string {
	t.Helper()
	mark := p.lineMark()
	p.signal(syscall.SIGTSTP)
	p.waitLineSince(mark, "Received SIGTSTP, dumping...", 5*time.Second)
	p.waitLineSince(mark, "TOTAL", 5*time.Second)
	lines := p.linesSince(mark)
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "PIPELINE") {
			start = i
		}
	}
	if start < 0 {
		t.Fatalf("SIGTSTP output has no line starting with PIPELINE:\n%s", strings.Join(lines, "\n"))
	}
	for i := start; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "TOTAL") {
			return lines[start : i+1]
		}
	}
	t.Fatalf("SIGTSTP table has no TOTAL row after the header:\n%s", strings.Join(lines[start:], "\n"))
	return nil
}

// parseStatus checks the table layout and returns its rows (TOTAL last).
func parseStatus(t *testing.T, table []string) []statusRow {
	t.Helper()
	text := strings.Join(table, "\n")
	head := strings.Fields(table[0])
	if len(head) != 3 || head[0] != "PIPELINE" || head[1] != "#ALLOCATED" || head[2] != "#ACTIVE" {
		t.Errorf("status header = %q, want PIPELINE #ALLOCATED #ACTIVE", table[0])
	}
	if len(table) < 3 || strings.Trim(table[1], "-") != "" || len(table[1]) != len(table[0]) {
		t.Errorf("status table: the line under the header must be dashes as long as the header line (%d):\n%s", len(table[0]), text)
	}
	var rows []statusRow
	for _, l := range table[2:] {
		f := strings.Fields(l)
		if len(f) < 3 {
			t.Errorf("status row %q has fewer than 3 cells", l)
			continue
		}
		alloc, err1 := strconv.Atoi(f[len(f)-2])
		active, err2 := strconv.Atoi(f[len(f)-1])
		if err1 != nil || err2 != nil {
			t.Errorf("status row %q: counts are not numbers", l)
			continue
		}
		name := strings.TrimSpace(strings.Join(f[:len(f)-2], " "))
		if name != "TOTAL" && !strings.HasPrefix(l, "  ") {
			t.Errorf("pipeline row %q is not indented by two spaces", l)
		}
		rows = append(rows, statusRow{name, alloc, active})
	}
	if len(rows) == 0 || rows[len(rows)-1].name != "TOTAL" {
		t.Fatalf("status table does not end with a TOTAL row:\n%s", text)
	}
	var sa, sn int
	for _, r := range rows[:len(rows)-1] {
		sa += r.alloc
		sn += r.active
	}
	if tot := rows[len(rows)-1]; tot.alloc != sa || tot.active != sn {
		t.Errorf("TOTAL row = %d/%d, want the column sums %d/%d:\n%s", tot.alloc, tot.active, sa, sn, text)
	}
	return rows
}

func findStatusRow(rows []statusRow, name string) (statusRow, bool) {
	for _, r := range rows {
		if r.name == name {
			return r, true
		}
	}
	return statusRow{}, false
}

func TestSignalTstpStatusDump(t *testing.T) {
	const name = "tstp.js"
	p, port := startHTTPScript(t, name)
	rowName := fmt.Sprintf("/%s [0.0.0.0:%d]", name, port)

	// One open connection that has done one exchange.
	c := dial(t, port)
	if got := c.httpGet("/"); got != "ok" {
		t.Fatalf("response body %q, want ok", got)
	}
	table := statusDump(t, p)
	rows := parseStatus(t, table)
	r, ok := findStatusRow(rows, rowName)
	if !ok {
		t.Fatalf("status table has no row %q:\n%s", rowName, strings.Join(table, "\n"))
	}
	if r.active != 1 {
		t.Errorf("row %q: #ACTIVE = %d, want 1 (one open connection):\n%s", rowName, r.active, strings.Join(table, "\n"))
	}
	if r.alloc < 1 {
		t.Errorf("row %q: #ALLOCATED = %d, want >= 1", rowName, r.alloc)
	}
	if strings.Contains(p.out.all(), "[error]") {
		t.Errorf("errors logged around SIGTSTP")
	}

	// After the client leaves, #ACTIVE drops to 0 (the session ends
	// asynchronously: poll a few dumps, bounded).
	c.close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		table = statusDump(t, p)
		r, ok = findStatusRow(parseStatus(t, table), rowName)
		if ok && r.active == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("row %q still not #ACTIVE 0 five seconds after the client closed:\n%s", rowName, strings.Join(table, "\n"))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p.exited() {
		t.Fatalf("pipy exited after SIGTSTP (status %d)", p.exitCode)
	}
	p.stopOK()
}

func TestSignalSIGINTWaitsForSessions(t *testing.T) {
	p, port := startHTTPScript(t, "sigint.js")
	c := dial(t, port)
	if got := c.httpGet("/"); got != "ok" {
		t.Fatalf("response body %q, want ok", got)
	}
	mark := p.lineMark()
	p.signal(syscall.SIGINT)
	p.waitLineSince(mark, "Received SIGINT, shutting down...", 5*time.Second)
	p.waitLineSince(mark, "Waiting for remaining 1 sessions", 5*time.Second)
	// Listeners are closed while draining; the open session keeps working.
	expectRefused(t, port)
	if p.exited() {
		t.Fatalf("pipy exited with a session still open (status %d)", p.exitCode)
	}
	if got := c.httpGet("/again"); got != "ok" {
		t.Errorf("open keep-alive connection while draining got %q, want ok", got)
	}
	if n := p.countLines("Stopped."); n != 0 {
		t.Errorf("`Stopped.` logged while a session was still open")
	}

	c.close()
	code := p.waitExit(5 * time.Second)
	if code != 0 {
		t.Errorf("exit status = %d, want 0", code)
	}
	out := p.out.stdout()
	iStopped, iDone := strings.Index(out, "Stopped."), strings.LastIndex(out, "Done.")
	if iStopped < 0 || iDone < 0 || iDone < iStopped {
		t.Errorf("stdout must contain `Stopped.` then `Done.`")
	}
	if strings.Contains(out, "Forcing to shut down") {
		t.Errorf("a single SIGINT logged `Forcing to shut down...`")
	}
}

func TestSignalSIGINTTwiceForces(t *testing.T) {
	p, port := startHTTPScript(t, "sigint2.js")
	c := dial(t, port)
	if got := c.httpGet("/"); got != "ok" {
		t.Fatalf("response body %q, want ok", got)
	}
	mark := p.lineMark()
	p.signal(syscall.SIGINT)
	p.waitLineSince(mark, "Waiting for remaining 1 sessions", 5*time.Second)
	p.signal(syscall.SIGINT)
	p.waitLineSince(mark, "Forcing to shut down...", 5*time.Second)
	code := p.waitExit(5 * time.Second)
	if code != 0 {
		t.Errorf("exit status after the second SIGINT = %d, want 0", code)
	}
	out := p.out.stdout()
	iForce, iStopped, iDone := strings.Index(out, "Forcing to shut down..."), strings.Index(out, "Stopped."), strings.LastIndex(out, "Done.")
	if iStopped < 0 || iDone < 0 || iStopped < iForce || iDone < iStopped {
		t.Errorf("stdout must contain `Forcing to shut down...`, `Stopped.`, `Done.` in that order")
	}
	// The client connection is gone with the process.
	c.c.SetReadDeadline(time.Now().Add(ioTimeout))
	if b, err := c.br.ReadByte(); err == nil {
		t.Errorf("client connection still delivers data (%q) after a forced shutdown", b)
	}
}

func TestSignalSIGTERMDrainTimeout(t *testing.T) {
	port := freePort(t)
	script := writeScript(t, "sigterm.js", signalsHTTPScript, port)
	requirePortsFree(t, port)
	p := startPipy(t, script, "--drain-timeout=3s")
	p.waitListening(port)
	c := dial(t, port)
	if got := c.httpGet("/"); got != "ok" {
		t.Fatalf("response body %q, want ok", got)
	}
	// The connection now stays open and idle.
	mark := p.lineMark()
	start := time.Now()
	p.signal(syscall.SIGTERM)
	p.waitLineSince(mark, "Received SIGTERM, shutting down...", 5*time.Second)
	p.waitLineSince(mark, "Waiting for remaining 1 sessions", 5*time.Second)
	expectRefused(t, port)
	code := p.waitExit(15 * time.Second)
	elapsed := time.Since(start)
	if code != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0", code)
	}
	// --drain-timeout=3s: exiting much earlier means the session was not
	// waited for, much later means the timeout is not applied.
	if elapsed < 2500*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("pipy exited %v after SIGTERM with an idle connection open, want about 3 s (--drain-timeout)", elapsed.Round(10*time.Millisecond))
	}
	out := p.out.stdout()
	iStopped, iDone := strings.Index(out, "Stopped."), strings.LastIndex(out, "Done.")
	if iStopped < 0 || iDone < 0 || iDone < iStopped {
		t.Errorf("stdout must contain `Stopped.` then `Done.`")
	}
	c.close()
}
