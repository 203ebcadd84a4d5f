package scripts

import (
	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/scripts/algo"
	"github.com/pipy-go/pipy/scripts/apidoc"
	"github.com/pipy-go/pipy/scripts/crypto"
	"github.com/pipy-go/pipy/scripts/hessian"
	"github.com/pipy-go/pipy/scripts/netmask"
	"github.com/pipy-go/pipy/scripts/url"
	"github.com/pipy-go/pipy/scripts/xml"
)

// APIDocs returns the reference of every global a script can use, in the
// order of the generated docs/api.md.
func APIDocs() []apidoc.Group {
	var all []apidoc.Group
	all = append(all, coreDocs...)
	all = append(all, jsonDocs)
	all = append(all, sessionDocs...)
	all = append(all, httpDocs)
	all = append(all, algo.Docs...)
	all = append(all, crypto.Docs...)
	all = append(all, url.Docs...)
	all = append(all, netmask.Docs...)
	all = append(all, xml.Docs...)
	all = append(all, hessian.Docs...)
	// (API packages are appended here as they land.)
	return all
}

// listenOptionDocs documents the options of listen() from their registry.
func listenOptionDocs() apidoc.Group {
	g := apidoc.Group{
		Name: "listen options",
		Doc: "The fields of the `options` object of `listen(port, options)`; all are optional. Sizes are numbers of bytes or strings such as '16k'; durations are seconds or strings such as '500ms', '10s', '5m'. " +
			"A bad value fails the load with an error naming the option. Timeouts use socket deadlines moved at state changes, not timers per request. " +
			"HTTP requests that break RFC 9112 framing (Content-Length with Transfer-Encoding, differing Content-Length, a final coding other than chunked, bad chunk sizes or extensions, obs-fold, bare LF, control characters, a bad request target or Host, several Host fields) are refused with 400 (431, 414, 501, 505 where fitting) and the connection is closed; nothing is forwarded.",
	}
	for _, o := range filters.ListenOptions {
		doc := o.Doc
		if r := o.Range(); r != "" {
			doc += " Range: " + r + "."
		}
		g.Entries = append(g.Entries, apidoc.Entry{Signature: "options." + o.Name + ": " + o.Type, Doc: doc + " Default: " + o.Default + "."})
	}
	return g
}

