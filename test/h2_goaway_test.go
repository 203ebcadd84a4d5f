package test

// HTTP/2 connections on a reload and on a drain (issue 13): demuxHttp
// sends GOAWAY(NO_ERROR) naming the last stream it took, the stream in
// flight still gets its whole answer, then the connection closes.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"

	"github.com/pipy-go/pipy/filters/http/h2"
)

const h2GoAwayScript = `pipy()
.listen(PORT)
  .demuxHttp('req')
.pipeline('req')
  .muxHttp('up')
.pipeline('up')
  .connect('127.0.0.1:BACKEND')
`

// slowBackend answers each HTTP/1.1 request with "slow" once release is
// closed; arrived gets a value per request read.
func slowBackend(t *testing.T) (port int, arrived chan struct{}, release chan struct{}) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	arrived, release = make(chan struct{}, 16), make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					var head strings.Builder
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						head.WriteString(line)
						if line == "\r\n" {
							break
						}
					}
					arrived <- struct{}{}
					<-release
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow")
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, arrived, release
}

// h2Conn is a raw HTTP/2 client connection for these tests.
type h2TestConn struct {
	t    *testing.T
	c    net.Conn
	rd   *h2.Reader
	hd   *h2.HeaderDecoder
	enc  *hpack.Encoder
	hbuf bytes.Buffer
}

func dialH2c(t *testing.T, port int) *h2TestConn {
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := &h2TestConn{t: t, c: c, rd: h2.NewReader(h2.PrefaceClient), hd: h2.NewHeaderDecoder(0, 0, 0)}
	h.enc = hpack.NewEncoder(&h.hbuf)
	out := append([]byte(h2.ClientPreface), h2.AppendSettings(nil)...)
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *h2TestConn) get(id uint32, path string) {
	h.hbuf.Reset()
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "test"}, {":path", path}} {
		h.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if _, err := h.c.Write(h2.AppendHeaders(nil, id, true, h.hbuf.Bytes(), h2.DefaultMaxFrameSize)); err != nil {
		h.t.Fatal(err)
	}
}

// next reads the next frame other than SETTINGS, WINDOW_UPDATE and PING
// (its fields decoded for HEADERS), or nil at the end of the connection.
func (h *h2TestConn) next() (*h2.Frame, *h2.Block) {
	h.t.Helper()
	buf := make([]byte, 4096)
	h.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		f, err := h.rd.Next()
		if err != nil {
			h.t.Fatalf("reading frames: %v", err)
		}
		if f == nil {
			n, err := h.c.Read(buf)
			if n > 0 {
				h.rd.Feed(buf[:n])
				continue
			}
			if err == io.EOF {
				return nil, nil
			}
			if err != nil {
				h.t.Fatalf("reading: %v", err)
			}
			continue
		}
		blk, err := h.hd.Add(f)
		if err != nil {
			h.t.Fatalf("header block: %v", err)
		}
		switch f.Type {
		case h2.FrameSettings, h2.FrameWindowUpdate, h2.FramePing:
			continue
		case h2.FrameHeaders, h2.FrameContinuation:
			if blk == nil {
				continue
			}
			fields := *blk
			fields.Fields = append(fields.Fields[:0:0], blk.Fields...)
			return f, &fields
		}
		cp := *f
		cp.Data = append([]byte(nil), f.Data...)
		return &cp, nil
	}
}

// expectGoAwayThenAnswer checks what a connection with stream 1 in flight
// gets once the program goes away: GOAWAY(NO_ERROR, last stream 1), then,
// once release is closed, stream 1's whole answer, then the end of the
// connection.
func expectGoAwayThenAnswer(t *testing.T, h *h2TestConn, release chan struct{}) {
	t.Helper()
	f, _ := h.next()
	if f == nil || f.Type != h2.FrameGoAway || f.ErrCode != h2.ErrCodeNo || f.LastStreamID != 1 {
		t.Fatalf("first frame after the program went away: %+v, want GOAWAY NO_ERROR last stream 1", f)
	}
	close(release)
	f, blk := h.next()
	if f == nil || blk == nil || blk.StreamID != 1 || blk.Status != "200" {
		t.Fatalf("after GOAWAY: %+v %+v, want stream 1's HEADERS with :status 200", f, blk)
	}
	var body []byte
	for {
		f, _ := h.next()
		if f == nil {
			t.Fatalf("the connection ended before stream 1's answer did (body %q)", body)
		}
		if f.Type != h2.FrameData || f.StreamID != 1 {
			t.Fatalf("unexpected frame %v", f.FrameHeader)
		}
		body = append(body, f.Data...)
		if f.EndStream() {
			break
		}
	}
	if string(body) != "slow" {
		t.Fatalf("stream 1's body %q, want %q", body, "slow")
	}
	if f, _ := h.next(); f != nil {
		t.Fatalf("after the last stream: %v, want the connection closed", f.FrameHeader)
	}
}

func TestH2GoAwayOnReload(t *testing.T) {
	backend, arrived, release := slowBackend(t)
	port := freePort(t)
	script := writeScript(t, "h2goaway.js", strings.NewReplacer("PORT", fmt.Sprint(port), "BACKEND", fmt.Sprint(backend)).Replace(h2GoAwayScript), 0)
	p := startScript(t, script, port)
	h := dialH2c(t, port)
	h.get(1, "/slow")
	<-arrived
	reloadExpect(t, p, "h2goaway.js", true)
	expectGoAwayThenAnswer(t, h, release)
	// New connections are served by the new program.
	h2 := dialH2c(t, port)
	h2.get(1, "/after")
	<-arrived
	if f, blk := h2.next(); f == nil || blk == nil || blk.Status != "200" {
		t.Fatalf("a new connection after the reload: %+v %+v", f, blk)
	}
}

func TestH2GoAwayOnDrain(t *testing.T) {
	backend, arrived, release := slowBackend(t)
	port := freePort(t)
	script := writeScript(t, "h2drain.js", strings.NewReplacer("PORT", fmt.Sprint(port), "BACKEND", fmt.Sprint(backend)).Replace(h2GoAwayScript), 0)
	p := startScript(t, script, port)
	h := dialH2c(t, port)
	h.get(1, "/slow")
	<-arrived
	p.signal(syscall.SIGTERM)
	expectGoAwayThenAnswer(t, h, release)
	if code := p.waitExit(15 * time.Second); code != 0 {
		t.Fatalf("pipy exited with %d after the drain", code)
	}
}
