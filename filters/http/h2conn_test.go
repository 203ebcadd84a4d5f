package http_test

// Tests of the HTTP/2 connection (h2conn.go) under demuxHttp, and the
// small HTTP/2 client they and demuxhttp_test.go use. The client is made
// from package h2's pieces: it writes frames with the Append* functions
// (request blocks HPACK-encoded by x/net's encoder) and feeds them to a
// session of a demuxHttp pipeline; it parses what the session output with
// an h2.Reader and an h2.HeaderDecoder, so a test can assert exact frames.

import (
	"bytes"
	"fmt"
	"github.com/pipy-go/pipy/filters/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/filtertest"
	"github.com/pipy-go/pipy/filters/http/h2"
)

// h2Frame is a frame the server sent, copied out of the reader.
type h2Frame struct {
	h2.FrameHeader
	Data     []byte // DATA's data, GOAWAY's debug data
	ErrCode  h2.ErrCode
	LastID   uint32
	Incr     uint32
	Settings []h2.Setting
	// Fields is the decoded header block, on the frame that ended it
	// (HEADERS with END_HEADERS, or the last CONTINUATION); BlockEnd says
	// END_STREAM was on its HEADERS frame.
	Fields   []hpack.HeaderField
	HasBlock bool
	BlockEnd bool
}

func (f h2Frame) String() string {
	s := f.FrameHeader.String()
	switch f.Type {
	case h2.FrameRSTStream:
		s += " " + f.ErrCode.String()
	case h2.FrameGoAway:
		s += fmt.Sprintf(" last=%d %v %q", f.LastID, f.ErrCode, f.Data)
	case h2.FrameWindowUpdate:
		s += fmt.Sprintf(" +%d", f.Incr)
	case h2.FrameData:
		if len(f.Data) <= 32 {
			s += fmt.Sprintf(" %q", f.Data)
		}
	}
	if f.HasBlock {
		s += " " + fieldsString(f.Fields)
	}
	return s
}

func fieldsString(fs []hpack.HeaderField) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, f.Name+": "+f.Value)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// h2Client drives one session of a demuxHttp pipeline as an HTTP/2 client.
type h2Client struct {
	t    testing.TB
	w    *filtertest.World
	r    *filtertest.Rec
	enc  *hpack.Encoder
	ebuf bytes.Buffer

	rd     *h2.Reader
	hdec   *h2.HeaderDecoder
	parsed int // bytes of the output given to rd
	frames []h2Frame
	seen   int // frames consumed by take
	hdr    *h2Frame
	err    error // what rd or hdec stopped at
}

// newH2Client starts a session of pipeline p and sends the client preface
// with the given settings.
func newH2Client(t testing.TB, w *filtertest.World, p string, settings ...h2.Setting) *h2Client {
	t.Helper()
	c := dialH2(t, w, p, nil)
	c.send([]byte(h2.ClientPreface), h2.AppendSettings(nil, settings...))
	return c
}

// dialH2 starts a session of pipeline p for connection in (nil: none)
// and sends nothing.
func dialH2(t testing.TB, w *filtertest.World, p string, in *filters.Inbound) *h2Client {
	t.Helper()
	c := &h2Client{t: t, w: w, r: w.SessionIn(p, in), rd: h2.NewReader(h2.PrefaceClient), hdec: h2.NewHeaderDecoder(0, 1<<24, 1<<24)}
	c.enc = hpack.NewEncoder(&c.ebuf)
	c.rd.SetMaxFrameSize(h2.MaxFrameSizeLimit)
	return c
}

// send feeds each part to the session as one Data and a flush marker.
func (c *h2Client) send(parts ...[]byte) {
	for _, p := range parts {
		c.r.Feed(filters.NewDataBytes(append([]byte(nil), p...)), filters.NewData())
	}
}

// block HPACK-encodes fields given as name, value pairs.
func (c *h2Client) block(nv ...string) []byte {
	c.ebuf.Reset()
	for i := 0; i+1 < len(nv); i += 2 {
		c.enc.WriteField(hpack.HeaderField{Name: nv[i], Value: nv[i+1]})
	}
	return append([]byte(nil), c.ebuf.Bytes()...)
}

// headersFrame returns a HEADERS frame (and CONTINUATIONs) of fields.
func (c *h2Client) headersFrame(id uint32, end bool, nv ...string) []byte {
	return h2.AppendHeaders(nil, id, end, c.block(nv...), 0)
}

// request sends a request head on stream id: method and path, then the
// extra fields.
func (c *h2Client) request(id uint32, end bool, method, path string, extra ...string) {
	nv := append([]string{":method", method, ":scheme", "http", ":authority", "example.com", ":path", path}, extra...)
	c.send(c.headersFrame(id, end, nv...))
}

// get sends a GET without body on stream id.
func (c *h2Client) get(id uint32, path string, extra ...string) {
	c.request(id, true, "GET", path, extra...)
}

func (c *h2Client) data(id uint32, end bool, p string) {
	c.send(h2.AppendData(nil, id, end, []byte(p)))
}

func (c *h2Client) windowUpdate(id, incr uint32) { c.send(h2.AppendWindowUpdate(nil, id, incr)) }

func (c *h2Client) rst(id uint32, code h2.ErrCode) { c.send(h2.AppendRSTStream(nil, id, code)) }

// poll parses what the session output since the last poll.
func (c *h2Client) poll() {
	var out string
	c.r.Run(func() { out = c.r.BytesOut() })
	if len(out) <= c.parsed || c.err != nil {
		return
	}
	c.rd.Feed([]byte(out[c.parsed:]))
	c.parsed = len(out)
	for {
		f, err := c.rd.Next()
		if err != nil {
			c.err = err
			return
		}
		if f == nil {
			return
		}
		x := h2Frame{FrameHeader: f.FrameHeader, ErrCode: f.ErrCode, LastID: f.LastStreamID, Incr: f.Increment}
		x.Data = append([]byte(nil), f.Data...)
		if f.Type == h2.FrameSettings && !f.IsAck() {
			for i := range f.NumSettings() {
				x.Settings = append(x.Settings, f.Setting(i))
			}
		}
		if f.Type == h2.FrameHeaders {
			c.hdr = &x
		}
		blk, err := c.hdec.Add(f)
		if err != nil {
			c.err = err
			return
		}
		if blk != nil {
			x.HasBlock, x.BlockEnd = true, blk.EndStream
			x.Fields = append([]hpack.HeaderField(nil), blk.Fields...)
		}
		c.frames = append(c.frames, x)
	}
}

