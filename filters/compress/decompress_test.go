package compress_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/compress"
	"github.com/pipy-go/pipy/filters/filtertest"
)

func gzipBytes(t testing.TB, level int, p []byte) []byte {
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Name = "file.txt"
	w.Comment = "a comment"
	w.Extra = []byte("extra field")
	w.Write(p)
	w.Close()
	return b.Bytes()
}

func zlibBytes(t testing.TB, level int, p []byte) []byte {
	var b bytes.Buffer
	w, err := zlib.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(p)
	w.Close()
	return b.Bytes()
}

func deflateBytes(t testing.TB, level int, p []byte) []byte {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(p)
	w.Close()
	return b.Bytes()
}

// textPayload is compressible text with long and short matches.
func textPayload(n int) []byte {
	rnd := rand.New(rand.NewSource(1))
	words := strings.Fields("pipy proxy stream event data message session context filter pipeline inflate deflate gzip zlib the a of")
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[rnd.Intn(len(words))])
		if rnd.Intn(7) == 0 {
			fmt.Fprintf(&b, " %d\n", rnd.Intn(100000))
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

// randomPayload is incompressible.
func randomPayload(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(2)).Read(b)
	return b
}

const decompressScript = `pipy().pipeline('p').decompressMessageBody('inflate')`

// runBody feeds one message whose body arrives as parts.
func runBody(w *filtertest.World, parts []string) *filtertest.Rec {
	r := w.Session("p")
	r.Feed(&filters.MessageStart{})
	for _, p := range parts {
		r.Feed(filtertest.Data(p))
	}
	r.Feed(filters.TheMessageEnd)
	return r
}

func bodyOf(r *filtertest.Rec) string {
	var b strings.Builder
	for i, e := range r.Evts {
		if e.Kind() == filters.KindData {
			b.WriteString(r.DataAt(i))
		}
	}
	return b.String()
}

func TestDecompressFormatsSplits(t *testing.T) {
	payloads := map[string][]byte{
		"short":  []byte("Hello, compressed world!\n"),
		"text":   textPayload(40000),
		"random": randomPayload(3000),
		"empty":  nil,
	}
	type enc struct {
		name string
		f    func(testing.TB, int, []byte) []byte
	}
	encs := []enc{{"gzip", gzipBytes}, {"zlib", zlibBytes}, {"deflate", deflateBytes}}
	levels := []int{flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression, flate.HuffmanOnly}
	w := filtertest.Load(t, decompressScript)
	for pname, p := range payloads {
		for _, e := range encs {
			for _, level := range levels {
				in := string(e.f(t, level, p))
				name := fmt.Sprintf("%s/%s/%d", pname, e.name, level)
				for mode, parts := range filtertest.ByteSplits(in) {
					if len(in) > 4096 && strings.HasPrefix(mode, "split@") && mode[6]%3 != 0 {
						continue // keep big inputs quick
					}
					r := runBody(w, parts)
					if got := bodyOf(r); got != string(p) {
						t.Fatalf("%s %s: %d bytes out, want %d", name, mode, len(got), len(p))
					}
					// one Data out per Data in, between the message events
					if got := r.Kinds(); !strings.HasPrefix(got, "MS ") || strings.Count(got, "D(") != len(parts) || !strings.HasSuffix(got, " ME") {
						t.Fatalf("%s %s: %d parts, events %s", name, mode, len(parts), got)
					}
				}
			}
		}
	}
	if strings.Contains(w.LogText(), "decompress") {
		t.Fatalf("unexpected log: %s", w.LogText())
	}
}

// Several messages in a session, each in its own format; Data outside a
// message is dropped; SessionEnd stops the filter.
func TestDecompressMessagesAndOutside(t *testing.T) {
	w := filtertest.Load(t, decompressScript)
	r := w.Session("p")
	a, b, c := []byte("first body"), textPayload(5000), []byte("third")
	r.Feed(filtertest.Data("outside"), &filters.MessageStart{}, filtertest.Data(string(gzipBytes(t, 6, a))), filters.TheMessageEnd,
		filtertest.Data("between"),
		&filters.MessageStart{}, filtertest.Data(string(zlibBytes(t, 9, b))), filters.NewData(), filters.TheMessageEnd,
		&filters.MessageStart{}, filtertest.Data(string(deflateBytes(t, 1, c))), filters.TheMessageEnd,
		&filters.SessionEnd{}, &filters.MessageStart{}, filtertest.Data("x"), filters.TheMessageEnd)
	want := fmt.Sprintf("start null\nbody %q\nend\nstart null\nbody %q\nend\nstart null\nbody %q\nend\nsessionend \"\"\n", a, b, c)
	if got := r.Summary(); got != want {
		t.Fatalf("got %.300s", got)
	}
	if got := r.Kinds(); got != "MS D(10) ME MS D(5000) D(0) ME MS D(5) ME SE" {
		t.Fatalf("events %s", got)
	}
}

