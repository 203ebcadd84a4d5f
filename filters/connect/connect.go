// Package connect holds the connect filter: it dials a TCP (or TLS)
// upstream per session, writes the session's Data to it and outputs what the
// upstream sends back, with half-close and the engine's backpressure.
package connect

import (
	"github.com/pipy-go/pipy/filters"

	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "connect", Args: "target[, options]", Description: "Sends data to a remote endpoint and receives data from it",
		Params: []filters.Param{
			{Name: "target", Type: "string|function", Help: "Remote endpoint in the form of `<ip>:<port>`"},
			{Name: "options", Type: "object", Help: "Includes bufferLimit, retryCount, retryDelay, tls.cert, tls.key"},
		},
		Make: makeConnect,
	})
}

type connectTemplate struct {
	target      filters.Lazy
	bufferLimit int64
	retryCount  int
	retryDelay  time.Duration
	tls         *tls.Config
}

func makeConnect(a *filters.Args) (filters.Template, error) {
	if err := a.Require(1); err != nil {
		return nil, err
	}
	t := &connectTemplate{target: filters.NewLazy(a.Get(0))}
	if t.target.Fn == nil {
		if _, ok := t.target.Value.Export().(string); !ok {
			return nil, a.Errorf("argument #1 expects a string or a function")
		}
	}
	opts, err := a.Object(1)
	if err != nil {
		return nil, err
	}
	if opts == nil {
		return t, nil
	}
	get := func(k string) goja.Value {
		v := opts.Get(k)
		if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
			return nil
		}
		return v
	}
	if v := get("bufferLimit"); v != nil {
		if s, ok := v.Export().(string); ok {
			if t.bufferLimit, err = filters.ParseSize(s); err != nil {
				return nil, a.Errorf("option bufferLimit: %v", err)
			}
		} else {
			t.bufferLimit = v.ToInteger()
		}
	}
	if v := get("retryCount"); v != nil {
		t.retryCount = int(v.ToInteger())
	}
	if v := get("retryDelay"); v != nil {
		if s, ok := v.Export().(string); ok {
			if t.retryDelay, err = filters.ParseDuration(s); err != nil {
				return nil, a.Errorf("option retryDelay: %v", err)
			}
		} else {
			t.retryDelay = time.Duration(v.ToFloat() * float64(time.Second))
		}
	}
	if v := get("tls"); v != nil {
		o, ok := v.(*goja.Object)
		if !ok {
			return nil, a.Errorf("option tls must be an object")
		}
		// The original neither verifies the server nor sends SNI.
		var certPEM, keyPEM string
		cert, key := o.Get("cert"), o.Get("key")
		if cert != nil && !goja.IsUndefined(cert) && key != nil && !goja.IsUndefined(key) {
			certPEM, keyPEM = cert.String(), key.String()
		}
		if t.tls, err = filters.ClientTLS(certPEM, keyPEM, &a.Module.Program.Files); err != nil {
			return nil, a.Errorf("option tls: %v", err)
		}
	}
	return t, nil
}

// Encrypts implements filters.Encrypter: whether the tls option was given.
func (t *connectTemplate) Encrypts() bool { return t.tls != nil }

func (t *connectTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &connect{t: t, s: s, out: out}
}

var outboundIDs atomic.Uint64

// connect relays Data to an upstream connection and outputs what comes back.
type connect struct {
	t        *connectTemplate
	s        *filters.Session
	out      filters.Sink
	id       uint64
	host     string
	port     string
	started  bool
	conn     *filters.Conn
	pending  []*filters.Data
	queued   int64
	inEnded  bool // input SessionEnd seen
	outEnded bool // SessionEnd output
	retries  int
	overflow bool
	drain    *filters.Timer
	retry    *filters.Timer // the next dial after a failure
}

func (f *connect) Input(evt filters.Event) {
	if f.inEnded || f.outEnded {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
		return
	}
	if evt.Kind() != filters.KindSessionEnd && !f.started {
		f.start()
		if f.outEnded {
			return
		}
	}
	switch e := evt.(type) {
	case *filters.Data:
		if e.Size() == 0 {
			return
		}
		if f.t.bufferLimit > 0 {
			q := f.queued
			if f.conn != nil {
				q = int64(f.conn.Queued())
			}
			if q >= f.t.bufferLimit {
				if !f.overflow {
					f.overflow = true
					f.s.Env().Log.Error(fmt.Sprintf("Outbound: %d to upstream %s:%s buffer overflow, size = %d", f.id, f.host, f.port, q))
				}
				e.Release()
				return
			}
			f.overflow = false
		}
		if f.conn != nil {
			f.conn.Write(e)
		} else {
			f.pending = append(f.pending, e)
			f.queued += int64(e.Size())
		}
	case *filters.SessionEnd:
		f.inEnded = true
		switch {
		case f.conn != nil && e.Err != filters.NoError:
			// The downstream failed (e.g. the client reset): nobody will
			// read an answer, so drop the upstream now.
			f.conn.Abort()
			f.end(filters.TheSessionEnd)
		case f.conn != nil:
			// Half-close: let the upstream finish its answer, for a while.
			f.halfClose()
		case !f.started || e.Err != filters.NoError:
			f.end(filters.TheSessionEnd)
		}
	}
}

