// Package url implements the script global `URL` (spec api.md §12): a
// simple URL parser without percent-decoding or dot-segment removal.
//
// The package has two layers: the pure Go type [URL] with [Parse], and the
// goja binding [New], which returns the constructor a script sees as `URL`.
//
// Imports: the standard library, github.com/dop251/goja and
// github.com/pipy-go/pipy/scripts/apidoc only; the scripts package installs
// New(rt) as the global `URL`.
package url

import "github.com/pipy-go/pipy/scripts/apidoc"

// Docs documents the `URL` class for the generated API reference.
var Docs = []apidoc.Group{
	{
		Name: "URL",
		Doc: "A parsed URL. The parser is simple: nothing is percent-decoded or normalized and dot segments are kept. " +
			"All properties are read-only strings; the examples are for `https://u:p@example.com:8443/a/b?x=1&y=2#frag`.",
		Entries: []apidoc.Entry{
			{Signature: "new URL(url[, base])", Doc: "parses url (its string form). If url has no host (no `//host`) and base is given, " +
				"the protocol and host come from base; an empty url takes base's path; a url that is only `?query` and/or `#hash` keeps base's pathname " +
				"(and base's query if it has none); a relative path is appended to base's path up to its last `/` " +
				"(`new URL('c/d?q', 'http://h.com/a/b').href` is `http://h.com/a/c/d?q`). " +
				"Throws a TypeError `requires 1 or more arguments` without arguments, and `invalid URL` if url or base contains a control character."},
			{Signature: "url.protocol", Doc: "the scheme with its colon, `https:`; `http:` when the URL has none."},
			{Signature: "url.auth", Doc: "the user information before `@`, `u:p`; `''` when absent."},
			{Signature: "url.username", Doc: "auth up to its first `:`, `u`; `''` when absent."},
			{Signature: "url.password", Doc: "auth after its first `:`, `p`; `''` when absent."},
			{Signature: "url.host", Doc: "the host as written, with the port only if written: `example.com:8443`."},
			{Signature: "url.hostname", Doc: "the host without the port, `example.com` (an IPv6 literal keeps its brackets)."},
			{Signature: "url.port", Doc: "the port as written, `8443`; when absent `80` for http: and ws:, `443` for https: and wss:, `''` for other protocols."},
			{Signature: "url.origin", Doc: "protocol + `//` + host: `https://example.com:8443`."},
			{Signature: "url.pathname", Doc: "the path without query and hash, `/a/b`; `/` when empty."},
			{Signature: "url.search", Doc: "the query with its `?`, `?x=1&y=2`; `''` when absent."},
			{Signature: "url.query", Doc: "the query without `?`, `x=1&y=2`; `''` when absent."},
			{Signature: "url.path", Doc: "pathname + search, `/a/b?x=1&y=2` (what an HTTP request head's path is)."},
			{Signature: "url.hash", Doc: "the fragment with its `#`, `#frag`; `''` when absent."},
			{Signature: "url.href", Doc: "the whole URL: protocol + `//` + (auth + `@`) + host + path + hash. `new URL('https://example.com').href` is `https://example.com/`."},
			{Signature: "url.toString()", Doc: "href (an addition: the original has no toString)."},
		},
	},
}