// Concatenated gzip members are all decompressed; bytes after the end of a
// stream are ignored.
func TestDecompressMembersAndTrailing(t *testing.T) {
	w := filtertest.Load(t, decompressScript)
	in := string(gzipBytes(t, 6, []byte("one "))) + string(gzipBytes(t, 1, []byte("two")))
	for mode, parts := range filtertest.ByteSplits(in) {
		if got := bodyOf(runBody(w, parts)); got != "one two" {
			t.Fatalf("%s: %q", mode, got)
		}
	}
	for _, in := range []string{
		string(gzipBytes(t, 6, []byte("abc"))) + "\x00\x00\x00 garbage",
		string(zlibBytes(t, 6, []byte("abc"))) + "trailing",
		string(deflateBytes(t, 6, []byte("abc"))) + "trailing",
	} {
		for mode, parts := range filtertest.ByteSplits(in) {
			if got := bodyOf(runBody(w, parts)); got != "abc" {
				t.Fatalf("%s: %q", mode, got)
			}
		}
	}
	if strings.Contains(w.LogText(), "decompress") {
		t.Fatalf("unexpected log: %s", w.LogText())
	}
}

func TestDecompressErrors(t *testing.T) {
	p := textPayload(20000)
	gz := gzipBytes(t, 6, p)
	zl := zlibBytes(t, 6, p)
	flip := func(b []byte, i int) string {
		c := append([]byte(nil), b...)
		c[i] ^= 0x55
		return string(c)
	}
	cases := map[string]string{
		"gzip crc":            flip(gz, len(gz)-6),
		"gzip size":           flip(gz, len(gz)-2),
		"gzip body":           flip(gz, len(gz)/2),
		"gzip bad method":     flip(gz, 2),
		"zlib adler":          flip(zl, len(zl)-1),
		"zlib body":           flip(zl, len(zl)/3),
		"zlib dictionary":     "\x78\xbb\x00\x00\x00\x00",
		"invalid block type":  "\x07\x00\x00",
		"stored length check": "\x01\x05\x00\x00\x00hello",
		"distance too far":    string(deflateFarDistance()),
	}
	for name, in := range cases {
		w := filtertest.Load(t, decompressScript)
		for mode, parts := range filtertest.ByteSplits(in) {
			if len(in) > 4096 && mode != "whole" && mode != "bytewise" {
				continue
			}
			var r *filtertest.Rec
			filtertest.Guard(t, 5*time.Second, func() {
				r = runBody(w, parts)
				// the next message is not affected
				r.Feed(&filters.MessageStart{}, filtertest.Data(string(gzipBytes(t, 6, []byte("next")))), filters.TheMessageEnd)
			})
			if err := r.WellFormed(); err != nil {
				t.Fatalf("%s %s: %v", name, mode, err)
			}
			s := r.Summary()
			if !strings.HasSuffix(s, "start null\nbody \"next\"\nend\n") {
				t.Fatalf("%s %s: %.500s", name, mode, s)
			}
			// (a body is output as it is inflated: a bad trailer is only
			// seen after all of it)
			if got := bodyOf(r); len(got) > len(p)+4 {
				t.Fatalf("%s %s: %d bytes out", name, mode, len(got))
			}
		}
		if !strings.Contains(w.LogText(), "[WARN]  [decompress] decompression error") {
			t.Fatalf("%s: log %q", name, w.LogText())
		}
	}
}

// deflateFarDistance is a fixed-Huffman block whose first symbol is a match.
func deflateFarDistance() []byte {
	// BFINAL=1, BTYPE=01, then length code 257 (7 bits 0000001), distance
	// code 0 (5 bits 00000), end of block (0000000).
	var bits []int
	put := func(v, n int, msbFirst bool) {
		for i := 0; i < n; i++ {
			if msbFirst {
				bits = append(bits, v>>(n-1-i)&1)
			} else {
				bits = append(bits, v>>i&1)
			}
		}
	}
	put(1, 1, false)
	put(1, 2, false)
	put(1, 7, true)
	put(0, 5, true)
	put(0, 7, true)
	out := make([]byte, (len(bits)+7)/8)
	for i, b := range bits {
		out[i/8] |= byte(b << (i % 8))
	}
	return out
}

