package http

// The HTTP/2 connection (RFC 9113) under demuxHttp (the server side) and
// muxHttp version 2 (the client side): the SETTINGS exchange, streams and
// their states, flow control both ways, PING, GOAWAY, RST_STREAM, HPACK
// state, and the defences against peers that abuse the protocol. The frame
// layer (parsing, writing, header blocks) is package h2; what to do with a
// stream's messages is the side's business (an h2Side).

import (
	"bytes"
	"fmt"
	"time"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/http/h2"
	"golang.org/x/net/http2/hpack"
)

// Flow-control windows this side advertises, and the limits it enforces.
const (
	h2StreamWindow = 256 << 10 // SETTINGS_INITIAL_WINDOW_SIZE we send
	h2ConnWindow   = 1 << 20   // the connection window we open at once
	// A stream holding more than h2PauseAt bytes for a peer whose window
	// is closed pauses the sources of its answer (Context.Pause: the
	// upstream connections stop reading) until it holds less than
	// h2ResumeAt. What a script gives at once (a file served from memory)
	// is held whole: it is in memory already, shared, not copied, and the
	// stall timeout bounds how long a peer may keep it there.
	h2PauseAt  = 256 << 10
	h2ResumeAt = 64 << 10
	// h2ControlBudget is how many control frames (PING, SETTINGS,
	// PRIORITY, empty DATA) a peer may send per second before the
	// connection ends with ENHANCE_YOUR_CALM.
	h2ControlBudget = 1000
	// h2MaxHeaderFrames bounds the frames of one header block (a
	// CONTINUATION flood of empty frames, CVE-2024-27316).
	h2MaxHeaderFrames = 64
)

// h2StallTimeout is how long a stream may wait for a peer that keeps its
// flow-control window closed before the connection is given up.
var h2StallTimeout = 30 * time.Second

// h2Side is what differs between the server and the client end of a
// connection.
type h2Side interface {
	// headers takes a complete header block for stream id (a new stream
	// on the server; an answer or trailers on the client). It returns a
	// stream error or a connection error (*h2.Error).
	headers(c *h2Conn, blk *h2.Block) *h2.Error
	// closed is called when the connection has ended, after every stream
	// was told.
	closed(c *h2Conn)
}

// h2Conn is one HTTP/2 connection. All of it runs in the loop.
type h2Conn struct {
	side   h2Side
	server bool
	s      *filters.Session // the session of the connection
	out    filters.Sink     // bytes to the peer
	name   string           // for log lines: demuxHttp or muxHttp
	scheme string           // client: the :scheme of requests, http or https

	rd   *h2.Reader
	hdec *h2.HeaderDecoder
	henc *hpack.Encoder
	hbuf bytes.Buffer

	// Output is gathered while an event is handled and written in one
	// Data when the outermost handler returns.
	wbuf      []byte
	wdata     *filters.Data
	depth     int
	heads     []headWriter // message heads held until the loop is left (deferHead)
	scheduled bool         // registered with the loop's AtLeave
	sends     []*h2Stream  // streams with body to send once the event is handled

	streams map[uint32]*h2Stream
	lastID  uint32 // the highest stream id the peer opened (server) or we opened (client)
	nextID  uint32 // client: the id of the next stream
	// unopened are the client's streams whose head is not written yet
	// (no id so far, see addStream).
	unopened []*h2Stream
	active   int // open streams

	maxStreams uint32 // SETTINGS_MAX_CONCURRENT_STREAMS we advertise

	// The peer's settings; peerSettled once its first SETTINGS frame is
	// read (no DATA goes out before).
	peerSettled    bool
	peerMaxFrame   uint32
	peerInitWindow int64
	peerMaxStreams uint32

	sendWindow   int64 // connection-level window for DATA we send
	recvWindow   int64 // what the peer may still send on the connection
	recvConsumed int64 // received bytes not yet given back by WINDOW_UPDATE

	blocked []*h2Stream // streams with DATA waiting for a window
	stall   *filters.Timer
	// dataFrames counts the DATA frames sent; stallAt is its value when
	// the stall timer started (only progress restarts it).
	dataFrames, stallAt int

	headerFrames int // frames of the header block being assembled

	budgetStart time.Time
	control     int // control frames in the current second
	resets      int // streams the peer reset in the current second

	goingAway bool // GOAWAY sent: no new streams
	peerAway  bool // GOAWAY received
	ended     bool // SessionEnd output
	loggedErr bool
}

