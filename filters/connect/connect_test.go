package connect_test

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
)

// echoServer accepts on a loopback port and echoes every connection; it
// returns the address.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// connect relays a session's Data to the upstream and outputs what comes
// back; the session's end half-closes the upstream, whose close ends the
// session.
func TestConnectRelays(t *testing.T) {
	addr := echoServer(t)
	w := filtertest.Load(t, `pipy().pipeline('p').connect('`+addr+`')`)
	r := w.Session("p")
	r.Feed(filtertest.Data("hello, "), filtertest.Data("upstream"))
	filtertest.WaitOut(t, r, time.Now(), 5*time.Second, "echo", func() bool { return r.BytesOut() == "hello, upstream" })
	r.Feed(&filters.SessionEnd{})
	filtertest.WaitOut(t, r, time.Now(), 5*time.Second, "SessionEnd", func() bool {
		last, ok := r.Last().(*filters.SessionEnd)
		return ok && last.Err == filters.NoError
	})
	if err := r.WellFormed(); err != nil {
		t.Error(err)
	}
}

// A refused connection ends the session with ConnectionRefused and logs the
// original's line.
func TestConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	w := filtertest.Load(t, `pipy().pipeline('p').connect('`+addr+`')`)
	r := w.Session("p")
	r.Feed(filtertest.Data("x"))
	filtertest.WaitOut(t, r, time.Now(), 5*time.Second, "SessionEnd", func() bool {
		last, ok := r.Last().(*filters.SessionEnd)
		return ok && last.Err == filters.ConnectionRefused
	})
	if log := w.LogText(); !strings.Contains(log, "cannot connect to "+addr) {
		t.Errorf("log lacks `cannot connect to %s`:\n%s", addr, log)
	}
}

// Bad options fail the load, naming the option.
func TestConnectOptionErrors(t *testing.T) {
	for src, want := range map[string]string{
		`connect()`:                                  "connect: requires 1 or more arguments",
		`connect(42)`:                                "connect: argument #1 expects a string or a function",
		`connect('a:1', {bufferLimit: 'lots'})`:      "connect: option bufferLimit",
		`connect('a:1', {retryDelay: 'soon'})`:       "connect: option retryDelay",
		`connect('a:1', {tls: 'yes'})`:               "connect: option tls must be an object",
		`connect('a:1', {tls: {cert: 'x', key: 1}})`: "connect: option tls: tls.cert is not PEM",
	} {
		err := filtertest.LoadErr(t, "pipy().pipeline('p')."+src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}
