package socks4_test

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

// socksScript accepts unless _accept is false, records the onConnect
// arguments, and relays through 'c', which records what it is given (in the
// shared context) and passes it on unchanged.
const socksScript = `pipy({_accept: true, _calls: 0, _args: null, _fwd: ''})
.pipeline('p')
  .proxySOCKS4('c', (addr, port, user) => (_calls++, _args = [addr, port, user, typeof port], _accept))
.pipeline('c')
  .onData(d => _fwd += d.toString())
`

const (
	socksGranted  = "\x00\x5a\x00\x00\x00\x00\x00\x00"
	socksRejected = "\x00\x5b\x00\x00\x00\x00\x00\x00"
)

// socks4Req builds a SOCKS4 request; a domain makes it SOCKS4a.
func socks4Req(cmd byte, port uint16, ip [4]byte, user, domain string) string {
	var b [8]byte
	b[0], b[1] = 4, cmd
	binary.BigEndian.PutUint16(b[2:4], port)
	copy(b[4:], ip[:])
	s := string(b[:]) + user + "\x00"
	if domain != "" {
		s += domain + "\x00"
	}
	return s
}

type socksCase struct {
	name     string
	in       string
	accept   bool
	wantOut  string // concatenated output bytes
	wantEnd  bool   // output ends with a SessionEnd
	wantArgs string // onConnect arguments as JSON, "null" when not called
	wantFwd  string // bytes the sub-pipeline saw
}

var socksCases = []socksCase{
	{
		name:   "SOCKS4 with trailing data",
		in:     socks4Req(1, 80, [4]byte{127, 0, 0, 1}, "alice", "") + "GET / HTTP/1.0\r\n\r\n",
		accept: true, wantOut: socksGranted + "GET / HTTP/1.0\r\n\r\n",
		wantArgs: `["127.0.0.1",80,"alice","number"]`, wantFwd: "GET / HTTP/1.0\r\n\r\n",
	},
	{
		name:   "SOCKS4 no user, no data",
		in:     socks4Req(1, 65535, [4]byte{10, 1, 255, 0}, "", ""),
		accept: true, wantOut: socksGranted,
		wantArgs: `["10.1.255.0",65535,"","number"]`,
	},
	{
		name:   "SOCKS4a domain",
		in:     socks4Req(1, 8080, [4]byte{0, 0, 0, 42}, "bob", "example.com") + "payload",
		accept: true, wantOut: socksGranted + "payload",
		wantArgs: `["example.com",8080,"bob","number"]`, wantFwd: "payload",
	},
	{
		name:   "SOCKS4a with 0.0.0.0 (first three bytes zero)",
		in:     socks4Req(1, 1, [4]byte{0, 0, 0, 0}, "", "h"),
		accept: true, wantOut: socksGranted,
		wantArgs: `["h",1,"","number"]`,
	},
	{
		name:   "refused by the callback",
		in:     socks4Req(1, 80, [4]byte{1, 2, 3, 4}, "u", "") + "ignored",
		accept: false, wantOut: socksRejected, wantEnd: true,
		wantArgs: `["1.2.3.4",80,"u","number"]`,
	},
	{
		name:   "BIND is rejected",
		in:     socks4Req(2, 80, [4]byte{1, 2, 3, 4}, "u", ""),
		accept: true, wantOut: socksRejected, wantEnd: true, wantArgs: "null",
	},
	{
		name:   "wrong version",
		in:     "\x03\x01\x00\x50\x01\x02\x03\x04u\x00",
		accept: true, wantOut: socksRejected, wantEnd: true, wantArgs: "null",
	},
	{
		name:   "SOCKS5 greeting answered once 8 bytes are there",
		in:     "\x05\x01\x00" + "\x05\x01\x00\x01\x7f",
		accept: true, wantOut: socksRejected, wantEnd: true, wantArgs: "null",
	},
	{
		name:   "user id of 255 bytes is accepted",
		in:     socks4Req(1, 80, [4]byte{1, 2, 3, 4}, strings.Repeat("u", 255), ""),
		accept: true, wantOut: socksGranted,
		wantArgs: `["1.2.3.4",80,"` + strings.Repeat("u", 255) + `","number"]`,
	},
	{
		name:   "user id of 256 bytes is rejected",
		in:     socks4Req(1, 80, [4]byte{1, 2, 3, 4}, strings.Repeat("u", 256), ""),
		accept: true, wantOut: socksRejected, wantEnd: true, wantArgs: "null",
	},
	{
		name:   "domain of 255 bytes is accepted",
		in:     socks4Req(1, 80, [4]byte{0, 0, 0, 1}, "", strings.Repeat("d", 255)),
		accept: true, wantOut: socksGranted,
		wantArgs: `["` + strings.Repeat("d", 255) + `",80,"","number"]`,
	},
	{
		name:   "domain of 256 bytes is rejected",
		in:     socks4Req(1, 80, [4]byte{0, 0, 0, 1}, "", strings.Repeat("d", 256)),
		accept: true, wantOut: socksRejected, wantEnd: true, wantArgs: "null",
	},
}