// newH2Conn sets up a connection; the caller sends the preface (client)
// and calls start.
func newH2Conn(side h2Side, server bool, s *filters.Session, out filters.Sink, name string, maxStreams uint32) *h2Conn {
	c := &h2Conn{
		side: side, server: server, s: s, out: out, name: name, scheme: "http",
		streams:        map[uint32]*h2Stream{},
		maxStreams:     maxStreams,
		peerMaxFrame:   h2.DefaultMaxFrameSize,
		peerInitWindow: 65535,
		peerMaxStreams: 100,
		sendWindow:     65535,
		recvWindow:     65535,
		nextID:         1,
	}
	if server {
		c.rd = h2.NewReader(h2.PrefaceServer)
	} else {
		c.rd = h2.NewReader(h2.PrefaceClient)
	}
	c.hdec = h2.NewHeaderDecoder(0, 0, 0)
	c.henc = hpack.NewEncoder(&c.hbuf)
	return c
}

// start writes this side's preface: the client's magic, SETTINGS, and the
// larger connection window.
func (c *h2Conn) start() {
	// The session's end, an abort too, ends the connection and its
	// streams' sessions; nothing more is output.
	c.s.OnEnd(func() {
		c.out = filters.Discard
		c.end(filters.ReadError)
	})
	c.enter()
	defer c.leave()
	if !c.server {
		c.wbuf = append(c.wbuf, h2.ClientPreface...)
	}
	settings := []h2.Setting{
		{ID: h2.SettingMaxConcurrentStreams, Val: c.maxStreams},
		{ID: h2.SettingInitialWindowSize, Val: h2StreamWindow},
		{ID: h2.SettingMaxHeaderListSize, Val: h2.DefaultMaxHeaderListSize},
	}
	if !c.server {
		settings = append(settings, h2.Setting{ID: h2.SettingEnablePush, Val: 0})
	}
	c.wbuf = h2.AppendSettings(c.wbuf, settings...)
	c.wbuf = h2.AppendWindowUpdate(c.wbuf, 0, h2ConnWindow-65535)
	c.recvWindow = h2ConnWindow
}

// enter and leave bracket the handling of one event; output is written
// when the outermost one returns.
func (c *h2Conn) enter() { c.depth++ }

func (c *h2Conn) leave() {
	c.depth--
	if c.depth == 0 && !c.scheduled {
		c.scheduled = true
		c.s.Env().Loop.AtLeave(c)
	}
}

// BeforeLeave implements filters.LeaveHook: what this turn of the loop
// produced goes out, heads first, then the bodies within the windows, in
// one Data. Gathering per turn, not per event, lets an answer that comes
// in pieces from an upstream read (a head, then its end) go out as one
// HEADERS frame with END_STREAM (a gRPC trailers-only answer).
func (c *h2Conn) BeforeLeave() {
	c.scheduled = false
	c.depth++
	for len(c.heads) > 0 || len(c.sends) > 0 {
		c.writeHeads()
		for i := 0; i < len(c.sends); i++ {
			st := c.sends[i]
			c.sends[i] = nil
			st.sending = false
			st.sendPending()
		}
		c.sends = c.sends[:0]
	}
	c.depth--
	c.flush()
}

// flush writes what was gathered.
func (c *h2Conn) flush() {
	if c.ended {
		c.wbuf = c.wbuf[:0]
		return
	}
	c.cut()
	if d := c.wdata; d != nil {
		c.wdata = nil
		c.out.Input(d)
	}
}

// cut moves the frames built in wbuf to the output gathered in wdata (a
// copy in the loop's arena), so wbuf can be reused.
func (c *h2Conn) cut() {
	if len(c.wbuf) == 0 {
		return
	}
	d := c.s.Env().Loop.CopyData(c.wbuf)
	c.wbuf = c.wbuf[:0]
	if c.wdata == nil {
		c.wdata = d
		return
	}
	c.wdata.Push(d)
	d.Release()
}

// writePayload queues the payload of the DATA frame whose header was just
// appended to wbuf, without copying it.
func (c *h2Conn) writePayload(d *filters.Data) {
	c.cut()
	if c.wdata == nil {
		c.wdata = d
		return
	}
	c.wdata.Push(d)
	d.Release()
}

// input takes bytes from the peer.
func (c *h2Conn) input(d *filters.Data) {
	if c.ended {
		d.Release()
		return
	}
	c.enter()
	defer c.leave()
	d.Chunks(c.rd.Feed)
	d.Release()
	for !c.ended {
		f, err := c.rd.Next()
		if err != nil {
			e := err.(*h2.Error)
			if e.Stream {
				c.streamError(e)
				continue
			}
			c.fail(e)
			return
		}
		if f == nil {
			return
		}
		if err := c.frame(f); err != nil {
			if err.Stream {
				c.streamError(err)
				continue
			}
			c.fail(err)
			return
		}
	}
}

