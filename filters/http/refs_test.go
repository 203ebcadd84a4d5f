package http_test

import (
	"testing"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

// Decoders and encoders hand every pooled reference on or release it: once
// the output is written (released), only the reader's reference is left.
func TestCodecsReleasePooledBuffers(t *testing.T) {
	req := "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" +
		"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n" +
		"GET /c HTTP/1.1\r\n\r\n"
	tpl := func(name string) filters.Template { return filtertest.Template(t, name) }
	pipelines := map[string][]filters.Template{
		"decode":        {tpl("decodeHttpRequest")},
		"decode+encode": {tpl("decodeHttpRequest"), tpl("encodeHttpResponse")},
		"encodeRequest": {tpl("decodeHttpRequest"), tpl("encodeHttpRequest")},
		"dummy":         {tpl("decodeHttpRequest"), tpl("dummy")},
	}
	splits := [][]string{{req}}
	for i := 1; i < len(req); i += 7 {
		splits = append(splits, []string{req[:i], req[i:]})
	}
	for name, tpls := range pipelines {
		for _, parts := range splits {
			p, prog := filtertest.GoPipeline(tpls...)
			sink := &filtertest.ReleasingSink{}
			prog.Env.Loop.Enter()
			s := p.NewSession(prog.NewContext(nil), sink)
			bufs := filtertest.FeedPooled(s, parts...)
			prog.Env.Loop.Leave()
			for i, b := range bufs {
				if n := b.Refs(); n != 1 {
					t.Fatalf("%s, split %d: buffer %d has %d references after the output was released, want 1", name, len(parts[0]), i, n)
				}
				b.Release()
			}
		}
	}
}

// A protocol error releases what the decoder holds too.
func TestDecoderFailReleases(t *testing.T) {
	p, prog := filtertest.GoPipeline(filtertest.Template(t, "decodeHttpRequest"))
	sink := &filtertest.ReleasingSink{}
	prog.Env.Loop.Enter()
	s := p.NewSession(prog.NewContext(nil), sink)
	bufs := filtertest.FeedPooled(s, "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab", "cBAD LINE\r\n\r\nmore")
	prog.Env.Loop.Leave()
	if k := sink.Kinds[len(sink.Kinds)-1]; k != filters.KindSessionEnd {
		t.Fatalf("last event %v", k)
	}
	for i, b := range bufs {
		if n := b.Refs(); n != 1 {
			t.Fatalf("buffer %d has %d references, want 1", i, n)
		}
	}
}