// all returns every frame the server sent so far.
func (c *h2Client) all() []h2Frame {
	c.t.Helper()
	c.poll()
	if c.err != nil {
		c.t.Fatalf("server output unreadable: %v\nframes so far:\n%s", c.err, framesString(c.frames))
	}
	return c.frames
}

// take returns the frames sent since the last take, leaving out the
// connection's SETTINGS, SETTINGS ACKs, PING ACKs and connection-level
// WINDOW_UPDATEs unless keepControl.
func (c *h2Client) take() []h2Frame {
	c.t.Helper()
	all := c.all()
	fs := all[c.seen:]
	c.seen = len(all)
	var out []h2Frame
	for _, f := range fs {
		switch {
		case f.Type == h2.FrameSettings, f.Type == h2.FramePing && f.Flags.Has(h2.FlagAck),
			f.Type == h2.FrameWindowUpdate && f.StreamID == 0:
			continue
		}
		out = append(out, f)
	}
	return out
}

func framesString(fs []h2Frame) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

// ended reports whether the connection's session output its SessionEnd.
func (c *h2Client) ended() bool {
	ended := false
	c.r.Run(func() {
		if l := c.r.Last(); l != nil && l.Kind() == filters.KindSessionEnd {
			ended = true
		}
	})
	return ended
}

// goAway returns the GOAWAY frames sent so far.
func (c *h2Client) goAways() []h2Frame {
	var out []h2Frame
	for _, f := range c.all() {
		if f.Type == h2.FrameGoAway {
			out = append(out, f)
		}
	}
	return out
}

// expectGoAway checks that exactly one GOAWAY was sent, with code, and
// that the connection ended; it returns the frame.
func (c *h2Client) expectGoAway(code h2.ErrCode) h2Frame {
	c.t.Helper()
	gs := c.goAways()
	if len(gs) != 1 {
		c.t.Fatalf("want one GOAWAY %v, got %d; frames:\n%s", code, len(gs), framesString(c.all()))
	}
	if gs[0].ErrCode != code {
		c.t.Fatalf("GOAWAY %v, want %v: %s", gs[0].ErrCode, code, gs[0])
	}
	if !c.ended() {
		c.t.Fatalf("connection did not end after GOAWAY %v (output %s)", code, filtertest.KindsNow(c.r))
	}
	return gs[0]
}

// answer is a response as read off a stream.
type answer struct {
	status   string
	fields   []hpack.HeaderField // of the head, without :status
	body     string
	trailers []hpack.HeaderField
	frames   []string // "H", "H*" (END_STREAM), "D(n)", "D*(n)", "T*" (trailers), "R(code)"
	complete bool     // END_STREAM seen
	reset    h2.ErrCode
	wasReset bool
}

func (a answer) field(name string) string {
	for _, x := range a.fields {
		if x.Name == name {
			return x.Value
		}
	}
	return ""
}

// stream collects what the server sent on stream id so far.
func (c *h2Client) stream(id uint32) answer {
	c.t.Helper()
	var a answer
	for _, f := range c.all() {
		if f.StreamID != id {
			continue
		}
		end := f.Flags.Has(h2.FlagEndStream)
		star := ""
		if end {
			star = "*"
		}
		switch f.Type {
		case h2.FrameHeaders, h2.FrameContinuation:
			if f.Type == h2.FrameHeaders {
				if a.status == "" {
					a.frames = append(a.frames, "H"+star)
				} else {
					a.frames = append(a.frames, "T"+star)
				}
				if end {
					a.complete = true
				}
			}
			if !f.HasBlock {
				continue
			}
			var fs []hpack.HeaderField
			status := ""
			for _, x := range f.Fields {
				if x.Name == ":status" {
					status = x.Value
					continue
				}
				fs = append(fs, x)
			}
			if a.status == "" || strings.HasPrefix(a.status, "1") && status != "" {
				a.status, a.fields = status, fs
			} else {
				a.trailers = fs
			}
		case h2.FrameData:
			a.frames = append(a.frames, fmt.Sprintf("D%s(%d)", star, len(f.Data)))
			a.body += string(f.Data)
			if end {
				a.complete = true
			}
		case h2.FrameRSTStream:
			a.frames = append(a.frames, "R("+f.ErrCode.String()+")")
			a.reset, a.wasReset = f.ErrCode, true
		}
	}
	return a
}

// gData is the script's record: w's context variable _g as JSON.
func gData(r *filtertest.Rec) string {
	var s string
	r.Run(func() { s = r.Get("_g") })
	return s
}

// noPanic fails when the log shows a recovered panic.
func noPanic(t testing.TB, w *filtertest.World) {
	t.Helper()
	if log := w.LogText(); strings.Contains(log, "panic") {
		t.Fatalf("panic logged:\n%s", log)
	}
}

// ---- flow control ----

// bigBody is what /big?n=N answers.
func bigBody(n int) string { return strings.Repeat("a", n) }

// dataTotals sums the DATA frames per stream and in all, and finds the
// largest.
func dataTotals(fs []h2Frame) (perStream map[uint32]int, conn int, maxFrame int) {
	perStream = map[uint32]int{}
	for _, f := range fs {
		if f.Type == h2.FrameData {
			perStream[f.StreamID] += int(f.Length)
			conn += int(f.Length)
			maxFrame = max(maxFrame, int(f.Length))
		}
	}
	return
}

func TestH2FlowSmallStreamWindow(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p", h2.Setting{ID: h2.SettingInitialWindowSize, Val: 10})
	c.get(1, "/big?n=100")
	fs := c.take()
	if len(fs) != 2 || fs[0].Type != h2.FrameHeaders || fs[1].Type != h2.FrameData || fs[1].Length != 10 || fs[1].Flags != 0 {
		t.Fatalf("first answer frames:\n%s want HEADERS and one DATA of 10", framesString(fs))
	}
	body := string(fs[1].Data)
	for i := 0; i < 9; i++ {
		if fs := c.take(); len(fs) != 0 {
			t.Fatalf("sent beyond the window:\n%s", framesString(fs))
		}
		// Open the window in two steps: 4 then 6 bytes.
		c.windowUpdate(1, 4)
		fs := c.take()
		if len(fs) != 1 || fs[0].Type != h2.FrameData || fs[0].Length != 4 {
			t.Fatalf("after +4: %s", framesString(fs))
		}
		body += string(fs[0].Data)
		c.windowUpdate(1, 6)
		fs = c.take()
		if len(fs) != 1 || fs[0].Type != h2.FrameData || fs[0].Length != 6 {
			t.Fatalf("after +6: %s", framesString(fs))
		}
		if end := fs[0].Flags.Has(h2.FlagEndStream); end != (i == 8) {
			t.Fatalf("round %d: END_STREAM %v", i, end)
		}
		body += string(fs[0].Data)
	}
	if body != bigBody(100) {
		t.Fatalf("body %q", body)
	}
	if n := activeReq(c); n != 0 || c.ended() {
		t.Errorf("%d request sessions alive, ended %v", n, c.ended())
	}
}

