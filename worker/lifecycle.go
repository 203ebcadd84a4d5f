package worker

import (
	"io"
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
// A connection accepted for a program's listener counts for that program
// from the accept on, before its session exists (a TLS handshake comes
// first), so a program retired meanwhile waits for it.
//
// The end is driven by sessions ending: every session the worker starts (an
// accepted connection, a task tick) tells the worker when it ends, and if
// its program is retired the worker looks, once the loop is free, whether
// the program still has sessions. Sub-sessions that outlive the session that
// made them (a mux's shared session waiting out its idle time) do not tell
// anyone, so while retired programs remain the worker also looks every
// sweepInterval.

// sweepInterval is how often retired programs that still have sessions are
// looked at.
const sweepInterval = time.Second

// retirement keeps the retired programs of a worker until they end.
//
// Lock order: the loop, then Worker.mu or a listener's pmu, then
// retirement.mu. Its methods never take another lock, because session end
// hooks call them inside the loop while Worker.mu may be held (Run starts
// task sessions under it).
type retirement struct {
	loop  *filters.Loop
	ended func(p *filters.Program) // called inside the loop for each end

	mu       sync.Mutex // guards the fields below
	progs    []*filters.Program
	starting map[*filters.Program]int // accepted connections without a session yet
	sweep    *filters.Timer           // armed while progs is not empty
	pending  bool                     // a check is scheduled on the loop
}

// accepting counts a connection accepted for p whose session is not made
// yet. The caller holds the lock under which it read p from its listener,
// so p cannot be retired and ended in between.
func (r *retirement) accepting(p *filters.Program) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.starting == nil {
		r.starting = map[*filters.Program]int{}
	}
	r.starting[p]++
}

// started uncounts a connection of accepting: its session was made (and
// counts instead), or it failed before. Inside the loop.
func (r *retirement) started(p *filters.Program) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.starting[p]--; r.starting[p] <= 0 {
		delete(r.starting, p)
	}
	r.scheduleLocked(p)
}

// retire records that p no longer starts sessions and ends it at once if it
// has none. Inside the loop.
func (r *retirement) retire(p *filters.Program) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, q := range r.progs {
		if q == p {
			return
		}
	}
	r.progs = append(r.progs, p)
	r.checkLocked()
}

// sessionEnded is the end hook of a session the worker started on p: if p
// is retired, a check runs once the loop is free (after the session's other
// end hooks have ended its sub-sessions). Inside the loop.
func (r *retirement) sessionEnded(p *filters.Program) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scheduleLocked(p)
}

// scheduleLocked schedules a check if p is retired and none is scheduled.
func (r *retirement) scheduleLocked(p *filters.Program) {
	if r.pending || !r.has(p) {
		return
	}
	r.pending = true
	r.loop.AfterFunc(0, r.check)
}

func (r *retirement) has(p *filters.Program) bool {
	for _, q := range r.progs {
		if q == p {
			return true
		}
	}
	return false
}

// check ends every retired program without sessions. Inside the loop.
func (r *retirement) check() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = false
	r.checkLocked()
}

func (r *retirement) checkLocked() {
	live := r.progs[:0]
	var ended []*filters.Program
	for _, p := range r.progs {
		if p.ActiveSessions() > 0 || r.starting[p] > 0 {
			live = append(live, p)
		} else {
			ended = append(ended, p)
		}
	}
	clear(r.progs[len(live):]) // no stale pointers in the backing array
	r.progs = live
	if len(live) == 0 {
		r.progs = nil
	}
	r.sweep.Stop()
	r.sweep = nil
	if len(live) > 0 {
		r.sweep = r.loop.AfterFunc(sweepInterval, r.check)
	}
	for _, p := range ended {
		endProgram(p)
		if r.ended != nil {
			r.ended(p)
		}
	}
}

// list returns the retired programs that have not ended.
func (r *retirement) list() []*filters.Program {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*filters.Program(nil), r.progs...)
}

// endProgram closes what a program holds beyond its own memory: its script
// runtime (see scripts.Runtime.Close).
func endProgram(p *filters.Program) {
	if c, ok := p.Script.(io.Closer); ok {
		c.Close()
	}
}
