package http_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
	"github.com/pipy-go/pipy/filters/http"
)

// tails describes the MessageEnd events of r: "-" for the shared
// TheMessageEnd, the fields of a *http.Trailers tail, "other" else.
func tails(r *filtertest.Rec) string {
	var parts []string
	for _, e := range r.Evts {
		me, ok := e.(*filters.MessageEnd)
		if !ok {
			continue
		}
		switch tail := me.Tail.(type) {
		case nil:
			if me != filters.TheMessageEnd {
				parts = append(parts, "unshared")
			} else {
				parts = append(parts, "-")
			}
		case *http.Trailers:
			var fs []string
			for _, f := range tail.Fields {
				fs = append(fs, f.Name+": "+f.Value)
			}
			parts = append(parts, "{"+strings.Join(fs, ", ")+"}")
		default:
			parts = append(parts, fmt.Sprintf("other %T", tail))
		}
	}
	return strings.Join(parts, " ")
}

// Chunked trailers end their message as MessageEnd{Tail: *Trailers}, names
// lower-cased, framing and routing fields dropped; a message without them
// ends with the shared TheMessageEnd.
func TestDecodeHttpTrailers(t *testing.T) {
	cases := []struct {
		filter, in, summary, tails string
	}{
		{
			"decodeHttpRequest",
			"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Checksum: 42\r\nContent-Length: 5\r\nHost: evil\r\nGrpc-Status:  0 \r\nx-checksum: 43\r\n\r\n" +
				"POST /d HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
				"GET /e HTTP/1.1\r\n\r\n",
			"start POST /c HTTP/1.1 {}\nbody \"abc\"\nend\nstart POST /d HTTP/1.1 {}\nend\nstart GET /e HTTP/1.1 {}\nend\n",
			"{x-checksum: 43, grpc-status: 0} - -",
		},
		{
			"decodeHttpResponse",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nGrpc-Status: 0\nbad line\r\nGrpc-Message: fine\r\n\r\n" +
				"HTTP/1.1 204 No Content\r\n\r\n",
			"start HTTP/1.1 200 \"OK\" {}\nbody \"ok\"\nend\nstart HTTP/1.1 204 \"No Content\" {}\nend\n",
			"{grpc-status: 0, grpc-message: fine} -",
		},
	}
	for _, c := range cases {
		w := filtertest.LoadFilter(t, c.filter)
		for mode, parts := range filtertest.SplitModes(c.in) {
			r := filtertest.RunParts(w, parts, false)
			if got := r.Summary(); got != c.summary {
				t.Fatalf("%s %s: got\n%s", c.filter, mode, got)
			}
			if got := tails(r); got != c.tails {
				t.Fatalf("%s %s: tails %s, want %s", c.filter, mode, got, c.tails)
			}
		}
	}
}

// Trailers of requests are held to the head limits: their size and the
// number of fields.
func TestDecodeHttpTrailerLimits(t *testing.T) {
	w := filtertest.LoadFilter(t, "decodeHttpRequest")
	head := "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
	var many strings.Builder
	for i := 0; i <= filters.DefaultMaxHeaders; i++ {
		fmt.Fprintf(&many, "X-%d: v\r\n", i)
	}
	for name, in := range map[string]string{
		"too many fields": head + many.String() + "\r\n",
		"too large":       head + "X-Big: " + strings.Repeat("b", filters.DefaultMaxHeadSize) + "\r\n\r\n",
		"bare LF":         head + "X-A: 1\n\r\n",
		"no colon":        head + "X-A 1\r\n\r\n",
	} {
		r := filtertest.RunParts(w, []string{in}, false)
		if last, ok := r.Last().(*filters.SessionEnd); !ok || last.Err != filters.ReadError {
			t.Errorf("%s: accepted: %s", name, r.Kinds())
		}
	}
	// At the limit of fields: accepted.
	var enough strings.Builder
	for i := 0; i < filters.DefaultMaxHeaders; i++ {
		fmt.Fprintf(&enough, "X-%d: v\r\n", i)
	}
	r := filtertest.RunParts(w, []string{head + enough.String() + "\r\n"}, false)
	if got := r.Kinds(); got != "MS ME" {
		t.Errorf("%d fields: %s", filters.DefaultMaxHeaders, got)
	}
}

// Scripts see decoded trailers as messageEnd.tail.
func TestDecodeHttpTrailersInScripts(t *testing.T) {
	w := filtertest.Load(t, `pipy({ _t: '' })
.pipeline('p').decodeHttpResponse().onMessageEnd(e => _t = JSON.stringify(e.tail))`)
	r := w.Session("p")
	r.FeedString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nGrpc-Status: 0\r\nGrpc-Message: ok\r\n\r\n")
	if got, want := r.Get("_t"), `"{\"grpc-status\":\"0\",\"grpc-message\":\"ok\"}"`; got != want {
		t.Fatalf("tail seen by the script: %s, want %s", got, want)
	}
}