func TestH2FlowConnectionWindow(t *testing.T) {
	w := loadServer(t, "")
	// Stream windows large, the connection window stays at 65535.
	c := newH2Client(t, w, "p", h2.Setting{ID: h2.SettingInitialWindowSize, Val: 1 << 20})
	c.get(1, "/big?n=50000")
	c.get(3, "/big?n=50000")
	per, conn, maxFrame := dataTotals(c.take())
	if conn != 65535 || per[1] != 50000 || per[3] != 15535 {
		t.Fatalf("sent %d on the connection (%v), want 65535: stream 1 whole, stream 3 the rest", conn, per)
	}
	if maxFrame > h2.DefaultMaxFrameSize {
		t.Errorf("frame of %d bytes, above the default SETTINGS_MAX_FRAME_SIZE", maxFrame)
	}
	c.windowUpdate(0, 10000)
	if per, conn, _ := dataTotals(c.take()); conn != 10000 || per[3] != 10000 {
		t.Fatalf("after connection +10000: %v", per)
	}
	c.windowUpdate(0, 1<<20)
	fs := c.take()
	if per, _, _ := dataTotals(fs); per[3] != 50000-25535 || !fs[len(fs)-1].Flags.Has(h2.FlagEndStream) {
		t.Fatalf("after connection +1M: %v\n%s", per, framesString(fs))
	}
	if a := c.stream(3); a.body != bigBody(50000) || !a.complete {
		t.Errorf("stream 3 body of %d bytes, complete %v", len(a.body), a.complete)
	}
}

func TestH2FlowMaxFrameSize(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p", h2.Setting{ID: h2.SettingInitialWindowSize, Val: 1 << 20})
	c.windowUpdate(0, 1<<20)
	c.get(1, "/big?n=40000")
	var sizes []int
	for _, f := range c.take() {
		if f.Type == h2.FrameData {
			sizes = append(sizes, int(f.Length))
		}
	}
	if fmt.Sprint(sizes) != "[16384 16384 7232]" {
		t.Errorf("DATA sizes %v with the default maximum frame size", sizes)
	}
	c.send(h2.AppendSettings(nil, h2.Setting{ID: h2.SettingMaxFrameSize, Val: 20000}))
	c.get(3, "/big?n=40000")
	sizes = nil
	for _, f := range c.take() {
		if f.Type == h2.FrameData {
			sizes = append(sizes, int(f.Length))
		}
	}
	if fmt.Sprint(sizes) != "[20000 20000]" {
		t.Errorf("DATA sizes %v with SETTINGS_MAX_FRAME_SIZE 20000", sizes)
	}
}

func TestH2FlowSettingsChangeWindow(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p", h2.Setting{ID: h2.SettingInitialWindowSize, Val: 0})
	c.get(1, "/big?n=30")
	if fs := c.take(); len(fs) != 1 || fs[0].Type != h2.FrameHeaders {
		t.Fatalf("window 0: %s, want the head only", framesString(fs))
	}
	// Raising SETTINGS_INITIAL_WINDOW_SIZE opens the open streams' windows
	// (§6.9.2).
	c.send(h2.AppendSettings(nil, h2.Setting{ID: h2.SettingInitialWindowSize, Val: 30}))
	fs := c.take()
	if len(fs) != 1 || fs[0].Type != h2.FrameData || fs[0].Length != 30 || !fs[0].Flags.Has(h2.FlagEndStream) {
		t.Fatalf("after the window opened: %s", framesString(fs))
	}
}

// The server opens its receive windows as a stream's session takes the
// data: a client that keeps within what it was given can send a body
// much larger than the initial windows, and never gets a flow-control
// error.
func TestH2FlowReceiveWindowsReopen(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	fs := c.all()
	var initStream int64 = 65535
	for _, s := range fs[0].Settings {
		if s.ID == h2.SettingInitialWindowSize {
			initStream = int64(s.Val)
		}
	}
	connWin, streamWin := int64(65535), initStream
	for _, f := range fs {
		if f.Type == h2.FrameWindowUpdate && f.StreamID == 0 {
			connWin += int64(f.Incr)
		}
	}
	c.seen = len(fs)
	c.request(1, false, "POST", "/hold")
	chunk := strings.Repeat("x", h2.DefaultMaxFrameSize)
	sent := 0
	for sent < 4<<20 {
		if connWin < int64(len(chunk)) || streamWin < int64(len(chunk)) {
			t.Fatalf("after %d bytes the windows are closed: connection %d, stream %d", sent, connWin, streamWin)
		}
		c.data(1, false, chunk)
		sent += len(chunk)
		connWin -= int64(len(chunk))
		streamWin -= int64(len(chunk))
		for _, f := range c.take() {
			switch {
			case f.Type == h2.FrameWindowUpdate && f.StreamID == 1:
				streamWin += int64(f.Incr)
			case f.Type == h2.FrameRSTStream, f.Type == h2.FrameGoAway:
				t.Fatalf("after %d bytes: %s", sent, f)
			}
		}
		// take leaves the connection's WINDOW_UPDATEs out: count them
		// over all frames.
		connWin = 65535
		for _, f := range c.all() {
			if f.Type == h2.FrameWindowUpdate && f.StreamID == 0 {
				connWin += int64(f.Incr)
			}
		}
		connWin -= int64(sent)
	}
	if got := gData(c.r); !strings.Contains(got, `"starts":1`) {
		t.Errorf("script saw %s", got)
	}
}

func TestH2FlowWindowOverflow(t *testing.T) {
	w := loadServer(t, "")
	t.Run("stream", func(t *testing.T) {
		c := newH2Client(t, w, "p")
		c.request(1, false, "POST", "/echo")
		c.request(3, false, "POST", "/echo")
		c.windowUpdate(1, h2.MaxWindowSize)
		if a := c.stream(1); !a.wasReset || a.reset != h2.ErrCodeFlowControl {
			t.Fatalf("stream window past 2^31-1: %+v, want RST_STREAM(FLOW_CONTROL_ERROR)", a)
		}
		c.data(3, true, "ok")
		if a := c.stream(3); a.body != "ok" || c.ended() {
			t.Fatalf("other stream: %+v", a)
		}
		if n := activeReq(c); n != 0 {
			t.Errorf("%d request sessions alive", n)
		}
	})
	t.Run("connection", func(t *testing.T) {
		c := newH2Client(t, w, "p")
		c.request(1, false, "POST", "/echo")
		c.windowUpdate(0, h2.MaxWindowSize)
		c.expectGoAway(h2.ErrCodeFlowControl)
		if n := activeReq(c); n != 0 {
			t.Errorf("%d request sessions alive", n)
		}
	})
	t.Run("settings", func(t *testing.T) {
		c := newH2Client(t, w, "p")
		c.request(1, false, "POST", "/echo")
		c.windowUpdate(1, h2.MaxWindowSize-65535)
		c.send(h2.AppendSettings(nil, h2.Setting{ID: h2.SettingInitialWindowSize, Val: 65536}))
		c.expectGoAway(h2.ErrCodeFlowControl)
	})
}

