package http_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	nethttp "net/http"
	"strings"
	"testing"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
	"github.com/pipy-go/pipy/filters/http"
)

// tunnelUpstream answers like a WebSocket server (a raw handshake, no
// framing of its own): an Upgrade request is answered 101 and every byte
// after it echoed until the client's side ends (then the connection
// closes); one for /refuse is answered 403 (and the connection stays open
// for more requests, as far as the server is concerned). A CONNECT is
// answered 200 and echoed the same way; anything else "ans:<path>".
func tunnelUpstream(t *testing.T) *upstream {
	return newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
		switch {
		case req.Method == "CONNECT":
			c.write("HTTP/1.1 200 Connection Established\r\nContent-Length: 0\r\n\r\n")
			io.Copy(c.nc, c.br)
		case req.Header.Get("Upgrade") != "":
			if req.URL.Path == "/refuse" {
				c.write("HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\n\r\nrefused")
				return
			}
			c.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			io.Copy(c.nc, c.br)
		default:
			c.answer(req, "ans:"+req.URL.Path)
		}
	})
}

// upgradeHead is an Upgrade request as decodeHttpRequest gives one it
// holds open: "connection: upgrade" kept.
func upgradeHead(path string) *filters.MessageStart {
	return &filters.MessageStart{Head: &http.RequestHead{Method: "GET", Path: path, Protocol: "HTTP/1.1",
		Headers: []http.HeaderField{{Name: "host", Value: "up"}, {Name: "upgrade", Value: "websocket"},
			{Name: "sec-websocket-key", Value: "dGhlIHNhbXBsZSBub25jZQ=="}, {Name: "connection", Value: "upgrade"}}}}
}

// upgradeRaw is upgradeHead as the upstream must read it: at once, without
// framing.
func upgradeRaw(path string) string {
	return "GET " + path + " HTTP/1.1\r\nhost: up\r\nupgrade: websocket\r\n" +
		"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nconnection: upgrade\r\n\r\n"
}

// wsFrame builds a masked WebSocket frame (RFC 6455 §5.2) of n bytes of
// payload holding every byte value, so that any length encoding (7, 16 and
// 64 bits) is exercised.
func wsFrame(op byte, n int) string {
	b := []byte{0x80 | op}
	switch {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, 0x37, 0xfa, 0x21, 0x3d)
	for i := 0; i < n; i++ {
		b = append(b, byte(i*7)^0x5a)
	}
	return string(b)
}

// muxFrames are frames of several sizes: tiny, 16-bit and 64-bit lengths,
// and one holding a request that must not be read as one.
var muxFrames = []string{wsFrame(0x1, 5), wsFrame(0x2, 300), wsFrame(0x2, 70000), wsFrame(0x9, 0),
	"\x82\x9e\x00\x00\x00\x00GET / HTTP/1.1\r\nHost: x\r\n\r\n"}

// dataSince returns the bytes of the Data r output from event i on.
func dataSince(r *filtertest.Rec, i int) string {
	var b strings.Builder
	for ; i < len(r.Evts); i++ {
		if r.Evts[i].Kind() == filters.KindData {
			b.WriteString(r.DataAt(i))
		}
	}
	return b.String()
}

// started reports whether r output a MessageStart.
func started(r *filtertest.Rec) bool {
	for _, e := range r.Evts {
		if e.Kind() == filters.KindMessageStart {
			return true
		}
	}
	return false
}

