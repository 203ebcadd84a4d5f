package master

import "syscall"

// reusePortBalances: Linux spreads connections over SO_REUSEPORT sockets.
const reusePortBalances = true

// workerSysProcAttr puts a worker in its own process group (a terminal's
// Ctrl-C goes to the master, which drains the workers) and has the kernel
// signal it if the master dies.
func workerSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
