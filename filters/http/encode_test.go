package http_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

// encodeOne loads `pipy().pipeline('p').<chain>`, feeds one empty message
// and returns the output bytes and event kinds.
func encodeOne(t *testing.T, chain string) (string, string) {
	t.Helper()
	w := filtertest.Load(t, "pipy().pipeline('p')"+chain)
	r := w.Session("p")
	r.Feed(&filters.MessageStart{}, filters.TheMessageEnd)
	return r.BytesOut(), r.Kinds()
}

func TestEncodeHttpResponse(t *testing.T) {
	cases := []struct {
		name, chain, want string
	}{
		{
			"defaults",
			".replaceMessage(new Message('Hello!\\n')).encodeHttpResponse()",
			"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 7\r\n\r\nHello!\n",
		},
		{
			"a head that came over HTTP/2 is written as HTTP/1.1",
			".replaceMessage(new Message({protocol: 'HTTP/2.0', status: 201}, 'x')).encodeHttpResponse()",
			"HTTP/1.1 201 Created\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		},
		{
			"status 300 from the filter argument, message head ignored",
			".replaceMessage(new Message({status: 404, headers: {'x-a': 'b'}}, 'x')).encodeHttpResponse({status: 300})",
			"HTTP/1.1 300 Multiple Choices\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		},
		{
			"head function evaluated per message",
			".replaceMessage(new Message('x')).encodeHttpResponse(() => ({status: 404}))",
			"HTTP/1.1 404 Not Found\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		},
		{
			"head function returning null uses the message head",
			".replaceMessage(new Message({status: 201}, 'x')).encodeHttpResponse(() => null)",
			"HTTP/1.1 201 Created\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		},
		{
			"unknown status 418",
			".replaceMessage(new Message({status: 418}, '')).encodeHttpResponse()",
			"HTTP/1.1 418 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
		},
		{
			"explicit protocol and status text",
			".replaceMessage(new Message({protocol: 'HTTP/1.0', status: 503, statusText: 'Busy'}, 'b')).encodeHttpResponse()",
			"HTTP/1.0 503 Busy\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nb",
		},
		{
			"user framing headers dropped, others in order",
			".replaceMessage(new Message({headers: {'X-First': '1', 'Content-Length': '99', 'CONNECTION': 'close', 'keep-alive': 'timeout=1', 'Transfer-Encoding': 'chunked', 'x-last': 2, 'x-null': null, 'x-undef': undefined}}, 'hey')).encodeHttpResponse()",
			"HTTP/1.1 200 OK\r\nX-First: 1\r\nx-last: 2\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nhey",
		},
		{
			"bodiless keeps user content-length, drops body",
			".replaceMessage(new Message({bodiless: true, status: 204, headers: {'content-length': '5'}}, 'dropped')).encodeHttpResponse()",
			"HTTP/1.1 204 No Content\r\ncontent-length: 5\r\nConnection: keep-alive\r\n\r\n",
		},
		{
			"message without body",
			".replaceMessage(new Message()).encodeHttpResponse()",
			"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
		},
		{
			"header value cannot break framing",
			".replaceMessage(new Message({headers: {'x-a': 'a\\r\\nInjected: 1'}}, '')).encodeHttpResponse()",
			"HTTP/1.1 200 OK\r\nx-a: a  Injected: 1\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
		},
		{
			"two messages from an array",
			".replaceMessage(() => [new Message('one\\n'), new MessageStart(), new Data('two\\n'), new MessageEnd()]).encodeHttpResponse()",
			"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\none\n" +
				"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\ntwo\n",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _ := encodeOne(t, c.chain)
			if got != c.want {
				t.Fatalf("got\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

func TestEncodeHttpResponseEvents(t *testing.T) {
	// small body: head and body in one Data
	_, kinds := encodeOne(t, ".replaceMessage(new Message('Hello!\\n')).encodeHttpResponse()")
	if kinds != fmt.Sprintf("MS D(%d) ME", len("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 7\r\n\r\nHello!\n")) {
		t.Fatalf("small: %s", kinds)
	}
	// large body: head, then the body as it came
	big := strings.Repeat("z", 5000)
	out, kinds := encodeOne(t, ".replaceMessage(new Message('"+big+"')).encodeHttpResponse()")
	if kinds != fmt.Sprintf("MS D(%d) D(5000) ME", len("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5000\r\n\r\n")) {
		t.Fatalf("large: %s", kinds)
	}
	if out != "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5000\r\n\r\n"+big {
		t.Fatalf("large body bytes differ")
	}
}

// Data outside a message and a MessageEnd without MessageStart are dropped;
// Data inside is buffered until MessageEnd; SessionEnd passes and stops.
func TestEncodeHttpResponseBuffering(t *testing.T) {
	w := filtertest.Load(t, "pipy().pipeline('p').encodeHttpResponse()")
	r := w.Session("p")
	r.Feed(filtertest.Data("stray"), filters.TheMessageEnd, &filters.MessageStart{}, filtertest.Data("ab"), filters.NewData(), filtertest.Data("cd"))
	if len(r.Evts) != 0 {
		t.Fatalf("output before MessageEnd: %s", r.Kinds())
	}
	r.Feed(filters.TheMessageEnd, &filters.SessionEnd{}, &filters.MessageStart{}, filters.TheMessageEnd)
	if got := r.Kinds(); got != fmt.Sprintf("MS D(%d) ME SE", len("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\nabcd")) {
		t.Fatalf("got %s", got)
	}
	if got := r.BytesOut(); got != "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\nabcd" {
		t.Fatalf("got %q", got)
	}
}

// Keep-alive decision from the inbound connection's request bookkeeping.
func TestEncodeHttpResponseKeepAlive(t *testing.T) {
	w := filtertest.Load(t, "pipy().pipeline('p').decodeHttpRequest().replaceMessage(new Message('ok')).encodeHttpResponse()")
	ka := fmt.Sprintf("MS D(%d) ME", len("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"))
	cl := fmt.Sprintf("MS D(%d) ME SE", len("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"))
	cases := []struct {
		in, want, kinds string
	}{
		{"GET / HTTP/1.1\r\n\r\n", "Connection: keep-alive", ka},
		{"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "Connection: close", cl},
		{"GET / HTTP/1.0\r\n\r\n", "Connection: close", cl},
		// two pipelined requests, the second one closes: the first response keeps alive
		{"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n", "Connection: keep-alive", ka + " " + cl},
	}
	for _, c := range cases {
		r := w.SessionIn("p", &filters.Inbound{})
		r.FeedString(c.in)
		if !strings.HasPrefix(r.BytesOut(), "HTTP/1.1 200 OK\r\n"+c.want+"\r\n") {
			t.Errorf("%q: got %q", c.in, r.BytesOut())
		}
		if got := r.Kinds(); got != c.kinds {
			t.Errorf("%q: events %s, want %s", c.in, got, c.kinds)
		}
	}
	// without an inbound connection: always keep-alive
	r := w.Session("p")
	r.FeedString("GET / HTTP/1.0\r\nConnection: close\r\n\r\n")
	if got := r.Kinds(); got != ka {
		t.Errorf("no inbound: %s", got)
	}
}

// Echo (example 001): the request head is used as the response head.
func TestEncodeHttpResponseEcho(t *testing.T) {
	w := filtertest.Load(t, "pipy().pipeline('p').decodeHttpRequest().encodeHttpResponse()")
	r := w.SessionIn("p", &filters.Inbound{})
	r.FeedString("POST /x HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc")
	want := "HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc"
	if got := r.BytesOut(); got != want {
		t.Fatalf("got %q", got)
	}
	// a decoded response head keeps its status; its connection header is
	// replaced by the computed one
	w = filtertest.Load(t, "pipy().pipeline('p').decodeHttpResponse().encodeHttpResponse()")
	r = w.Session("p")
	r.FeedString("HTTP/1.1 404 Nope\r\nConnection: close\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nno")
	want = "HTTP/1.1 404 Nope\r\nx-a: 1\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nno"
	if got := r.BytesOut(); got != want {
		t.Fatalf("got %q", got)
	}
}

func TestEncodeHttpRequest(t *testing.T) {
	cases := []struct {
		name, chain, want string
	}{
		{
			"defaults",
			".replaceMessage(new Message('x')).encodeHttpRequest()",
			"GET / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
		},
		{
			"no body",
			".replaceMessage(new Message()).encodeHttpRequest()",
			"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
		},
		{
			"fields and headers, framing headers dropped",
			".replaceMessage(new Message({method: 'POST', path: '/p?q', protocol: 'HTTP/1.0', headers: {Host: 'h', 'content-length': 99, 'Transfer-Encoding': 'chunked', Connection: 'close'}}, 'abc')).encodeHttpRequest()",
			"POST /p?q HTTP/1.0\r\nHost: h\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc",
		},
		{
			"head argument replaces the message head",
			".replaceMessage(new Message({method: 'PUT'}, 'abc')).encodeHttpRequest({method: 'DELETE', path: '/d'})",
			"DELETE /d HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, kinds := encodeOne(t, c.chain)
			if got != c.want {
				t.Fatalf("got\n%q\nwant\n%q", got, c.want)
			}
			if !strings.HasPrefix(kinds, "MS D(") || !strings.HasSuffix(kinds, " ME") {
				t.Fatalf("events %s", kinds)
			}
		})
	}
	// a decoded request re-encoded (proxy): same request line and headers
	w := filtertest.Load(t, "pipy().pipeline('p').decodeHttpRequest().encodeHttpRequest()")
	r := w.Session("p")
	r.FeedString("GET /a/b HTTP/1.1\r\nHost: up\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n")
	if got := r.BytesOut(); got != "GET /a/b HTTP/1.1\r\nhost: up\r\naccept: */*\r\nContent-Length: 0\r\n\r\n" {
		t.Fatalf("proxy: got %q", got)
	}
}

// Header names from scripts are written as given; unlike values they are not
// checked, so a name holding CR LF injects a header. The same holds for the
// request line fields.
func TestEncodeHttpHeaderNameInjection(t *testing.T) {
	for _, chain := range []string{
		".replaceMessage(new Message({headers: {'x-a\\r\\nInjected': 'v'}}, '')).encodeHttpResponse()",
		".replaceMessage(new Message({headers: {'x-a\\r\\nInjected': 'v'}}, '')).encodeHttpRequest()",
		".replaceMessage(new Message({path: '/a HTTP/1.1\\r\\nX-Evil: 1\\r\\nX: '}, '')).encodeHttpRequest()",
		".replaceMessage(new Message({statusText: 'OK\\r\\nX-Evil: 1'}, '')).encodeHttpResponse()",
	} {
		got, _ := encodeOne(t, chain)
		if strings.Contains(got, "\r\nInjected") || strings.Contains(got, "\r\nX-Evil") {
			t.Errorf("%s: framing broken: %q", chain, got)
		}
	}
}