// An Upgrade request through muxHttp alone: its head goes out at once,
// unframed; the 101 reaches the requester as MessageStart and then the
// upstream's bytes as Data; the request's Data (those sent before the 101
// are held until it) are written as they are, frames of every size echoed
// exactly; the request's end (MessageEnd, or only its session's end)
// half-closes the upstream, whose end is the answer's MessageEnd.
func TestMuxHttpUpgradeTunnel(t *testing.T) {
	for name, tc := range map[string]struct {
		early bool // Data before the 101
		end   []filters.Event
	}{
		"after 101, MessageEnd": {end: []filters.Event{filters.TheMessageEnd}},
		"after 101, SessionEnd": {end: []filters.Event{&filters.SessionEnd{}}},
		"early data":            {early: true, end: []filters.Event{filters.TheMessageEnd}},
	} {
		t.Run(name, func(t *testing.T) {
			u := tunnelUpstream(t)
			w := muxWorld(t, u.addr(), "")
			r := send(w, "p", "", upgradeHead("/ws"))
			sent := ""
			if tc.early {
				sent = muxFrames[0] + muxFrames[1]
				r.Feed(filtertest.Data(muxFrames[0]), filters.NewData(), filtertest.Data(muxFrames[1]))
			}
			waitFor(t, r, "the 101", func() bool { return started(r) })
			if got, want := summaryNow(r), "start HTTP/1.1 101 \"Switching Protocols\" {upgrade: websocket, connection: Upgrade}\n"; !strings.HasPrefix(got, want) {
				t.Fatalf("answer:\n%s\nwant it to start with\n%s", got, want)
			}
			rest := muxFrames
			if tc.early {
				rest = muxFrames[2:]
			}
			for _, f := range rest {
				r.Feed(filtertest.Data(f), filters.NewData())
				sent += f
			}
			waitFor(t, r, "the echo", func() bool { return len(dataSince(r, 0)) >= len(sent) })
			if got := bytesNow(r); got != sent {
				t.Fatalf("echoed %d bytes that differ from the %d sent", len(got), len(sent))
			}
			if got, want := u.raw(0), upgradeRaw("/ws")+sent; got != want {
				t.Fatalf("upstream read %d bytes, want %d (head %q)", len(got), len(want), got[:min(len(got), 200)])
			}
			if u.closed(0) {
				t.Fatal("the upstream connection closed before the request's end")
			}
			r.Feed(tc.end...)
			waitFor(t, r, "the upstream's end", func() bool { return u.closed(0) })
			if tc.end[0].Kind() == filters.KindMessageEnd {
				waitFor(t, r, "the answer's end", func() bool { return countEnds(r) == 1 })
				r.Feed(&filters.SessionEnd{})
			}
			waitFor(t, r, "the session's end", func() bool { _, ok := r.Last().(*filters.SessionEnd); return ok })
			if got, want := mergedKinds(r), fmt.Sprintf("MS D(%d) ME SE", len(sent)); got != want {
				t.Fatalf("events %s, want %s", got, want)
			}
			if n := u.numConns(); n != 1 {
				t.Fatalf("%d upstream connections, want 1", n)
			}
		})
	}
}

// The connection that carried a tunnel is never reused: a request before
// it shares its connection (kept alive), the one after gets a new one.
// While the tunnel is open it does not count against maxConnections.
func TestMuxHttpUpgradeConnectionNotReused(t *testing.T) {
	u := tunnelUpstream(t)
	w := muxWorld(t, u.addr(), ", {maxConnections: 1}")
	if got := answered(t, send(w, "p", "", get("/before")...)); got != okAnswer("ans:/before") {
		t.Fatalf("before got:\n%s", got)
	}
	ws := send(w, "p", "", upgradeHead("/ws"))
	waitFor(t, ws, "the 101", func() bool { return started(ws) })
	// The one connection of the key carries the tunnel: another request
	// has a new one.
	if got := answered(t, send(w, "p", "", get("/during")...)); got != okAnswer("ans:/during") {
		t.Fatalf("during got:\n%s", got)
	}
	ws.Feed(filtertest.Data("ping"))
	waitFor(t, ws, "the echo", func() bool { return dataSince(ws, 0) == "ping" })
	ws.Feed(filters.TheMessageEnd, &filters.SessionEnd{})
	waitFor(t, ws, "the tunnel's end", func() bool { _, ok := ws.Last().(*filters.SessionEnd); return ok })
	if got := answered(t, send(w, "p", "", get("/after")...)); got != okAnswer("ans:/after") {
		t.Fatalf("after got:\n%s", got)
	}
	if got, want := u.raw(0), "GET /before HTTP/1.1\r\nhost: up\r\n\r\n"+upgradeRaw("/ws")+"ping"; got != want {
		t.Fatalf("connection 0 read %q, want %q", got, want)
	}
	// The request after the tunnel has the connection of the one during
	// it, kept alive; the tunnel's was closed.
	if got := strings.Join(u.reqs(1), "|"); got != "GET /during |GET /after " {
		t.Fatalf("connection 1 read %q", got)
	}
	if !u.closed(0) {
		t.Fatal("the tunnel's connection is open")
	}
	if n := u.numConns(); n != 2 {
		t.Fatalf("%d upstream connections, want 2", n)
	}
}

