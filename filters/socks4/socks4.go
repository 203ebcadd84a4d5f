// Package socks4 holds proxySOCKS4: it reads a SOCKS4/4a request, asks a
// script callback whether to accept it and relays the rest of the stream to
// a sub-pipeline.
package socks4

import (
	"github.com/pipy-go/pipy/filters"

	"encoding/binary"
	"strconv"

	"github.com/dop251/goja"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "proxySOCKS4", Args: "target, onConnect", Description: "Proxies a SOCKS4 connection to a different pipeline",
		Params: []filters.Param{
			{Name: "target", Type: "string", Help: "Name of the pipeline that receives SOCKS4 connections"},
			{Name: "onConnect", Type: "function", Help: "Callback function that receives address, port, user and returns whether the connection is accepted"},
		},
		Make: func(a *filters.Args) (filters.Template, error) {
			if err := a.Require(2); err != nil {
				return nil, err
			}
			target, err := a.String(0)
			if err != nil {
				return nil, err
			}
			fn, err := a.Func(1)
			if err != nil {
				return nil, err
			}
			if fn == nil {
				return nil, a.Errorf("argument #2 expects a function")
			}
			return &socks4Template{target: target, onConnect: fn, module: a.Module}, nil
		},
		Sub: filters.FirstArg,
	})
}

// SOCKS4 limits: the user id and the SOCKS4a domain name are each at most
// 256 bytes including the terminating NUL.
const socks4MaxField = 256

var (
	socks4Granted  = []byte{0x00, 0x5A, 0, 0, 0, 0, 0, 0}
	socks4Rejected = []byte{0x00, 0x5B, 0, 0, 0, 0, 0, 0}
)

type socks4Template struct {
	target    string
	onConnect goja.Callable
	module    *filters.Module
}

func (t *socks4Template) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &socks4{t: t, s: s, out: out}
}

type socks4State uint8

const (
	socks4Request socks4State = iota // reading VN CD DSTPORT DSTIP
	socks4User                       // reading the NUL-terminated user id
	socks4Domain                     // SOCKS4a: reading the NUL-terminated domain
	socks4Relay                      // relaying to the sub-session
	socks4Closed                     // rejected, or SessionEnd seen before the handshake completed
)

// socks4 terminates a SOCKS4/4a CONNECT handshake, then relays the stream
// through a sub-session of the target pipeline that shares the context.
type socks4 struct {
	t      *socks4Template
	s      *filters.Session
	out    filters.Sink
	state  socks4State
	req    [8]byte
	reqLen int
	field  []byte // user id or domain being read
	user   string
	sub    *filters.Session
	// outEnded is set once a SessionEnd went downstream, so that the
	// sub-session's own SessionEnd is not output a second time.
	outEnded bool
}

func (f *socks4) Input(evt filters.Event) {
	switch e := evt.(type) {
	case *filters.Data:
		switch f.state {
		case socks4Relay:
			f.sub.Input(e)
		case socks4Closed:
			e.Release()
		default:
			if e.Size() > 0 {
				f.handshake(e)
			}
		}
	case *filters.SessionEnd:
		switch f.state {
		case socks4Relay:
			// Recommended behaviour: the sub-session sees the end of its
			// input and finishes by itself (e.g. connect half-closes and
			// delivers the rest of the upstream's answer); its SessionEnd
			// then ends this session. It is also ended with this session.
			f.sub.Input(e)
		case socks4Closed:
		default:
			f.state = socks4Closed
			f.output(e)
		}
	}
	// MessageStart and MessageEnd are ignored.
}

// output passes an event downstream, at most one SessionEnd.
func (f *socks4) output(evt filters.Event) {
	if f.outEnded {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	if evt.Kind() == filters.KindSessionEnd {
		f.outEnded = true
	}
	f.out.Input(evt)
}

func (f *socks4) handshake(d *filters.Data) {
	for d.Size() > 0 {
		switch f.state {
		case socks4Request:
			n := d.Peek(f.req[f.reqLen:])
			d.ShiftTo(n)
			f.reqLen += n
			if f.reqLen < len(f.req) {
				return
			}
			if f.req[0] != 4 || f.req[1] != 1 {
				f.reject(d)
				return
			}
			f.state = socks4User
		case socks4User, socks4Domain:
			done, ok := f.readField(d)
			if !ok {
				f.reject(d)
				return
			}
			if !done {
				return
			}
			if f.state == socks4User {
				f.user = string(f.field)
				f.field = f.field[:0]
				if f.req[4] == 0 && f.req[5] == 0 && f.req[6] == 0 {
					f.state = socks4Domain
					continue
				}
				f.connect(formatIPv4(f.req[4:8]), d)
			} else {
				f.connect(string(f.field), d)
			}
			return
		default:
			return
		}
	}
}

// readField moves bytes of d into f.field up to and including a NUL. It
// reports whether the NUL was found, and ok=false when the field is longer
// than the limit.
func (f *socks4) readField(d *filters.Data) (done, ok bool) {
	n := 0
	for ci := range d.NumChunks() {
		cb := d.Chunk(ci)
		for i, b := range cb {
			if b == 0 {
				d.ShiftTo(n + i + 1)
				return true, true
			}
			if len(f.field)+1 >= socks4MaxField {
				return false, false
			}
			f.field = append(f.field, b)
		}
		n += len(cb)
	}
	d.ShiftTo(n)
	return false, true
}

func formatIPv4(b []byte) string {
	buf := make([]byte, 0, 15)
	for i, x := range b {
		if i > 0 {
			buf = append(buf, '.')
		}
		buf = strconv.AppendUint(buf, uint64(x), 10)
	}
	return string(buf)
}

// connect asks the script whether to accept, then starts relaying; rest
// holds the bytes that followed the request.
func (f *socks4) connect(address string, rest *filters.Data) {
	port := binary.BigEndian.Uint16(f.req[2:4])
	f.field = nil
	rt := f.s.Script().Runtime()
	v, err := f.s.Call(f.t.onConnect, rt.ToValue(address), rt.ToValue(int(port)), rt.ToValue(f.user))
	if err != nil {
		f.state = socks4Closed
		rest.Release()
		f.s.Abort(err)
		return
	}
	p := f.t.module.Named[f.t.target]
	if !v.ToBoolean() || p == nil {
		f.reject(rest)
		return
	}
	f.state = socks4Relay
	f.sub = p.NewSession(f.s.Context, filters.SinkFunc(f.output))
	sub := f.sub
	f.s.OnEnd(func() { sub.End(filters.NoError) })
	f.output(filters.NewDataBytes(socks4Granted))
	f.output(filters.NewData())
	if rest.Size() > 0 {
		f.sub.Input(rest.Shift(rest.Size()))
	}
}

// reject answers 5B and ends the session.
func (f *socks4) reject(rest *filters.Data) {
	rest.Release()
	f.state = socks4Closed
	f.field = nil
	f.output(filters.NewDataBytes(socks4Rejected))
	f.output(filters.NewData())
	f.output(filters.TheSessionEnd)
}
