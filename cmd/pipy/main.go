// Command pipy runs a pipy script: a JavaScript file that builds pipelines
// of filters through which network traffic flows.
//
// See README.md, or run "pipy --help".
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/logging"
	"github.com/pipy-go/pipy/worker"
)

// Stamped at build time by build.sh.
var (
	version    string
	commit     string
	commitDate string
)

const usage = `Usage: pipy [options] <script filename>

Options:
  -h, -help, --help                    Show help information
  -v, -version, --version              Show version information
  --list-filters                       List all filters
  --help-filters                       Show detailed usage information for all filters
  --list-modules                       Same as --list-filters
  --help-modules                       Same as --help-filters
  --log-level=<debug|info|warn|error>  Set the level of log output (default: info)
  --verify                             Verify configuration only
  --reuse-port                         Enable kernel load balancing for all listening ports

Signals:
  SIGINT                               Stop accepting, wait for sessions to end (twice: force)
  SIGTERM, SIGQUIT                     Stop accepting, wait up to 10s for sessions to end
  SIGHUP                               Reload the script (old sessions finish on the old one)
  SIGTSTP                              Print the status table

`

// exit codes
const (
	exitOK      = 0
	exitFailure = 1   // the script failed to load or start
	exitUsage   = 255 // bad command line
)

type options struct {
	help, version, listFilters, helpFilters bool
	verify, reusePort                       bool
	logLevel                                string
	target                                  string
}

func parseArgs(args []string) (*options, error) {
	o := &options{logLevel: "info"}
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			if o.target != "" {
				return nil, fmt.Errorf("redundant filename: %s", a)
			}
			o.target = a
			continue
		}
		key, val, hasVal := strings.Cut(a, "=")
		flag := func() error {
			if hasVal {
				return fmt.Errorf("option %s takes no value", key)
			}
			return nil
		}
		var err error
		switch key {
		case "-h", "-help", "--help":
			o.help, err = true, flag()
		case "-v", "-version", "--version":
			o.version, err = true, flag()
		case "--list-filters", "--list-modules":
			o.listFilters, err = true, flag()
		case "--help-filters", "--help-modules":
			o.helpFilters, err = true, flag()
		case "--verify":
			o.verify, err = true, flag()
		case "--reuse-port":
			o.reusePort, err = true, flag()
		case "--log-level":
			if _, ok := logging.ParseLevel(val); !ok {
				return nil, fmt.Errorf("unknown log level: %s", val)
			}
			o.logLevel = val
		default:
			return nil, fmt.Errorf("unknown option: %s", key)
		}
		if err != nil {
			return nil, err
		}
	}
	return o, nil
}

func versionText() string {
	v := version
	if v == "" {
		v = "0.0.0"
	}
	var uts unix.Utsname
	host := runtime.GOOS + " " + runtime.GOARCH
	if unix.Uname(&uts) == nil {
		host = fmt.Sprintf("%s-%s %s", cstr(uts.Sysname[:]), cstr(uts.Release[:]), cstr(uts.Machine[:]))
	}
	return fmt.Sprintf("Version     : %s\nCommit      : %s\nCommit Date : %s\nHost        : %s\nGo          : %s\n",
		v, commit, commitDate, host, runtime.Version())
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	o, err := parseArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitUsage
	}
	switch {
	case o.version:
		fmt.Print(versionText())
		return exitOK
	case o.help:
		fmt.Print(usage)
		return exitOK
	case o.helpFilters:
		fmt.Print(filters.HelpText())
		return exitOK
	case o.listFilters:
		fmt.Print(filters.ListText())
		return exitOK
	}
	if o.target == "" {
		fmt.Fprint(os.Stderr, usage)
		return exitUsage
	}
	abs, err := filepath.Abs(o.target)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitUsage
	}
	fi, err := os.Stat(abs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "file or directory does not exist: %s\n", abs)
		return exitUsage
	}
	if fi.IsDir() {
		fmt.Fprintln(os.Stderr, "script file not specified")
		return exitUsage
	}
	if err := os.Chdir(filepath.Dir(abs)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitUsage
	}

	level, _ := logging.ParseLevel(o.logLevel)
	out := logging.NewOutput(os.Stdout)
	log := logging.New(out, level)
	w := worker.New(worker.Options{ReusePort: o.reusePort}, log, out)

	if o.verify {
		if _, err := w.Load(abs); err != nil {
			w.LogLoadError(err)
			return exitFailure
		}
		fmt.Println("Done.")
		return exitOK
	}

	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGTSTP)

	// PIPY_CPUPROFILE=file writes a CPU profile until shutdown (for bench/).
	if p := os.Getenv("PIPY_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	if err := w.Start(abs); err != nil {
		w.LogLoadError(err)
		return exitFailure
	}
	return serve(w, log, sigs)
}

// serve handles signals until the worker has stopped.
func serve(w *worker.Worker, log hclog.Logger, sigs chan os.Signal) int {
	for sig := range sigs {
		switch sig {
		case syscall.SIGHUP:
			log.Info("Received SIGHUP, reloading script...")
			go w.Reload()
		case syscall.SIGTSTP:
			log.Info("Received SIGTSTP, dumping...")
			fmt.Print(w.StatusText())
		case syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT:
			name := map[os.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM", syscall.SIGQUIT: "SIGQUIT"}[sig]
			log.Info(fmt.Sprintf("Received %s, shutting down...", name))
			var timeout time.Duration
			if sig != syscall.SIGINT {
				timeout = 10 * time.Second
			}
			force, done := make(chan struct{}), make(chan struct{})
			go func() {
				for {
					select {
					case s := <-sigs:
						if s == syscall.SIGINT || s == syscall.SIGTERM || s == syscall.SIGQUIT {
							log.Info("Forcing to shut down...")
							close(force)
							return
						}
					case <-done:
						return
					}
				}
			}()
			w.Shutdown(force, timeout)
			close(done)
			log.Info("Stopped.")
			fmt.Println("Done.")
			return exitOK
		}
	}
	return exitOK
}
