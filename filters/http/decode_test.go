package http_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
	"github.com/pipy-go/pipy/filters/http"
)

type decodeCase struct {
	name   string
	filter string // default decodeHttpRequest
	in     string
	end    bool // feed a SessionEnd after the input
	want   string
}

var decodeCases = []decodeCase{
	{
		name: "GET no body",
		in:   "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
		want: "start GET /index.html?q=1 HTTP/1.1 {host: example.com, accept: */*}\nend\n",
	},
	{
		name: "POST Content-Length",
		in:   "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world",
		want: "start POST /submit HTTP/1.1 {host: h, content-type: text/plain}\nbody \"hello world\"\nend\n",
	},
	{
		name: "POST Content-Length 0",
		in:   "POST /empty HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
		want: "start POST /empty HTTP/1.1 {}\nend\n",
	},
	{
		name: "identical duplicate Content-Length",
		in:   "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
		want: "start POST / HTTP/1.1 {}\nbody \"abc\"\nend\n",
	},
	{
		name: "chunked with extensions and trailers",
		in: "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"5;name=value\r\nhello\r\n6 ; ext\r\n world\r\nA\r\n0123456789\r\nb;x=\"q\"\r\nabcdefghijk\r\n0;last\r\nX-Trailer: t\r\nX-Other: o\r\n\r\n",
		want: "start POST /c HTTP/1.1 {host: h}\nbody \"hello world0123456789abcdefghijk\"\nend\n",
	},
	{
		name: "chunked without trailers, then a request",
		in:   "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n",
		want: "start POST /c HTTP/1.1 {}\nbody \"abc\"\nend\nstart GET /next HTTP/1.1 {}\nend\n",
	},
	{
		name: "pipelined requests in one Data",
		in: "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" +
			"POST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc" +
			"GET /3 HTTP/1.0\r\n\r\n",
		want: "start GET /1 HTTP/1.1 {host: a}\nend\n" +
			"start POST /2 HTTP/1.1 {}\nbody \"abc\"\nend\n" +
			"start GET /3 HTTP/1.0 {}\nend\n",
	},
	{
		name: "header names lower-cased, values kept",
		in:   "GET / HTTP/1.1\r\nX-MiXeD-CaSe: VaLuE\r\nHOST: Example.COM\r\n\r\n",
		want: "start GET / HTTP/1.1 {x-mixed-case: VaLuE, host: Example.COM}\nend\n",
	},
	{
		name: "repeated header: last wins, first position",
		in:   "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\na: 3\r\n\r\n",
		want: "start GET / HTTP/1.1 {a: 3, b: 2}\nend\n",
	},
	{
		name: "consumed headers not stored (request)",
		in:   "GET / HTTP/1.1\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\nHost: h\r\n\r\n",
		want: "start GET / HTTP/1.1 {host: h}\nend\n",
	},
	{
		name: "leading empty lines",
		in:   "\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		want: "start GET / HTTP/1.1 {host: h}\nend\n",
	},
	{
		name: "request-target forms",
		in: "GET http://example.com:8080/a?b HTTP/1.1\r\n\r\n" +
			"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n" +
			"OPTIONS * HTTP/1.1\r\nHost: [::1]:80\r\n\r\n" +
			"GET /ü?a=|{} HTTP/1.1\r\nHost: \r\n\r\n",
		want: "start GET http://example.com:8080/a?b HTTP/1.1 {}\nend\n" +
			"start CONNECT example.com:443 HTTP/1.1 {host: example.com:443}\nend\n" +
			"start OPTIONS * HTTP/1.1 {host: [::1]:80}\nend\n" +
			"start GET /ü?a=|{} HTTP/1.1 {host: }\nend\n",
	},
	{
		name: "Transfer-Encoding list with empty elements and any case",
		in:   "POST / HTTP/1.1\r\nTransfer-Encoding: , Chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
		want: "start POST / HTTP/1.1 {}\nbody \"a\"\nend\n",
	},
	{
		name: "HTTP/1.2 is served as 1.x",
		in:   "GET / HTTP/1.2\r\n\r\n",
		want: "start GET / HTTP/1.2 {}\nend\n",
	},
	{
		name: "optional whitespace around values",
		in:   "GET / HTTP/1.1\r\nX-A:no-space\r\nX-B: \t spaced \t \r\n\r\n",
		want: "start GET / HTTP/1.1 {x-a: no-space, x-b: spaced}\nend\n",
	},
	{
		name: "SessionEnd mid head",
		in:   "GET / HTTP/1.1\r\nHost: h",
		end:  true,
		want: "sessionend \"\"\n",
	},
	{
		name: "SessionEnd mid body",
		in:   "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
		end:  true,
		want: "start POST / HTTP/1.1 {}\nbody \"abc\"\nsessionend \"\"\n",
	},
	{
		name: "SessionEnd mid chunked body",
		in:   "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
		end:  true,
		want: "start POST / HTTP/1.1 {}\nbody \"hel\"\nsessionend \"\"\n",
	},
	{
		name: "SessionEnd after complete request",
		in:   "GET / HTTP/1.1\r\n\r\n",
		end:  true,
		want: "start GET / HTTP/1.1 {}\nend\nsessionend \"\"\n",
	},

	// responses
	{
		name:   "response Content-Length, connection kept",
		filter: "decodeHttpResponse",
		in:     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nServer: s\r\n\r\nhello",
		want:   "start HTTP/1.1 200 \"OK\" {connection: keep-alive, keep-alive: timeout=5, server: s}\nbody \"hello\"\nend\n",
	},
	{
		name:   "response chunked with trailers",
		filter: "decodeHttpResponse",
		in:     "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n4;a=b\r\nnot \r\n5\r\nfound\r\n0\r\nX-T: 1\r\n\r\n",
		want:   "start HTTP/1.1 404 \"Not Found\" {content-type: text/plain}\nbody \"not found\"\nend\n",
	},
	{
		name:   "response 1xx, 204 and 304 have no body",
		filter: "decodeHttpResponse",
		in: "HTTP/1.1 100 Continue\r\n\r\n" +
			"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n" +
			"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		want: "start HTTP/1.1 100 \"Continue\" {}\nend\n" +
			"start HTTP/1.1 204 \"No Content\" {}\nend\n" +
			"start HTTP/1.1 304 \"Not Modified\" {}\nend\n" +
			"start HTTP/1.1 200 \"OK\" {}\nbody \"ok\"\nend\n",
	},
	{
		name:   "response without length reads until SessionEnd",
		filter: "decodeHttpResponse",
		in:     "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nall the rest\r\nHTTP/1.1 200 OK\r\n\r\n",
		end:    true,
		want:   "start HTTP/1.0 200 \"OK\" {server: old}\nbody \"all the rest\\r\\nHTTP/1.1 200 OK\\r\\n\\r\\n\"\nend\nsessionend \"\"\n",
	},
	{
		name:   "response LF line endings and chunk lines",
		filter: "decodeHttpResponse",
		in:     "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nServer: s\n\n2\nok\n0\n\n",
		want:   "start HTTP/1.1 200 \"OK\" {server: s}\nbody \"ok\"\nend\n",
	},
	{
		name:   "response status line without reason",
		filter: "decodeHttpResponse",
		in:     "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
		want:   "start HTTP/1.1 200 \"\" {}\nend\n",
	},
	{
		name:   "response reason with spaces, pipelined",
		filter: "decodeHttpResponse",
		in:     "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
		want:   "start HTTP/1.1 500 \"Internal Server Error\" {}\nbody \"x\"\nend\nstart HTTP/1.1 201 \"Created\" {}\nend\n",
	},
	{
		name:   "response SessionEnd mid body",
		filter: "decodeHttpResponse",
		in:     "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
		end:    true,
		want:   "start HTTP/1.1 200 \"OK\" {}\nbody \"abc\"\nsessionend \"\"\n",
	},
	{
		name:   "bodiless response ignores length",
		filter: "decodeHttpBodilessResponse",
		in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"HTTP/1.1 200 OK\r\nServer: s\r\n\r\n",
		end: true,
		want: "start HTTP/1.1 200 \"OK\" {}\nend\n" +
			"start HTTP/1.1 200 \"OK\" {}\nend\n" +
			"start HTTP/1.1 200 \"OK\" {server: s}\nend\nsessionend \"\"\n",
	},
}

