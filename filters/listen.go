package filters

import (
	"context"
	"net"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ListenTCP opens a listening TCP socket with SO_REUSEADDR, and
// SO_REUSEPORT when reuse is set.
func ListenTCP(spec *ListenSpec, reuse bool) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			if serr == nil && reuse {
				serr = setReusePort(int(fd))
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	network := "tcp4"
	if strings.Contains(spec.Host, ":") {
		network = "tcp6"
	}
	return lc.Listen(context.Background(), network, spec.Addr())
}
