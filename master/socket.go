package master

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// socketFile returns an *os.File for a listening socket that stays in
// non-blocking mode when handed on. (*os.File).Fd on a file that came from
// the net package switches the descriptor to blocking mode, and the mode is
// shared by every descriptor of the socket, in every process: a worker's
// accept would then block in the kernel where closing the listener cannot
// interrupt it. A file made with os.NewFile keeps the mode.
func socketFile(ln *net.TCPListener, name string) (*os.File, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, err
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
		return nil, err
	}
	unix.SetNonblock(fd, true)
	return os.NewFile(uintptr(fd), name), nil
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
