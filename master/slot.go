package master

import (
	"fmt"
	"sync"
	"time"

	"github.com/pipy-go/pipy/ipc"
)

// Messages the master sends without a body.
var (
	drainMessage = &ipc.Message{Type: ipc.Drain}
	stopMessage  = &ipc.Message{Type: ipc.Stop}
	statsRequest = &ipc.Message{Type: ipc.Stats} // "report now" (see the contract in ipc)
	unloadMsg    = &ipc.Message{Type: ipc.Unload}
)

// slot is one worker slot: the worker running in it now, its readiness, its
// last stats and its crash record. A restarted worker takes the slot (and
// its sockets) over.
type slot struct {
	m  *Master
	id int

	mu        sync.Mutex
	proc      Process // nil before the first start
	ready     bool
	startedAt time.Time
	crashes   int             // deaths in a row, each soon after its start
	stat      *ipc.WorkerStat // last reported, nil until the first report
	statCh    chan struct{}   // closed (and replaced) when a report arrives
	replies   chan string     // Reloaded answers of proc: "" or the error
}

func newSlot(m *Master, id int) *slot {
	return &slot{m: m, id: id, statCh: make(chan struct{})}
}

// start launches a worker in the slot on the slot's sockets with the
// current program, and watches it until it ends.
func (s *slot) start() error {
	m := s.m
	addrs, files := m.socketsFor(s.id)
	root, module := m.program()
	p, err := m.opts.Launcher.Launch(&ipc.Assignment{Slot: s.id, Root: root, Module: module, Listeners: addrs, Sockets: files})
	if err != nil {
		return fmt.Errorf("cannot start worker %d: %w", s.id, err)
	}
	replies := make(chan string, 4)
	s.mu.Lock()
	s.proc, s.ready, s.startedAt, s.stat, s.replies = p, false, time.Now(), nil, replies
	s.mu.Unlock()
	go s.read(p, replies)
	go func() {
		<-p.Done()
		p.Conn().Close()
		s.mu.Lock()
		if s.proc == p {
			s.ready = false
		}
		s.mu.Unlock()
		select {
		case m.exits <- exitEvent{s, p}:
		case <-m.quit:
		}
	}()
	return nil
}

// read takes in what the worker p reports until its connection ends.
func (s *slot) read(p Process, replies chan<- string) {
	for {
		msg, files, err := p.Conn().Recv()
		for _, f := range files {
			f.Close()
		}
		if err != nil {
			return
		}
		switch msg.Type {
		case ipc.Ready:
			s.mu.Lock()
			s.ready = s.proc == p
			s.mu.Unlock()
			s.m.poke()
		case ipc.Stats:
			if msg.Stats == nil {
				continue
			}
			s.mu.Lock()
			s.stat = msg.Stats
			close(s.statCh)
			s.statCh = make(chan struct{})
			s.mu.Unlock()
		case ipc.Reloaded:
			if msg.Error != "" {
				s.m.log.Error(fmt.Sprintf("[master] worker %d failed to reload: %s", s.id, msg.Error))
			}
			select {
			case replies <- msg.Error:
			default: // nobody waits any more
			}
		}
	}
}

// current returns the slot's process, or nil.
func (s *slot) current() Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

func (s *slot) isReady() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready
}

// running reports whether the slot's worker has started and not ended.
func (s *slot) running() bool {
	p := s.current()
	if p == nil {
		return false
	}
	select {
	case <-p.Done():
		return false
	default:
		return true
	}
}

// send sends a message to the slot's worker, if it runs.
func (s *slot) send(msg *ipc.Message) {
	if p := s.current(); p != nil && s.running() {
		p.Conn().Send(msg)
	}
}

func (s *slot) kill() {
	if p := s.current(); p != nil {
		p.Kill()
	}
}

// reload hands the worker the slot's sockets and tells it to run module.
// The returned function waits for its answer until deadline: the worker's
// error, or nil (also when it died meanwhile: its restart runs module).
func (s *slot) reload(module string) func(deadline <-chan time.Time) error {
	s.mu.Lock()
	p, replies := s.proc, s.replies
	s.mu.Unlock()
	if p == nil || !s.running() {
		return func(<-chan time.Time) error { return nil }
	}
	for len(replies) > 0 { // answers to earlier reloads nobody waited for
		<-replies
	}
	addrs, files := s.m.socketsFor(s.id)
	if err := p.Conn().Send(&ipc.Message{Type: ipc.Reload, Module: module, Listeners: addrs}, files...); err != nil {
		return func(<-chan time.Time) error { return nil } // it is dying
	}
	return func(deadline <-chan time.Time) error {
		select {
		case e := <-replies:
			if e != "" {
				return fmt.Errorf("worker %d: %s", s.id, e)
			}
			return nil
		case <-p.Done():
			return nil
		case <-deadline:
			return fmt.Errorf("worker %d did not answer the reload", s.id)
		}
	}
}

// askStats asks a ready worker for a report now; the returned function
// waits for it until deadline.
func (s *slot) askStats() func(deadline <-chan time.Time) {
	s.mu.Lock()
	p, ready, ch := s.proc, s.ready, s.statCh
	s.mu.Unlock()
	if p == nil || !ready || p.Conn().Send(statsRequest) != nil {
		return func(<-chan time.Time) {}
	}
	return func(deadline <-chan time.Time) {
		select {
		case <-ch:
		case <-p.Done():
		case <-deadline:
		}
	}
}

// lastStat returns the last report of a running worker, or nil.
func (s *slot) lastStat() *ipc.WorkerStat {
	if !s.running() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stat
}

// nextDelay is the wait before the next start: none after a worker that ran
// a while, then doubling from backoffMin up to backoffMax while it keeps
// dying young.
func (s *slot) nextDelay() time.Duration {
	t := s.m.env.timing
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.startedAt) > t.stableAfter {
		s.crashes = 0
	}
	s.crashes++
	if s.crashes <= 1 {
		return 0
	}
	d := t.backoffMin << min(s.crashes-2, 16)
	return min(d, t.backoffMax)
}
