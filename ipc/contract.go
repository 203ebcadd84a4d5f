package ipc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The master-worker contract. A master starts a worker with an Assignment;
// how the assignment reaches the worker depends on where the worker runs:
//
//   - A worker process is pipy started again as
//     "pipy --worker=<slot> <worker arguments>" (Assignment.Args). Its end of
//     the IPC socket pair is descriptor FdConn, its listening sockets follow
//     from FdListeners on (Assignment.ExtraFiles), and the environment
//     (Assignment.Environ) names the program and the address of each socket.
//     The worker takes them back with Inherit.
//   - An in-process worker (pipy without --spawn) gets the Assignment value
//     and its end of a ConnPair directly.
//
// Either way the worker then speaks the same protocol: it sends Ready once
// its program runs (or, with no program, once it waits for one) and Stats
// every second; it answers Reload with Reloaded, Unload by stopping the
// program, Drain by draining and returning, Stop by returning at once. A
// master may also send Stats (with no body) to ask for a report now; the
// worker answers with its next Stats message.

// Descriptors and names a worker process inherits.
const (
	// WorkerFlag is the option that makes pipy a worker: "--worker=<slot>",
	// slots counting from 1. It comes first on a worker's command line.
	WorkerFlag = "--worker"
	// FdConn is the worker process's end of the IPC socket pair.
	FdConn = 3
	// FdListeners is the first of the listening sockets, one per address of
	// EnvListeners, in that order.
	FdListeners = FdConn + 1

	// EnvListeners lists the listen addresses of the inherited sockets,
	// comma-separated, in descriptor order.
	EnvListeners = "PIPY_WORKER_LISTENERS"
	// EnvRoot is the directory the program's modules are looked up in.
	EnvRoot = "PIPY_WORKER_ROOT"
	// EnvModule is the module of EnvRoot to run (e.g. "/pipy.js"); empty
	// starts the worker with no program (the console stopped it).
	EnvModule = "PIPY_WORKER_MODULE"
)

// Assignment is what a master hands a worker when it starts it.
type Assignment struct {
	Slot int // 1..N; a restarted worker gets its slot back
	// Root and Module name the program: Module (e.g. "/002-hello/pipy.js")
	// of the directory Root. An empty Module starts no program.
	Root, Module string
	// Listeners are the listen addresses ("0.0.0.0:8080") of Sockets.
	Listeners []string
	// Sockets are the listening sockets, one per entry of Listeners, in
	// non-blocking mode. They belong to the master: whoever starts the
	// worker hands it descriptors of its own (exec does, an in-process
	// launcher dups them), and the worker closes only those.
	Sockets []*os.File
}

// Args returns the command line (without the program name) of a worker
// process for this assignment: the WorkerFlag, then args.
func (a *Assignment) Args(args []string) []string {
	return append([]string{WorkerFlag + "=" + strconv.Itoa(a.Slot)}, args...)
}

// ExtraFiles returns the descriptors a worker process inherits from FdConn
// on, in the order exec.Cmd.ExtraFiles wants: conn (the worker's end of
// the IPC pair), then the sockets.
func (a *Assignment) ExtraFiles(conn *os.File) []*os.File {
	return append([]*os.File{conn}, a.Sockets...)
}

// Environ returns environ with the assignment's variables set; variables of
// the contract already in environ (a worker's own, say) are replaced.
func (a *Assignment) Environ(environ []string) []string {
	out := make([]string, 0, len(environ)+3)
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if k != EnvListeners && k != EnvRoot && k != EnvModule {
			out = append(out, kv)
		}
	}
	return append(out, EnvListeners+"="+strings.Join(a.Listeners, ","), EnvRoot+"="+a.Root, EnvModule+"="+a.Module)
}

// ParseSlot reads the value of WorkerFlag.
func ParseSlot(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("invalid worker slot: %s", v)
	}
	return n, nil
}

// Inherit is the worker process's side of the contract: it returns the IPC
// connection from FdConn and the assignment of slot from the environment and
// the descriptors from FdListeners on.
func Inherit(slot int) (*Conn, *Assignment, error) {
	return inherit(slot, os.Getenv, os.NewFile)
}

func inherit(slot int, getenv func(string) string, newFile func(uintptr, string) *os.File) (*Conn, *Assignment, error) {
	a := &Assignment{Slot: slot, Root: getenv(EnvRoot), Module: getenv(EnvModule)}
	if a.Root == "" {
		return nil, nil, errors.New("ipc: not started by a master (" + EnvRoot + " is not set)")
	}
	if v := getenv(EnvListeners); v != "" {
		a.Listeners = strings.Split(v, ",")
	}
	f := newFile(FdConn, "ipc")
	if f == nil {
		return nil, nil, fmt.Errorf("ipc: no descriptor %d for the connection to the master", FdConn)
	}
	conn, err := FromFile(f)
	f.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("ipc: the connection to the master (descriptor %d): %w", FdConn, err)
	}
	for i, addr := range a.Listeners {
		s := newFile(uintptr(FdListeners+i), "listen "+addr)
		if s == nil {
			conn.Close()
			a.Close()
			return nil, nil, fmt.Errorf("ipc: no descriptor %d for the socket of %s", FdListeners+i, addr)
		}
		a.Sockets = append(a.Sockets, s)
	}
	return conn, a, nil
}

// Close closes the assignment's sockets.
func (a *Assignment) Close() {
	for _, f := range a.Sockets {
		f.Close()
	}
}

// ConnPair returns both ends of a new IPC connection, for a worker that runs
// in this process (and for tests).
func ConnPair() (*Conn, *Conn, error) {
	ours, f, err := Pair()
	if err != nil {
		return nil, nil, err
	}
	theirs, err := FromFile(f)
	f.Close()
	if err != nil {
		ours.Close()
		return nil, nil, err
	}
	return ours, theirs, nil
}

// Dup returns a copy of the assignment with sockets of its own (duplicated
// descriptors of the same sockets), for a worker in the master's process:
// the worker closes its sockets when it is done with them.
func (a *Assignment) Dup() (*Assignment, error) {
	d := *a
	d.Sockets = make([]*os.File, 0, len(a.Sockets))
	for _, f := range a.Sockets {
		s, err := DupSocket(f, f.Name())
		if err != nil {
			d.Close()
			return nil, err
		}
		d.Sockets = append(d.Sockets, s)
	}
	return &d, nil
}

// DupSocket duplicates the descriptor of a socket (close-on-exec) into a
// file that keeps the socket in non-blocking mode when it is handed on.
// (*os.File).Fd on a file that came from the net package switches the
// descriptor to blocking mode, and the mode is shared by every descriptor of
// the socket, in every process: a worker's accept would then block in the
// kernel where closing its listener cannot interrupt it. A file made with
// os.NewFile from a non-blocking descriptor keeps the mode.
func DupSocket(c syscall.Conn, name string) (*os.File, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("ipc: dup %s: %w", name, err)
	}
	var fd int
	var derr error
	err = rc.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("ipc: dup %s: %w", name, err)
	}
	unix.SetNonblock(fd, true)
	return os.NewFile(uintptr(fd), name), nil
}
