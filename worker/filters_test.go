package worker

// The tests load scripts that use the standard filter set.
import _ "github.com/pipy-go/pipy/filters/all"