// Any other answer to an Upgrade is a plain response (held Data dropped);
// the connection is closed after it, since the upstream cannot know where
// the request ended, and the next request opens another.
func TestMuxHttpUpgradeRefused(t *testing.T) {
	u := tunnelUpstream(t)
	w := muxWorld(t, u.addr(), "")
	r := send(w, "p", "", upgradeHead("/refuse"), filtertest.Data("held"))
	if got, want := answered(t, r), "start HTTP/1.1 403 \"Forbidden\" {}\nbody \"refused\"\nend\n"; got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	// The requester's end (a decoder ends a held request when its answer
	// is not a tunnel) changes nothing upstream.
	r.Feed(filters.TheMessageEnd, &filters.SessionEnd{})
	if got := filtertest.KindsNow(r); got != "MS D(7) ME SE" {
		t.Fatalf("events %s", got)
	}
	waitFor(t, r, "the connection closed", func() bool { return u.closed(0) })
	if got, want := u.raw(0), upgradeRaw("/refuse"); got != want {
		t.Fatalf("upstream read %q, want %q", got, want)
	}
	if got := answered(t, send(w, "p", "", get("/next")...)); got != okAnswer("ans:/next") {
		t.Fatalf("next got:\n%s", got)
	}
	if n := u.numConns(); n != 2 {
		t.Fatalf("%d upstream connections, want 2", n)
	}
}

// A CONNECT is a tunnel request too: its head goes out unframed and a 2xx
// opens the tunnel whatever framing the answer announces.
func TestMuxHttpConnectTunnel(t *testing.T) {
	u := tunnelUpstream(t)
	w := muxWorld(t, u.addr(), "")
	r := send(w, "p", "", &filters.MessageStart{Head: &http.RequestHead{Method: "CONNECT", Path: "example.com:443",
		Protocol: "HTTP/1.1", Headers: []http.HeaderField{{Name: "host", Value: "example.com:443"}}}})
	waitFor(t, r, "the 200", func() bool { return started(r) })
	tls := "\x16\x03\x01\x00\x05hello\r\n\r\n" + strings.Repeat("t", 40000)
	r.Feed(filtertest.Data(tls))
	waitFor(t, r, "the echo", func() bool { return len(dataSince(r, 0)) >= len(tls) })
	if got := bytesNow(r); got != tls {
		t.Fatalf("echoed %d bytes that differ", len(got))
	}
	r.Feed(filters.TheMessageEnd, &filters.SessionEnd{})
	waitFor(t, r, "the tunnel's end", func() bool { _, ok := r.Last().(*filters.SessionEnd); return ok })
	if got, want := u.raw(0), "CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n"+tls; got != want {
		t.Fatalf("upstream read %d bytes, want %d", len(got), len(want))
	}
	if got, want := mergedKinds(r), fmt.Sprintf("MS D(%d) ME SE", len(tls)); got != want {
		t.Fatalf("events %s", got)
	}
}

