package test

// Repository conventions, checked the way CoreDNS's presubmit tests check
// theirs: no leftover files, a doc comment on every package, every filter
// documented in the registry, a fuzz target for every decoder, and imports
// that only run downward.

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
	_ "github.com/pipy-go/pipy/filters/all"
)

const module = "github.com/pipy-go/pipy"

// goList runs go list in the repository with a template, one line per
// package of the main module.
func goList(t *testing.T, format string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", format, "./...")
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// No editor or merge leftovers are committed.
func TestConventionNoLeftoverFiles(t *testing.T) {
	cmd := exec.Command("git", "ls-files")
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	leftover := regexp.MustCompile(`(\.orig|\.rej|\.bak|\.swp|~|\.#[^/]*)$`)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := sc.Text(); leftover.MatchString(f) {
			t.Errorf("leftover file committed: %s", f)
		}
	}
}

// Every package says at its top what it is for.
func TestConventionPackageDocs(t *testing.T) {
	for _, line := range goList(t, "{{.ImportPath}}\t{{.Name}}\t{{.Doc}}") {
		parts := strings.SplitN(line, "\t", 3)
		path, name, doc := parts[0], parts[1], parts[2]
		want := "Package " + name + " "
		if name == "main" {
			want = "Command "
		}
		if !strings.HasPrefix(doc, want) {
			t.Errorf("%s: package doc %q should start with %q", path, doc, want)
		}
	}
}

// Every filter is documented in the registry: a description, an argument
// synopsis naming its parameters, help for each parameter, and the file
// that registered it.
func TestConventionFiltersDocumented(t *testing.T) {
	word := regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	// The 2021 help text, which --help-filters reproduces (spec cli.md
	// §3), names these filters' parameter "callback" while their synopsis
	// says "[replacement]".
	original := map[string]bool{"replaceMessageBody": true, "replaceMessage": true}
	for _, s := range filters.All() {
		if original[s.Name] {
			continue
		}
		if s.Description == "" || s.Source == "" || s.Make == nil {
			t.Errorf("%s: description %q, source %q", s.Name, s.Description, s.Source)
		}
		for _, p := range s.Params {
			if p.Type == "" || p.Help == "" {
				t.Errorf("%s: parameter %s lacks a type or help", s.Name, p.Name)
			}
			if !strings.Contains(s.Args, p.Name) {
				t.Errorf("%s: parameter %s is not in the synopsis (%s)", s.Name, p.Name, s.Args)
			}
		}
		documented := map[string]bool{}
		for _, p := range s.Params {
			documented[p.Name] = true
		}
		for _, a := range word.FindAllString(s.Args, -1) {
			if !documented[a] && !documented[strings.TrimRight(a, "0123456789")] {
				t.Errorf("%s: argument %s of (%s) has no parameter help", s.Name, a, s.Args)
			}
		}
	}
}

// Every decoder (a filter parsing bytes from the network: decode*,
// decompress*, proxySOCKS4) is named by a fuzz target of its package.
func TestConventionDecodersFuzzed(t *testing.T) {
	root := repoRoot(t)
	fuzzTarget := regexp.MustCompile(`(?m)^func (Fuzz\w+)\(f \*testing\.F\)`)
	for _, s := range filters.All() {
		if !strings.HasPrefix(s.Name, "decode") && !strings.HasPrefix(s.Name, "decompress") && s.Name != "proxySOCKS4" {
			continue
		}
		dir := filepath.Join(root, filepath.Dir(s.Source))
		tests, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
		found := false
		for _, f := range tests {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range fuzzTarget.FindAllSubmatch(b, -1) {
				name := strings.ToLower(string(m[1]))
				if name == "fuzz"+strings.ToLower(s.Name) || s.Name == "proxySOCKS4" && name == "fuzzsocks4" ||
					s.Name == "decompressMessageBody" && name == "fuzzdecompress" {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("%s (%s) has no fuzz target Fuzz%s in %s", s.Name, s.Source, strings.ToUpper(s.Name[:1])+s.Name[1:], dir)
		}
	}
}

// Imports only run downward: cmd -> master/worker/console -> scripts ->
// filter families -> the engine; ipc and logging are leaves. Test files
// may import anything (filtertest brings scripts to the families' tests).
func TestConventionImportsRunDownward(t *testing.T) {
	// A rule gives, for the packages matching pkg, the packages of the
	// module they may import. "x" matches x itself, "x/..." x and every
	// package below it.
	type rule struct {
		pkg     string
		allowed []string
	}
	rules := []rule{
		{"cmd/...", []string{"..."}},
		{"test", []string{"filters/..."}}, // the conventions test reads the registry
		{"filters/filtertest", []string{"filters/...", "scripts/..."}},
		{"filters/all", []string{"filters/..."}},
		{"filters", nil},                                         // the engine imports nothing of ours
		{"filters/http", []string{"filters", "filters/http/h2"}}, // the HTTP family and its frame layer
		{"filters/...", []string{"filters"}},                     // a family imports the engine only
		{"scripts/...", []string{"scripts/...", "filters/..."}},
		{"console/...", []string{"console/...", "scripts/...", "filters/...", "logging"}},
		{"worker/...", []string{"scripts/...", "filters/...", "ipc/...", "logging"}},
		{"master/...", []string{"master/...", "console/...", "scripts/...", "filters/...", "ipc/...", "logging"}},
		{"ipc/...", []string{"ipc/..."}},
		{"logging", nil},
		{"docs", []string{"scripts/...", "filters/..."}},
		{"bench/...", []string{"bench/..."}},
		{"packaging/...", nil},
	}
	match := func(pattern, pkg string) bool {
		if p, ok := strings.CutSuffix(pattern, "/..."); ok {
			return pkg == p || strings.HasPrefix(pkg, p+"/")
		}
		return pattern == "..." || pkg == pattern
	}
	for _, line := range goList(t, "{{.ImportPath}} {{join .Imports \" \"}}") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		var r *rule
		for i := range rules {
			if match(rules[i].pkg, pkg) {
				r = &rules[i]
				break
			}
		}
		if r == nil {
			t.Errorf("%s: no import rule for this package; add one to the conventions test", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			ok := false
			for _, a := range r.allowed {
				ok = ok || match(a, dep)
			}
			if !ok {
				t.Errorf("%s imports %s: imports run cmd -> master/worker/console -> scripts -> filter families -> the engine (rule %q allows %v)", pkg, dep, r.pkg, r.allowed)
			}
		}
	}
}
