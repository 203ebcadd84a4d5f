package dubbo_test

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/filters/dubbo"
	"github.com/pipy-go/pipy/filters/filtertest"
	"github.com/pipy-go/pipy/filters/http"
)

// dubboFrame builds a frame: magic DA BB, flags, status, id, length, body.
func dubboFrame(flags, status byte, id uint64, body string) string {
	var h [16]byte
	h[0], h[1], h[2], h[3] = 0xDA, 0xBB, flags, status
	binary.BigEndian.PutUint64(h[4:12], id)
	binary.BigEndian.PutUint32(h[12:16], uint32(len(body)))
	return string(h[:]) + body
}

func dubboHead(id uint64, status int, req, twoWay, event bool) string {
	return (&dubbo.Head{ID: id, Status: status, IsRequest: req, IsTwoWay: twoWay, IsEvent: event}).String()
}

type dubboCase struct {
	name string
	in   string
	end  bool
	want string
	log  string // expected in the log
}

var dubboCases = []dubboCase{
	{
		name: "request with body",
		in:   dubboFrame(0xC2, 0, 7, "hello dubbo"),
		want: "start " + dubboHead(7, 0, true, true, false) + "\nbody \"hello dubbo\"\nend\n",
	},
	{
		name: "empty body ends at once",
		in:   dubboFrame(0xE2, 0, 1, ""),
		want: "start " + dubboHead(1, 0, true, true, true) + "\nend\n",
	},
	{
		name: "several frames in one stream, 64-bit id, status",
		in: dubboFrame(0xC2, 0, 0, "a") + dubboFrame(0x02, 20, 1<<63+5, "response body") +
			dubboFrame(0x22, 0, 0xFFFFFFFFFFFFFFFF, "") + dubboFrame(0x82, 0, 2, strings.Repeat("x", 300)),
		want: "start " + dubboHead(0, 0, true, true, false) + "\nbody \"a\"\nend\n" +
			"start " + dubboHead(1<<63+5, 20, false, false, false) + "\nbody \"response body\"\nend\n" +
			"start " + dubboHead(0xFFFFFFFFFFFFFFFF, 0, false, false, true) + "\nend\n" +
			"start " + dubboHead(2, 0, true, false, false) + "\nbody \"" + strings.Repeat("x", 300) + "\"\nend\n",
	},
	{
		name: "bad magic: warning, parsing goes on",
		in:   "\x00\x00" + dubboFrame(0xC2, 0, 3, "abc")[2:],
		want: "start " + dubboHead(3, 0, true, true, false) + "\nbody \"abc\"\nend\n",
		log:  "[WARN]  [dubbo] magic number not found",
	},
	{
		name: "huge length is a protocol error",
		in:   dubboFrame(0xC2, 0, 1, "")[:12] + "\x04\x00\x00\x01" + "more bytes",
		want: "sessionend \"ReadError\"\n",
		log:  `[dubbo] protocol error: reason="body length 67108865 exceeds 67108864"`,
	},
	{
		name: "largest accepted length, truncated, then SessionEnd",
		in:   dubboFrame(0xC2, 0, 1, "")[:12] + "\x04\x00\x00\x00" + "partial",
		end:  true,
		want: "start " + dubboHead(1, 0, true, true, false) + "\nbody \"partial\"\nsessionend \"\"\n",
	},
	{
		name: "truncated header, then SessionEnd",
		in:   dubboFrame(0xC2, 0, 1, "abc")[:10],
		end:  true,
		want: "sessionend \"\"\n",
	},
	{
		name: "SessionEnd between frames",
		in:   dubboFrame(0xC2, 0, 9, "z"),
		end:  true,
		want: "start " + dubboHead(9, 0, true, true, false) + "\nbody \"z\"\nend\nsessionend \"\"\n",
	},
}

func TestDecodeDubboSplits(t *testing.T) {
	for _, c := range dubboCases {
		t.Run(c.name, func(t *testing.T) {
			for mode, parts := range filtertest.ByteSplits(c.in) {
				w := filtertest.LoadFilter(t, "decodeDubbo")
				var r *filtertest.Rec
				filtertest.Guard(t, 5*time.Second, func() { r = filtertest.RunParts(w, parts, c.end) })
				if got := r.Summary(); got != c.want {
					t.Fatalf("%s:\n got %s\nwant %s", mode, got, c.want)
				}
				if err := r.WellFormed(); err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				if c.log != "" && !strings.Contains(w.LogText(), c.log) {
					t.Fatalf("%s: log %q lacks %q", mode, w.LogText(), c.log)
				}
			}
		})
	}
}

// Frames that arrive together in one Data give one message each; a body is
// never merged with the next frame.
func TestDecodeDubboManyFramesOneData(t *testing.T) {
	var in, want strings.Builder
	for i := range 50 {
		body := strings.Repeat(string(rune('a'+i%26)), i)
		in.WriteString(dubboFrame(0xC2, 0, uint64(i), body))
		want.WriteString("start " + dubboHead(uint64(i), 0, true, true, false) + "\n")
		if body != "" {
			fmt.Fprintf(&want, "body %q\n", body)
		}
		want.WriteString("end\n")
	}
	w := filtertest.LoadFilter(t, "decodeDubbo")
	r := filtertest.RunParts(w, []string{in.String()}, false)
	if got := r.Summary(); got != want.String() {
		t.Fatalf("got %s\nwant %s", got, want.String())
	}
}

