package console

// The static graph reads the registry: the tests need the standard filters.
import _ "github.com/pipy-go/pipy/filters/all"