func TestDecompressTruncated(t *testing.T) {
	gz := gzipBytes(t, 6, []byte("some text to compress, some text to compress"))
	for _, n := range []int{1, 5, 12, len(gz) / 2, len(gz) - 1} {
		w := filtertest.Load(t, decompressScript)
		r := runBody(w, []string{string(gz[:n])})
		if got := r.Kinds(); !strings.HasPrefix(got, "MS D(") || !strings.HasSuffix(got, "ME") {
			t.Fatalf("%d: %s", n, got)
		}
		if !strings.Contains(w.LogText(), "[decompress] decompression error: unexpected end") {
			t.Fatalf("%d: log %q", n, w.LogText())
		}
	}
	// an empty body is not an error
	w := filtertest.Load(t, decompressScript)
	if got := runBody(w, nil).Kinds(); got != "MS ME" || w.LogText() != "" {
		t.Fatalf("empty body: %s %q", got, w.LogText())
	}
}

func TestDecompressBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses 64 MiB")
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 65 {
		zw.Write(zeros)
	}
	zw.Close()
	in := b.Bytes()
	w := filtertest.Load(t, decompressScript)
	r := w.Session("p")
	total := 0
	var last filters.Event
	r.Run(func() {
		r.S.Input(&filters.MessageStart{})
		for i := 0; i < len(in); i += 16 << 10 {
			r.S.Input(filters.NewDataBytes(in[i:min(i+16<<10, len(in))]))
		}
	})
	for i, e := range r.Evts {
		if e.Kind() == filters.KindData {
			total += len(r.DataAt(i))
			if len(r.DataAt(i)) > 1<<20 {
				t.Fatalf("one output Data of %d bytes", len(r.DataAt(i)))
			}
		}
		last = e
	}
	if se, ok := last.(*filters.SessionEnd); !ok || se.Err != filters.BufferOverflow {
		t.Fatalf("last event %#v", last)
	}
	if total > compress.MaxDecompressedBody {
		t.Fatalf("%d bytes output", total)
	}
	if !strings.Contains(w.LogText(), "[ERROR] [decompress] decompressed body exceeds") {
		t.Fatalf("log %q", w.LogText())
	}
	if !r.S.Done() {
		t.Fatal("session not ended")
	}
}

func TestDecompressLoadErrors(t *testing.T) {
	if err := filtertest.LoadErr(t, `pipy().pipeline('p').decompressMessageBody('gzip')`); err == nil || !strings.Contains(err.Error(), "unknown decompression algorithm") {
		t.Fatalf("gzip: %v", err)
	}
	if err := filtertest.LoadErr(t, `pipy().pipeline('p').decompressMessageBody()`); err == nil || !strings.Contains(err.Error(), "decompressMessageBody") {
		t.Fatalf("no argument: %v", err)
	}
	if err := filtertest.LoadErr(t, decompressScript); err != nil {
		t.Fatal(err)
	}
}

// goInflate decompresses with the standard library, choosing the format as
// the filter does. ok is false when the standard library fails.
func goInflate(in []byte) (out []byte, ok bool) {
	var r io.Reader
	var err error
	switch {
	case len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b:
		if len(in) >= 4 && in[3]&0xe0 != 0 {
			return nil, false // reserved flags: compress/gzip ignores them, zlib (and the filter) fails
		}
		r, err = gzip.NewReader(bytes.NewReader(in))
	case len(in) >= 2 && in[0]&0x0f == 8 && in[0]>>4 <= 7 && (int(in[0])<<8|int(in[1]))%31 == 0:
		r, err = zlib.NewReader(bytes.NewReader(in))
	default:
		r = flate.NewReader(bytes.NewReader(in))
	}
	if err != nil {
		return nil, false
	}
	out, err = io.ReadAll(io.LimitReader(r, 1<<20))
	return out, err == nil
}

// FuzzDecompress checks the push-mode inflater against the standard library:
// whatever the standard library decompresses, the filter decompresses to the
// same bytes, however the input is split.
func FuzzDecompress(f *testing.F) {
	for _, p := range [][]byte{[]byte("hello hello hello"), textPayload(3000), nil} {
		f.Add(gzipBytes(f, 6, p), uint8(0))
		f.Add(zlibBytes(f, 9, p), uint8(1))
		f.Add(deflateBytes(f, 1, p), uint8(7))
		f.Add(deflateBytes(f, flate.HuffmanOnly, p), uint8(2))
	}
	f.Add(deflateFarDistance(), uint8(0))
	w := filtertest.Load(f, decompressScript)
	w.Env.Log = hclog.NewNullLogger()
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		w.T = t // the harness calls Helper, which F forbids here
		n := 1 + int(step)
		var parts []string
		for i := 0; i < len(in); i += n {
			parts = append(parts, string(in[i:min(i+n, len(in))]))
		}
		var r *filtertest.Rec
		filtertest.Guard(t, 5*time.Second, func() { r = runBody(w, parts) })
		if err := r.WellFormed(); err != nil {
			t.Fatal(err)
		}
		want, ok := goInflate(in)
		if !ok || len(want) >= 1<<20 {
			return
		}
		if got := bodyOf(r); got != string(want) {
			t.Fatalf("got %q, standard library %q", got, want)
		}
	})
}
