package h2

import (
	"strings"
	"testing"
)

// rewrite writes f again with the package's writers, when its flags are
// ones a writer produces; nil otherwise.
func rewrite(f *Frame) []byte {
	fl := f.Flags
	switch f.Type {
	case FrameData:
		if fl&^FlagEndStream == 0 {
			return AppendData(nil, f.StreamID, f.EndStream(), f.Data)
		}
	case FrameHeaders:
		if fl == FlagEndHeaders || fl == FlagEndHeaders|FlagEndStream {
			return AppendHeaders(nil, f.StreamID, f.EndStream(), f.Data, 0)
		}
	case FrameSettings:
		if fl == FlagAck {
			return AppendSettingsAck(nil)
		}
		if fl == 0 {
			var s []Setting
			for i := range f.NumSettings() {
				s = append(s, f.Setting(i))
			}
			return AppendSettings(nil, s...)
		}
	case FramePing:
		if fl&^FlagAck == 0 {
			return AppendPing(nil, f.IsAck(), f.PingData())
		}
	case FrameGoAway:
		if fl == 0 {
			return AppendGoAway(nil, f.LastStreamID, f.ErrCode, f.Data)
		}
	case FrameRSTStream:
		if fl == 0 {
			return AppendRSTStream(nil, f.StreamID, f.ErrCode)
		}
	case FrameWindowUpdate:
		if fl == 0 {
			return AppendWindowUpdate(nil, f.StreamID, f.Increment)
		}
	}
	return nil
}

// FuzzFrameReader: the Reader, fed bytes whole or in two pieces, reads the
// same frames and errors; every frame's fields lie within its payload, its
// payload within the maximum frame size; what a writer can write again
// reads back the same; the header decoder takes every frame without
// panicking, and its blocks validate without panicking.
func FuzzFrameReader(f *testing.F) {
	f.Add(cat([]byte(ClientPreface), raw(FrameSettings, 0, 0, setting(SettingMaxFrameSize, 1<<20)...), raw(FrameHeaders, FlagEndHeaders|FlagEndStream, 1, encode(request...)...)), uint16(30), uint8(0))
	f.Add(cat(raw(FrameSettings, 0, 0), raw(FrameData, FlagPadded, 1, 2, 'h', 'i', 0, 0), raw(FrameWindowUpdate, 0, 0, u32(5)...)), uint16(12), uint8(1))
	for _, c := range readCases {
		if len(c.in) < 1000 {
			f.Add(c.in, uint16(len(c.in)/2), uint8(2))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16, mode uint8) {
		p := Preface(mode % 3)
		k := int(split) % (len(data) + 1)
		whole := readParts(p, data)
		if two := readParts(p, data[:k], data[k:]); two != whole {
			t.Fatalf("split at %d:\n%s\nvs whole:\n%s", k, two, whole)
		}
		r := NewReader(p)
		d := NewHeaderDecoder(0, 4096, 1<<16)
		r.Feed(data)
		for {
			fr, err := r.Next()
			if err != nil {
				if err.(*Error).Stream {
					continue
				}
				return
			}
			if fr == nil {
				if r.Buffered() >= FrameHeaderLen+int(r.MaxFrameSize()) {
					t.Fatalf("%d bytes buffered and no frame", r.Buffered())
				}
				return
			}
			if int(fr.Length) != len(fr.Payload) || fr.Length > r.MaxFrameSize() || len(fr.Data) > len(fr.Payload) {
				t.Fatalf("%v: payload %d, data %d", fr.FrameHeader, len(fr.Payload), len(fr.Data))
			}
			if fr.Type.Known() && fr.Type != FrameContinuation && fr.Type != FrameWindowUpdate && (fr.StreamID == 0) != (fr.Type == FrameSettings || fr.Type == FramePing || fr.Type == FrameGoAway) {
				t.Fatalf("%v accepted on stream %d", fr.Type, fr.StreamID)
			}
			if b := rewrite(fr); b != nil {
				if got, want := readParts(PrefaceNone, b), describe(fr); got != want {
					t.Fatalf("rewritten %s, read %s", want, got)
				}
			}
			blk, err := d.Add(fr)
			if err != nil {
				return
			}
			if blk != nil {
				_, _, _ = blk.ValidateRequest(), blk.ValidateResponse(), blk.ValidateTrailers()
			}
		}
	})
}

// FuzzHeaderBlock: a field block decodes to the same fields (or the same
// error) in one HEADERS frame or cut into HEADERS and CONTINUATION at any
// point; a block within the limits has a list size within the limit; the
// validators never panic.
func FuzzHeaderBlock(f *testing.F) {
	f.Add(encode(request...), uint16(5))
	f.Add(encode(":status", "200", "content-type", "text/html", "set-cookie", "a=b"), uint16(3))
	f.Add(encode(":method", "CONNECT", ":authority", "a:443"), uint16(1))
	f.Add(encode("te", "trailers", "Connection", "close", ":path", "/"), uint16(9))
	f.Add([]byte{0x3f, 0xe1, 0x1f, 0x82}, uint16(2)) // table size update, then indexed
	f.Fuzz(func(t *testing.T, block []byte, split uint16) {
		if len(block) > DefaultMaxFrameSize {
			return
		}
		k := int(split) % (len(block) + 1)
		one := decodeBlock(t, raw(FrameHeaders, FlagEndHeaders, 1, block...))
		two := decodeBlock(t, cat(raw(FrameHeaders, 0, 1, block[:k]...), raw(FrameContinuation, FlagEndHeaders, 1, block[k:]...)))
		if one != two {
			t.Fatalf("cut at %d:\n%s\nvs one frame:\n%s", k, two, one)
		}
	})
}

func decodeBlock(t *testing.T, frames []byte) string {
	const maxList = 1024
	d := NewHeaderDecoder(0, maxList, 0)
	r := NewReader(PrefaceNone)
	r.Feed(frames)
	var out strings.Builder
	for {
		fr, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if fr == nil {
			return out.String()
		}
		blk, err := d.Add(fr)
		if err != nil {
			out.WriteString(describeErr(err))
			if _, again := d.Add(fr); again != err {
				t.Fatalf("error not sticky: %v, then %v", err, again)
			}
			return out.String()
		}
		if blk == nil {
			continue
		}
		var size uint32
		for _, hf := range blk.Fields {
			size += hf.Size()
		}
		if size > maxList {
			t.Fatalf("list of %d bytes", size)
		}
		out.WriteString(describeBlock(blk))
		for _, err := range []error{blk.ValidateRequest(), blk.ValidateResponse(), blk.ValidateTrailers()} {
			out.WriteString(" | ")
			if err != nil {
				out.WriteString(describeErr(err))
			}
		}
	}
}
