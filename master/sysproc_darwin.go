package master

import "syscall"

// reusePortBalances: macOS has SO_REUSEPORT but does not balance
// connections over the sockets, so workers share one socket per port.
const reusePortBalances = false

// workerSysProcAttr puts a worker in its own process group; a worker also
// exits when its IPC connection to the master closes.
func workerSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