func TestProxySOCKS4Handshakes(t *testing.T) {
	for _, c := range socksCases {
		t.Run(c.name, func(t *testing.T) {
			for mode, parts := range filtertest.ByteSplits(c.in) {
				w := filtertest.Load(t, socksScript)
				r := w.Session("p")
				r.Set("_accept", c.accept)
				filtertest.Guard(t, 5*time.Second, func() {
					for _, p := range parts {
						r.Feed(filtertest.Data(p), filters.NewData())
					}
				})
				if got := r.BytesOut(); got != c.wantOut {
					t.Fatalf("%s: output %q, want %q", mode, got, c.wantOut)
				}
				_, ended := r.Last().(*filters.SessionEnd)
				if ended != c.wantEnd {
					t.Fatalf("%s: events %s, SessionEnd wanted: %v", mode, r.Kinds(), c.wantEnd)
				}
				if got := r.Get("_args"); got != c.wantArgs {
					t.Fatalf("%s: onConnect args %s, want %s", mode, got, c.wantArgs)
				}
				if got := r.Get("_calls"); c.wantArgs != "null" && got != "1" {
					t.Fatalf("%s: onConnect called %s times", mode, got)
				}
				if got := r.Get("_fwd"); got != filtertest.JSString(c.wantFwd) {
					t.Fatalf("%s: forwarded %s, want %q", mode, got, c.wantFwd)
				}
				if err := r.WellFormed(); err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
			}
		})
	}
}

// The reply is 8 bytes followed by a flush marker (and SessionEnd when
// rejected); the relay goes on until the client's SessionEnd, which reaches
// the sub-session and comes back through it.
func TestProxySOCKS4Events(t *testing.T) {
	w := filtertest.Load(t, socksScript)
	r := w.Session("p")
	r.Feed(filtertest.Data(socks4Req(1, 80, [4]byte{127, 0, 0, 1}, "", "")))
	if got := r.Kinds(); got != "D(8) D(0)" {
		t.Fatalf("granted: %s", got)
	}
	// non-Data events are ignored
	r.Feed(&filters.MessageStart{}, filters.TheMessageEnd, filtertest.Data("abc"), filters.NewData())
	if got := r.Kinds(); got != "D(8) D(0) D(3) D(0)" {
		t.Fatalf("relay: %s", got)
	}
	c := w.Pipeline("c")
	if n := c.ActiveN.Load(); n != 1 {
		t.Fatalf("%d sub-sessions active", n)
	}
	r.Feed(&filters.SessionEnd{})
	if got := r.Kinds(); got != "D(8) D(0) D(3) D(0) SE" || !r.S.Done() {
		t.Fatalf("after SessionEnd: %s", got)
	}
	if n := c.ActiveN.Load(); n != 0 {
		t.Fatalf("%d sub-sessions active after the end", n)
	}
	r.Feed(filtertest.Data("late"))
	if got := r.Get("_fwd"); got != `"abc"` {
		t.Fatalf("forwarded %s", got)
	}

	r = w.Session("p")
	r.Feed(filtertest.Data(socks4Req(2, 80, [4]byte{127, 0, 0, 1}, "", "")))
	if got := r.Kinds(); got != "D(8) D(0) SE" {
		t.Fatalf("rejected: %s", got)
	}
	r.Feed(filtertest.Data("more"), &filters.SessionEnd{})
	if got := r.Kinds(); got != "D(8) D(0) SE" {
		t.Fatalf("input after rejection: %s", got)
	}

	// SessionEnd in the middle of the handshake just passes
	r = w.Session("p")
	r.Feed(filtertest.Data("\x04\x01\x00"), &filters.SessionEnd{})
	if got := r.Kinds(); got != "SE" || r.Get("_calls") != "0" {
		t.Fatalf("early end: %s, calls %s", r.Kinds(), r.Get("_calls"))
	}
}