// spend counts a control frame against the per-second budget.
func (c *h2Conn) spend(resets int) *h2.Error {
	now := time.Now()
	if now.Sub(c.budgetStart) > time.Second {
		c.budgetStart, c.control, c.resets = now, 0, 0
	}
	if resets > 0 {
		c.resets += resets
		if limit := max(100, 2*int(c.maxStreams)); c.resets > limit {
			return &h2.Error{Code: h2.ErrCodeEnhanceYourCalm, Reason: fmt.Sprintf("more than %d streams reset by the peer in a second (rapid reset)", limit)}
		}
		return nil
	}
	c.control++
	if c.control > h2ControlBudget {
		return &h2.Error{Code: h2.ErrCodeEnhanceYourCalm, Reason: fmt.Sprintf("more than %d control frames in a second", h2ControlBudget)}
	}
	return nil
}

// frame handles one frame read from the peer.
func (c *h2Conn) frame(f *h2.Frame) *h2.Error {
	if _, open := c.hdec.Pending(); open || f.Type == h2.FrameHeaders || f.Type == h2.FramePushPromise || f.Type == h2.FrameContinuation {
		if f.Type == h2.FrameHeaders || f.Type == h2.FramePushPromise {
			c.headerFrames = 0
		}
		c.headerFrames++
		if c.headerFrames > h2MaxHeaderFrames {
			return &h2.Error{Code: h2.ErrCodeEnhanceYourCalm, Reason: fmt.Sprintf("header block in more than %d frames", h2MaxHeaderFrames)}
		}
		if f.Type == h2.FrameHeaders {
			if err := c.checkHeadersStream(f.StreamID); err != nil {
				return err
			}
		}
		blk, err := c.hdec.Add(f)
		if err != nil {
			return err.(*h2.Error)
		}
		if blk == nil {
			return nil
		}
		if blk.Type == h2.FramePushPromise {
			return &h2.Error{Code: h2.ErrCodeProtocol, Reason: "PUSH_PROMISE, though push is disabled"}
		}
		return c.side.headers(c, blk)
	}
	switch f.Type {
	case h2.FrameData:
		return c.data(f)
	case h2.FrameSettings:
		if f.IsAck() {
			return nil
		}
		if err := c.spend(0); err != nil {
			return err
		}
		return c.settings(f)
	case h2.FramePing:
		if f.IsAck() {
			return nil
		}
		if err := c.spend(0); err != nil {
			return err
		}
		c.wbuf = h2.AppendPing(c.wbuf, true, f.PingData())
	case h2.FrameWindowUpdate:
		return c.windowUpdate(f)
	case h2.FrameRSTStream:
		return c.rstStream(f)
	case h2.FrameGoAway:
		c.peerAway = true
		if f.ErrCode != h2.ErrCodeNo {
			c.logOnce(fmt.Sprintf("peer sent GOAWAY %v: %q", f.ErrCode, f.Data))
		}
		c.goAwayReceived(f.LastStreamID)
	case h2.FramePriority:
		return c.spend(0)
	}
	// Unknown frame types are ignored (§5.5).
	return nil
}

// checkHeadersStream applies the stream-id rules to a HEADERS frame: on
// the server a new stream must have a larger odd id than any before; a
// HEADERS frame on a stream that was closed is STREAM_CLOSED.
func (c *h2Conn) checkHeadersStream(id uint32) *h2.Error {
	if _, ok := c.streams[id]; ok {
		return nil
	}
	if !c.server {
		if id%2 == 1 && id < c.nextID {
			return &h2.Error{Code: h2.ErrCodeStreamClosed, Reason: fmt.Sprintf("HEADERS on closed stream %d", id)}
		}
		return &h2.Error{Code: h2.ErrCodeProtocol, Reason: fmt.Sprintf("HEADERS on stream %d, which the client did not open", id)}
	}
	if id%2 == 0 {
		return &h2.Error{Code: h2.ErrCodeProtocol, Reason: fmt.Sprintf("client opened even stream %d", id)}
	}
	if id <= c.lastID {
		return &h2.Error{Code: h2.ErrCodeStreamClosed, Reason: fmt.Sprintf("HEADERS on closed stream %d", id)}
	}
	return nil
}

// idle reports whether id names a stream that was never opened.
func (c *h2Conn) idle(id uint32) bool {
	if c.server {
		if id%2 == 1 {
			return id > c.lastID
		}
		return true // the server opens no streams (no push)
	}
	if id%2 == 1 {
		return id >= c.nextID
	}
	return true
}

