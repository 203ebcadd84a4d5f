// Package apidoc describes the script API (globals, classes, functions) for
// the generated reference in docs/. Each API package exports its Group next
// to its code, so the reference cannot drift from what is registered.
//
// It imports nothing but the standard library.
package apidoc

import (
	"fmt"
	"strings"
)

// Entry documents one member: a constructor, method, property or function.
type Entry struct {
	// Signature as a script writes it, e.g. "new crypto.Hash(algorithm)",
	// "hash.update(data[, encoding])", "url.hostname".
	Signature string
	// Doc says what it does, what it returns and what it throws.
	Doc string
}

// Group documents one global or class.
type Group struct {
	Name    string // e.g. "crypto.Hash", "JSON", "algo.URLRouter"
	Doc     string // one paragraph
	Entries []Entry
}

// Markdown renders groups as a reference section.
func Markdown(groups []Group) string {
	var b strings.Builder
	for _, g := range groups {
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", g.Name, strings.TrimSpace(g.Doc))
		for _, e := range g.Entries {
			fmt.Fprintf(&b, "- `%s`: %s\n", e.Signature, strings.TrimSpace(e.Doc))
		}
		b.WriteString("\n")
	}
	return b.String()
}
