package test

// Tasks (README.md §1.9) and the print/dump debugging filters (README.md
// §1.11, filters.md).

import (
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tickLine matches the console.log line of tick n exactly (so that `tick 1`
// does not match `tick 10`).
func tickLine(n int) func(string) bool {
	suffix := fmt.Sprintf("[pjs] tick %d", n)
	return func(l string) bool { return strings.HasSuffix(strings.TrimRight(l, " "), suffix) }
}

func TestTaskRepeatsWhenSessionEnds(t *testing.T) {
	script := writeScript(t, "task_repeat.js", `pipy({_n: 0, _g: {n: 0}})

.task('0.1s')
  .onMessageStart(() => { _g.n++; console.log('tick ' + _g.n) })
  .replaceMessage(() => new SessionEnd)
`, 0)
	p := startPipy(t, script)
	start := time.Now()
	for n := 1; n <= 3; n++ {
		p.waitFor(fmt.Sprintf("`[pjs] tick %d`", n), tickLine(n), 5*time.Second)
	}
	// Runs at start and then every 0.1 s: three ticks take about 0.2 s.
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("three ticks of a 0.1 s task took %v", d.Round(time.Millisecond))
	}
	// Ticks come in order, each once.
	lines, _ := p.out.linesFrom(0)
	seen := 0
	for _, l := range lines {
		if m := regexp.MustCompile(`\[pjs\] tick (\d+)$`).FindStringSubmatch(strings.TrimRight(l, " ")); m != nil {
			seen++
			if m[1] != fmt.Sprint(seen) {
				t.Errorf("tick line %d is %q, want tick %d", seen, l, seen)
				break
			}
		}
	}
	p.stopOK()
}

func TestTaskWithoutSessionEndRunsOnce(t *testing.T) {
	script := writeScript(t, "task_once.js", `pipy({_n: 0, _g: {n: 0}})

.task('0.1s')
  .onMessageStart(() => { _g.n++; console.log('tick ' + _g.n) })
`, 0)
	p := startPipy(t, script)
	p.waitFor("`[pjs] tick 1`", tickLine(1), 5*time.Second)
	mark := p.lineMark()
	// Five more intervals: the session never ends, so no new run may start.
	if l, ok := p.lookLineSince(mark, "[pjs] tick", 600*time.Millisecond); ok {
		t.Errorf("a task whose session never ends ran again: %q", l)
	}
	// Shutdown: whether the never-ending task session is counted as a
	// session to drain is unspecified (cli.md §6 "stop all tasks", "a
	// running task session may finish"), so a second SIGINT is allowed.
	mark = p.lineMark()
	p.signal(syscall.SIGINT)
	if _, ok := p.lookLineSince(mark, "Stopped.", 2500*time.Millisecond); !ok {
		t.Logf("note: the never-ending task session holds up a graceful shutdown; forcing")
		p.signal(syscall.SIGINT)
	}
	if code := p.waitExit(5 * time.Second); code != 0 {
		t.Errorf("exit status after SIGINT = %d, want 0", code)
	}
}

func TestTaskReplacedOnReload(t *testing.T) {
	const name = "task_reload.js"
	script := writeScript(t, name, `pipy()

.task('0.1s')
  .onMessageStart(() => console.log('old tick'))
  .replaceMessage(() => new SessionEnd)
`, 0)
	p := startPipy(t, script)
	p.waitForCount("[pjs] old tick", 2, 5*time.Second)
	rewriteScript(t, script, `pipy()

.task('0.1s')
  .onMessageStart(() => console.log('new tick'))
  .replaceMessage(() => new SessionEnd)
`)
	reloadExpect(t, p, name, true)
	mark := p.lineMark()
	p.waitLineSince(mark, "[pjs] new tick", 5*time.Second)
	p.waitForCount("[pjs] new tick", 3, 5*time.Second)
	// From the first "new tick" on, the old task must be stopped (one
	// old tick may have been in flight at the switch).
	lines, _ := p.out.linesFrom(0)
	first := -1
	for i, l := range lines {
		if strings.Contains(l, "[pjs] new tick") {
			first = i
			break
		}
	}
	old := 0
	for _, l := range lines[first+1:] {
		if strings.Contains(l, "[pjs] old tick") {
			old++
		}
	}
	if old > 1 {
		t.Errorf("the old task kept running after the reload (%d `old tick` lines after the first `new tick`)", old)
	}
	p.stopOK()
}

// ---------------------------------------------------------------------------
// print and dump

func TestPrintEchoesAndPrints(t *testing.T) {
	port := freePort(t)
	script := writeScript(t, "print.js", `pipy()

.listen(PORT)
  .print()
`, port)
	p := startScript(t, script, port)
	c := dial(t, port)
	const text = "hello from the print test"
	c.send(text + "\n")
	if got := string(c.readN(len(text) + 1)); got != text+"\n" {
		t.Errorf("echo = %q, want %q", got, text+"\n")
	}
	p.waitFor(fmt.Sprintf("a stdout line %q", text), func(l string) bool { return l == text }, 5*time.Second)
	if !strings.Contains(p.out.stdout(), text+"\n") {
		t.Errorf("the printed line is not on stdout")
	}
	c.close()
	p.stopOK()
}

func TestDumpTagged(t *testing.T) {
	port := freePort(t)
	script := writeScript(t, "dump.js", `pipy()

.listen(PORT)
  .dump('tag')
`, port)
	p := startScript(t, script, port)
	c := dial(t, port)
	const text = "hello dump" // 10 bytes
	c.send(text)
	if got := string(c.readN(len(text))); got != text {
		t.Errorf("echo = %q, want %q", got, text)
	}
	want := fmt.Sprintf("[tag] Data [size=%d]", len(text))
	l := p.waitFor(fmt.Sprintf("a [dump] line containing %q", want), func(l string) bool {
		return strings.Contains(l, "[dump]") && strings.Contains(l, want)
	}, 5*time.Second)
	if !strings.Contains(p.out.stdout(), l) {
		t.Errorf("the dump line is not on stdout")
	}
	// The hex dump shows the bytes: "68 65 6C 6C 6F" is "hello".
	p.waitLineSince(0, "68 65 6C 6C 6F 20 64 75 6D 70", 5*time.Second)
	c.closeWrite()
	p.waitFor("a [dump] SessionEnd line", func(l string) bool {
		return strings.Contains(l, "[dump]") && strings.Contains(l, "[tag] SessionEnd")
	}, 5*time.Second)
	c.expectEOF(5 * time.Second)
	p.stopOK()
}
