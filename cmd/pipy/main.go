// Command pipy runs a pipy script: a JavaScript file that builds pipelines
// of filters through which network traffic flows.
//
// It parses the command line and picks a role: a one-shot command (--help,
// --version, --list-filters, --verify, --upgrade), a worker of a master
// (--worker=N, started by the master), or a master (package master) with
// --spawn worker processes or, without --spawn, one worker in this process
// (inprocess.go). See README.md, or run "pipy --help".
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/pipy-go/pipy/console"
	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/ipc"
	"github.com/pipy-go/pipy/logging"
	"github.com/pipy-go/pipy/master"
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
  --spawn=<n|auto>                     Run a master and n worker processes (auto: one per usable CPU);
                                       without it, one process serves. Env PIPY_SPAWN=n (when --spawn
                                       is absent) means n extra processes, so n+1 workers
  --drain-timeout=<duration>           How long a shutdown waits for sessions to end (default: 30s)
  --pid-file=<file>                    Write the pid of the live (master) process to file
  --admin-port=<[host:]port>           Serve /metrics, /status and the readiness probe /ready
                                       (loopback by default)
  --upgrade                            With --pid-file: tell the running master to upgrade its binary
  --watch-config-file                  Reload when the script or a module it uses changes on disk
  --gui-port=<[host:]port>             Serve the web console (loopback by default; no authentication):
                                       edit files of the script's directory, run and stop scripts, see
                                       graphs, log and worker stats. With a directory as the target,
                                       nothing runs until started from the console. Works with --spawn

Signals:
  SIGINT                               Stop accepting, wait for sessions to end (twice: force)
  SIGTERM, SIGQUIT                     Stop accepting, wait up to --drain-timeout for sessions to end
  SIGHUP                               Reload the script (old sessions finish on the old one)
  SIGTSTP                              Print the status table
  SIGUSR2                              Replace the (master) process with a new binary, no downtime