// The requester giving up (its session failing) in the middle of a tunnel
// closes the upstream connection.
func TestMuxHttpUpgradeRequesterFails(t *testing.T) {
	u := tunnelUpstream(t)
	w := muxWorld(t, u.addr(), "")
	r := send(w, "p", "", upgradeHead("/ws"))
	waitFor(t, r, "the 101", func() bool { return started(r) })
	r.Feed(&filters.SessionEnd{Err: filters.ReadError})
	waitFor(t, r, "the connection closed", func() bool { return u.closed(0) })
	if got := filtertest.KindsNow(r); got != "MS SE(ReadError)" {
		t.Fatalf("events %s", got)
	}
}

// demuxHttp → muxHttp → connect: a WebSocket client on a real connection
// (the client's side of a pipe) gets the upstream's 101 and its echo of
// every frame; the client's end half-closes the upstream, whose end closes
// the client's session.
func TestMuxHttpUpgradeBehindDemuxHttp(t *testing.T) {
	u := tunnelUpstream(t)
	w := filtertest.Load(t, `pipy()
.pipeline('p').demuxHttp('req')
.pipeline('req').muxHttp('up')
.pipeline('up').connect('`+u.addr()+`')
`)
	r, cli := pipedSession(t, w)
	handshake := "GET /ws HTTP/1.1\r\nHost: up\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	// The first frame comes with the handshake: held until the 101.
	go cli.Write([]byte(handshake + muxFrames[0]))
	head := "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n"
	waitFor(t, r, "the 101 and the first echo", func() bool { return len(dataSince(r, 0)) >= len(head)+len(muxFrames[0]) })
	sent := muxFrames[0]
	for _, f := range muxFrames[1:] {
		if _, err := cli.Write([]byte(f)); err != nil {
			t.Fatal(err)
		}
		sent += f
	}
	waitFor(t, r, "the echo", func() bool { return len(dataSince(r, 0)) >= len(head)+len(sent) })
	if got := bytesNow(r); got != head+sent {
		t.Fatalf("client got %d bytes (head %q), want %d", len(got), got[:min(len(got), len(head))], len(head)+len(sent))
	}
	if got, want := u.raw(0), "GET /ws HTTP/1.1\r\nhost: up\r\nupgrade: websocket\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nconnection: upgrade\r\n\r\n"; !strings.HasPrefix(got, want) || !bytes.Equal([]byte(got[len(want):]), []byte(sent)) {
		t.Fatalf("upstream read head %q, want %q", got[:min(len(got), len(want))], want)
	}
	cli.Close()
	waitFor(t, r, "the upstream closed", func() bool { return u.closed(0) })
	waitFor(t, r, "the session's end", func() bool { _, ok := r.Last().(*filters.SessionEnd); return ok })
}

// An Upgrade sent on a reused connection that the server had closed
// meanwhile is sent once more on a new one, as any idempotent request;
// the Data held for the tunnel are not lost.
func TestMuxHttpUpgradeRetryOnStaleConnection(t *testing.T) {
	u := newUpstream(t, func(c *upConn, req *nethttp.Request, body string) {
		switch {
		case c.requests() == 2:
			c.nc.Close()
		case req.Header.Get("Upgrade") != "":
			c.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			io.Copy(c.nc, c.br)
		default:
			c.answer(req, "ans:"+req.URL.Path)
		}
	})
	w := muxWorld(t, u.addr(), "")
	answered(t, send(w, "p", "", get("/a")...))
	r := send(w, "p", "", upgradeHead("/ws"), filtertest.Data("early"))
	waitFor(t, r, "the echo", func() bool { return dataSince(r, 0) == "early" })
	r.Feed(filters.TheMessageEnd, &filters.SessionEnd{})
	waitFor(t, r, "the tunnel's end", func() bool { _, ok := r.Last().(*filters.SessionEnd); return ok })
	if got := mergedKinds(r); got != "MS D(5) ME SE" {
		t.Fatalf("events %s", got)
	}
	if got, want := u.raw(1), upgradeRaw("/ws")+"early"; got != want {
		t.Fatalf("connection 1 read %q, want %q", got, want)
	}
}
