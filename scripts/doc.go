// Package scripts is the JavaScript side of pipy: it loads a root script and
// the modules it uses into a goja runtime, turns pipy({...}) and its chained
// calls into pipelines of filters, resolves context variables per session
// (a with(__ctx) scope backed by a goja.DynamicObject), and provides the
// script API classes (Data, Message, the event classes, console, os, algo).
//
// It imports filters (the engine) and is imported by worker and cmd.
package scripts
