// Package throttle holds the tap filter: it limits the message rate or
// data rate of sessions sharing an account, pausing their connections'
// reads while over quota.
package throttle

import (
	"github.com/pipy-go/pipy/filters"

	"fmt"
	"slices"
	"time"

	"github.com/dop251/goja"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "tap", Args: "quota[, account]", Description: "Throttles message rate or data rate",
		Params: []filters.Param{
			{Name: "quota", Type: "number|string|function", Help: "Quota in messages/sec when it is a number or in bytes/sec when string"},
			{Name: "account", Type: "string|function", Help: "Name under which the quota is entitled to"},
		},
		Make: func(a *filters.Args) (filters.Template, error) {
			if err := a.Require(1); err != nil {
				return nil, err
			}
			return &tapTemplate{quota: filters.NewLazy(a.Get(0)), account: filters.NewLazy(a.Get(1)), accounts: map[string]*tapAccount{}}, nil
		},
	})
}

// tapTemplate owns the accounts of one tap() declaration.
type tapTemplate struct {
	quota    filters.Lazy
	account  filters.Lazy
	accounts map[string]*tapAccount
}

// tapAccount is a quota bucket and the queue of events waiting for it,
// shared by every session of the declaration using the same account.
type tapAccount struct {
	bytes  bool // byte mode (quota given as a size string), else messages
	refill int64
	level  int64
	queue  []tapItem
	timer  *filters.Timer
	paused []filters.Downstream
	loop   *filters.Loop
}

type tapItem struct {
	f   *tap
	evt filters.Event
}

func (t *tapTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &tap{t: t, s: s, out: out}
}

// tap lets events through at the rate of its account's quota; a session
// whose events have to wait stops reading its inbound connection until the
// account's queue drains.
type tap struct {
	t       *tapTemplate
	s       *filters.Session
	out     filters.Sink
	acct    *tapAccount // nil: unlimited
	started bool
	ended   bool
}

func (f *tap) start() bool {
	f.started = true
	av, err := f.t.account.Eval(f.s)
	if err != nil {
		f.s.Abort(err)
		return false
	}
	name := "undefined"
	if av != nil && !goja.IsUndefined(av) {
		name = av.String()
	}
	qv, err := f.t.quota.Eval(f.s)
	if err != nil {
		f.s.Abort(err)
		return false
	}
	if qv == nil || goja.IsUndefined(qv) || goja.IsNull(qv) {
		return true // unlimited
	}
	bytes := false
	var refill int64
	if s, ok := qv.Export().(string); ok {
		n, err := filters.ParseSize(s)
		if err != nil {
			f.s.Abort(fmt.Errorf("[tap] %v", err))
			return false
		}
		bytes, refill = true, n
	} else {
		refill = qv.ToInteger()
	}
	a := f.t.accounts[name]
	if a == nil {
		a = &tapAccount{level: refill, loop: f.s.Env().Loop}
		f.t.accounts[name] = a
	}
	a.bytes, a.refill = bytes, refill
	f.acct = a
	return true
}

func (f *tap) Input(evt filters.Event) {
	if f.ended {
		return
	}
	if !f.started && !f.start() {
		return
	}
	if evt.Kind() == filters.KindSessionEnd {
		f.ended = true
	}
	a := f.acct
	if a == nil {
		f.out.Input(evt)
		return
	}
	a.queue = append(a.queue, tapItem{f, evt})
	a.drain()
	if a.level < a.refill {
		a.arm()
	}
	if len(a.queue) > 0 {
		if ds := f.s.Downstream(); ds != nil && !slices.Contains(a.paused, ds) {
			ds.PauseReading()
			a.paused = append(a.paused, ds)
		}
	}
}

// drain passes queued events while quota remains.
func (a *tapAccount) drain() {
	for len(a.queue) > 0 {
		it := &a.queue[0]
		if it.f.s.Done() {
			// The session is gone: its events are dropped, not charged.
			if d, ok := it.evt.(*filters.Data); ok {
				d.Release()
			}
			a.pop()
			continue
		}
		if a.level <= 0 {
			break
		}
		switch e := it.evt.(type) {
		case *filters.MessageEnd:
			if !a.bytes {
				a.level--
			}
		case *filters.Data:
			if a.bytes && int64(e.Size()) > a.level {
				part := e.Shift(int(a.level))
				a.level = 0
				it.f.out.Input(part)
				continue
			}
			if a.bytes {
				a.level -= int64(e.Size())
			}
		}
		f, evt := it.f, it.evt
		a.pop()
		f.out.Input(evt)
	}
	if len(a.queue) == 0 && len(a.paused) > 0 {
		for _, c := range a.paused {
			c.ResumeReading()
		}
		a.paused = a.paused[:0]
	}
}

func (a *tapAccount) pop() {
	a.queue[0] = tapItem{}
	a.queue = a.queue[1:]
}

// arm starts the one-second refill timer unless one is pending.
func (a *tapAccount) arm() {
	if a.timer != nil {
		return
	}
	a.timer = a.loop.AfterFunc(time.Second, func() {
		a.timer = nil
		a.level = a.refill
		a.drain()
		if len(a.queue) > 0 {
			a.arm()
		}
	})
}
