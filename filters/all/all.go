// Package all links every filter into the binary. Filters register
// themselves in package filters; this package exists so the entry point can
// say in one import that it wants all of them, and so optional filter
// families can later live in their own packages.
package all

import (
	_ "github.com/pipy-go/pipy/filters"
)