// halfClose shuts down the upstream's write side and bounds how long its
// answer may take.
func (f *connect) halfClose() {
	f.conn.CloseWrite()
	f.drain = f.s.Env().Loop.AfterFunc(f.s.Env().HalfClose(), func() {
		if !f.outEnded {
			f.conn.Abort()
			f.end(filters.TheSessionEnd)
		}
	})
}

// splitTarget splits "host:port" at the last colon; "[v6]:port" works too.
func splitTarget(s string) (host, port string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", false
	}
	host, port = s[:i], s[i+1:]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	n, err := strconv.Atoi(port)
	if err != nil || len(port) > 5 || n < 1 || n > 65535 || host == "" {
		return "", "", false
	}
	return host, port, true
}

func (f *connect) start() {
	f.started = true
	f.id = outboundIDs.Add(1)
	v, err := f.t.target.Eval(f.s)
	if err != nil {
		f.outEnded = true
		f.s.Abort(err)
		return
	}
	target := ""
	if v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
		target = v.String()
	}
	host, port, ok := splitTarget(target)
	if !ok {
		f.s.Env().Log.Warn("[connect] invalid target: " + target)
		f.end(&filters.SessionEnd{Err: filters.CannotResolve, Message: "invalid target: " + target})
		return
	}
	f.host, f.port = host, port
	f.dial()
}

func (f *connect) dial() {
	env := f.s.Env()
	addr := net.JoinHostPort(f.host, f.port)
	tlsConf := f.t.tls
	if alpn := f.s.Context.ALPN; tlsConf != nil && len(alpn) > 0 {
		tlsConf = tlsConf.Clone()
		tlsConf.NextProtos = alpn
	}
	go func() {
		var d net.Dialer
		nc, err := d.DialContext(context.Background(), "tcp", addr)
		if err == nil && tlsConf != nil {
			tc := tls.Client(nc, tlsConf)
			tc.SetDeadline(time.Now().Add(30 * time.Second))
			if err = tc.Handshake(); err != nil {
				nc.Close()
			} else {
				tc.SetDeadline(time.Time{})
				nc = tc
			}
		}
		if tc, ok := nc.(*net.TCPConn); ok && err == nil {
			tc.SetNoDelay(true)
		}
		env.Loop.Run(func() { f.dialed(nc, err) })
	}()
}

func (f *connect) dialed(nc net.Conn, err error) {
	env := f.s.Env()
	if f.outEnded || f.s.Aborted() || f.s.Done() {
		if nc != nil && err == nil {
			nc.Close()
		}
		return
	}
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			env.Log.Error(fmt.Sprintf("Outbound: %d, failed to resolve hostname %s, %s", f.id, f.host, dnsErr.Err))
		} else {
			env.Log.Error(fmt.Sprintf("Outbound: %d, cannot connect to %s:%s, %s", f.id, f.host, f.port, reason(err)))
		}
		if f.t.retryCount < 0 || f.retries < f.t.retryCount {
			if f.retries == 0 {
				// A session that ends while waiting lets the timer (and
				// itself) go at once.
				f.s.OnEnd(func() { f.retry.Stop() })
			}
			f.retries++
			f.retry = env.Loop.AfterFunc(f.t.retryDelay, func() {
				if !f.outEnded && !f.s.Aborted() && !f.s.Done() {
					f.dial()
				}
			})
			return
		}
		code := filters.ConnectionRefused
		if dnsErr != nil {
			code = filters.CannotResolve
		}
		f.end(&filters.SessionEnd{Err: code, Message: reason(err)})
		return
	}
	if env.Log.IsDebug() {
		env.Log.Debug(fmt.Sprintf("Outbound: %d, connected to %s:%s", f.id, f.host, f.port))
	}
	c := filters.NewConn(nc, env.Loop)
	f.conn = c
	// Backpressure: a filter holding too much of what this upstream says
	// (for a slow client) pauses the context, and so this connection.
	f.s.Context.AddValve(c)
	f.s.OnEnd(func() {
		f.s.Context.RemoveValve(c)
		// The session is over: nobody reads what the upstream says.
		if !f.outEnded {
			f.outEnded = true
			f.drain.Stop()
			c.Abort()
		}
	})
	for _, d := range f.pending {
		c.Write(d)
	}
	f.pending, f.queued = nil, 0
	if f.inEnded {
		f.halfClose()
	}
	group := f.s.Context.Group
	go c.ReadLoop(func(d *filters.Data) {
		if f.outEnded {
			d.Release()
			return
		}
		f.out.Input(d)
		f.out.Input(filters.NewData())
		group.Notify()
	}, func(err error) {
		if f.outEnded {
			c.Abort()
			return
		}
		if err != nil && !errors.Is(err, net.ErrClosed) {
			env.Log.Warn(fmt.Sprintf("Outbound: %d, read error from %s:%s, %v", f.id, f.host, f.port, err))
			f.end(&filters.SessionEnd{Err: filters.ReadError, Message: err.Error()})
		} else {
			f.end(filters.TheSessionEnd)
		}
		c.Close()
		group.Notify()
	})
}

func (f *connect) end(e *filters.SessionEnd) {
	if f.outEnded {
		return
	}
	f.outEnded = true
	f.drain.Stop()
	if f.conn != nil {
		f.s.Context.RemoveValve(f.conn)
	}
	for _, d := range f.pending {
		d.Release()
	}
	f.pending = nil
	f.out.Input(e)
}

// reason gives the OS reason of a dial error, e.g. "Connection refused".
func reason(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}
