// Package filters is pipy's stream engine: the four event types (Data,
// MessageStart, MessageEnd, SessionEnd), pipelines and the sessions that run
// them, contexts, the filter registry, the Loop that serialises a worker's
// script work, connections (Conn, Inbound and its Downstream view), listen
// limits and TLS settings. Filters themselves live in families under
// filters/ (filters/http, filters/flow, ...), each registering its filters
// with Register in its init; filters/all assembles the standard set. The
// generated docs/filters.md names the source file of every filter.
//
// # How an event travels
//
// A worker reads bytes from a socket and, inside the Loop (Loop.Run), hands
// them as a Data event to the Session of the listening pipeline. A session
// chains one Sink per filter, made from each filter's Template; each Input
// runs to completion and calls the next filter's Input zero or more times.
// Sub-pipelines (link, fork, demux, mux, use, connect's reply path) are more
// sessions, fed by their parent filter and feeding it back. What reaches the
// end of a session goes to its output: for a listening pipeline, the
// connection's write queue, flushed by the goroutine that leaves the Loop.
//
// Everything in this package runs under the Loop's lock ("one script
// thread"): no code blocks on the network while holding it. A Go panic in a
// filter ends the session that ran it (Session.Input recovers it), never the
// worker.
//
// # Who may import it
//
// The engine imports no script, worker, master or console code: it talks to
// JavaScript through the Script interface, which package scripts implements,
// and imports goja only to hold script values (callbacks, heads). Filter
// families import the engine and nothing above it.
package filters
