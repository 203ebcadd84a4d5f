package master

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudflare/tableflip"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/ipc"
)

// A Launcher starts workers. ProcessLauncher starts worker processes (for
// --spawn); cmd/pipy has one that runs the worker in this process.
type Launcher interface {
	// Launch starts a worker with assignment a and returns it once it
	// runs; it does not wait for the worker's Ready. The sockets of a stay
	// the master's: the worker gets descriptors of its own.
	Launch(a *ipc.Assignment) (Process, error)
}

// A Process is a started worker as its master sees it.
type Process interface {
	// Conn is the master's end of the worker's IPC connection. The master
	// closes it once the worker is done.
	Conn() *ipc.Conn
	// PID is the worker's process id (the master's own for a worker in the
	// master's process).
	PID() int
	// Done is closed once the worker has ended and its output is flushed.
	Done() <-chan struct{}
	// ExitStatus says how the worker ended ("exit status 1", "killed by
	// signal killed"); it is valid once Done is closed.
	ExitStatus() string
	// Kill ends the worker now, sessions and all.
	Kill()
}

// upgrader keeps sockets across binary upgrades and runs them:
// *tableflip.Upgrader, or a fake in tests.
type upgrader interface {
	// Listen opens (or inherits) a TCP listener that survives an upgrade.
	Listen(network, addr string) (net.Listener, error)
	// File returns the inherited file of name, or nil.
	File(name string) (*os.File, error)
	// AddFile keeps (a duplicate of) f for the next binary under name.
	AddFile(name string, f *os.File) error
	// Ready says this process serves: an old one may now drain.
	Ready() error
	// Upgrade starts the new binary and waits until it is ready.
	Upgrade() error
	// Exit is closed when a new binary has taken over.
	Exit() <-chan struct{}
	// Stop ends upgrades.
	Stop()
}

// env is what the master takes from the operating system, injected the way
// tableflip injects its syscalls: osEnv in production, fakes in the tests,
// which start no process and bind no fixed port.
type env struct {
	// newUpgrader sets up socket inheritance, writing pidFile when ready.
	newUpgrader func(pidFile string) (upgrader, error)
	// listen opens the listening socket of a listen() declaration, in
	// non-blocking mode; reuse asks for SO_REUSEPORT.
	listen func(spec *filters.ListenSpec, reuse bool) (*os.File, error)
	// signals subscribes to the signals the master acts on; stop ends it.
	signals func() (c <-chan os.Signal, stop func())
	// stdout gets the status table and "Done.".
	stdout io.Writer
	timing
}

// timing holds the master's delays and bounds.
type timing struct {
	backoffMin, backoffMax time.Duration // restart delays of a worker that keeps crashing
	stableAfter            time.Duration // a worker that ran this long crashed for the first time
	readyTimeout           time.Duration // for every worker to send Ready at start
	reloadTimeout          time.Duration // for every worker to answer a Reload
	statsWait              time.Duration // for fresh stats before falling back to the last ones
	killGrace              time.Duration // between Stop and Kill at the end of a drain
	progressEvery          time.Duration // between progress lines while draining
}

var defaultTiming = timing{
	backoffMin:    100 * time.Millisecond,
	backoffMax:    10 * time.Second,
	stableAfter:   10 * time.Second,
	readyTimeout:  30 * time.Second,
	reloadTimeout: 30 * time.Second,
	statsWait:     500 * time.Millisecond,
	killGrace:     time.Second,
	progressEvery: time.Second,
}

// osEnv is the real thing.
func osEnv() *env {
	return &env{
		newUpgrader: newTableflip,
		listen:      listenSocket,
		signals:     notifySignals,
		stdout:      os.Stdout,
		timing:      defaultTiming,
	}
}

// tableflipParent is the variable tableflip marks an upgraded process with.
const tableflipParent = "TABLEFLIP_HAS_PARENT_7DIU3"

func newTableflip(pidFile string) (upgrader, error) {
	u, err := tableflip.New(tableflip.Options{PIDFile: pidFile, UpgradeTimeout: 60 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("cannot set up socket inheritance: %w", err)
	}
	// tableflip has read the mark by now and sets it again for the next
	// binary. Our children (workers, exec() commands, a pipy they start)
	// must not take it for theirs and read descriptors 3 and 4 as
	// tableflip's pipes.
	os.Unsetenv(tableflipParent)
	return u, nil
}

// handledSignals are the signals a master acts on.
var handledSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGTSTP, syscall.SIGUSR2}

func notifySignals() (<-chan os.Signal, func()) {
	c := make(chan os.Signal, 8)
	signal.Notify(c, handledSignals...)
	signal.Ignore(syscall.SIGPIPE)
	return c, func() { signal.Stop(c) }
}
