// Package filters is the stream engine of pipy: the four event types (Data,
// MessageStart, MessageEnd, SessionEnd), pipelines and the sessions that run
// them, contexts, the filter registry, socket plumbing shared by listeners and
// outbound connections, and one file per filter family.
//
// Everything in this package runs under a Loop's lock ("one script thread"):
// events are processed synchronously, run to completion, and no code blocks on
// the network while holding the lock. Writes are queued per connection and
// flushed by the goroutine that leaves the Loop.
//
// The package knows nothing about processes, flags or the console. It talks to
// JavaScript through the Script interface, which package scripts implements;
// it imports goja only to hold script values (callbacks, heads).
package filters