var coreDocs = []apidoc.Group{
	{
		Name: "pipy",
		Doc:  "Starts a module's configuration. A script is one expression whose value is the Configuration that `pipy()` returns after its chained calls.",
		Entries: []apidoc.Entry{
			{Signature: "pipy([variables])", Doc: "declares the module's context variables (an object, or a function returning one) and returns a new Configuration. A function that returns no object throws `function did not return an object`."},
			{Signature: "pipy.restart()", Doc: "reloads the running program, as SIGHUP does."},
		},
	},
	{
		Name: "Configuration",
		Doc:  "What `pipy()` returns. `listen`, `pipeline` and `task` open a pipeline; every filter method (see filters.md) appends a filter to the pipeline opened last and returns the same Configuration.",
		Entries: []apidoc.Entry{
			{Signature: "listen(port | 'ip:port'[, options])", Doc: "a pipeline started for each accepted connection; the options are listed in the next section. A port declared twice fails the load."},
			{Signature: "pipeline(name)", Doc: "a named pipeline, started by link, fork, demux, mux, use, proxySOCKS4 or `new Session`."},
			{Signature: "task(interval)", Doc: "a pipeline run at start and then every interval (seconds, or a duration string such as '1s', '500ms', '5m'; 0.01 s to 24 h) unless its previous run is still active; each run gets one empty message."},
			{Signature: "<filter>(...)", Doc: "appends a filter; `no pipeline found` before any listen/pipeline/task."},
		},
	},
	listenOptionDocs(),
	{
		Name: "Context variables",
		Doc:  "The own properties of the object given to `pipy()` are variables that callbacks read and assign by name. Every connection (and task run) gets a fresh shallow copy: numbers and strings are per session, objects are shared. Assigning a name that is neither a variable nor a global throws a ReferenceError.",
		Entries: []apidoc.Entry{
			{Signature: "__filename", Doc: "the module name, e.g. `/pipy.js`."},
			{Signature: "__argv", Doc: "the arguments given by `use(...)` to this module in this context, else undefined."},
			{Signature: "__inbound", Doc: "the accepted connection (`id`, `remoteAddress`, `remotePort`, `localAddress`, `localPort`), or null (tasks)."},
		},
	},
	{
		Name: "Data",
		Doc:  "A byte buffer, and the Data event. The bytes live in shared immutable chunks, so copies and slices are cheap.",
		Entries: []apidoc.Entry{
			{Signature: "new Data([size | string[, encoding] | data])", Doc: "empty; `size` zero bytes; a string in encoding 'utf8' (default), 'hex' ('hdex'), 'base64' or 'base64url'; or a copy of another Data. Errors: `unknown encoding`, `incomplete hex string`, `invalid hex string`, `incomplete Base64 string`, `invalid Base64 encoding`, `invalid Base64Url encoding`."},
			{Signature: "data.size", Doc: "the number of bytes."},
			{Signature: "data.push(dataOrString)", Doc: "appends and returns the same Data."},
			{Signature: "data.shift(n)", Doc: "removes the first n bytes and returns them as a new Data."},
			{Signature: "data.toString([encoding])", Doc: "the bytes as UTF-8 text (invalid sequences become U+FFFD), or in 'hex', 'base64', 'base64url'."},
		},
	},
	{
		Name: "MessageStart, MessageEnd, SessionEnd",
		Doc:  "The other three events. `instanceof` works on events received by callbacks.",
		Entries: []apidoc.Entry{
			{Signature: "new MessageStart([head])", Doc: "starts a message; `head` is an object or null."},
			{Signature: "new MessageEnd([tail])", Doc: "ends the current message; `tail` is an object (HTTP trailers: lower-case names to values) or null. `messageEnd.tail` is what a codec decoded after the body (HTTP/2 or chunked trailers, as gRPC sends its status in), or null."},
			{Signature: "new SessionEnd([error])", Doc: "ends the stream; `error` is '' or one of UnknownError, RuntimeError, ReadError, CannotResolve, ConnectionRefused, Unauthorized, BufferOverflow."},
		},
	},
	{
		Name: "Message",
		Doc:  "A head and a body, expanded to MessageStart, Data (when the body is not null) and MessageEnd wherever events are expected.",
		Entries: []apidoc.Entry{
			{Signature: "new Message([head][, body])", Doc: "`new Message()`, `new Message(data)`, `new Message(string)`, `new Message(head, string)`, `new Message(head, data)`; other bodies are converted with String(); a non-object head throws `argument #1 expects an object`."},
			{Signature: "message.head, message.body", Doc: "read-only."},
		},
	},
	{
		Name: "console",
		Doc:  "Logging from scripts; each line is logged as `[pjs] <text>`.",
		Entries: []apidoc.Entry{
			{Signature: "console.log(...values), console.info(...)", Doc: "logs at info level, values converted with String() and joined by spaces; every line of a multi-line text is logged."},
			{Signature: "console.debug(...), console.warn(...), console.error(...)", Doc: "the same at other levels."},
		},
	},
	{
		Name: "os",
		Doc:  "Files and environment. Relative paths are relative to the root directory (the directory of the main script).",
		Entries: []apidoc.Entry{
			{Signature: "os.env", Doc: "the environment variables at start, as an object."},
			{Signature: "os.readFile(path)", Doc: "the whole file as a Data, or null (logging `os.readFile: cannot open file: <path>`)."},
			{Signature: "os.writeFile(path, stringOrData)", Doc: "creates or truncates the file; null on failure (logged)."},
			{Signature: "os.stat(path)", Doc: "dev, ino, mode, nlink, uid, gid, rdev, size, blksize, blocks, atime, mtime, ctime (seconds) and isFile(), isDirectory(), isCharacterDevice(), isBlockDevice(), isFIFO(), isSymbolicLink(), isSocket(); null when the path does not exist."},
		},
	},
}
