package master

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"time"

	"github.com/pipy-go/pipy/ipc"
	"github.com/pipy-go/pipy/logging"
)

// ProcessLauncher starts each worker as a process of this binary:
// "pipy --worker=<slot> <Args...>", with the assignment passed as the
// contract in package ipc says. A worker's output joins the master's,
// every line tagged with the worker's slot.
type ProcessLauncher struct {
	// Args are the worker's arguments after the WorkerFlag: the script and
	// the options that matter to a worker.
	Args []string
	// Output gets the workers' output lines.
	Output *logging.Output
}

// Launch starts a worker process.
func (l *ProcessLauncher) Launch(a *ipc.Assignment) (Process, error) {
	conn, childEnd, err := ipc.Pair()
	if err != nil {
		return nil, err
	}
	defer childEnd.Close()
	exe, err := os.Executable()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("cannot find my own executable: %w", err)
	}
	cmd := exec.Command(exe, a.Args(l.Args)...)
	cmd.ExtraFiles = a.ExtraFiles(childEnd)
	cmd.Env = a.Environ(os.Environ())
	cmd.SysProcAttr = workerSysProcAttr()
	// An os.Pipe of our own rather than cmd.StdoutPipe: Wait closes the
	// latter, which loses the last lines of a worker that exits at once
	// (its load error, say).
	out, outW, err := os.Pipe()
	if err != nil {
		conn.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, outW
	err = cmd.Start()
	outW.Close()
	if err != nil {
		out.Close()
		conn.Close()
		return nil, err
	}
	p := &process{cmd: cmd, conn: conn, done: make(chan struct{})}
	outDone := make(chan struct{})
	go func() {
		pipeOutput(l.Output, a.Slot, out)
		out.Close()
		close(outDone)
	}()
	go func() {
		cmd.Wait()
		// Let the output drain before the exit is reported; a process the
		// worker started (exec) may hold the pipe open, so not forever.
		select {
		case <-outDone:
		case <-time.After(time.Second):
		}
		close(p.done)
	}()
	return p, nil
}

// process is a worker process.
type process struct {
	cmd  *exec.Cmd
	conn *ipc.Conn
	done chan struct{}
}

func (p *process) Conn() *ipc.Conn       { return p.conn }
func (p *process) PID() int              { return p.cmd.Process.Pid }
func (p *process) Done() <-chan struct{} { return p.done }
func (p *process) Kill()                 { p.cmd.Process.Signal(syscall.SIGKILL) }

// ExitStatus describes how the process ended: exit status or signal.
func (p *process) ExitStatus() string {
	st := p.cmd.ProcessState
	if st == nil {
		return "unknown"
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "killed by signal " + ws.Signal().String()
	}
	return fmt.Sprintf("exit status %d", st.ExitCode())
}

var logPrefix = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[[a-z]+\] `)

// pipeOutput copies a worker's output lines to out, tagged with its slot
// after the time and level.
func pipeOutput(out *logging.Output, slot int, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	tag := fmt.Sprintf("[worker %d] ", slot)
	for sc.Scan() {
		line := sc.Text()
		if loc := logPrefix.FindStringIndex(line); loc != nil {
			line = line[:loc[1]] + tag + line[loc[1]:]
		} else if line != "Done." {
			line = tag + line
		} else {
			continue
		}
		out.Line(line)
	}
}