func TestDecodeDubboDropsNonData(t *testing.T) {
	w := filtertest.LoadFilter(t, "decodeDubbo")
	r := w.Session("p")
	r.Feed(&filters.MessageStart{}, filters.NewData(), filters.TheMessageEnd, filtertest.Data(dubboFrame(0xC2, 0, 1, "x")),
		filters.TheMessageEnd, &filters.SessionEnd{}, filtertest.Data(dubboFrame(0xC2, 0, 2, "y")), &filters.SessionEnd{})
	if got := r.Kinds(); got != "MS D(1) ME SE" {
		t.Fatalf("got %s", got)
	}
}

func TestDecodeDubboHeadObject(t *testing.T) {
	w := filtertest.Load(t, `pipy({_h: ''}).pipeline('p').decodeDubbo().onMessageStart(e => _h = JSON.stringify(e.head))`)
	r := w.Session("p")
	r.Feed(filtertest.Data(dubboFrame(0xA2, 30, 1<<63+1, "q")))
	want := `"{\"id\":\"9223372036854775809\",\"status\":30,\"isRequest\":true,\"isTwoWay\":false,\"isEvent\":true}"`
	if got := r.Get("_h"); got != want {
		t.Fatalf("head %s, want %s", got, want)
	}
}

func TestEncodeDubboDefaults(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').encodeDubbo()`)
	r := w.Session("p")
	r.Feed(&filters.MessageStart{}, filtertest.Data("abc"), filters.TheMessageEnd,
		&filters.MessageStart{}, filters.TheMessageEnd,
		filtertest.Data("outside a message"),
		&filters.MessageStart{Head: &http.RequestHead{Method: "POST"}}, filtertest.Data("1"), filtertest.Data("23"), filters.TheMessageEnd)
	want := dubboFrame(0xC2, 0, 0, "abc") + dubboFrame(0xC2, 0, 1, "") + dubboFrame(0xC2, 0, 2, "123")
	if got := r.BytesOut(); got != want {
		t.Fatalf("got  %x\nwant %x", got, want)
	}
	if got := r.Kinds(); got != "MS D(16) D(3) ME MS D(16) ME MS D(16) D(3) ME" {
		t.Fatalf("events %s", got)
	}
	for _, e := range r.Evts {
		if ms, ok := e.(*filters.MessageStart); ok && ms.Head != nil {
			t.Fatalf("head %v, want null", ms.Head)
		}
	}
	r.Feed(&filters.SessionEnd{}, &filters.MessageStart{}, filters.TheMessageEnd)
	if got := r.Kinds(); !strings.HasSuffix(got, "ME SE") {
		t.Fatalf("after SessionEnd: %s", got)
	}
}

func TestEncodeDubboHeadFields(t *testing.T) {
	cases := []struct{ head, want string }{
		{`{id: '18446744073709551615', status: 20, isRequest: false, isTwoWay: 0, isEvent: true}`, dubboFrame(0x22, 20, 0xFFFFFFFFFFFFFFFF, "b")},
		{`{id: 42}`, dubboFrame(0xC2, 0, 42, "b")},
		{`{id: '9007199254740993'}`, dubboFrame(0xC2, 0, 9007199254740993, "b")}, // exact beyond 2^53
		{`{id: -1}`, dubboFrame(0xC2, 0, 0xFFFFFFFFFFFFFFFF, "b")},
		{`{id: 2n**64n + 3n}`, dubboFrame(0xC2, 0, 3, "b")},
		{`{isRequest: 'yes', isTwoWay: '1', isEvent: 'x', status: 300}`, dubboFrame(0x42, 300&0xff, 0, "b")},
		{`{status: undefined, isRequest: undefined}`, dubboFrame(0xC2, 0, 0, "b")},
		{`null`, dubboFrame(0xC2, 0, 0, "b")},
		{`() => ({ id: _n++ * 10 })`, dubboFrame(0xC2, 0, 0, "b")},
	}
	for _, c := range cases {
		w := filtertest.Load(t, `pipy({_n: 0}).pipeline('p').encodeDubbo(`+c.head+`)`)
		r := w.Session("p")
		r.Feed(&filters.MessageStart{}, filtertest.Data("b"), filters.TheMessageEnd)
		if got := r.BytesOut(); got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.head, hex.EncodeToString([]byte(got)), hex.EncodeToString([]byte(c.want)))
		}
	}
	// a function is evaluated at each message
	w := filtertest.Load(t, `pipy({_n: 0}).pipeline('p').encodeDubbo(() => ({ id: ++_n * 10 }))`)
	r := w.Session("p")
	r.Feed(&filters.MessageStart{}, filters.TheMessageEnd, &filters.MessageStart{}, filters.TheMessageEnd)
	if got, want := r.BytesOut(), dubboFrame(0xC2, 0, 10, "")+dubboFrame(0xC2, 0, 20, ""); got != want {
		t.Fatalf("got %x want %x", got, want)
	}
}

