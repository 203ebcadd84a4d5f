package filters_test

import (
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
)

type hookFunc func()

func (f hookFunc) BeforeLeave() { f() }

// Hooks run once, when the loop is left, in order, including those a hook
// registers; a panicking hook is reported and the others still run, and
// the loop is usable afterwards.
func TestLoopAtLeave(t *testing.T) {
	l := filters.NewLoop()
	var got []string
	var panics []any
	l.OnPanic = func(v any, _ []byte) { panics = append(panics, v) }
	l.Enter()
	l.AtLeave(hookFunc(func() {
		got = append(got, "a")
		l.AtLeave(hookFunc(func() { got = append(got, "c") }))
	}))
	l.AtLeave(hookFunc(func() { panic("boom") }))
	l.AtLeave(hookFunc(func() { got = append(got, "b") }))
	if len(got) != 0 {
		t.Fatalf("hooks ran before Leave: %v", got)
	}
	l.Leave()
	if s := strings.Join(got, ""); s != "abc" {
		t.Fatalf("hooks ran as %q, want abc", s)
	}
	if len(panics) != 1 || panics[0] != "boom" {
		t.Fatalf("panics %v, want [boom]", panics)
	}
	l.Run(func() {})
	if s := strings.Join(got, ""); s != "abc" {
		t.Fatalf("a hook ran twice: %q", s)
	}
}