func (c *h2Conn) data(f *h2.Frame) *h2.Error {
	n := int64(f.Length)
	if n > c.recvWindow {
		return &h2.Error{Code: h2.ErrCodeFlowControl, Reason: "DATA beyond the connection window"}
	}
	c.recvWindow -= n
	c.giveBack(n)
	st := c.streams[f.StreamID]
	if st == nil {
		if c.idle(f.StreamID) {
			return &h2.Error{Code: h2.ErrCodeProtocol, Reason: fmt.Sprintf("DATA on idle stream %d", f.StreamID)}
		}
		return &h2.Error{Code: h2.ErrCodeStreamClosed, Stream: true, StreamID: f.StreamID, Reason: "DATA on a closed stream"}
	}
	if st.remoteEnded {
		return &h2.Error{Code: h2.ErrCodeStreamClosed, Stream: true, StreamID: f.StreamID, Reason: "DATA after END_STREAM"}
	}
	if !st.remoteStarted {
		return &h2.Error{Code: h2.ErrCodeProtocol, Stream: true, StreamID: f.StreamID, Reason: "DATA before HEADERS"}
	}
	if n > st.recvWindow {
		return &h2.Error{Code: h2.ErrCodeFlowControl, Stream: true, StreamID: f.StreamID, Reason: "DATA beyond the stream window"}
	}
	st.recvWindow -= n
	st.received += int64(len(f.Data))
	if st.contentLength >= 0 && (st.received > st.contentLength || f.EndStream() && st.received != st.contentLength) {
		return &h2.Error{Code: h2.ErrCodeProtocol, Stream: true, StreamID: f.StreamID, Reason: fmt.Sprintf("content-length %d, DATA of %d bytes", st.contentLength, st.received)}
	}
	if len(f.Data) == 0 && !f.EndStream() {
		if err := c.spend(0); err != nil {
			return err
		}
	}
	st.deliver(f.Data, f.EndStream())
	// What was given to the stream's session counts as consumed: open the
	// stream window again once half of it is used, unless held back.
	st.recvConsumed += n
	st.openWindow()
	return nil
}

// openWindow gives the peer back what was consumed of the stream's
// window, once that is half of it and nothing holds it back.
func (st *h2Stream) openWindow() {
	if st.remoteEnded || st.holdWindow > 0 || st.recvConsumed < h2StreamWindow/2 {
		return
	}
	st.c.wbuf = h2.AppendWindowUpdate(st.c.wbuf, st.id, uint32(st.recvConsumed))
	st.recvWindow += st.recvConsumed
	st.recvConsumed = 0
}

// giveBack returns n received bytes to the connection window, in
// WINDOW_UPDATEs of at least half of it.
func (c *h2Conn) giveBack(n int64) {
	c.recvConsumed += n
	if c.recvConsumed >= h2ConnWindow/2 {
		c.wbuf = h2.AppendWindowUpdate(c.wbuf, 0, uint32(c.recvConsumed))
		c.recvWindow += c.recvConsumed
		c.recvConsumed = 0
	}
}

func (c *h2Conn) settings(f *h2.Frame) *h2.Error {
	c.peerSettled = true
	for i := range f.NumSettings() {
		s := f.Setting(i)
		switch s.ID {
		case h2.SettingInitialWindowSize:
			delta := int64(s.Val) - c.peerInitWindow
			c.peerInitWindow = int64(s.Val)
			for _, st := range c.streams {
				st.sendWindow += delta
				if st.sendWindow > h2.MaxWindowSize {
					return &h2.Error{Code: h2.ErrCodeFlowControl, Reason: "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window"}
				}
			}
		case h2.SettingMaxFrameSize:
			c.peerMaxFrame = s.Val
		case h2.SettingMaxConcurrentStreams:
			c.peerMaxStreams = s.Val
		case h2.SettingHeaderTableSize:
			c.henc.SetMaxDynamicTableSizeLimit(s.Val)
		}
	}
	c.wbuf = h2.AppendSettingsAck(c.wbuf)
	c.sendBlocked()
	return nil
}

func (c *h2Conn) windowUpdate(f *h2.Frame) *h2.Error {
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		c.sendWindow += inc
		if c.sendWindow > h2.MaxWindowSize {
			return &h2.Error{Code: h2.ErrCodeFlowControl, Reason: "connection window above 2^31-1"}
		}
		c.sendBlocked()
		return nil
	}
	st := c.streams[f.StreamID]
	if st == nil {
		if c.idle(f.StreamID) {
			return &h2.Error{Code: h2.ErrCodeProtocol, Reason: fmt.Sprintf("WINDOW_UPDATE on idle stream %d", f.StreamID)}
		}
		return nil // a closed stream: ignored (§6.9)
	}
	st.sendWindow += inc
	if st.sendWindow > h2.MaxWindowSize {
		return &h2.Error{Code: h2.ErrCodeFlowControl, Stream: true, StreamID: st.id, Reason: "stream window above 2^31-1"}
	}
	st.sendPending()
	c.stallCheck()
	return nil
}

func (c *h2Conn) rstStream(f *h2.Frame) *h2.Error {
	st := c.streams[f.StreamID]
	if st == nil {
		if c.idle(f.StreamID) {
			return &h2.Error{Code: h2.ErrCodeProtocol, Reason: fmt.Sprintf("RST_STREAM on idle stream %d", f.StreamID)}
		}
		return nil
	}
	if err := c.spend(1); err != nil {
		return err
	}
	st.peerReset(f.ErrCode)
	return nil
}

