package filters

import "golang.org/x/sys/unix"

// setReusePort uses SO_REUSEPORT_LB, FreeBSD's load-balancing variant.
func setReusePort(fd int) error {
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT_LB, 1)
}
