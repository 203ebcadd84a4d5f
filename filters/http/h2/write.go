package h2

// The Append* functions append one frame (AppendHeaders: a sequence) to
// dst and return the extended slice; they allocate only when dst must
// grow. They do not check what the caller passes: a payload larger than
// the peer's SETTINGS_MAX_FRAME_SIZE, a stream id of 0 where a stream is
// needed or an increment of 0 make frames the peer rejects.

// AppendData appends a DATA frame carrying data on stream id, with
// END_STREAM when endStream.
func AppendData(dst []byte, id uint32, endStream bool, data []byte) []byte {
	var fl Flags
	if endStream {
		fl = FlagEndStream
	}
	dst = AppendFrameHeader(dst, FrameHeader{Length: uint32(len(data)), Type: FrameData, Flags: fl, StreamID: id})
	return append(dst, data...)
}

// AppendHeaders appends a HEADERS frame carrying the HPACK-encoded field
// block on stream id, followed by as many CONTINUATION frames as it takes
// to keep each payload within maxFrameSize (the peer's
// SETTINGS_MAX_FRAME_SIZE; below DefaultMaxFrameSize means that). The last
// frame has END_HEADERS; the HEADERS frame has END_STREAM when endStream.
func AppendHeaders(dst []byte, id uint32, endStream bool, block []byte, maxFrameSize uint32) []byte {
	if maxFrameSize < DefaultMaxFrameSize {
		maxFrameSize = DefaultMaxFrameSize
	}
	max := int(maxFrameSize)
	t := FrameHeaders
	var fl Flags
	if endStream {
		fl = FlagEndStream
	}
	for {
		n := min(len(block), max)
		if n == len(block) {
			fl |= FlagEndHeaders
		}
		dst = AppendFrameHeader(dst, FrameHeader{Length: uint32(n), Type: t, Flags: fl, StreamID: id})
		dst = append(dst, block[:n]...)
		block = block[n:]
		if len(block) == 0 {
			return dst
		}
		t, fl = FrameContinuation, 0
	}
}

// AppendSettings appends a SETTINGS frame with the given parameters.
func AppendSettings(dst []byte, settings ...Setting) []byte {
	dst = AppendFrameHeader(dst, FrameHeader{Length: uint32(6 * len(settings)), Type: FrameSettings})
	for _, s := range settings {
		dst = append(dst, byte(s.ID>>8), byte(s.ID), byte(s.Val>>24), byte(s.Val>>16), byte(s.Val>>8), byte(s.Val))
	}
	return dst
}

// AppendSettingsAck appends an empty SETTINGS frame with ACK.
func AppendSettingsAck(dst []byte) []byte {
	return AppendFrameHeader(dst, FrameHeader{Type: FrameSettings, Flags: FlagAck})
}

// AppendPing appends a PING frame (with ACK when ack: the answer to a
// PING, echoing its data).
func AppendPing(dst []byte, ack bool, data [8]byte) []byte {
	var fl Flags
	if ack {
		fl = FlagAck
	}
	dst = AppendFrameHeader(dst, FrameHeader{Length: 8, Type: FramePing, Flags: fl})
	return append(dst, data[:]...)
}

// AppendGoAway appends a GOAWAY frame: the last stream this side
// processes or may process, the error code, and optional debug data.
func AppendGoAway(dst []byte, lastStreamID uint32, code ErrCode, debug []byte) []byte {
	dst = AppendFrameHeader(dst, FrameHeader{Length: uint32(8 + len(debug)), Type: FrameGoAway})
	dst = appendUint32(dst, lastStreamID&(1<<31-1))
	dst = appendUint32(dst, uint32(code))
	return append(dst, debug...)
}

// AppendRSTStream appends an RST_STREAM frame ending stream id with code.
func AppendRSTStream(dst []byte, id uint32, code ErrCode) []byte {
	dst = AppendFrameHeader(dst, FrameHeader{Length: 4, Type: FrameRSTStream, StreamID: id})
	return appendUint32(dst, uint32(code))
}

// AppendWindowUpdate appends a WINDOW_UPDATE frame for stream id (0: the
// connection) adding incr (1..2^31-1) to the window.
func AppendWindowUpdate(dst []byte, id uint32, incr uint32) []byte {
	dst = AppendFrameHeader(dst, FrameHeader{Length: 4, Type: FrameWindowUpdate, StreamID: id})
	return appendUint32(dst, incr&(1<<31-1))
}

func appendUint32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