// sendBlocked lets the streams waiting for a window send what they can.
func (c *h2Conn) sendBlocked() {
	blocked := c.blocked
	c.blocked = nil
	for _, st := range blocked {
		st.queued = false
		st.sendPending()
	}
	c.stallCheck()
}

// stallCheck runs the stall timer while some stream waits for a window;
// only DATA sent since it started restarts it (a SETTINGS or a connection
// WINDOW_UPDATE that opens nothing is no progress).
func (c *h2Conn) stallCheck() {
	if !c.stalled() {
		if c.stall != nil {
			c.stall.Stop()
			c.stall = nil
		}
		return
	}
	if c.stall != nil {
		if c.stallAt == c.dataFrames {
			return // no DATA went out since it started: it runs on
		}
		c.stall.Stop()
	}
	c.stallAt = c.dataFrames
	c.stall = c.s.Env().Loop.AfterFunc(h2StallTimeout, func() {
		c.stall = nil
		if c.ended || !c.stalled() {
			return
		}
		c.enter()
		defer c.leave()
		c.fail(&h2.Error{Code: h2.ErrCodeFlowControl, Reason: fmt.Sprintf("the peer kept its flow-control window closed for %v", h2StallTimeout)})
	})
}

// stalled drops from c.blocked the streams that wait no more (a stream
// WINDOW_UPDATE lets one send, or it closed, without sendBlocked) and
// reports whether any is left.
func (c *h2Conn) stalled() bool {
	live := c.blocked[:0]
	for _, st := range c.blocked {
		if !st.closed && st.pendingN > 0 {
			live = append(live, st)
		} else {
			st.queued = false
		}
	}
	clear(c.blocked[len(live):])
	c.blocked = live
	return len(live) > 0
}

// streamError resets one stream.
func (c *h2Conn) streamError(e *h2.Error) {
	c.logOnce(e.Error())
	if st := c.streams[e.StreamID]; st != nil {
		st.reset(e.Code, filters.ReadError)
		// A stream the peer made us reset counts as one it reset
		// (CVE-2025-8671, MadeYouReset).
		if err := c.spend(1); err != nil {
			c.fail(err)
		}
		return
	}
	c.wbuf = h2.AppendRSTStream(c.wbuf, e.StreamID, e.Code)
}

// fail ends the connection with a GOAWAY: every stream is reset.
func (c *h2Conn) fail(e *h2.Error) {
	if c.ended {
		return
	}
	c.logOnce(e.Error())
	c.wbuf = h2.AppendGoAway(c.wbuf, c.lastID, e.Code, []byte(e.Reason))
	c.goingAway = true
	c.end(filters.ReadError)
}

// logOnce logs the first protocol error of a connection as a warning.
func (c *h2Conn) logOnce(msg string) {
	if c.loggedErr {
		return
	}
	c.loggedErr = true
	c.s.Env().Log.Warn(fmt.Sprintf("[%s] HTTP/2: %s", c.name, msg))
}

// goAway tells the peer that no new stream will be served (a drain or a
// reload): the streams it opened so far finish, then the connection ends.
func (c *h2Conn) goAway() {
	if c.goingAway || c.ended {
		return
	}
	c.enter()
	defer c.leave()
	c.goingAway = true
	c.wbuf = h2.AppendGoAway(c.wbuf, c.lastID, h2.ErrCodeNo, nil)
	c.maybeEnd()
}

// goAwayReceived: the peer will process no stream above last.
func (c *h2Conn) goAwayReceived(last uint32) {
	if c.server {
		return
	}
	for id, st := range c.streams {
		if id > last {
			st.peerReset(h2.ErrCodeRefusedStream)
		}
	}
	c.maybeEnd()
}

// maybeEnd ends a connection going away once its last stream closed.
func (c *h2Conn) maybeEnd() {
	if (c.goingAway || c.peerAway) && len(c.streams) == 0 {
		c.end(filters.NoError)
	}
}

// end closes the connection: streams still open are reset and told.
func (c *h2Conn) end(err filters.ErrorCode) {
	if c.ended {
		return
	}
	for _, st := range c.streams {
		st.connEnded(err)
	}
	for _, st := range append([]*h2Stream(nil), c.unopened...) {
		st.connEnded(err)
	}
	c.flush()
	c.ended = true
	if c.stall != nil {
		c.stall.Stop()
		c.stall = nil
	}
	c.blocked = nil
	c.side.closed(c)
	c.out.Input(filters.TheSessionEnd)
}

