package filters_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

func TestListText(t *testing.T) {
	text := filters.ListText()
	if !strings.HasPrefix(text, "\n") || !strings.HasSuffix(text, "\n\n") {
		t.Fatalf("list must start and end with an empty line: %q", text)
	}
	lines := strings.Split(strings.TrimSuffix(strings.TrimPrefix(text, "\n"), "\n\n"), "\n")
	all := filters.All()
	if len(lines) != len(all) {
		t.Fatalf("%d lines for %d filters", len(lines), len(all))
	}
	nw, aw := 0, 0
	for _, s := range all {
		nw = max(nw, len(s.Name))
		aw = max(aw, len("("+s.Args+")"))
	}
	for i, s := range all {
		line := lines[i]
		// name column: longest name + 1
		if !strings.HasPrefix(line, s.Name) || strings.TrimRight(line[:nw+1], " ") != s.Name || line[nw+1] != '(' {
			t.Errorf("name column of %q (want width %d)", line, nw+1)
			continue
		}
		// argument column: longest argument list + 3
		args := "(" + s.Args + ")"
		rest := line[nw+1:]
		if !strings.HasPrefix(rest, args) || strings.TrimRight(rest[:aw+3], " ") != args {
			t.Errorf("argument column of %q (want width %d)", line, aw+3)
			continue
		}
		if rest[aw+3:] != s.Description {
			t.Errorf("description of %q", line)
		}
		if strings.HasSuffix(line, " ") {
			t.Errorf("trailing spaces in %q", line)
		}
	}
	want := "connect                    (target[, options])                         Sends data to a remote endpoint and receives data from it"
	if lines[0] != want {
		t.Errorf("connect line\n%q\nwant\n%q", lines[0], want)
	}
}

func TestRegistryDescriptions(t *testing.T) {
	all := filters.All()
	if len(all) == 0 {
		t.Fatal("no filters registered")
	}
	seen := map[string]bool{}
	for _, s := range all {
		if seen[s.Name] {
			t.Errorf("%s listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Description == "" || strings.Contains(s.Description, "\n") {
			t.Errorf("%s: description %q", s.Name, s.Description)
		}
		if s.Make == nil {
			t.Errorf("%s: no Make", s.Name)
		}
		if filters.Lookup(s.Name) != s {
			t.Errorf("Lookup(%s)", s.Name)
		}
		for _, p := range s.Params {
			if p.Name == "" || p.Type == "" || p.Help == "" {
				t.Errorf("%s: incomplete param %+v", s.Name, p)
			}
		}
	}
	if filters.Lookup("noSuchFilter") != nil {
		t.Error("Lookup of an unknown filter")
	}
	// listing order: the original's order for the filters it knew
	var names []string
	for _, s := range all {
		names = append(names, s.Name)
	}
	order := "connect decompressMessageBody demux decodeDubbo decodeHttpBodilessResponse decodeHttpRequest decodeHttpResponse dummy dump encodeDubbo encodeHttpRequest encodeHttpResponse exec fork link mux onSessionStart onData onMessageStart onMessageEnd onSessionEnd onMessageBody onMessage print proxySOCKS4 replaceSessionStart replaceData replaceMessageStart replaceMessageEnd replaceSessionEnd replaceMessageBody replaceMessage tap use wait"
	var known []string
	for _, n := range strings.Fields(order) {
		if seen[n] {
			known = append(known, n)
		}
	}
	if strings.Join(names[:len(known)], " ") != strings.Join(known, " ") {
		t.Errorf("order %v", names)
	}
	// filters the original did not have follow, by name
	rest := names[len(known):]
	if !sort.StringsAreSorted(rest) {
		t.Errorf("later filters not sorted: %v", rest)
	}
}

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("registering a duplicate name did not panic")
		}
	}()
	filters.Register(&filters.Spec{Name: "dump", Description: "dup"})
}

func TestHelpText(t *testing.T) {
	text := filters.HelpText()
	if !strings.HasPrefix(text, "\n") || !strings.HasSuffix(text, "\n\n") {
		t.Fatalf("help must start with an empty line and end with one: %q", text[max(0, len(text)-20):])
	}
	lines := strings.Split(text, "\n")
	for _, s := range filters.All() {
		title := s.Name + "(" + s.Args + ")"
		i := -1
		for j, l := range lines {
			if l == title {
				i = j
				break
			}
		}
		if i < 0 {
			t.Errorf("no title line %q", title)
			continue
		}
		if lines[i+1] != strings.Repeat("=", len(title)) {
			t.Errorf("%s: underline %q", s.Name, lines[i+1])
		}
		if lines[i+2] != "" || lines[i+3] != "  "+s.Description || lines[i+4] != "" {
			t.Errorf("%s: description block %q", s.Name, lines[i+2:i+5])
		}
		if len(s.Params) > 0 {
			w := 0
			for _, p := range s.Params {
				w = max(w, len(p.Name))
			}
			for k, p := range s.Params {
				want := "  " + p.Name + strings.Repeat(" ", w-len(p.Name)) + " - <" + p.Type + "> " + p.Help
				if lines[i+5+k] != want {
					t.Errorf("%s: param line %q, want %q", s.Name, lines[i+5+k], want)
				}
			}
			end := i + 5 + len(s.Params)
			if lines[end] != "" || lines[end+1] != "" {
				t.Errorf("%s: params not followed by two empty lines", s.Name)
			}
		}
	}
	fork := "fork(target[, sessionData])\n===========================\n\n  Sends copies of events to other pipeline sessions\n\n" +
		"  target      - <string> Name of the pipeline to send event copies to\n" +
		"  sessionData - <object/array/function> Data of `this` in the forked sessions\n\n\n"
	if !strings.Contains(text, fork) {
		t.Errorf("fork block missing or different")
	}
}

// Every registered filter can be declared by a script; argument errors name
// the filter.
func TestRegistryArgumentErrors(t *testing.T) {
	cases := map[string]string{
		"pipy().pipeline('p').link(42)":                "link",
		"pipy().pipeline('p').link('p', 42)":           "link",
		"pipy().pipeline('p').fork()":                  "fork",
		"pipy().pipeline('p').fork('p', 42)":           "fork",
		"pipy().pipeline('p').wait()":                  "wait",
		"pipy().pipeline('p').onMessage('x')":          "onMessage",
		"pipy().pipeline('p').onData()":                "onData",
		"pipy().decodeHttpRequest()":                   "no pipeline found",
		"pipy().pipeline('p').link('nowhere')":         "nowhere",
		"pipy().pipeline('p').fork('p').pipeline('q')": "recursive",
	}
	for src, want := range cases {
		err := filtertest.LoadErr(t, src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one mentioning %q", src, err, want)
		}
	}
}