// ---- defences ----

func TestH2DefenceRapidReset(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	id := uint32(1)
	for ; id < 2*400 && !c.ended(); id += 2 {
		c.get(id, "/hold")
		c.rst(id, h2.ErrCodeCancel)
	}
	g := c.expectGoAway(h2.ErrCodeEnhanceYourCalm)
	opened := (id - 1) / 2
	// 100 streams by default: 2*100 resets per second are allowed.
	if opened < 200 || opened > 202 {
		t.Errorf("GOAWAY after %d streams, want just past 200", opened)
	}
	if g.LastID != id-2 {
		t.Errorf("GOAWAY last stream %d, want %d", g.LastID, id-2)
	}
	if n := activeReq(c); n != 0 {
		t.Errorf("%d request sessions alive", n)
	}
	got := gData(c.r)
	if !strings.Contains(got, fmt.Sprintf(`"starts":%d`, opened)) || strings.Count(got, `"ReadError"`) != int(opened) {
		t.Errorf("script saw %d starts and %d ends, want %d of each: %.200s", strings.Count(got, `"method"`), strings.Count(got, `"ReadError"`), opened, got)
	}
	if strings.Count(w.LogText(), "rapid reset") != 1 {
		t.Errorf("log:\n%s", w.LogText())
	}
}

func TestH2DefenceContinuationFlood(t *testing.T) {
	w := loadServer(t, "")
	t.Run("empty frames", func(t *testing.T) {
		c := newH2Client(t, w, "p")
		blk := c.block(":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/")
		c.send(h2.AppendFrameHeader(nil, h2.FrameHeader{Length: uint32(len(blk)), Type: h2.FrameHeaders, StreamID: 1}), blk)
		for i := 0; i < 1000 && !c.ended(); i++ {
			c.send(h2.AppendFrameHeader(nil, h2.FrameHeader{Type: h2.FrameContinuation, StreamID: 1}))
		}
		c.expectGoAway(h2.ErrCodeEnhanceYourCalm)
		if got := gData(c.r); !strings.Contains(got, `"starts":0`) {
			t.Errorf("a request started: %s", got)
		}
	})
	t.Run("block too large", func(t *testing.T) {
		c := newH2Client(t, w, "p")
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		for i := 0; buf.Len() < 100<<10; i++ {
			enc.WriteField(hpack.HeaderField{Name: fmt.Sprintf("x-%d", i), Value: strings.Repeat("v", 1000), Sensitive: true})
		}
		c.send(h2.AppendHeaders(nil, 1, true, buf.Bytes(), 0))
		c.expectGoAway(h2.ErrCodeEnhanceYourCalm)
		if got := gData(c.r); !strings.Contains(got, `"starts":0`) {
			t.Errorf("a request started: %s", got)
		}
	})
}

func TestH2DefenceHPACKBomb(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	// One 4000-byte field in the dynamic table, then referred to by index
	// (one byte each) until the decoded list passes 64 KiB.
	nv := []string{":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/bomb"}
	for i := 0; i < 40; i++ {
		nv = append(nv, "x-bomb", strings.Repeat("b", 4000))
	}
	blk := c.block(nv...)
	if len(blk) > 5000 {
		t.Fatalf("the encoder did not index: block of %d bytes", len(blk))
	}
	c.send(h2.AppendHeaders(nil, 1, true, blk, 0))
	a := c.stream(1)
	if a.status != "431" || !a.complete {
		t.Fatalf("HPACK bomb: %+v, want a 431 answer", a)
	}
	if got := gData(c.r); !strings.Contains(got, `"starts":0`) {
		t.Errorf("the request reached the script: %.300s", got)
	}
	// The HPACK state is intact: the next request, which refers to the
	// table, is served.
	c.get(3, "/next", "x-bomb", strings.Repeat("b", 4000))
	if a := c.stream(3); a.status != "200" || a.body != "path=/next" || c.ended() {
		t.Fatalf("next stream: %+v", a)
	}
	if got := gData(c.r); !strings.Contains(got, `"starts":1`) {
		t.Errorf("script saw %.300s", got)
	}
}

func TestH2DefenceSettingsFlood(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	var flood []byte
	for i := 0; i < 1100; i++ {
		flood = h2.AppendSettings(flood)
	}
	c.send(flood)
	c.expectGoAway(h2.ErrCodeEnhanceYourCalm)
	acks := 0
	for _, f := range c.all() {
		if f.Type == h2.FrameSettings && f.Flags.Has(h2.FlagAck) {
			acks++
		}
	}
	if acks > 1001 {
		t.Errorf("%d SETTINGS acknowledged", acks)
	}
}

func TestH2DefencePingFlood(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	var flood []byte
	for i := 0; i < 1100; i++ {
		flood = h2.AppendPing(flood, false, [8]byte{byte(i)})
	}
	c.send(flood)
	c.expectGoAway(h2.ErrCodeEnhanceYourCalm)
	acks := 0
	for _, f := range c.all() {
		if f.Type == h2.FramePing && f.Flags.Has(h2.FlagAck) {
			acks++
		}
	}
	if acks > 1000 {
		t.Errorf("%d PINGs answered", acks)
	}
}

// A few PINGs are answered, echoing their data.
func TestH2Ping(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	c.all()
	c.send(h2.AppendPing(nil, false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}))
	fs := c.all()
	last := fs[len(fs)-1]
	if last.Type != h2.FramePing || !last.Flags.Has(h2.FlagAck) || string(last.Data) != "" && string(last.Data) != "\x01\x02\x03\x04\x05\x06\x07\x08" {
		t.Fatalf("PING answered with %s", last)
	}
	// A PING ACK from the client is not answered.
	n := len(fs)
	c.send(h2.AppendPing(nil, true, [8]byte{}))
	if len(c.all()) != n {
		t.Fatalf("PING ACK answered: %s", framesString(c.all()[n:]))
	}
}