// peerEnded: the connection's input ended (the peer closed or failed).
func (c *h2Conn) peerEnded(e *filters.SessionEnd) {
	if c.ended {
		return
	}
	c.enter()
	defer c.leave()
	err := e.Err
	if err == filters.NoError {
		err = filters.ReadError
	}
	c.end(err)
}

// headWriter is a message whose head waits for deferHead.
type headWriter interface {
	// writeHead writes the head if it still waits, with END_STREAM when
	// end.
	writeHead(end bool)
}

// h2Outgoing writes this side's message on a stream: demuxHttp's answers
// (h2Answer) and muxHttp's requests (h2Request) embed it. The head waits
// for the end of the loop's turn (deferHead) or for the body, so that a
// message given whole goes out as HEADERS with END_STREAM; the body goes
// within the peer's windows; the end carries the trailers.
type h2Outgoing struct {
	st      *h2Stream
	request bool // a request: its head is a request block, and opens the stream's id
	head    any  // the head, until it is written
	waiting bool // head not written yet
	started bool
	done    bool
}

// start takes the message's head.
func (o *h2Outgoing) start(head any) {
	o.started = true
	o.head, o.waiting = head, true
	o.st.c.deferHead(o)
}

// data sends body bytes (none for the answer to a HEAD request).
func (o *h2Outgoing) data(e *filters.Data) {
	if !o.started || o.done || !o.request && o.st.headOnly {
		e.Release()
		return
	}
	if e.Size() == 0 {
		// A flush hint: the head goes out when this turn of the loop ends
		// anyway, and an empty body must not cost the message its
		// END_STREAM on HEADERS (a gRPC trailers-only answer carries its
		// status there).
		return
	}
	o.writeHead(false)
	o.st.write(e)
}

// end ends the message, with its trailers.
func (o *h2Outgoing) end(e *filters.MessageEnd) {
	if !o.started || o.done {
		return
	}
	o.done = true
	if o.waiting && e.Tail == nil {
		o.writeHead(true)
		return
	}
	o.writeHead(false)
	o.st.end(e.Tail)
}

// writeHead writes the head if it still waits (headWriter).
func (o *h2Outgoing) writeHead(end bool) {
	if !o.waiting {
		return
	}
	o.waiting = false
	st := o.st
	if st.closed || st.aborted {
		return
	}
	var block []byte
	if o.request {
		// The id first: a stream refused now must not have changed
		// the HPACK state the server keeps.
		if st.id == 0 && !st.c.openID(st) {
			return
		}
		block = st.c.requestBlock(o.head)
	} else {
		block = st.c.responseBlock(o.head)
	}
	st.writeHead(block, end)
	o.head = nil
}

// deferHead holds a message's head until the event being handled is done,
// so that a whole message given at once goes out as HEADERS with
// END_STREAM, and a streamed one gets its head out before its body comes.
// Heads go out in the order they were held (the client's stream ids must
// rise).
func (c *h2Conn) deferHead(h headWriter) {
	c.heads = append(c.heads, h)
}

// writeHeads writes the heads deferHead held.
func (c *h2Conn) writeHeads() {
	for i := 0; i < len(c.heads); i++ {
		h := c.heads[i]
		c.heads[i] = nil
		h.writeHead(false)
	}
	c.heads = c.heads[:0]
}

// encodeFields HPACK-encodes fields into a fresh block.
func (c *h2Conn) encodeBlock(fields func(add func(name, value string))) []byte {
	c.hbuf.Reset()
	fields(func(name, value string) {
		c.henc.WriteField(hpack.HeaderField{Name: name, Value: value})
	})
	return c.hbuf.Bytes()
}

// h2Stream is one stream of an h2Conn.
type h2Stream struct {
	c  *h2Conn
	id uint32

	// From the peer.
	remoteStarted bool  // its head was received
	remoteEnded   bool  // END_STREAM received
	recvWindow    int64 // what the peer may still send
	recvConsumed  int64
	holdWindow    int          // Pause calls on the stream's window (h2WindowValve)
	received      int64        // body bytes received
	contentLength int64        // the peer's content-length, or -1
	toPeer        filters.Sink // where the peer's message goes
	// headOnly: the request was HEAD, so the answer has no body.
	headOnly bool

	// To the peer.
	localEnded bool // END_STREAM written (or queued behind pending data)
	sendWindow int64
	pending    []*filters.Data
	pendingN   int
	endPending bool // END_STREAM (with endTail) waits behind pending
	endTail    any
	queued     bool // on c.blocked
	// source is the context whose sessions produce this side's message:
	// paused while too much of it waits for the peer's window (pausing).
	source  *filters.Context
	pausing bool
	sending bool // on c.sends

	closed  bool
	aborted bool // being reset: what its session still outputs is dropped
	// owner is told once when the stream is closed (both ends done or
	// reset).
	owner h2StreamOwner
}

