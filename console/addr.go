package console

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// ListenAddr turns a "[host:]port" option value (--gui-port, --admin-port)
// into a host:port to listen on; the host defaults to 127.0.0.1, as these
// endpoints have no authentication.
func ListenAddr(v string) (string, error) {
	host, port := "127.0.0.1", v
	if i := strings.LastIndexByte(v, ':'); i >= 0 {
		host, port = strings.Trim(v[:i], "[]"), v[i+1:]
		if host == "" {
			host = "127.0.0.1"
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("%q is not [host:]port: bad port %q", v, port)
	}
	return net.JoinHostPort(host, port), nil
}

// Loopback reports whether addr (host:port) is bound to the loopback
// interface only.
func Loopback(addr string) bool {
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Announce logs that what (e.g. "[gui] the console") listens on ln and
// warns when that is beyond loopback: risk says what anyone reaching it
// can do.
func Announce(log hclog.Logger, ln net.Listener, what, risk string) {
	addr := ln.Addr().String()
	log.Info("[listener] Listening on " + addr)
	if !Loopback(addr) {
		log.Warn(fmt.Sprintf("%s is listening beyond loopback on %s: it has no authentication; %s", what, addr, risk))
	}
}
