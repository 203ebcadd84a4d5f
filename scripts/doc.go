// Package scripts is the JavaScript side of pipy: it loads a root script and
// the modules it uses into a goja runtime, turns pipy({...}) and its chained
// calls into pipelines of filters, resolves context variables per session
// (a with(__ctx) scope backed by a goja.DynamicObject), and provides the
// script API classes (Data, Message, the event classes, console, os, algo).
//
// It sits above the filter engine and below the worker, the master and the
// console; test/conventions_test.go checks that imports only run that way.
package scripts
