package scripts_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pipy-go/pipy/scripts"
)

func TestGraphText(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy()
.listen(8080).fork('a').link('b')
.task('1s').link('b')
.pipeline('a').decodeHttpRequest().link('c')
.pipeline('b').dump()
.pipeline('c').encodeHttpResponse()
.pipeline('orphan').replaceMessage(() => null)
`)
	g := scripts.GraphText(prog, prog.Root)
	lines := strings.Split(g, "\n")
	trimmed := make([]string, len(lines))
	for i, l := range lines {
		trimmed[i] = strings.TrimRight(strings.TrimLeft(l, " |"), " ")
	}
	has := func(s string) bool {
		for _, l := range trimmed {
			if l == s {
				return true
			}
		}
		return false
	}
	for _, want := range []string{
		"Module /main.js",
		"[Listen on 0.0.0.0:8080]",
		"[Task #1 (every 1s)]",
		"[orphan]",
		"fork", "link", "dump", "decodeHttpRequest", "encodeHttpResponse", "replaceMessage",
	} {
		if !has(want) {
			t.Errorf("graph has no line %q:\n%s", want, g)
		}
	}
	for _, want := range []string{"|--> [a]", "|--> [b]", "|--> [c]"} {
		if !strings.Contains(g, want) {
			t.Errorf("graph has no %q:\n%s", want, g)
		}
	}
	// Linked pipelines are drawn inline, not as roots.
	for _, notRoot := range []string{"[a]", "[b]", "[c]"} {
		if has(notRoot) {
			t.Errorf("linked pipeline %s drawn as a root:\n%s", notRoot, g)
		}
	}
	// Roots in name order; filters under the pipeline they belong to.
	order := []string{"[Listen on 0.0.0.0:8080]", "fork", "|--> [a]", "decodeHttpRequest", "|--> [c]",
		"encodeHttpResponse", "|--> [b]", "dump", "[Task #1 (every 1s)]", "[orphan]", "replaceMessage"}
	pos := 0
	for _, want := range order {
		i := strings.Index(g[pos:], want)
		if i < 0 {
			t.Errorf("%q missing or out of order in:\n%s", want, g)
			break
		}
		pos += i + len(want)
	}
	// Sub-pipelines are indented under the linking filter.
	for _, l := range lines {
		if strings.Contains(l, "decodeHttpRequest") && !strings.HasPrefix(strings.TrimSpace(l), "|") {
			t.Errorf("sub-pipeline filter not drawn under its linking filter: %q", l)
		}
		if strings.Contains(l, "replaceMessage") && strings.Contains(l, "|") {
			t.Errorf("root pipeline filter drawn as a sub-pipeline: %q", l)
		}
	}
}

func TestGraphTextTitleUnderline(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy().listen(8080).dump()`)
	g := scripts.GraphText(prog, prog.Root)
	lines := strings.Split(strings.TrimLeft(g, "\n"), "\n")
	if len(lines) < 2 || lines[0] != "Module /main.js" || lines[1] != strings.Repeat("=", len("Module /main.js")) {
		t.Errorf("graph:\n%s", g)
	}
}

func TestGraphTextOfRecursiveGraphTerminates(t *testing.T) {
	h := newHarness(t)
	err := h.loadErr(`pipy().listen(8080).link('a').pipeline('a').link('b').pipeline('b').link('a')`)
	var ge *scripts.GraphError
	if !errors.As(err, &ge) {
		t.Fatalf("%T %v", err, err)
	}
	if !strings.HasPrefix(ge.Message, "recursive pipeline: ") {
		t.Errorf("message %q", ge.Message)
	}
	if !strings.Contains(ge.Graph, "[Listen on 0.0.0.0:8080]") || !strings.Contains(ge.Graph, "|--> [a]") {
		t.Errorf("graph:\n%s", ge.Graph)
	}
}
