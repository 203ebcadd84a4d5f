// Package h2 is the HTTP/2 frame layer (RFC 9113 §4 and §6) under the
// HTTP/2 filters: the 9-byte frame header, an incremental frame Reader that
// takes the bytes of a connection in arbitrary pieces and yields whole,
// validated frames, Append* writers that build frames into a []byte, and a
// HeaderDecoder that assembles HEADERS/PUSH_PROMISE + CONTINUATION
// sequences, decodes them with HPACK (golang.org/x/net/http2/hpack) and
// checks the header-field rules of RFC 9113 §8.2 and §8.3.
//
// It works on []byte only and imports nothing of pipy-go, so the codec
// filters (demuxHttp, muxHttp) own the connection state: streams, flow
// control windows, the SETTINGS exchange. What this package checks is what
// needs no such state: frame sizes, fixed payload lengths, padding, the
// stream-0 rules, SETTINGS values, the connection preface, the order of a
// header block's frames, and the limits that defend against CONTINUATION
// floods (CVE-2024-27316) and HPACK bombs.
//
// Errors are *Error values: a connection error (Stream false) must end the
// connection with GOAWAY and its Code; a stream error (Stream true) resets
// one stream with RST_STREAM and leaves the connection usable.
package h2
