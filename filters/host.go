package filters

import (
	"github.com/dop251/goja"
	"github.com/hashicorp/go-hclog"
)

// Script is the bridge to the JavaScript runtime of one program; package
// scripts implements it. All methods run under the Loop's lock.
type Script interface {
	// Call runs fn with ctx as the current context. An exception thrown by the
	// script comes back as an error whose text holds the message, the source
	// location and the JS stack.
	Call(ctx *Context, fn goja.Callable, args ...goja.Value) (goja.Value, error)
	// EventValue returns the script object for an event given to a callback.
	// A Data handed to a script is marked as escaped.
	EventValue(evt Event) goja.Value
	// MessageValue returns the script object for a Message.
	MessageValue(m *Message) goja.Value
	// HeadValue returns a head as a script value, converting decoded Go
	// heads (HTTP, Dubbo) to plain objects.
	HeadValue(head any) goja.Value
	// Runtime returns the goja runtime.
	Runtime() *goja.Runtime
}

// Env is what sessions need from the process they run in: the loop that
// serialises all script work, and the logger.
type Env struct {
	Loop *Loop
	Log  hclog.Logger
	// Print writes a raw output line (print, dump) without a level prefix.
	Print func(line string)
	// Restart asks for a reload of the running program (pipy.restart()).
	Restart func()
}
