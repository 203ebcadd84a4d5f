package worker

import (
	"sync"
	"time"

	"github.com/pipy-go/pipy/filters"
)

// A program's life in a worker:
//
//	loaded   scripts.LoadModule made it; nothing runs yet.
//	running  Run made it the worker's program: its listeners and tasks start
//	         sessions.
//	retired  a reload replaced it (Run) or StopProgram stopped it: nothing
//	         starts sessions of it any more, but those already running go on
//	         on its pipelines until they end.
//	ended    its last session has ended (or it had none when retired): the
//	         worker forgets it and closes its script runtime, so its runtime,
//	         pipelines, module table and everything they hold become
//	         unreachable and the garbage collector frees them.
//
// The worker counts, per program, its own sessions: one per accepted
// connection from the accept on (before the session exists: a TLS
// handshake comes first, so a program retired meanwhile waits for it), and
// one per task tick. Templates that keep sessions across the sessions using
// them (mux() pools: see retiree) are told when their program is retired;
// the script runtime, which keeps the sessions scripts made with new
// Session (see sharedHolder), when the retired program has no own session
// left. Once the program's pipelines count no active session at all, the
// program ends.
//
// The end is driven by sessions ending: each of the worker's own sessions
// tells it when it ends, and the worker then looks, once the loop is free
// (after the session's other end hooks have ended its sub-sessions),
// whether the program can end. Sub-sessions that outlive the session that
// made them (a mux's shared session waiting out its idle time) tell no one,
// so while retired programs remain the worker also looks every
// sweepInterval.

// sweepInterval is how often retired programs that still have sessions are
// looked at.
const sweepInterval = time.Second

// Templates that keep sessions across the sessions that use them (mux's
// pools: filters.Retirer) are told at once when their program is retired:
// waiting for the program's own sessions to end first would not do, as a
// mux whose upstream is a listener of the same process keeps an inbound
// session of its own program open. The script runtime's sessions made with
// new Session (filters.Script.ReleaseShared) are ended once the retired
// program has no own session left: nothing of it runs any more but them,
// and they would otherwise run for good.

// progState is what the worker knows of one program's life.
type progState struct {
	own      int  // accepted connections and task sessions not yet ended
	retired  bool // no new sessions start
	released bool // its script sessions were let go (sharedHolder)
}

// lifecycle tracks the programs of a worker until they end.
//
// Lock order: the loop, then Worker.mu or a listener's pmu, then
// lifecycle.mu. Its methods take no other lock and call nothing that could
// while holding mu, because session end hooks call them inside the loop
// while Worker.mu may be held (Run starts task sessions under it).
type lifecycle struct {
	loop  *filters.Loop
	ended func(p *filters.Program) // called inside the loop after each end

	mu      sync.Mutex // guards the fields below
	progs   map[*filters.Program]*progState
	retired []*filters.Program // in retirement order
	sweep   *filters.Timer     // armed while retired is not empty
	pending bool               // a check is scheduled on the loop
}

func (l *lifecycle) stateLocked(p *filters.Program) *progState {
	st := l.progs[p]
	if st == nil {
		if l.progs == nil {
			l.progs = map[*filters.Program]*progState{}
		}
		st = &progState{}
		l.progs[p] = st
	}
	return st
}

// begin counts one of the worker's own sessions of p: an accepted
// connection (its session is made later) or a task session. For a
// connection the caller holds the lock under which it read p from its
// listener, so p cannot be retired and ended in between.
func (l *lifecycle) begin(p *filters.Program) {
	l.mu.Lock()
	l.stateLocked(p).own++
	l.mu.Unlock()
}

// done uncounts one of the worker's own sessions of p: it ended, or the
// connection failed before it had one. If p is retired, a check runs once
// the loop is free. Inside the loop.
func (l *lifecycle) done(p *filters.Program) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.progs[p]
	if st == nil {
		return
	}
	st.own--
	if st.retired && st.own <= 0 && !l.pending {
		l.pending = true
		l.loop.AfterFunc(0, l.check)
	}
}

// retire records that p starts no more sessions, and ends it at once if it
// has none. Inside the loop.
func (l *lifecycle) retire(p *filters.Program) {
	l.mu.Lock()
	st := l.stateLocked(p)
	if !st.retired {
		st.retired = true
		l.retired = append(l.retired, p)
	}
	l.mu.Unlock()
	retireTemplates(p)
	l.run()
}

// check is run by the timers: it ends every retired program it can.
// Inside the loop.
func (l *lifecycle) check() {
	l.mu.Lock()
	l.pending = false
	l.mu.Unlock()
	l.run()
}

// run tells the script runtimes of retired programs without own sessions
// to let their sessions go, then ends the retired programs with no active
// session, and arms the sweep for the others. Inside the loop.
func (l *lifecycle) run() {
	var release, ended []*filters.Program
	l.mu.Lock()
	for _, p := range l.retired {
		if st := l.progs[p]; st.own <= 0 && !st.released {
			st.released = true
			release = append(release, p)
		}
	}
	l.mu.Unlock()
	// Outside mu: ending shared sessions runs their end hooks.
	for _, p := range release {
		releaseShared(p)
	}

	l.mu.Lock()
	live := l.retired[:0]
	for _, p := range l.retired {
		if l.progs[p].own <= 0 && p.ActiveSessions() == 0 {
			ended = append(ended, p)
			delete(l.progs, p)
		} else {
			live = append(live, p)
		}
	}
	clear(l.retired[len(live):]) // no stale pointers in the backing array
	l.retired = live
	if len(live) == 0 {
		l.retired = nil
	}
	l.sweep.Stop()
	l.sweep = nil
	if len(live) > 0 {
		l.sweep = l.loop.AfterFunc(sweepInterval, l.check)
	}
	l.mu.Unlock()

	for _, p := range ended {
		endProgram(p)
		if l.ended != nil {
			l.ended(p)
		}
	}
}

// list returns the retired programs that have not ended.
func (l *lifecycle) list() []*filters.Program {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*filters.Program(nil), l.retired...)
}

// retireTemplates tells every template of p that keeps shared sessions
// that p is retired (filters.Retirer).
func retireTemplates(p *filters.Program) {
	for _, pl := range p.Pipelines() {
		for _, f := range pl.Filters {
			if r, ok := f.Template.(filters.Retirer); ok {
				r.Retire()
			}
		}
	}
}

// releaseShared tells the script runtime of p to end the sessions scripts
// made (filters.Script.ReleaseShared).
func releaseShared(p *filters.Program) {
	if p.Script != nil {
		p.Script.ReleaseShared()
	}
}

// endProgram closes what a program holds beyond its own memory: its script
// runtime (filters.Script.Close).
func endProgram(p *filters.Program) {
	if p.Script != nil {
		p.Script.Close()
	}
}