// The sub-session ends with its parent, and the parent ends when the
// sub-session does.
func TestProxySOCKS4SubSessionLifetime(t *testing.T) {
	w := filtertest.Load(t, `pipy({_stop: false})
.pipeline('p')
  .proxySOCKS4('c', () => true)
.pipeline('c')
  .replaceData(d => _stop ? new SessionEnd : d)
`)
	c := w.Pipeline("c")
	r := w.Session("p")
	r.Feed(filtertest.Data(socks4Req(1, 80, [4]byte{1, 1, 1, 1}, "", "")))
	r.Run(func() { r.S.Kill() })
	if n := c.ActiveN.Load(); n != 0 {
		t.Fatalf("sub-session outlived its killed parent (%d active)", n)
	}

	r = w.Session("p")
	r.Feed(filtertest.Data(socks4Req(1, 80, [4]byte{1, 1, 1, 1}, "", "")), filtertest.Data("x"))
	r.Set("_stop", true)
	r.Feed(filtertest.Data("y"))
	if got := r.Kinds(); got != "D(8) D(0) D(1) SE" || !r.S.Done() {
		t.Fatalf("sub-session end: %s", got)
	}
	if n := c.ActiveN.Load(); n != 0 {
		t.Fatalf("%d active", n)
	}
	r.Feed(&filters.SessionEnd{})
	if got := r.Kinds(); got != "D(8) D(0) D(1) SE" {
		t.Fatalf("second SessionEnd: %s", got)
	}
}

func TestProxySOCKS4CallbackThrows(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').proxySOCKS4('c', () => noSuchThing.x).pipeline('c')`)
	r := w.Session("p")
	r.Feed(filtertest.Data(socks4Req(1, 80, [4]byte{1, 1, 1, 1}, "", "") + "abc"))
	if got := r.Kinds(); got != "SE(RuntimeError)" {
		t.Fatalf("got %s", got)
	}
	if !strings.Contains(w.LogText(), "noSuchThing") {
		t.Fatalf("error not logged: %s", w.LogText())
	}
}

func TestProxySOCKS4LoadErrors(t *testing.T) {
	for src, want := range map[string]string{
		`pipy().pipeline('p').proxySOCKS4('c')`:                        "requires 2",
		`pipy().pipeline('p').proxySOCKS4(1, () => true)`:              "argument #1",
		`pipy().pipeline('p').proxySOCKS4('c', true).pipeline('c')`:    "argument #2",
		`pipy().pipeline('p').proxySOCKS4('nope', () => true)`:         "pipeline not found: nope",
		`pipy().pipeline('p').proxySOCKS4('p', () => true)`:            "recursive pipeline",
		`pipy().pipeline('p').proxySOCKS4('c', null).pipeline('c')`:    "argument #2",
		`pipy().pipeline('p').proxySOCKS4('c', () => 1).pipeline('c')`: "",
	} {
		err := filtertest.LoadErr(t, src)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", src, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error %v, want %q", src, err, want)
		}
	}
}

func FuzzSocks4(f *testing.F) {
	f.Add([]byte(socks4Req(1, 80, [4]byte{127, 0, 0, 1}, "alice", "")+"GET /"), uint8(0), true)
	f.Add([]byte(socks4Req(1, 443, [4]byte{0, 0, 0, 1}, "", "example.com")), uint8(3), true)
	f.Add([]byte(socks4Req(2, 80, [4]byte{1, 2, 3, 4}, "x", "")), uint8(1), true)
	f.Add([]byte("\x05\x01\x00"), uint8(0), false)
	f.Add([]byte("\x04\x01\x00\x50\x00\x00\x00\x01"+strings.Repeat("a", 300)), uint8(9), true)
	w := filtertest.Load(f, socksScript)
	w.Env.Log = hclog.NewNullLogger()
	f.Fuzz(func(t *testing.T, in []byte, step uint8, accept bool) {
		w.T = t // the harness calls Helper, which F forbids here
		n := 1 + int(step%32)
		r := w.Session("p")
		r.Set("_accept", accept)
		filtertest.Guard(t, 5*time.Second, func() {
			for i := 0; i < len(in); i += n {
				r.Feed(filtertest.Data(string(in[i:min(i+n, len(in))])), filters.NewData())
			}
			r.Feed(&filters.SessionEnd{})
		})
		if err := r.WellFormed(); err != nil {
			t.Fatal(err)
		}
		out := r.BytesOut()
		switch {
		case strings.HasPrefix(out, socksGranted):
			// the relay echoes what follows the request
			if !strings.HasSuffix(string(in), out[8:]) {
				t.Fatalf("relayed %q is not the tail of %q", out[8:], in)
			}
		case out == socksRejected, out == "":
		default:
			t.Fatalf("output %q", out)
		}
		if _, ok := r.Last().(*filters.SessionEnd); !ok {
			t.Fatalf("no SessionEnd: %s", r.Kinds())
		}
		if n := w.Pipeline("c").ActiveN.Load(); n != 0 {
			t.Fatalf("%d sub-sessions left", n)
		}
	})
}
