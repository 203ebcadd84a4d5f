package master

import (
	"fmt"
	"net"
	"os"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/ipc"
)

// The master's listening sockets: per listen address of the program, one
// socket per worker slot with SO_REUSEPORT (the kernel spreads connections
// over them and a restarted worker gets its slot's socket back, queued
// connections included), or one socket that every worker shares where
// SO_REUSEPORT does not balance (macOS) and when there is one worker. They
// are kept in the upgrader's file set, so a new binary inherits them.

// sharedSocket reports whether all workers share one socket per address
// (no load-balancing SO_REUSEPORT on this OS).
var sharedSocket = !reusePortBalances

// socketName is the name of a socket in the upgrader's file set.
func socketName(addr string, slot int) string { return fmt.Sprintf("pipy-listen:%s#%d", addr, slot) }

// perSlot reports whether each slot gets a socket of its own.
func (m *Master) perSlot() bool { return m.opts.Workers > 1 && !sharedSocket }

// reuseOf is whether a listen() declaration asks for SO_REUSEPORT.
func (m *Master) reuseOf(spec *filters.ListenSpec) bool {
	if spec.Reuse != nil {
		return *spec.Reuse
	}
	return m.opts.ReusePort
}

// openSockets makes sure every address of specs has its sockets, taking
// inherited ones (after an upgrade) before opening new ones, and closes the
// sockets of addresses no longer declared. On an error it leaves the set as
// it was.
func (m *Master) openSockets(specs []*filters.ListenSpec) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 1
	if m.perSlot() {
		n = m.opts.Workers
	}
	want := map[string]bool{}
	opened := map[string][]*os.File{}
	for _, spec := range specs {
		addr := spec.Addr()
		want[addr] = true
		if len(m.sockets[addr]) == n || opened[addr] != nil {
			continue
		}
		files, err := m.openAddr(spec, n)
		if err != nil {
			for _, fs := range opened {
				closeSockets(fs)
			}
			return err
		}
		opened[addr] = files
	}
	for addr, files := range opened {
		m.sockets[addr] = files
		m.log.Debug("[master] listening", "addr", addr, "sockets", len(files))
	}
	for addr, files := range m.sockets {
		if !want[addr] {
			closeSockets(files)
			delete(m.sockets, addr)
			m.log.Debug("[master] stopped listening", "addr", addr)
		}
	}
	return nil
}

// openAddr returns n sockets for spec's address.
func (m *Master) openAddr(spec *filters.ListenSpec, n int) ([]*os.File, error) {
	addr := spec.Addr()
	files := make([]*os.File, 0, n)
	fail := func(err error) ([]*os.File, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, err
	}
	for slot := 0; slot < n; slot++ {
		name := socketName(addr, slot)
		f, err := m.upg.File(name)
		if err != nil {
			return fail(fmt.Errorf("inherited socket %s: %w", addr, err))
		}
		if f != nil && !listening(f) {
			// Inherited from a master that had stopped listening on it.
			f.Close()
			f = nil
		}
		if f == nil && slot == 0 && n > 1 && !m.reuseOf(spec) {
			// Our sockets share the port with each other (SO_REUSEPORT);
			// make sure nobody else holds it, unless the script or
			// --reuse-port asks for sharing.
			probe, err := m.env.listen(spec, false)
			if err != nil {
				return fail(fmt.Errorf("cannot listen on %s: %w", addr, err))
			}
			probe.Close()
		}
		if f == nil {
			if f, err = m.env.listen(spec, n > 1 || m.reuseOf(spec)); err != nil {
				return fail(fmt.Errorf("cannot listen on %s: %w", addr, err))
			}
			if err := m.upg.AddFile(name, f); err != nil {
				f.Close()
				return fail(fmt.Errorf("keeping the socket of %s for upgrades: %w", addr, err))
			}
		}
		files = append(files, f)
	}
	return files, nil
}

// socketsFor returns the slot's socket of every address, sorted by address,
// with the addresses.
func (m *Master) socketsFor(slot int) ([]string, []*os.File) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var addrs []string
	for a := range m.sockets {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	var files []*os.File
	for _, a := range addrs {
		fs := m.sockets[a]
		files = append(files, fs[min(slot-1, len(fs)-1)])
	}
	return addrs, files
}

// shutdownAll stops every socket from accepting, for every process that
// holds it: nobody takes over, so the kernel must not queue connections
// that no worker will accept.
func (m *Master) shutdownAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, files := range m.sockets {
		for _, f := range files {
			shutdownSocket(f)
		}
	}
}

// closeSockets shuts sockets down and closes them: the upgrader and the
// workers hold other descriptors of them, which would keep them accepting.
func closeSockets(files []*os.File) {
	for _, f := range files {
		shutdownSocket(f)
		f.Close()
	}
}

// listenSocket opens the listening socket of spec and returns it as a
// file.
func listenSocket(spec *filters.ListenSpec, reuse bool) (*os.File, error) {
	ln, err := filters.ListenTCP(spec, reuse)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	return socketFile(ln.(*net.TCPListener), "listen "+spec.Addr())
}

// socketFile returns an *os.File for a listening socket that stays in
// non-blocking mode when handed on (see ipc.DupSocket).
func socketFile(ln *net.TCPListener, name string) (*os.File, error) {
	return ipc.DupSocket(ln, name)
}

// listening reports whether f is a socket that is still listening.
func listening(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	rc.Control(func(fd uintptr) {
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
		ok = err == nil && v != 0
	})
	return ok
}

// shutdownSocket stops a listening socket for every process holding it:
// pending and new connections are refused.
func shutdownSocket(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RDWR) })
	}
}