func TestH2DefenceStalledWindow(t *testing.T) {
	defer http.SetH2StallTimeout(100 * time.Millisecond)()
	w := loadServer(t, "")
	c := newH2Client(t, w, "p", h2.Setting{ID: h2.SettingInitialWindowSize, Val: 10})
	start := time.Now()
	c.get(1, "/big?n=100")
	if fs := c.take(); len(fs) != 2 || fs[1].Length != 10 {
		t.Fatalf("frames %s", framesString(fs))
	}
	took := filtertest.WaitOut(t, c.r, start, 5*time.Second, "connection ends", func() bool {
		l := c.r.Last()
		return l != nil && l.Kind() == filters.KindSessionEnd
	})
	if took < 100*time.Millisecond {
		t.Errorf("ended after %v, before the stall timeout", took)
	}
	c.expectGoAway(h2.ErrCodeFlowControl)
	if n := activeReq(c); n != 0 {
		t.Errorf("%d request sessions alive", n)
	}
}

// A peer that keeps sending frames that change nothing (SETTINGS, a
// connection WINDOW_UPDATE while the stream's window stays shut) has still
// not opened its window: the stall timeout still ends the connection.
func TestH2DefenceStalledWindowKeptAlive(t *testing.T) {
	defer http.SetH2StallTimeout(100 * time.Millisecond)()
	w := loadServer(t, "")
	for _, keep := range []struct {
		name  string
		frame []byte
	}{
		{"SETTINGS", h2.AppendSettings(nil)},
		{"connection WINDOW_UPDATE", h2.AppendWindowUpdate(nil, 0, 1)},
	} {
		t.Run(keep.name, func(t *testing.T) {
			c := newH2Client(t, w, "p", h2.Setting{ID: h2.SettingInitialWindowSize, Val: 10})
			c.get(1, "/big?n=100")
			deadline := time.Now().Add(2 * time.Second)
			for !c.ended() && time.Now().Before(deadline) {
				c.send(keep.frame)
				time.Sleep(20 * time.Millisecond)
			}
			if !c.ended() {
				t.Fatalf("the connection lives on after 2s: the stall timeout (100ms) was restarted by each %s", keep.name)
			}
			c.expectGoAway(h2.ErrCodeFlowControl)
		})
	}
}

// ---- bad input ----

// badCase is a malformed input after a good preface and SETTINGS, with
// the error it must get.
type badCase struct {
	name   string
	frames func(c *h2Client) []byte
	code   h2.ErrCode
	stream uint32 // 0: a connection error (GOAWAY); else RST_STREAM on it
}

func hdr(t h2.FrameType, fl h2.Flags, id uint32, payload string) []byte {
	b := h2.AppendFrameHeader(nil, h2.FrameHeader{Length: uint32(len(payload)), Type: t, Flags: fl, StreamID: id})
	return append(b, payload...)
}

var badCases = []badCase{
	{"HEADERS on stream 0", func(c *h2Client) []byte {
		return h2.AppendHeaders(nil, 0, true, c.block(":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/"), 0)
	}, h2.ErrCodeProtocol, 0},
	{"DATA on stream 0", func(c *h2Client) []byte { return hdr(h2.FrameData, 0, 0, "x") }, h2.ErrCodeProtocol, 0},
	{"bad HPACK index", func(c *h2Client) []byte {
		return hdr(h2.FrameHeaders, h2.FlagEndHeaders|h2.FlagEndStream, 3, "\xff\xff\xff\x0f")
	}, h2.ErrCodeCompression, 0},
	{"truncated HPACK", func(c *h2Client) []byte {
		return hdr(h2.FrameHeaders, h2.FlagEndHeaders|h2.FlagEndStream, 3, "\x40\x05ab")
	}, h2.ErrCodeCompression, 0},
	{"even stream", func(c *h2Client) []byte {
		return h2.AppendHeaders(nil, 4, true, c.block(":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/"), 0)
	}, h2.ErrCodeProtocol, 0},
	{"HEADERS on a closed stream", func(c *h2Client) []byte {
		b := h2.AppendHeaders(nil, 3, true, c.block(":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/"), 0)
		return h2.AppendHeaders(b, 3, true, c.block(":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/"), 0)
	}, h2.ErrCodeStreamClosed, 0},
	{"PING of 7 bytes", func(c *h2Client) []byte { return hdr(h2.FramePing, 0, 0, "1234567") }, h2.ErrCodeFrameSize, 0},
	{"PING on a stream", func(c *h2Client) []byte { return hdr(h2.FramePing, 0, 3, "12345678") }, h2.ErrCodeProtocol, 0},
	{"SETTINGS of 5 bytes", func(c *h2Client) []byte { return hdr(h2.FrameSettings, 0, 0, "12345") }, h2.ErrCodeFrameSize, 0},
	{"SETTINGS ACK with payload", func(c *h2Client) []byte { return hdr(h2.FrameSettings, h2.FlagAck, 0, "\x00\x01\x00\x00\x00\x00") }, h2.ErrCodeFrameSize, 0},
	{"ENABLE_PUSH 2", func(c *h2Client) []byte {
		return h2.AppendSettings(nil, h2.Setting{ID: h2.SettingEnablePush, Val: 2})
	}, h2.ErrCodeProtocol, 0},
	{"INITIAL_WINDOW_SIZE 2^31", func(c *h2Client) []byte {
		return h2.AppendSettings(nil, h2.Setting{ID: h2.SettingInitialWindowSize, Val: 1 << 31})
	}, h2.ErrCodeFlowControl, 0},
	{"MAX_FRAME_SIZE 100", func(c *h2Client) []byte {
		return h2.AppendSettings(nil, h2.Setting{ID: h2.SettingMaxFrameSize, Val: 100})
	}, h2.ErrCodeProtocol, 0},
	{"frame above 16384", func(c *h2Client) []byte { return hdr(h2.FrameData, 0, 1, strings.Repeat("x", 16385)) }, h2.ErrCodeFrameSize, 0},
	{"RST_STREAM of 3 bytes", func(c *h2Client) []byte { return hdr(h2.FrameRSTStream, 0, 1, "123") }, h2.ErrCodeFrameSize, 0},
	{"RST_STREAM on idle stream", func(c *h2Client) []byte { return h2.AppendRSTStream(nil, 9, h2.ErrCodeCancel) }, h2.ErrCodeProtocol, 0},
	{"DATA on idle stream", func(c *h2Client) []byte { return h2.AppendData(nil, 9, true, []byte("x")) }, h2.ErrCodeProtocol, 0},
	{"WINDOW_UPDATE of 3 bytes", func(c *h2Client) []byte { return hdr(h2.FrameWindowUpdate, 0, 0, "123") }, h2.ErrCodeFrameSize, 0},
	{"WINDOW_UPDATE 0 on the connection", func(c *h2Client) []byte { return h2.AppendWindowUpdate(nil, 0, 0) }, h2.ErrCodeProtocol, 0},
	{"WINDOW_UPDATE on idle stream", func(c *h2Client) []byte { return h2.AppendWindowUpdate(nil, 9, 1) }, h2.ErrCodeProtocol, 0},
	{"GOAWAY of 4 bytes", func(c *h2Client) []byte { return hdr(h2.FrameGoAway, 0, 0, "1234") }, h2.ErrCodeFrameSize, 0},
	{"CONTINUATION without HEADERS", func(c *h2Client) []byte { return hdr(h2.FrameContinuation, h2.FlagEndHeaders, 1, "") }, h2.ErrCodeProtocol, 0},
	{"DATA inside a header block", func(c *h2Client) []byte {
		b := hdr(h2.FrameHeaders, 0, 3, string(c.block(":method", "GET")))
		return append(b, h2.AppendData(nil, 1, false, []byte("x"))...)
	}, h2.ErrCodeProtocol, 0},
	{"PUSH_PROMISE from a client", func(c *h2Client) []byte { return hdr(h2.FramePushPromise, h2.FlagEndHeaders, 1, "\x00\x00\x00\x02") }, h2.ErrCodeProtocol, 0},
	{"padding longer than the payload", func(c *h2Client) []byte { return hdr(h2.FrameData, h2.FlagPadded, 1, "\x05ab") }, h2.ErrCodeProtocol, 0},

	// Stream errors: the stream is reset, the connection and stream 1 go
	// on.
	{"no :method", func(c *h2Client) []byte {
		return h2.AppendHeaders(nil, 3, true, c.block(":scheme", "http", ":authority", "a", ":path", "/"), 0)
	}, h2.ErrCodeProtocol, 3},
	{"upper-case field name", func(c *h2Client) []byte {
		return h2.AppendHeaders(nil, 3, true, c.block(":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/", "X-Up", "1"), 0)
	}, h2.ErrCodeProtocol, 3},
	{"connection-specific field", func(c *h2Client) []byte {
		return h2.AppendHeaders(nil, 3, true, c.block(":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/", "connection", "close"), 0)
	}, h2.ErrCodeProtocol, 3},
	{"pseudo-field after a regular one", func(c *h2Client) []byte {
		return h2.AppendHeaders(nil, 3, true, c.block(":method", "GET", ":scheme", "http", "x", "1", ":authority", "a", ":path", "/"), 0)
	}, h2.ErrCodeProtocol, 3},
	{"malformed content-length", func(c *h2Client) []byte {
		return h2.AppendHeaders(nil, 3, true, c.block(":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/", "content-length", "-1"), 0)
	}, h2.ErrCodeProtocol, 3},
	{"PRIORITY on itself", func(c *h2Client) []byte { return hdr(h2.FramePriority, 0, 3, "\x00\x00\x00\x03\x10") }, h2.ErrCodeProtocol, 3},
	{"PRIORITY of 4 bytes", func(c *h2Client) []byte { return hdr(h2.FramePriority, 0, 3, "\x00\x00\x00\x01") }, h2.ErrCodeFrameSize, 3},
	{"WINDOW_UPDATE 0 on a stream", func(c *h2Client) []byte { return h2.AppendWindowUpdate(nil, 1, 0) }, h2.ErrCodeProtocol, 1},
	{"DATA after END_STREAM", func(c *h2Client) []byte {
		b := h2.AppendHeaders(nil, 3, true, c.block(":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/hold"), 0)
		return h2.AppendData(b, 3, true, []byte("x"))
	}, h2.ErrCodeStreamClosed, 3},
}

