package master

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pipy-go/pipy/ipc"
)

// workerProc is one worker slot: the process running in it now, its IPC
// connection and its last stats.
type workerProc struct {
	m    *Master
	slot int

	mu        sync.Mutex
	cmd       *exec.Cmd
	pid       int
	conn      *ipc.Conn
	ready     bool
	exited    chan struct{}
	state     *os.ProcessState
	startedAt time.Time
	crashes   int
	stat      *ipc.WorkerStat
}

// EnvListeners names the environment variable listing, in order, the listen
// addresses of the sockets a worker inherits from fd 4 on (fd 3 is IPC).
const EnvListeners = "PIPY_WORKER_LISTENERS"

// EnvRoot and EnvModule name the environment variables giving a worker its
// program: the root directory and the module in it to run ("" for none).
const (
	EnvRoot   = "PIPY_WORKER_ROOT"
	EnvModule = "PIPY_WORKER_MODULE"
)

func (w *workerProc) start() error {
	conn, childEnd, err := ipc.Pair()
	if err != nil {
		return err
	}
	defer childEnd.Close()
	addrs, files := w.m.socketsFor(w.slot)
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find my own executable: %w", err)
	}
	args := append([]string{fmt.Sprintf("--worker=%d", w.slot)}, w.m.opts.WorkerArgs...)
	cmd := exec.Command(exe, args...)
	cmd.ExtraFiles = append([]*os.File{childEnd}, files...)
	w.m.mu.Lock()
	root, module := w.m.root, w.m.module
	w.m.mu.Unlock()
	cmd.Env = append(os.Environ(), EnvListeners+"="+strings.Join(addrs, ","), EnvRoot+"="+root, EnvModule+"="+module)
	cmd.SysProcAttr = workerSysProcAttr()
	// An os.Pipe of our own rather than cmd.StdoutPipe: Wait closes the
	// latter, which loses the last lines of a worker that exits at once
	// (its load error, say).
	out, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = outW, outW
	err = cmd.Start()
	outW.Close()
	if err != nil {
		out.Close()
		return err
	}
	exited := make(chan struct{})
	w.mu.Lock()
	w.cmd, w.pid, w.conn, w.ready, w.exited, w.state, w.startedAt, w.stat = cmd, cmd.Process.Pid, conn, false, exited, nil, time.Now(), nil
	w.mu.Unlock()

	outDone := make(chan struct{})
	go func() {
		w.pipeOutput(out)
		out.Close()
		close(outDone)
	}()
	go w.readIPC(conn)
	go func() {
		cmd.Wait()
		// Let the output drain before the exit is reported; a process the
		// worker started (exec) may hold the pipe open, so not forever.
		select {
		case <-outDone:
		case <-time.After(time.Second):
		}
		conn.Close()
		w.mu.Lock()
		w.state = cmd.ProcessState
		w.ready = false
		w.mu.Unlock()
		close(exited)
		w.m.exits <- w
	}()
	return nil
}

var logPrefix = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[[a-z]+\] `)

// pipeOutput copies the worker's output lines to the master's, tagged with
// the worker's slot.
func (w *workerProc) pipeOutput(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	tag := fmt.Sprintf("[worker %d] ", w.slot)
	for sc.Scan() {
		line := sc.Text()
		if loc := logPrefix.FindStringIndex(line); loc != nil {
			line = line[:loc[1]] + tag + line[loc[1]:]
		} else if line != "Done." {
			line = tag + line
		} else {
			continue
		}
		w.m.opts.Output.Line(line)
	}
}

func (w *workerProc) readIPC(conn *ipc.Conn) {
	for {
		msg, files, err := conn.Recv()
		for _, f := range files {
			f.Close()
		}
		if err != nil {
			return
		}
		w.mu.Lock()
		switch msg.Type {
		case ipc.Ready:
			w.ready = true
		case ipc.Stats:
			w.stat = msg.Stats
		case ipc.Reloaded:
			if msg.Error != "" {
				w.m.log.Error(fmt.Sprintf("[master] worker %d failed to reload: %s", w.slot, msg.Error))
			}
		}
		w.mu.Unlock()
	}
}

func (w *workerProc) isReady() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ready
}

func (w *workerProc) running() bool {
	select {
	case <-w.done():
		return false
	default:
		return true
	}
}

func (w *workerProc) done() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.exited == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return w.exited
}

func (w *workerProc) send(m *ipc.Message, files ...*os.File) {
	w.mu.Lock()
	conn := w.conn
	w.mu.Unlock()
	if conn != nil {
		conn.Send(m, files...)
	}
}

// reload hands the worker the slot's sockets and tells it to run module.
func (w *workerProc) reload(module string) {
	addrs, files := w.m.socketsFor(w.slot)
	w.send(&ipc.Message{Type: ipc.Reload, Module: module, Listeners: addrs}, files...)
}

func (w *workerProc) kill() {
	w.mu.Lock()
	cmd := w.cmd
	w.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		cmd.Process.Signal(syscall.SIGKILL)
	}
}

// nextDelay is the wait before restarting: none after a worker that ran a
// while, doubling (from 100 ms to 10 s) while it keeps dying young.
func (w *workerProc) nextDelay() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(w.startedAt) > 10*time.Second {
		w.crashes = 0
	}
	w.crashes++
	if w.crashes <= 1 {
		return 0
	}
	d := 100 * time.Millisecond << min(w.crashes-2, 7)
	return min(d, 10*time.Second)
}

// exitText describes how the process ended: exit status or signal.
func (w *workerProc) exitText() string {
	w.mu.Lock()
	st := w.state
	w.mu.Unlock()
	if st == nil {
		return "unknown"
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by signal " + ws.Signal().String()
	}
	return fmt.Sprintf("exit status %d", st.ExitCode())
}

func (w *workerProc) lastStat() *ipc.WorkerStat {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stat
}
