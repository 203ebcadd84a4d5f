package url

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that its result is
// consistent: derived properties agree with the fields, and a URL with a
// host is reproduced exactly by parsing its href again.
func FuzzParse(f *testing.F) {
	for _, tc := range parseTests {
		f.Add(tc.raw, tc.base)
	}
	f.Fuzz(func(t *testing.T, raw, base string) {
		u, err := Parse(raw, base)
		if err != nil {
			if u != nil {
				t.Fatalf("Parse(%q, %q) returned a URL and %v", raw, base, err)
			}
			return
		}
		if u.Pathname == "" || strings.ContainsAny(u.Pathname, "?#") {
			t.Fatalf("Parse(%q, %q): pathname %q", raw, base, u.Pathname)
		}
		if u.Search != "" && (u.Search[0] != '?' || strings.Contains(u.Search, "#")) {
			t.Fatalf("Parse(%q, %q): search %q", raw, base, u.Search)
		}
		if u.Hash != "" && u.Hash[0] != '#' {
			t.Fatalf("Parse(%q, %q): hash %q", raw, base, u.Hash)
		}
		if !strings.HasSuffix(u.Protocol, ":") || strings.ContainsAny(u.Host, "/?#@") {
			t.Fatalf("Parse(%q, %q): protocol %q host %q", raw, base, u.Protocol, u.Host)
		}
		if u.Path() != u.Pathname+u.Search || "?"+u.Query() != u.Search && u.Search != "" {
			t.Fatalf("Parse(%q, %q): inconsistent path/query", raw, base)
		}
		if u.Host == "" {
			return
		}
		v, err := Parse(u.Href(), "")
		if err != nil || *v != *u {
			t.Fatalf("Parse(%q, %q) = %+v\nbut Parse(href %q) = %+v, %v", raw, base, u, u.Href(), v, err)
		}
	})
}
