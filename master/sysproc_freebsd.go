package master

import "syscall"

// reusePortBalances: FreeBSD balances with SO_REUSEPORT_LB.
const reusePortBalances = true

// workerSysProcAttr puts a worker in its own process group; a worker also
// exits when its IPC connection to the master closes.
func workerSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