// A MessageEnd with a tail is encoded chunked, the tail as trailer fields;
// without one the framing is Content-Length as before.
func TestEncodeHttpTrailers(t *testing.T) {
	big := strings.Repeat("z", 5000)
	cases := []struct {
		name, chain, want string
	}{
		{
			"script tail",
			".replaceMessage(() => [new MessageStart({status: 200, headers: {'content-type': 'application/grpc'}}), new Data('hi'), new MessageEnd({'grpc-status': '0', 'Grpc-Message': 'ok', 'x-null': null})]).encodeHttpResponse()",
			"HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"2\r\nhi\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n",
		},
		{
			"script tail, empty body",
			".replaceMessage(() => [new MessageStart({status: 200}), new MessageEnd({'grpc-status': '13'})]).encodeHttpResponse()",
			"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\ngrpc-status: 13\r\n\r\n",
		},
		{
			"script tail, large body",
			".replaceMessage(() => [new MessageStart({status: 200}), new Data('" + big + "'), new MessageEnd({'x-sum': '1'})]).encodeHttpResponse()",
			"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n" + big + "\r\n0\r\nx-sum: 1\r\n\r\n",
		},
		{
			"framing fields in a tail are dropped",
			".replaceMessage(() => [new MessageStart({status: 200}), new Data('a'), new MessageEnd({'content-length': '9', 'x-a': 'b\\r\\nInjected: 1'})]).encodeHttpResponse()",
			"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nx-a: b  Injected: 1\r\n\r\n",
		},
		{
			"a tail with nothing to write: Content-Length",
			".replaceMessage(() => [new MessageStart({status: 200}), new Data('a'), new MessageEnd({'content-length': '9'})]).encodeHttpResponse()",
			"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\na",
		},
		{
			"HTTP/1.0 cannot carry trailers: dropped",
			".replaceMessage(() => [new MessageStart({protocol: 'HTTP/1.0', status: 200}), new Data('a'), new MessageEnd({'x-a': '1'})]).encodeHttpResponse()",
			"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\na",
		},
		{
			"bodiless: dropped",
			".replaceMessage(() => [new MessageStart({status: 200, bodiless: true}), new Data('a'), new MessageEnd({'x-a': '1'})]).encodeHttpResponse()",
			"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n",
		},
		{
			"204: dropped",
			".replaceMessage(() => [new MessageStart({status: 204}), new MessageEnd({'x-a': '1'})]).encodeHttpResponse()",
			"HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
		},
		{
			"request",
			".replaceMessage(() => [new MessageStart({method: 'POST', path: '/rpc'}), new Data('abc'), new MessageEnd({'grpc-timeout': '1S'})]).encodeHttpRequest()",
			"POST /rpc HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\ngrpc-timeout: 1S\r\n\r\n",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, kinds := encodeOne(t, c.chain)
			if got != c.want {
				t.Fatalf("got\n%q\nwant\n%q", got, c.want)
			}
			if !strings.HasSuffix(kinds, " ME") {
				t.Fatalf("events %s", kinds)
			}
		})
	}
	// A large body goes out as it came, between the head with its chunk
	// size and the last chunk with the trailers.
	_, kinds := encodeOne(t, ".replaceMessage(() => [new MessageStart({status: 200}), new Data('"+big+"'), new MessageEnd({'x-sum': '1'})]).encodeHttpResponse()")
	head := len("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n")
	if want := fmt.Sprintf("MS D(%d) D(5000) D(%d) ME", head, len("\r\n0\r\nx-sum: 1\r\n\r\n")); kinds != want {
		t.Fatalf("large body events %s, want %s", kinds, want)
	}
}

// Proxying keeps trailers: decoded, then encoded again on the other side.
func TestHttpTrailersRoundTrip(t *testing.T) {
	cases := []struct{ chain, in, want string }{
		{
			".decodeHttpRequest().encodeHttpRequest()",
			"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n",
			"POST /up HTTP/1.1\r\nhost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\nx-sum: 5\r\n\r\n",
		},
		{
			".decodeHttpResponse().encodeHttpResponse()",
			"HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nGrpc-Status: 0\r\n\r\n",
			"HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\ngrpc-status: 0\r\n\r\n",
		},
	}
	for _, c := range cases {
		w := filtertest.Load(t, "pipy().pipeline('p')"+c.chain)
		for mode, parts := range filtertest.SplitModes(c.in) {
			r := filtertest.RunParts(w, parts, false)
			if got := r.BytesOut(); got != c.want {
				t.Fatalf("%s %s: got\n%q\nwant\n%q", c.chain, mode, got, c.want)
			}
		}
	}
}

// The answer to an HTTP/1.0 request is never chunked: its trailers are
// dropped. An HTTP/1.1 client gets them.
func TestEncodeHttpTrailersHTTP10Client(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p')
  .decodeHttpRequest()
  .replaceMessage(() => [new MessageStart({status: 200}), new Data('a'), new MessageEnd({'x-a': '1'})])
  .encodeHttpResponse()`)
	r := w.SessionIn("p", &filters.Inbound{})
	r.FeedString("GET / HTTP/1.0\r\n\r\n")
	if got, want := r.BytesOut(), "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na"; got != want {
		t.Errorf("HTTP/1.0 client: got %q, want %q", got, want)
	}
	r = w.SessionIn("p", &filters.Inbound{})
	r.FeedString("GET / HTTP/1.1\r\n\r\n")
	if got, want := r.BytesOut(), "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nx-a: 1\r\n\r\n"; got != want {
		t.Errorf("HTTP/1.1 client: got %q, want %q", got, want)
	}
}
