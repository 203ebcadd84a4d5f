package debug_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

func TestPrintLines(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').print()`)
	r := w.Session("p")
	long := strings.Repeat("a", 150)
	r.Feed(filtertest.Data("line1\r\nli"), filtertest.Data("ne2\n"+long+"\n"), filtertest.Data("tab\there"), &filters.MessageStart{}, filters.TheMessageEnd,
		filtertest.Data("héllo wörld\nunfinished"), &filters.SessionEnd{})
	want := []string{"line1", "line2", strings.Repeat("a", 100), strings.Repeat("a", 50), "tabhere", "héllo wörld", "unfinished"}
	if got := w.Printed(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("printed %q\nwant    %q", got, want)
	}
	// every event passes
	if got := r.Kinds(); got != "D(9) D(155) D(8) MS ME D(24) SE" {
		t.Fatalf("events %s", got)
	}
}

func TestPrintExactly100(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').print()`)
	r := w.Session("p")
	r.Feed(filtertest.Data(strings.Repeat("b", 100)+"\n"), filters.TheMessageEnd)
	// a line of exactly 100 characters ends there; the LF then ends an
	// empty line (the original behaves the same way)
	got := w.Printed()
	if len(got) < 1 || got[0] != strings.Repeat("b", 100) {
		t.Fatalf("printed %q", got)
	}
	for _, l := range got[1:] {
		if l != "" {
			t.Fatalf("printed %q", got)
		}
	}
}

var dumpPrefix = `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[dump\] \[context=(\d+)\] `

func TestDumpFormat(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').dump('tag1').pipeline('q').dump().pipeline('f').dump(() => 'fn' + 1)`)
	r := w.Session("p")
	r.Feed(filtertest.Data("hello\x01\x02 world, this is a test of dump output!!\n"), filters.NewData(),
		&filters.MessageStart{}, filters.TheMessageEnd, &filters.SessionEnd{})
	got := w.Printed()
	want := []string{
		dumpPrefix + `\[tag1\] Data \[size=47\]$`,
		`^-{68}$`,
		`^68 65 6C 6C 6F 01 02 20 77 6F 72 6C 64 2C 20 74  \| hello\?\? world, t$`,
		`^68 69 73 20 69 73 20 61 20 74 65 73 74 20 6F 66  \| his is a test of$`,
		`^20 64 75 6D 70 20 6F 75 74 70 75 74 21 21 0A  -  \|  dump output!!\?\.$`,
		`^-{68}$`,
		dumpPrefix + `\[tag1\] Data \[size=0\]$`,
		dumpPrefix + `\[tag1\] MessageStart$`,
		dumpPrefix + `\[tag1\] MessageEnd$`,
		dumpPrefix + `\[tag1\] SessionEnd \[0\] $`,
	}
	if len(got) != len(want) {
		t.Fatalf("printed %d lines:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i, re := range want {
		m := regexp.MustCompile(re).FindStringSubmatch(got[i])
		if m == nil {
			t.Errorf("line %d: %q does not match %s", i, got[i], re)
			continue
		}
		if len(m) > 1 && m[1] != fmt.Sprint(r.Ctx.ID) {
			t.Errorf("line %d: context %s, want %d", i, m[1], r.Ctx.ID)
		}
	}
	if got := r.Kinds(); got != "D(47) D(0) MS ME SE" {
		t.Fatalf("events %s", got)
	}

	// no tag; SessionEnd with an error shows its code
	w.ResetPrints()
	r = w.Session("q")
	r.Feed(&filters.MessageStart{}, &filters.SessionEnd{Err: filters.ConnectionRefused})
	got = w.Printed()
	if len(got) != 2 || !regexp.MustCompile(dumpPrefix+`MessageStart$`).MatchString(got[0]) ||
		!regexp.MustCompile(dumpPrefix+`SessionEnd \[5\] `).MatchString(got[1]) {
		t.Fatalf("untagged: %q", got)
	}

	// a function tag is evaluated per event
	w.ResetPrints()
	r = w.Session("f")
	r.Feed(filters.TheMessageEnd)
	if got := w.Printed(); len(got) != 1 || !regexp.MustCompile(dumpPrefix+`\[fn1\] MessageEnd$`).MatchString(got[0]) {
		t.Fatalf("function tag: %q", got)
	}
}

// pipy-go may print the head of a MessageStart after the event name.
func TestDumpMessageStartHead(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').decodeHttpRequest().dump()`)
	r := w.Session("p")
	r.FeedString("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
	got := w.Printed()
	if len(got) != 2 {
		t.Fatalf("printed %q", got)
	}
	re := regexp.MustCompile(dumpPrefix + `MessageStart (\{.*\})$`)
	m := re.FindStringSubmatch(got[0])
	if m == nil {
		t.Fatalf("line %q", got[0])
	}
	for _, part := range []string{`"method":"GET"`, `"path":"/x"`, `"headers":{"host":"h"}`} {
		if !strings.Contains(m[2], part) {
			t.Errorf("head %s lacks %s", m[2], part)
		}
	}
}

func TestDummy(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').dummy()`)
	r := w.Session("p")
	r.Feed(filtertest.Data("x"), &filters.MessageStart{}, filters.TheMessageEnd, &filters.SessionEnd{})
	if len(r.Evts) != 0 || r.S.Done() {
		t.Fatalf("dummy output %s", r.Kinds())
	}
}