func TestH2BadInput(t *testing.T) {
	for _, bc := range badCases {
		t.Run(bc.name, func(t *testing.T) {
			w := loadServer(t, "")
			var c *h2Client
			filtertest.Guard(t, 5*time.Second, func() {
				c = newH2Client(t, w, "p")
				// Stream 1 in flight: a POST whose body has not ended.
				c.request(1, false, "POST", "/echo")
				c.send(bc.frames(c))
			})
			noPanic(t, w)
			log := w.LogText()
			if n := strings.Count(log, "HTTP/2: "); n != 1 {
				t.Errorf("logged %d times:\n%s", n, log)
			}
			if bc.stream == 0 {
				c.expectGoAway(bc.code)
				if n := activeReq(c); n != 0 {
					t.Errorf("%d request sessions alive", n)
				}
				return
			}
			if a := c.stream(bc.stream); !a.wasReset || a.reset != bc.code {
				t.Fatalf("stream %d: %+v, want RST_STREAM(%v)\n%s", bc.stream, a, bc.code, framesString(c.all()))
			}
			if len(c.goAways()) != 0 || c.ended() {
				t.Fatalf("a stream error ended the connection:\n%s", framesString(c.all()))
			}
			if bc.stream != 1 {
				c.data(1, true, "still here")
				if a := c.stream(1); a.body != "still here" || !a.complete {
					t.Errorf("stream 1 after the error: %+v", a)
				}
			}
			c.get(11, "/after")
			if a := c.stream(11); a.status != "200" {
				t.Errorf("a new stream after the error: %+v", a)
			}
		})
	}
}

func TestH2BadPreface(t *testing.T) {
	t.Run("ALPN h2", func(t *testing.T) {
		w := loadServer(t, "")
		in := filters.NewInbound(nil, nil)
		in.ALPN = "h2"
		c := dialH2(t, w, "p", in)
		c.send([]byte("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"))
		c.expectGoAway(h2.ErrCodeProtocol)
		noPanic(t, w)
	})
	t.Run("first frame not SETTINGS", func(t *testing.T) {
		w := loadServer(t, "")
		c := dialH2(t, w, "p", nil)
		c.send([]byte(h2.ClientPreface), h2.AppendPing(nil, false, [8]byte{}))
		c.expectGoAway(h2.ErrCodeProtocol)
	})
	t.Run("SETTINGS ACK first", func(t *testing.T) {
		w := loadServer(t, "")
		c := dialH2(t, w, "p", nil)
		c.send([]byte(h2.ClientPreface), h2.AppendSettingsAck(nil))
		c.expectGoAway(h2.ErrCodeProtocol)
	})
	t.Run("peer closes", func(t *testing.T) {
		w := loadServer(t, "")
		c := newH2Client(t, w, "p")
		c.request(1, false, "POST", "/echo")
		c.r.Feed(&filters.SessionEnd{})
		if !c.ended() || activeReq(c) != 0 {
			t.Fatalf("ended %v, %d request sessions alive", c.ended(), activeReq(c))
		}
		if got := gData(c.r); !strings.Contains(got, `"ends":["ReadError"]`) {
			t.Errorf("script saw %s", got)
		}
	})
}