func TestDecodeHTTPConformance(t *testing.T) {
	worlds := map[string]*filtertest.World{}
	for _, f := range []string{"decodeHttpRequest", "decodeHttpResponse", "decodeHttpBodilessResponse"} {
		worlds[f] = filtertest.LoadFilter(t, f)
	}
	for _, c := range decodeCases {
		filter := c.filter
		if filter == "" {
			filter = "decodeHttpRequest"
		}
		t.Run(c.name, func(t *testing.T) {
			w := worlds[filter]
			modes := filtertest.SplitModes(c.in)
			for _, name := range filtertest.SortedKeys(modes) {
				r := filtertest.RunParts(w, modes[name], c.end)
				if got := r.Summary(); got != c.want {
					t.Fatalf("%s: got\n%s\nwant\n%s", name, got, c.want)
				}
				if err := r.WellFormed(); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
		})
	}
}

// The decoders only output the message framing and body: flush markers,
// stray MessageStart/MessageEnd are dropped; SessionEnd passes.
func TestDecodeHTTPDropsNonData(t *testing.T) {
	w := filtertest.LoadFilter(t, "decodeHttpRequest")
	r := w.Session("p")
	r.Feed(filters.NewData(), &filters.MessageStart{}, filters.TheMessageEnd, filtertest.Data("GET / HTTP/1.1\r\n\r\n"), filters.NewData(), &filters.SessionEnd{})
	if got := r.Kinds(); got != "MS ME SE" {
		t.Fatalf("got %s", got)
	}
	r.Feed(filtertest.Data("GET / HTTP/1.1\r\n\r\n"), &filters.SessionEnd{})
	if got := r.Kinds(); got != "MS ME SE" {
		t.Fatalf("input after SessionEnd was processed: %s", got)
	}
}

// Body Data events are slices of the input, never the flush marker.
func TestDecodeHTTPBodyEventsNotEmpty(t *testing.T) {
	w := filtertest.LoadFilter(t, "decodeHttpRequest")
	r := w.Session("p")
	r.FeedString("POST / HTTP/1.1\r\nContent-Length: 6\r\n\r\nab", "cd", "ef")
	if got := r.Kinds(); got != "MS D(2) D(2) D(2) ME" {
		t.Fatalf("got %s", got)
	}
}

var malformedRequests = map[string]string{
	"request line without spaces":   "GARBAGE\r\n\r\n",
	"request line with one space":   "GET /\r\n\r\n",
	"request line with two spaces":  "GET  / HTTP/1.1\r\n\r\n",
	"bad method token":              "G@T / HTTP/1.1\r\n\r\n",
	"HTTP/2.0":                      "GET / HTTP/2.0\r\n\r\n",
	"HTTP/x":                        "GET / HTTP/x\r\n\r\n",
	"HTTP/1.1 with junk":            "GET / HTTP/1.1x\r\n\r\n",
	"Content-Length with chunked":   "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"differing Content-Length":      "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	"negative Content-Length":       "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	"non-numeric Content-Length":    "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
	"signed Content-Length":         "POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc",
	"empty Content-Length":          "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
	"list Content-Length":           "POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc",
	"huge Content-Length":           "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	"bad chunk size":                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
	"negative chunk size":           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nabcde\r\n0\r\n\r\n",
	"empty chunk size":              "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
	"overlong chunk size":           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
	"chunk size line too long":      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("x", 8000),
	"chunk data without CRLF":       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY\r\n0\r\n\r\n",
	"Transfer-Encoding not chunked": "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc",
	"chunked not last":              "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"obs-fold":                      "GET / HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n",
	"obs-fold with colon":           "GET / HTTP/1.1\r\nX-A: 1\r\n\tx: y\r\n\r\n",
	"space before colon":            "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
	"header without colon":          "GET / HTTP/1.1\r\nNoColonHere\r\n\r\n",
	"empty header name":             "GET / HTTP/1.1\r\n: v\r\n\r\n",
	"head over 64 KiB":              "GET / HTTP/1.1\r\nX-Big: " + strings.Repeat("x", 70000) + "\r\n\r\n",
	"unterminated head over 64 KiB": "GET / HTTP/1.1\r\nX-Big: " + strings.Repeat("x", 70000),
	"malformed after a good one":    "GET /ok HTTP/1.1\r\n\r\nBAD\r\n\r\n",

	// RFC 9112 hygiene (issue 8)
	"bare LF in head":                "GET / HTTP/1.1\nHost: h\n\n",
	"bare LF after a field":          "GET / HTTP/1.1\r\nHost: h\n\r\n",
	"bare LF request line":           "GET / HTTP/1.1\n\r\n",
	"bare LF chunk size":             "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
	"bare LF after chunk data":       "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n",
	"bare LF last chunk":             "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n",
	"chunk extension garbage":        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;\x01\r\nabc\r\n0\r\n\r\n",
	"chunk extension without name":   "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;=x\r\nabc\r\n0\r\n\r\n",
	"chunk extension open quote":     "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\"x\r\nabc\r\n0\r\n\r\n",
	"chunk size with space garbage":  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3 x\r\nabc\r\n0\r\n\r\n",
	"chunk size overflow":            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
	"invalid trailer":                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nno colon\r\n\r\n",
	"trailer too large":              "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " + strings.Repeat("t", 40000) + "\r\n\r\n",
	"xchunked":                       "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"chunked twice":                  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"gzip then chunked":              "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"chunked then gzip on two lines": "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\nabc",
	"chunked with parameter":         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n",
	"empty Transfer-Encoding":        "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n",
	"Transfer-Encoding in HTTP/1.0":  "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"two Host fields":                "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"Host with userinfo":             "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n",
	"Host with a path":               "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
	"Host with bad port":             "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n",
	"target without slash":           "GET index.html HTTP/1.1\r\n\r\n",
	"absolute-form without host":     "GET http:///x HTTP/1.1\r\n\r\n",
	"absolute-form bad scheme":       "GET 1ttp://a/ HTTP/1.1\r\n\r\n",
	"absolute-form userinfo":         "GET http://u:p@a/ HTTP/1.1\r\n\r\n",
	"absolute-form bad host":         "GET http://a\"b/ HTTP/1.1\r\n\r\n",
	"asterisk with GET":              "GET * HTTP/1.1\r\n\r\n",
	"CONNECT without port":           "CONNECT example.com HTTP/1.1\r\n\r\n",
	"CONNECT origin-form":            "CONNECT / HTTP/1.1\r\n\r\n",
	"HTTP/1.10":                      "GET / HTTP/1.10\r\n\r\n",
	"HTTP/3":                         "GET / HTTP/3\r\n\r\n",
	"lower-case http":                "GET / http/1.1\r\n\r\n",
	"method with space":              "GE T / HTTP/1.1\r\n\r\n",
	"TLS ClientHello":                "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
	"leading space":                  " GET / HTTP/1.1\r\n\r\n",
	"too many header fields":         "GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 101) + "\r\n",
	"request line too long":          "GET /" + strings.Repeat("a", 40000),
	"NUL in header name":             "GET / HTTP/1.1\r\nX\x00: y\r\n\r\n",
	"DEL in header value":            "GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n",
	"whitespace before first field":  "GET / HTTP/1.1\r\n Host: h\r\n\r\n",
}

var malformedResponses = map[string]string{
	"status line without spaces":  "HTTP/1.1\r\n\r\n",
	"non-numeric status":          "HTTP/1.1 OK\r\n\r\n",
	"four digit status":           "HTTP/1.1 2000 OK\r\n\r\n",
	"HTTP/x":                      "HTTP/x 200 OK\r\n\r\n",
	"not HTTP":                    "SSH-2.0-OpenSSH_8.9\r\n\r\n",
	"Content-Length with chunked": "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"differing Content-Length":    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	"negative Content-Length":     "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	"non-numeric Content-Length":  "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
	"Transfer-Encoding gzip":      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc",
	"obs-fold":                    "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
	"space before colon":          "HTTP/1.1 200 OK\r\nServer : s\r\n\r\n",
	"head over 64 KiB":            "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("y", 70000) + "\r\n\r\n",
}

// Malformed responses whose error is detected after the MessageStart was
// output (inside the body).
var malformedResponseBodies = map[string]string{
	"bad chunk size":          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	"chunk data without CRLF": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY\r\n0\r\n\r\n",
}

// checkMalformed feeds in every way and requires the output to end with a
// SessionEnd, without panics or hangs.
func checkMalformed(t *testing.T, w *filtertest.World, in string, check func(t *testing.T, mode string, r *filtertest.Rec)) {
	modes := filtertest.SplitModes(in)
	if len(in) > 4096 {
		delete(modes, "bytewise") // still run below, once
		modes["bytewise"] = nil
	}
	for _, name := range filtertest.SortedKeys(modes) {
		parts := modes[name]
		if parts == nil {
			parts = filtertest.SplitModes(in)["bytewise"]
		}
		var r *filtertest.Rec
		filtertest.Guard(t, 20*time.Second, func() { r = filtertest.RunParts(w, parts, false) })
		last, ok := r.Last().(*filters.SessionEnd)
		if !ok {
			t.Fatalf("%s: output does not end with SessionEnd: %s", name, r.Kinds())
		}
		if r.S != nil && !r.S.Done() {
			t.Fatalf("%s: session not done after SessionEnd", name)
		}
		_ = last
		if check != nil {
			check(t, name, r)
		}
	}
}

func TestDecodeHttpRequestMalformed(t *testing.T) {
	w := filtertest.LoadFilter(t, "decodeHttpRequest")
	for _, name := range filtertest.SortedKeys(malformedRequests) {
		in := malformedRequests[name]
		t.Run(name, func(t *testing.T) {
			checkMalformed(t, w, in, func(t *testing.T, mode string, r *filtertest.Rec) {
				se := r.Last().(*filters.SessionEnd)
				if se.Err == filters.NoError {
					t.Fatalf("%s: protocol error ends the session without an error", mode)
				}
				if err := r.WellFormed(); err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
			})
		})
	}
	if !strings.Contains(w.LogText(), "protocol error") {
		t.Errorf("no protocol error warning logged")
	}
}

func TestDecodeHttpResponseMalformed(t *testing.T) {
	w := filtertest.LoadFilter(t, "decodeHttpResponse")
	for _, name := range filtertest.SortedKeys(malformedResponses) {
		in := malformedResponses[name]
		t.Run(name, func(t *testing.T) {
			checkMalformed(t, w, in, func(t *testing.T, mode string, r *filtertest.Rec) {
				if err := r.WellFormed(); err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				// a synthetic 502 takes the place of the bad response
				if got := r.Summary(); got != "start  502 \"Read Error\" {}\nend\nsessionend \"\"\n" {
					t.Fatalf("%s: got\n%s", mode, got)
				}
			})
		})
	}
}

func TestDecodeHttpResponseMalformedBody(t *testing.T) {
	w := filtertest.LoadFilter(t, "decodeHttpResponse")
	for _, name := range filtertest.SortedKeys(malformedResponseBodies) {
		in := malformedResponseBodies[name]
		t.Run(name, func(t *testing.T) {
			checkMalformed(t, w, in, nil)
		})
	}
}

// A protocol error found inside a response body must not open a second
// message inside the first one (the synthetic 502 nests in the 200).
func TestDecodeHttpResponseMalformedBodyWellFormed(t *testing.T) {
	w := filtertest.LoadFilter(t, "decodeHttpResponse")
	for _, name := range filtertest.SortedKeys(malformedResponseBodies) {
		r := filtertest.RunParts(w, []string{malformedResponseBodies[name]}, false)
		if err := r.WellFormed(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDecodeHttpResponseSynthetic(t *testing.T) {
	cases := []struct {
		err    filters.ErrorCode
		status int
		text   string
	}{
		{filters.ConnectionRefused, 503, "Connection Refused"},
		{filters.CannotResolve, 503, "Cannot Resolve"},
		{filters.Unauthorized, 401, "Unauthorized"},
		{filters.ReadError, 502, "Read Error"},
		{filters.RuntimeError, 500, "Internal Server Error"},
		{filters.BufferOverflow, 500, "Internal Server Error"},
	}
	w := filtertest.LoadFilter(t, "decodeHttpResponse")
	for _, c := range cases {
		r := w.Session("p")
		r.Feed(&filters.SessionEnd{Err: c.err})
		if got := r.Kinds(); got != "MS ME SE" {
			t.Fatalf("%v: got %s", c.err, got)
		}
		h, ok := r.Evts[0].(*filters.MessageStart).Head.(*http.ResponseHead)
		if !ok {
			t.Fatalf("%v: head %T", c.err, r.Evts[0].(*filters.MessageStart).Head)
		}
		if h.Protocol != "" || h.Status != c.status || h.StatusText != c.text || len(h.Headers) != 0 {
			t.Errorf("%v: head %+v", c.err, h)
		}
		if se := r.Last().(*filters.SessionEnd); se.Err != filters.NoError {
			t.Errorf("%v: SessionEnd error %v", c.err, se.Err)
		}
		// and the head as scripts see it
		o := h.ToObject(w.RT())
		if got := filtertest.JSONOf(w.RT(), o); got != fmt.Sprintf(`{"headers":{},"protocol":"","status":%d,"statusText":%q}`, c.status, c.text) {
			t.Errorf("%v: script head %s", c.err, got)
		}
	}
	// without error SessionEnd passes unchanged
	r := w.Session("p")
	r.Feed(&filters.SessionEnd{})
	if got := r.Kinds(); got != "SE" {
		t.Fatalf("no error: got %s", got)
	}
	// after a complete response, an error still yields one synthetic answer
	r = w.Session("p")
	r.Feed(filtertest.Data("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), &filters.SessionEnd{Err: filters.ConnectionRefused})
	if got := r.Kinds(); got != "MS ME MS ME SE" {
		t.Fatalf("after a response: got %s", got)
	}
	// an error in the middle of a body is passed on as is
	r = w.Session("p")
	r.Feed(filtertest.Data("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"), &filters.SessionEnd{Err: filters.ReadError})
	if got := r.Kinds(); got != "MS D(2) SE(ReadError)" {
		t.Fatalf("mid body: got %s", got)
	}
}

// The request decoder counts requests and records keep-alive for the
// response encoder of the same connection, which answers with the
// Connection header the request asked for.
func TestDecodeHttpRequestKeepAlive(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"GET / HTTP/1.1\r\n\r\n", true},
		{"GET / HTTP/1.0\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
		{"GET / HTTP/1.0\r\nKeep-Alive: timeout=5\r\n\r\n", true},
	}
	w := filtertest.Load(t, `pipy().pipeline('p').decodeHttpRequest().replaceMessage(new Message('ok')).encodeHttpResponse()`)
	for _, c := range cases {
		r := w.SessionIn("p", &filters.Inbound{})
		r.FeedString(c.in)
		out := r.BytesOut()
		want := "Connection: close\r\n"
		if c.want {
			want = "Connection: keep-alive\r\n"
		}
		if !strings.Contains(out, want) || strings.Count(out, "HTTP/1.1 200") != 1 {
			t.Errorf("%q: answered %q, want one 200 with %q", c.in, out, want)
		}
	}
}

// Decoded heads must never carry control characters (other than HTAB in
// values): the original drops them, the recommended behaviour rejects the
// request; passing them on lets a bare CR reach the upstream request line.
func TestDecodeHttpRequestControlCharacters(t *testing.T) {
	w := filtertest.LoadFilter(t, "decodeHttpRequest")
	for _, in := range []string{
		"GET /a\rb HTTP/1.1\r\n\r\n",
		"GET /a\x00b HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n",
		"GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n",
	} {
		r := filtertest.RunParts(w, []string{in}, false)
		for _, e := range r.Evts {
			ms, ok := e.(*filters.MessageStart)
			if !ok {
				continue
			}
			h := ms.Head.(*http.RequestHead)
			all := h.Method + h.Path + h.Protocol
			for _, f := range h.Headers {
				all += f.Name + f.Value
			}
			if strings.ContainsFunc(all, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
				t.Errorf("%q: head %q keeps control characters", in, filtertest.HeadString(nil, h))
			}
		}
	}
}

// Every way of feeding yields the same events for a long random-ish stream
// of pipelined requests mixing framings.
func TestDecodeHttpRequestLongPipeline(t *testing.T) {
	var in, want strings.Builder
	for i := 0; i < 50; i++ {
		body := strings.Repeat(string(rune('a'+i%26)), i*7)
		switch i % 3 {
		case 0:
			fmt.Fprintf(&in, "GET /%d HTTP/1.1\r\nX-N: %d\r\n\r\n", i, i)
			fmt.Fprintf(&want, "start GET /%d HTTP/1.1 {x-n: %d}\nend\n", i, i)
		case 1:
			fmt.Fprintf(&in, "PUT /%d HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s", i, len(body), body)
			fmt.Fprintf(&want, "start PUT /%d HTTP/1.1 {}\nbody %q\nend\n", i, body)
		case 2:
			fmt.Fprintf(&in, "POST /%d HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", i, len(body), body)
			fmt.Fprintf(&want, "start POST /%d HTTP/1.1 {}\nbody %q\nend\n", i, body)
		}
	}
	w := filtertest.LoadFilter(t, "decodeHttpRequest")
	modes := filtertest.SplitModes(in.String())
	for _, name := range filtertest.SortedKeys(modes) {
		r := filtertest.RunParts(w, modes[name], false)
		if got := r.Summary(); got != want.String() {
			t.Fatalf("%s: got\n%s", name, got)
		}
	}
	// random chunk sizes
	s := in.String()
	for seed := 1; seed <= 20; seed++ {
		var parts []string
		x := uint32(seed)
		for rest := s; rest != ""; {
			x = x*1664525 + 1013904223
			n := min(len(rest), int(x>>24)%97+1)
			parts = append(parts, rest[:n])
			rest = rest[n:]
		}
		r := filtertest.RunParts(w, parts, false)
		if got := r.Summary(); got != want.String() {
			t.Fatalf("seed %d: got\n%s", seed, got)
		}
	}
}

// Numbers in framing are plain digits (status: exactly 3 DIGIT; chunk-size:
// 1*HEXDIG). strconv accepts a sign, so "+20", "-99" and "+5" get through.
func TestDecodeHTTPSignedNumbers(t *testing.T) {
	cases := map[string]string{
		"decodeHttpResponse": "HTTP/1.1 +20 OK\r\n\r\n",
		"decodeHttpRequest":  "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+3\r\nabc\r\n0\r\n\r\n",
	}
	negative := "HTTP/1.1 -99 Odd\r\n\r\n"
	for filter, in := range cases {
		w := filtertest.LoadFilter(t, filter)
		r := filtertest.RunParts(w, []string{in}, false)
		if _, ok := r.Last().(*filters.SessionEnd); !ok {
			t.Errorf("%s %q accepted: %s", filter, in, r.Summary())
		}
	}
	w := filtertest.LoadFilter(t, "decodeHttpResponse")
	r := filtertest.RunParts(w, []string{negative}, false)
	if _, ok := r.Last().(*filters.SessionEnd); !ok {
		t.Errorf("%q accepted: %s", negative, r.Summary())
	}
}

// A request decoder answers a refused request itself through its session's
// output, so the answer takes the pipeline's own way out: on a listening
// pipeline it reaches the client, in order; from a decoder in a fork
// branch (whose output goes nowhere) nothing reaches the client.
func TestDecodeHttpRequestErrorAnswerGoesThroughOutput(t *testing.T) {
	w := filtertest.Load(t, `pipy()
.pipeline('p').decodeHttpRequest().replaceMessage(new Message('ok')).encodeHttpResponse()
.pipeline('forked').fork('sub').dummy()
.pipeline('sub').decodeHttpRequest()`)
	r := w.SessionIn("p", &filters.Inbound{})
	r.FeedString("GET /a HTTP/1.1\r\n\r\n", "GE T / HTTP/1.1\r\n\r\n")
	out := r.BytesOut()
	if first, second, ok := strings.Cut(out, "ok"); !ok || !strings.HasPrefix(first, "HTTP/1.1 200") ||
		!strings.HasPrefix(second, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n") {
		t.Errorf("listening pipeline answered %q, want the 200 then the 400", out)
	}
	if last, ok := r.Last().(*filters.SessionEnd); !ok || last.Err != filters.ReadError {
		t.Errorf("last event %v, want SessionEnd(ReadError)", r.Last())
	}
	f := w.SessionIn("forked", &filters.Inbound{})
	f.FeedString("GE T / HTTP/1.1\r\n\r\n")
	if out := f.BytesOut(); out != "" {
		t.Errorf("a decoder in a fork branch answered the client: %q", out)
	}
}