`

// exit codes
const (
	exitOK      = 0
	exitFailure = 1   // the script failed to load or start
	exitUsage   = 255 // bad command line
)

type options struct {
	help, version, listFilters, helpFilters bool
	verify, reusePort, upgrade, watch       bool
	logLevel                                string
	target                                  string
	spawn                                   int // 0: single process
	spawnSet                                bool
	worker                                  int // >0: run as this worker slot of a master
	drainTimeout                            time.Duration
	pidFile, adminAddr                      string
	guiAddr                                 string
}

func parseArgs(args []string) (*options, error) {
	o := &options{logLevel: "info", drainTimeout: 30 * time.Second}
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
		case "--spawn":
			n, err := parseSpawn(val)
			if err != nil {
				return nil, err
			}
			o.spawn, o.spawnSet = n, true
		case ipc.WorkerFlag:
			n, err := ipc.ParseSlot(val)
			if err != nil {
				return nil, err
			}
			o.worker = n
		case "--drain-timeout":
			d, err := filters.ParseDuration(val)
			if err != nil {
				return nil, fmt.Errorf("invalid drain timeout: %s", val)
			}
			o.drainTimeout = d
		case "--pid-file":
			if val == "" {
				return nil, fmt.Errorf("option --pid-file needs a file name")
			}
			o.pidFile = val
		case "--admin-port":
			if val == "" {
				return nil, fmt.Errorf("option --admin-port needs a [host:]port")
			}
			a, err := console.ListenAddr(val)
			if err != nil {
				return nil, fmt.Errorf("option --admin-port: %v", err)
			}
			o.adminAddr = a
		case "--upgrade":
			o.upgrade, err = true, flag()
		case "--gui-port":
			if val == "" {
				return nil, fmt.Errorf("option --gui-port needs a [host:]port")
			}
			a, err := console.ListenAddr(val)
			if err != nil {
				return nil, fmt.Errorf("option --gui-port: %v", err)
			}
			o.guiAddr = a
		case "--watch-config-file":
			o.watch, err = true, flag()
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
	if !o.spawnSet && o.worker == 0 {
		if v := os.Getenv("PIPY_SPAWN"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("invalid PIPY_SPAWN: %s", v)
			}
			if n > 0 {
				o.spawn = n + 1
			}
		}
	}
	return o, nil
}

// parseSpawn reads --spawn: a positive number or "auto" (usable CPUs).
func parseSpawn(v string) (int, error) {
	if v == "auto" {
		return master.UsableCPUs(), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1024 {
		return 0, fmt.Errorf("invalid --spawn value: %s (a number from 1 or auto)", v)
	}
	return n, nil
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
	case o.upgrade:
		return upgrade(o.pidFile)
	}
	if o.target == "" && o.guiAddr != "" {
		o.target = "."
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
	dirMode := fi.IsDir()
	if dirMode && (o.guiAddr == "" && o.worker == 0 || o.verify) {
		fmt.Fprintln(os.Stderr, "script file not specified")
		return exitUsage
	}
	root := filepath.Dir(abs)
	if dirMode {
		root = abs
	}
	// A binary upgrade re-executes os.Args[0]: keep it valid after the
	// change of directory below.
	if strings.ContainsRune(os.Args[0], '/') && !filepath.IsAbs(os.Args[0]) {
		if a, err := filepath.Abs(os.Args[0]); err == nil {
			os.Args[0] = a
		}
	}
	if err := os.Chdir(root); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitUsage
	}

	level, _ := logging.ParseLevel(o.logLevel)
	out := logging.NewOutput(os.Stdout)
	log := logging.New(out, level)
	wopts := worker.Options{ReusePort: o.reusePort}
	switch {
	case o.worker > 0:
		return worker.New(wopts, log, out).RunChild(o.worker, worker.ServeOptions{DrainTimeout: o.drainTimeout})
	case o.verify:
		return verify(abs, log, out)
	}

	// A master: with --spawn of worker processes, otherwise of one worker
	// in this process.
	opts := master.Options{Script: abs, Workers: 1, ReusePort: o.reusePort, DrainTimeout: o.drainTimeout,
		PIDFile: o.pidFile, AdminAddr: o.adminAddr, GUIAddr: o.guiAddr, WatchFiles: o.watch, Log: log, Output: out,
		Launcher: &inProcess{opts: wopts, drainTimeout: o.drainTimeout, log: log, out: out}}
	if o.guiAddr != "" {
		opts.Root = root
		if dirMode {
			opts.Script = ""
		}
	}
	if o.spawn > 0 {
		opts.Workers = o.spawn
		opts.Launcher = &master.ProcessLauncher{Args: workerArgs(o, abs), Output: out}
	}
	// PIPY_CPUPROFILE=file writes a CPU profile until shutdown (for bench/).
	if p := os.Getenv("PIPY_CPUPROFILE"); p != "" && o.spawn == 0 {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	return master.Run(opts)
}

// workerArgs are the arguments of a worker process after --worker=<slot>:
// the script (which also names the process in ps) and the options that
// matter to a worker.
func workerArgs(o *options, script string) []string {
	args := []string{script, "--log-level=" + o.logLevel, "--drain-timeout=" + o.drainTimeout.String()}
	if o.reusePort {
		args = append(args, "--reuse-port")
	}
	return args
}

// verify loads the script without running it (--verify).
func verify(script string, log hclog.Logger, out *logging.Output) int {
	w := worker.New(worker.Options{}, log, out)
	if _, err := w.Load(script); err != nil {
		w.LogLoadError(err)
		return exitFailure
	}
	fmt.Println("Done.")
	return exitOK
}

// upgrade sends SIGUSR2 to the master whose pid is in pidFile.
func upgrade(pidFile string) int {
	if pidFile == "" {
		fmt.Fprintln(os.Stderr, "--upgrade needs --pid-file=<file> naming the running master")
		return exitUsage
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot read pid file: %v\n", err)
		return exitFailure
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		fmt.Fprintf(os.Stderr, "bad pid in %s: %q\n", pidFile, b)
		return exitFailure
	}
	if err := syscall.Kill(pid, syscall.SIGUSR2); err != nil {
		fmt.Fprintf(os.Stderr, "cannot signal pid %d: %v\n", pid, err)
		return exitFailure
	}
	fmt.Printf("Sent SIGUSR2 to %d\n", pid)
	return exitOK
}