// Random bytes after a good preface: never a panic or a hang, and the
// connection ends with one GOAWAY or stays usable.
func TestH2BadInputNoise(t *testing.T) {
	w := loadServer(t, "")
	seed := uint32(1)
	rnd := func() byte {
		seed = seed*1664525 + 1013904223
		return byte(seed >> 24)
	}
	for i := 0; i < 300; i++ {
		c := newH2Client(t, w, "p")
		n := 1 + int(rnd())%64
		b := make([]byte, n)
		for j := range b {
			b[j] = rnd()
		}
		// Mostly small frame lengths, so that frames complete.
		if n >= 9 {
			b[0], b[1] = 0, 0
			b[2] = byte(int(b[2]) % (n - 8))
			b[3] %= 11
		}
		filtertest.Guard(t, 5*time.Second, func() { c.send(b) })
		if len(c.goAways()) > 1 {
			t.Fatalf("%x: GOAWAYs %s", b, framesString(c.goAways()))
		}
		c.r.Feed(&filters.SessionEnd{})
	}
	noPanic(t, w)
}

// A stream that was blocked and then got its window (a stream
// WINDOW_UPDATE) is no longer stalled: the stall timeout does not end the
// connection afterwards.
func TestH2StallTimerAfterUnblock(t *testing.T) {
	defer http.SetH2StallTimeout(50 * time.Millisecond)()
	w := loadServer(t, "")
	c := newH2Client(t, w, "p", h2.Setting{ID: h2.SettingInitialWindowSize, Val: 10})
	c.get(1, "/big?n=100")
	c.windowUpdate(1, 90)
	if a := c.stream(1); a.body != bigBody(100) || !a.complete {
		t.Fatalf("answer %+v", a)
	}
	time.Sleep(200 * time.Millisecond)
	if len(c.goAways()) != 0 || c.ended() {
		t.Fatalf("the stall timer ended a connection nothing waits on:\n%s", framesString(c.take()))
	}
	c.get(3, "/ok")
	if a := c.stream(3); a.status != "200" {
		t.Fatalf("next stream %+v", a)
	}
}

// A reader that opens its stream window a little at a time, each time
// within the stall timeout, is slow but not stalled: it gets the whole
// answer.
func TestH2StallSlowReaderNotCut(t *testing.T) {
	defer http.SetH2StallTimeout(100 * time.Millisecond)()
	w := loadServer(t, "")
	c := newH2Client(t, w, "p", h2.Setting{ID: h2.SettingInitialWindowSize, Val: 10})
	c.get(1, "/big?n=200")
	for i := 0; i < 19; i++ {
		time.Sleep(25 * time.Millisecond)
		c.windowUpdate(1, 10)
	}
	if a := c.stream(1); a.body != bigBody(200) || !a.complete || len(c.goAways()) != 0 {
		t.Fatalf("slow reader: %d bytes, complete %v\n%s", len(a.body), a.complete, framesString(c.goAways()))
	}
}

// SETTINGS_HEADER_TABLE_SIZE 0: the server's HPACK encoder uses no
// dynamic table (the client's decoder allows none).
func TestH2HeaderTableSizeZero(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p", h2.Setting{ID: h2.SettingHeaderTableSize, Val: 0})
	c.hdec.SetMaxTableSize(0)
	for id := uint32(1); id <= 7; id += 2 {
		c.get(id, "/same")
		if a := c.stream(id); a.status != "200" || a.field("content-type") != "text/plain" {
			t.Fatalf("stream %d: %+v", id, a)
		}
	}
}

// The answer's connection-specific fields are left out (§8.2.2), names
// are lower-cased, and a 1xx head goes before the final one.
func TestH2ResponseHead(t *testing.T) {
	w := filtertest.Load(t, `
pipy().pipeline('p').demuxHttp('req')
.pipeline('req').replaceMessage(m => [
  new MessageStart({status: 103, headers: {link: '</a.css>; rel=preload'}}), new MessageEnd(),
  new Message({status: 201, headers: {'Connection': 'close', 'Keep-Alive': 'timeout=5', 'Transfer-Encoding': 'chunked', 'Upgrade': 'x', 'X-Mixed-Case': 'v'}}, 'made'),
  new Message('second answer: dropped'),
])`)
	c := newH2Client(t, w, "p")
	c.get(1, "/")
	var heads []string
	for _, f := range c.all() {
		if f.StreamID == 1 && f.HasBlock {
			heads = append(heads, fieldsString(f.Fields))
		}
	}
	want := "[{:status: 103, link: </a.css>; rel=preload} {:status: 201, x-mixed-case: v}]"
	if fmt.Sprint(heads) != want {
		t.Errorf("heads %v\nwant %s", heads, want)
	}
	if a := c.stream(1); a.body != "made" || !a.complete {
		t.Errorf("answer %+v", a)
	}
}

// Padded DATA and HEADERS (with priority) are read without their padding;
// the padding counts against the windows.
func TestH2Padding(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	blk := c.block(":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/echo")
	c.send(hdr(h2.FrameHeaders, h2.FlagEndHeaders|h2.FlagPadded|h2.FlagPriority, 1, "\x02"+"\x00\x00\x00\x00\x10"+string(blk)+"\x00\x00"))
	c.send(hdr(h2.FrameData, h2.FlagPadded, 1, "\x03abc\x00\x00\x00"))
	c.send(hdr(h2.FrameData, h2.FlagPadded|h2.FlagEndStream, 1, "\x00def"))
	if a := c.stream(1); a.body != "abcdef" || !a.complete {
		t.Fatalf("answer %+v", a)
	}
}

// Each kind of control frame has its budget: past it, ENHANCE_YOUR_CALM.
func TestH2DefenceControlFloods(t *testing.T) {
	w := loadServer(t, "")
	for _, k := range []struct {
		name  string
		frame func(c *h2Client) []byte
	}{
		{"PRIORITY", func(c *h2Client) []byte { return hdr(h2.FramePriority, 0, 1, "\x00\x00\x00\x00\x10") }},
		{"empty DATA", func(c *h2Client) []byte { return h2.AppendData(nil, 1, false, nil) }},
	} {
		t.Run(k.name, func(t *testing.T) {
			c := newH2Client(t, w, "p")
			c.request(1, false, "POST", "/echo")
			var flood []byte
			for i := 0; i < 1100; i++ {
				flood = append(flood, k.frame(c)...)
			}
			c.send(flood)
			c.expectGoAway(h2.ErrCodeEnhanceYourCalm)
		})
	}
}