func TestEncodeDubboHeadThrows(t *testing.T) {
	w := filtertest.Load(t, `pipy().pipeline('p').encodeDubbo(() => undefinedThing.x)`)
	r := w.Session("p")
	r.Feed(&filters.MessageStart{}, filtertest.Data("b"), filters.TheMessageEnd)
	if got := r.Kinds(); got != "SE(RuntimeError)" {
		t.Fatalf("got %s", got)
	}
}

// decodeDubbo then encodeDubbo reproduces the frames (serialization id 2).
func TestDubboRoundTripBytes(t *testing.T) {
	in := dubboFrame(0xC2, 0, 0, "first") + dubboFrame(0x02, 20, 1<<63+5, "second") +
		dubboFrame(0x22, 0, 0xFFFFFFFFFFFFFFFF, "") + dubboFrame(0xE2, 255, 123456789012345, strings.Repeat("z", 5000))
	for _, script := range []string{
		// Go heads all the way
		`pipy().pipeline('p').decodeDubbo().encodeDubbo()`,
		// heads turned into script objects in between
		`pipy().pipeline('p').decodeDubbo().replaceMessageStart(e => new MessageStart(JSON.parse(JSON.stringify(e.head)))).encodeDubbo()`,
		// head given by a function from a context variable
		`pipy({_h: null}).pipeline('p').decodeDubbo().onMessageStart(e => _h = e.head).encodeDubbo(() => _h)`,
	} {
		for mode, parts := range filtertest.ByteSplits(in) {
			if mode != "whole" && mode != "bytewise" && !strings.HasSuffix(mode, "7") {
				continue
			}
			w := filtertest.Load(t, script)
			r := filtertest.RunParts(w, parts, true)
			if got := r.BytesOut(); got != in {
				t.Fatalf("%s %s:\n got  %x\n want %x", script, mode, got, in)
			}
		}
	}
}

// encodeDubbo then decodeDubbo gives back the heads given to the encoder.
func TestDubboRoundTripHeads(t *testing.T) {
	w := filtertest.Load(t, `pipy({_heads: []}).pipeline('p')
  .encodeDubbo()
  .decodeDubbo()
  .onMessageStart(e => _heads.push(e.head))`)
	r := w.Session("p")
	rt := w.RT()
	// (keys sorted, as get() prints them)
	heads := []string{
		`{"id":"5","isEvent":false,"isRequest":true,"isTwoWay":true,"status":0}`,
		`{"id":"18446744073709551614","isEvent":true,"isRequest":false,"isTwoWay":false,"status":70}`,
		`{"id":"0","isEvent":false,"isRequest":true,"isTwoWay":false,"status":255}`,
	}
	r.Run(func() {
		for _, h := range heads {
			v, err := rt.RunString("(" + h + ")")
			if err != nil {
				t.Fatal(err)
			}
			r.S.Input(&filters.MessageStart{Head: v})
			r.S.Input(filtertest.Data("body"))
			r.S.Input(filters.TheMessageEnd)
		}
	})
	if got, want := r.Get("_heads"), "["+strings.Join(heads, ",")+"]"; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func FuzzDecodeDubbo(f *testing.F) {
	f.Add([]byte(dubboFrame(0xC2, 0, 1, "hello")), uint8(3))
	f.Add([]byte(dubboFrame(0xC2, 0, 1, "a")+dubboFrame(0x02, 20, 2, "")), uint8(0))
	f.Add([]byte("\xda\xbb\xc2\x00\x00\x00\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff"), uint8(1))
	f.Add([]byte("\x00\x01\x02"), uint8(7))
	w := filtertest.LoadFilter(f, "decodeDubbo")
	w.Env.Log = hclog.NewNullLogger()
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		w.T = t // the harness calls Helper, which F forbids here
		// Feed the input in pieces of 1+step%32 bytes, then end the session.
		n := 1 + int(step%32)
		var parts []string
		for i := 0; i < len(in); i += n {
			parts = append(parts, string(in[min(i, len(in)):min(i+n, len(in))]))
		}
		var r *filtertest.Rec
		filtertest.Guard(t, 5*time.Second, func() { r = filtertest.RunParts(w, parts, true) })
		if err := r.WellFormed(); err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Last().(*filters.SessionEnd); !ok {
			t.Fatalf("no SessionEnd at the end: %s", r.Kinds())
		}
		// Every byte is a header byte or a body byte.
		body, msgs := len(r.BytesOut()), 0
		for _, e := range r.Evts {
			if e.Kind() == filters.KindMessageStart {
				msgs++
			}
		}
		if body+16*msgs > len(in) {
			t.Fatalf("%d body bytes and %d headers from %d bytes", body, msgs, len(in))
		}
	})
}