// h2StreamOwner is what a stream belongs to: a request's sub-session on
// the server, a requester on the client.
type h2StreamOwner interface {
	// streamClosed is called once, when st is closed; err is why (NoError
	// when both ends completed).
	streamClosed(st *h2Stream, err filters.ErrorCode)
}

// h2Retrier is an owner that can send a refused stream's message again
// elsewhere (a client's request on a new connection).
type h2Retrier interface {
	// retry takes over st's message and reports whether it did; the stream
	// then closes without telling anyone.
	retry(st *h2Stream) bool
}

// addStream opens stream id with st, which its owner allocated (as part of
// a larger struct, to save allocations).
// A client's stream is added with id 0: it gets its id when its head is
// written (openID), so ids rise in the order the HEADERS frames go out
// whatever order the requests came in (RFC 9113 §5.1.1).
func (c *h2Conn) addStream(st *h2Stream, id uint32, owner h2StreamOwner) {
	*st = h2Stream{c: c, id: id, recvWindow: h2StreamWindow, sendWindow: c.peerInitWindow, contentLength: -1, owner: owner}
	if id == 0 {
		c.unopened = append(c.unopened, st)
	} else {
		c.streams[id] = st
	}
	c.active++
}

// openID gives a client's stream the next stream id, as its HEADERS frame
// is written. It reports false when the connection takes no new stream any
// more (a GOAWAY either way): the stream is then refused.
func (c *h2Conn) openID(st *h2Stream) bool {
	c.forgetUnopened(st)
	if c.peerAway || c.goingAway || c.ended || c.nextID > 1<<31-1 {
		st.peerReset(h2.ErrCodeRefusedStream)
		return false
	}
	st.id = c.nextID
	c.nextID += 2
	c.lastID = st.id
	c.streams[st.id] = st
	return true
}

// forgetUnopened drops st from the streams waiting for an id.
func (c *h2Conn) forgetUnopened(st *h2Stream) {
	for i, x := range c.unopened {
		if x == st {
			c.unopened = append(c.unopened[:i], c.unopened[i+1:]...)
			c.unopened[len(c.unopened):cap(c.unopened)][0] = nil
			return
		}
	}
}

// deliver passes DATA from the peer to the stream's session.
func (st *h2Stream) deliver(p []byte, end bool) {
	if len(p) > 0 && st.toPeer != nil {
		b := make([]byte, len(p))
		copy(b, p)
		st.toPeer.Input(filters.NewDataBytes(b))
	}
	if end {
		st.remoteEnded = true
		if st.toPeer != nil {
			st.toPeer.Input(filters.TheMessageEnd)
		}
		st.maybeClose()
	}
}

// trailers passes the peer's trailers and the end of its message.
func (st *h2Stream) trailers(blk *h2.Block) {
	st.remoteEnded = true
	if st.toPeer != nil {
		t := &Trailers{}
		for _, f := range blk.Fields {
			t.Fields = append(t.Fields, HeaderField{f.Name, f.Value})
		}
		st.toPeer.Input(&filters.MessageEnd{Tail: t})
	}
	st.maybeClose()
}

// writeHead sends the head of this side's message.
func (st *h2Stream) writeHead(block []byte, end bool) {
	c := st.c
	if st.id == 0 && !c.openID(st) {
		return
	}
	c.wbuf = h2.AppendHeaders(c.wbuf, st.id, end, block, c.peerMaxFrame)
	if end {
		st.localEnded = true
		st.maybeClose()
	}
}

// write sends body bytes as far as the windows allow and queues the rest.
func (st *h2Stream) write(d *filters.Data) {
	if st.closed || st.aborted || st.localEnded || st.endPending || d.Size() == 0 {
		d.Release()
		return
	}
	st.pending = append(st.pending, d)
	st.pendingN += d.Size()
	// Sent when the event is handled, so that a body given with its end
	// goes out with END_STREAM on its last DATA frame.
	if !st.sending {
		st.sending = true
		st.c.sends = append(st.c.sends, st)
	}
	if st.pendingN > h2PauseAt && !st.pausing && st.source != nil {
		st.pausing = true
		st.source.Pause()
	}
}

// end ends this side's message, with trailers when tail has any.
func (st *h2Stream) end(tail any) {
	if st.closed || st.aborted || st.localEnded || st.endPending {
		return
	}
	st.endPending, st.endTail = true, tail
	st.sendPending()
}