// Streams the server resets because of what the client sent after their
// request started (CVE-2025-8671, "MadeYouReset": content-length
// mismatch, DATA beyond the stream, WINDOW_UPDATE overflow) count like
// the client's own resets: the budget of rapid reset holds.
func TestH2DefenceMadeYouReset(t *testing.T) {
	w := loadServer(t, "")
	for _, k := range []struct {
		name  string
		reset func(c *h2Client, id uint32)
	}{
		{"content-length", func(c *h2Client, id uint32) { c.data(id, false, "toolong") }},
		{"WINDOW_UPDATE overflow", func(c *h2Client, id uint32) { c.windowUpdate(id, h2.MaxWindowSize) }},
	} {
		t.Run(k.name, func(t *testing.T) {
			c := newH2Client(t, w, "p")
			id := uint32(1)
			for ; id < 2*1000 && !c.ended(); id += 2 {
				c.request(id, false, "POST", "/hold", "content-length", "1")
				k.reset(c, id)
			}
			c.expectGoAway(h2.ErrCodeEnhanceYourCalm)
			if opened := (id - 1) / 2; opened > 202 {
				t.Errorf("GOAWAY after %d streams", opened)
			}
			if n := activeReq(c); n != 0 {
				t.Errorf("%d request sessions alive", n)
			}
		})
	}
}

// When the connection's session is aborted (a script error in a filter
// after demuxHttp), the streams' sessions end too: none is left behind.
func TestH2ConnectionAbortEndsStreams(t *testing.T) {
	w := filtertest.Load(t, `
pipy({_g: {boom: false, ends: 0}})
.pipeline('p').demuxHttp('req').onData(() => { if (_g.boom) throw new Error('boom') })
.pipeline('req')
  .onSessionEnd(() => { _g.ends++ })
  .replaceMessage(m => m.head.path === '/boom' ? (_g.boom = true, new Message('x')) : null)`)
	c := newH2Client(t, w, "p")
	c.request(1, false, "POST", "/hold")
	c.get(3, "/hold")
	if n := activeReq(c); n != 2 {
		t.Fatalf("%d request sessions, want 2", n)
	}
	c.get(5, "/boom")
	if !c.ended() {
		t.Fatalf("the connection's session did not end: %s", filtertest.KindsNow(c.r))
	}
	if n := activeReq(c); n != 0 {
		t.Errorf("%d request sessions alive after the connection's session was aborted", n)
	}
	noPanic(t, w)
}

// Trailers wait behind DATA held by a closed window.
func TestH2TrailersBehindWindow(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p", h2.Setting{ID: h2.SettingInitialWindowSize, Val: 2})
	c.get(1, "/trailers")
	if a := c.stream(1); strings.Join(a.frames, " ") != "H D(2)" {
		t.Fatalf("frames %v, want the head and 2 bytes", a.frames)
	}
	c.windowUpdate(1, 2)
	a := c.stream(1)
	if strings.Join(a.frames, " ") != "H D(2) D(2) T*" || a.body != "body" || fieldsString(a.trailers) != "{grpc-status: 0, grpc-message: ok}" {
		t.Fatalf("answer %+v", a)
	}
}

// A client's GOAWAY: the streams it opened are still answered, then the
// connection ends.
func TestH2ClientGoAway(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	c.request(1, false, "POST", "/echo")
	c.send(h2.AppendGoAway(nil, 0, h2.ErrCodeNo, nil))
	if c.ended() {
		t.Fatal("ended with a stream open")
	}
	c.data(1, true, "bye")
	if a := c.stream(1); a.body != "bye" || !a.complete {
		t.Fatalf("answer %+v", a)
	}
	if !c.ended() {
		t.Errorf("connection open after the client's GOAWAY and its last stream")
	}
	if strings.Contains(w.LogText(), "GOAWAY") {
		t.Errorf("a GOAWAY NO_ERROR was logged:\n%s", w.LogText())
	}
}

// A large header block in HEADERS and CONTINUATION frames, as a client
// with a long cookie sends it, is a request like any other; so is a
// request with host instead of :authority.
func TestH2LargeHeaderBlock(t *testing.T) {
	w := loadServer(t, "")
	c := newH2Client(t, w, "p")
	cookie := strings.Repeat("c", 40000)
	blk := c.block(":method", "GET", ":scheme", "http", ":path", "/big-head", "host", "h.example", "cookie", cookie)
	frames := h2.AppendHeaders(nil, 1, true, blk, 0)
	rd := h2.NewReader(h2.PrefaceNone)
	rd.Feed(frames)
	n := 0
	for f, _ := rd.Next(); f != nil; f, _ = rd.Next() {
		if f.Type == h2.FrameContinuation {
			n++
		}
	}
	if n < 1 {
		t.Fatalf("block of %d bytes not split", len(blk))
	}
	c.send(frames)
	if a := c.stream(1); a.status != "200" || a.body != "path=/big-head" {
		t.Fatalf("answer %+v", a)
	}
	got := gData(c.r)
	if !strings.Contains(got, `"host":"h.example"`) || !strings.Contains(got, cookie) {
		t.Errorf("script saw %.200s", got)
	}
}

// A large answer given at once (a file a script serves from memory)
// reaches a client that reads at its own pace and opens its windows as it
// reads, over HTTP/1 and over HTTP/2 alike.
func TestH2FlowLargeAnswer(t *testing.T) {
	w := loadServer(t, "")
	const n = 5 << 20
	r := w.Session("p")
	r.FeedString(fmt.Sprintf("GET /big?n=%d HTTP/1.1\r\nHost: h\r\n\r\n", n))
	if out := r.BytesOut(); !strings.HasSuffix(out, "\r\n\r\n"+bigBody(n)) {
		t.Fatalf("HTTP/1: %d bytes out", len(out))
	}
	c := newH2Client(t, w, "p")
	c.get(1, fmt.Sprintf("/big?n=%d", n))
	got := 0
	for round := 0; round < 1000; round++ {
		fs := c.take()
		read := 0
		for _, f := range fs {
			switch f.Type {
			case h2.FrameData:
				read += int(f.Length)
			case h2.FrameRSTStream, h2.FrameGoAway:
				t.Fatalf("after %d bytes: %s", got+read, f)
			}
		}
		got += read
		if a := c.stream(1); a.complete {
			break
		}
		if read == 0 {
			t.Fatalf("stuck after %d bytes", got)
		}
		c.windowUpdate(0, uint32(read))
		c.windowUpdate(1, uint32(read))
	}
	if got != n {
		t.Fatalf("got %d bytes of %d", got, n)
	}
}
