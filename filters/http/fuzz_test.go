package http_test

import (
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

// fuzzWorld loads the one-decoder program a fuzz target uses for every
// input (loading a script per input would make fuzzing crawl).
func fuzzWorld(f *testing.F, decoder string) *filtertest.World {
	w := filtertest.Load(f, "pipy().pipeline('p')."+decoder+"()")
	w.Env.Log = hclog.NewNullLogger()
	return w
}

// fuzzHTTP feeds input to a decoder in two pieces split at split, then a
// SessionEnd, and checks the output grammar: no panic, no hang, messages
// never nest, nothing after the SessionEnd.
func fuzzHTTP(t *testing.T, w *filtertest.World, input []byte, split uint16) {
	w.T = t // the harness calls Helper, which F forbids here
	r := w.Session("p")
	filtertest.Guard(t, 5*time.Second, func() {
		at := int(split) % (len(input) + 1)
		if at > 0 {
			r.Feed(filters.NewDataBytes(append([]byte(nil), input[:at]...)))
		}
		if at < len(input) {
			r.Feed(filters.NewDataBytes(append([]byte(nil), input[at:]...)))
		}
		r.Feed(&filters.SessionEnd{})
	})
	if err := r.WellFormed(); err != nil {
		t.Fatal(err)
	}
	if n := len(r.Evts); n == 0 || r.Evts[n-1].Kind() != filters.KindSessionEnd {
		t.Fatalf("output does not end with a SessionEnd: %s", r.Kinds())
	}
}

var httpRequestSeeds = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
	"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n",
	"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
	"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
	"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
	"GET http://a:80/x HTTP/1.1\r\nHost: a\r\n\r\nCONNECT a:443 HTTP/1.1\r\n\r\nOPTIONS * HTTP/1.1\r\n\r\n",
	"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;a=\"b\\\"c\";d\r\nhello\r\n0\r\nT: v\r\n\r\n",
	"GET / HTTP/1.1\nHost: a\n\n",
}

// fuzzDecoder runs fuzzHTTP on decoder, seeded with seeds split at
// 1/div of their length.
func fuzzDecoder(f *testing.F, decoder string, seeds []string, div int) {
	for _, s := range seeds {
		f.Add([]byte(s), uint16(len(s)/div))
	}
	w := fuzzWorld(f, decoder)
	f.Fuzz(func(t *testing.T, input []byte, split uint16) {
		fuzzHTTP(t, w, input, split)
	})
}

func FuzzDecodeHttpRequest(f *testing.F) {
	fuzzDecoder(f, "decodeHttpRequest", httpRequestSeeds, 2)
}

var httpResponseSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	"HTTP/1.0 200 OK\r\n\r\nuntil the end",
	"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n",
	"HTTP/1.1 +20 X\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nGrpc-Status: 0\r\nX: y\r\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hiHTTP/1.1 200 OK\r\n\r\n",
}

func FuzzDecodeHttpResponse(f *testing.F) {
	fuzzDecoder(f, "decodeHttpResponse", httpResponseSeeds, 3)
}

// The answers to HEAD requests: heads only, whatever framing they announce
// (what follows a head is the next response).
func FuzzDecodeHttpBodilessResponse(f *testing.F) {
	fuzzDecoder(f, "decodeHttpBodilessResponse", httpResponseSeeds, 3)
}