// sendPending writes pending DATA within the windows, then the end of the
// message when all is out.
func (st *h2Stream) sendPending() {
	c := st.c
	if st.closed || c.ended {
		return
	}
	for len(st.pending) > 0 {
		n := min(int64(st.pendingN), st.sendWindow, c.sendWindow, int64(c.peerMaxFrame))
		if !c.peerSettled {
			// Before the peer's first SETTINGS its windows are unknown:
			// a server may allow less than the protocol's 64 KiB default
			// and reset a stream that sends more (hyperium/h2#630).
			n = 0
		}
		if n <= 0 {
			if !st.queued {
				st.queued = true
				c.blocked = append(c.blocked, st)
				c.stallCheck()
			}
			return
		}
		// One frame of n bytes from the front of pending: the first Data
		// itself when it is exactly that.
		var frame *filters.Data
		left := int(n)
		if d := st.pending[0]; d.Size() == left {
			frame, left = d, 0
			st.pending[0] = nil
			st.pending = st.pending[1:]
		} else {
			frame = filters.NewData()
		}
		for left > 0 {
			d := st.pending[0]
			if d.Size() <= left {
				left -= d.Size()
				frame.Push(d)
				d.Release()
				st.pending[0] = nil
				st.pending = st.pending[1:]
				continue
			}
			part := d.Shift(left)
			frame.Push(part)
			part.Release()
			left = 0
		}
		st.pendingN -= int(n)
		st.sendWindow -= n
		c.sendWindow -= n
		if st.pausing && st.pendingN < h2ResumeAt {
			st.pausing = false
			st.source.Resume()
		}
		last := len(st.pending) == 0 && st.endPending && st.endTail == nil
		c.wbuf = h2.AppendFrameHeader(c.wbuf, h2.FrameHeader{Length: uint32(n), Type: h2.FrameData, Flags: endFlag(last), StreamID: st.id})
		c.writePayload(frame)
		c.dataFrames++
		if last {
			st.localEnded = true
			st.maybeClose()
			return
		}
	}
	if st.endPending && !st.localEnded {
		st.localEnded = true
		if st.endTail != nil {
			block := c.encodeBlock(func(add func(string, string)) { eachTrailer(st.endTail, add) })
			if len(block) > 0 {
				c.wbuf = h2.AppendHeaders(c.wbuf, st.id, true, block, c.peerMaxFrame)
			} else {
				c.wbuf = h2.AppendData(c.wbuf, st.id, true, nil)
			}
		} else {
			c.wbuf = h2.AppendData(c.wbuf, st.id, true, nil)
		}
		st.maybeClose()
	}
}

func endFlag(end bool) h2.Flags {
	if end {
		return h2.FlagEndStream
	}
	return 0
}

// maybeClose closes the stream once both ends are done.
func (st *h2Stream) maybeClose() {
	if st.remoteEnded && st.localEnded {
		st.close(filters.NoError)
	}
}

// close forgets the stream.
func (st *h2Stream) close(err filters.ErrorCode) {
	if st.closed {
		return
	}
	st.closed = true
	c := st.c
	if st.id == 0 {
		c.forgetUnopened(st)
	} else {
		delete(c.streams, st.id)
	}
	c.active--
	for _, d := range st.pending {
		if d != nil {
			d.Release()
		}
	}
	st.pending, st.pendingN = nil, 0
	if st.pausing {
		st.pausing = false
		st.source.Resume()
	}
	if st.owner != nil {
		st.owner.streamClosed(st, err)
	}
	c.maybeEnd()
}

// reset ends the stream with RST_STREAM; its session is told with a
// SessionEnd carrying err.
func (st *h2Stream) reset(code h2.ErrCode, err filters.ErrorCode) {
	if st.closed {
		return
	}
	if st.id != 0 { // a stream never opened is just forgotten
		st.c.wbuf = h2.AppendRSTStream(st.c.wbuf, st.id, code)
	}
	st.abort(err)
}

// peerReset: the peer reset the stream.
func (st *h2Stream) peerReset(code h2.ErrCode) {
	// A stream the peer did not process (REFUSED_STREAM, above a GOAWAY's
	// last stream) may go again (RFC 9113 §8.7), if its owner can.
	if code == h2.ErrCodeRefusedStream && !st.remoteStarted && !st.closed && !st.aborted {
		if r, ok := st.owner.(h2Retrier); ok && r.retry(st) {
			st.toPeer = nil
			st.close(filters.NoError)
			return
		}
	}
	err := filters.ReadError
	if code == h2.ErrCodeRefusedStream {
		err = filters.ConnectionRefused
	}
	st.abort(err)
}

// connEnded: the connection ended under the stream.
func (st *h2Stream) connEnded(err filters.ErrorCode) {
	st.abort(err)
}

// abort tells the peer's side of the stream that its message will not
// complete, and closes the stream.
func (st *h2Stream) abort(err filters.ErrorCode) {
	if st.closed {
		return
	}
	if err == filters.NoError {
		err = filters.ReadError
	}
	st.aborted = true
	to := st.toPeer
	st.toPeer = nil
	if to != nil && (!st.remoteEnded || !st.localEnded) {
		to.Input(&filters.SessionEnd{Err: err})
	}
	st.close(err)
}
