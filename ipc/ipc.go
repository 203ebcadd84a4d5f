// Package ipc is the only wire between the master and its workers: framed
// JSON messages over a Unix socket pair, with file descriptors (listening
// sockets) passed alongside a message with SCM_RIGHTS.
//
// A frame is a 4-byte big-endian length followed by that many bytes of JSON.
// Files sent with a frame travel in the same sendmsg call, so they arrive
// with its first bytes.
//
// It imports only the standard library and golang.org/x/sys; both master
// and worker import it.
package ipc

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Message types.
const (
	// worker -> master
	Ready    = "ready"    // the program is loaded and listening
	Stats    = "stats"    // periodic counters
	Draining = "draining" // stopped accepting, finishing sessions
	Reloaded = "reloaded" // a reload finished (Error set when it failed)

	// master -> worker
	Reload = "reload" // reload the script; Files carries new listening sockets
	Unload = "unload" // stop the running program (close listeners, stop tasks), keep running
	Drain  = "drain"  // stop accepting, finish sessions, then exit
	Stop   = "stop"   // exit now
)

// Message is one frame.
type Message struct {
	Type string `json:"type"`
	// Listeners names the files sent with the message: listen address per
	// file, in order.
	Listeners []string `json:"listeners,omitempty"`
	// Module is, on Reload, the module of the root directory to run from
	// now on (e.g. "/002-hello/pipy.js"); empty keeps the current one.
	Module string `json:"module,omitempty"`
	// Error is set on a failed reload.
	Error string      `json:"error,omitempty"`
	Stats *WorkerStat `json:"stats,omitempty"`
}

// WorkerStat is what a worker reports every second.
type WorkerStat struct {
	PID         int              `json:"pid"`
	Connections int64            `json:"connections"` // open inbound connections
	Accepted    int64            `json:"accepted"`    // inbound connections ever accepted
	BytesIn     int64            `json:"bytesIn"`
	BytesOut    int64            `json:"bytesOut"`
	Requests    int64            `json:"requests"`
	Errors      int64            `json:"errors"`
	Memory      int64            `json:"memory"`     // bytes of RSS
	Goroutines  int64            `json:"goroutines"` // live goroutines (leak watch)
	Pipelines   []PipelineStat   `json:"pipelines"`
	Extra       map[string]int64 `json:"extra,omitempty"`
}

// PipelineStat counts the sessions of one pipeline.
type PipelineStat struct {
	Name      string `json:"name"` // "<module> [<pipeline>]", "[STALE] " prefixed for old programs
	Allocated int64  `json:"allocated"`
	Active    int64  `json:"active"`
}

// MaxFrame bounds a frame's size.
const MaxFrame = 1 << 20

// Conn is one end of the socket pair.
type Conn struct {
	c   *net.UnixConn
	wmu sync.Mutex
	rmu sync.Mutex
}

// Pair makes a connected socket pair: one Conn for this process and a file
// to hand to the child (e.g. in exec.Cmd.ExtraFiles).
func Pair() (*Conn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("ipc: socketpair: %w", err)
	}
	unix.CloseOnExec(fds[0])
	unix.CloseOnExec(fds[1])
	ours := os.NewFile(uintptr(fds[0]), "ipc")
	theirs := os.NewFile(uintptr(fds[1]), "ipc-child")
	c, err := FromFile(ours)
	ours.Close()
	if err != nil {
		theirs.Close()
		return nil, nil, err
	}
	return c, theirs, nil
}

// FromFile makes a Conn of an inherited socket file (the file can be closed
// afterwards).
func FromFile(f *os.File) (*Conn, error) {
	nc, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("ipc: %w", err)
	}
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		nc.Close()
		return nil, errors.New("ipc: not a unix socket")
	}
	return &Conn{c: uc}, nil
}

// Send writes one message with optional files. Safe for concurrent use.
func (c *Conn) Send(m *Message, files ...*os.File) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	frame := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(frame, uint32(len(body)))
	copy(frame[4:], body)
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n, _, err := c.c.WriteMsgUnix(frame, oob, nil)
	if err != nil {
		return fmt.Errorf("ipc: send %s: %w", m.Type, err)
	}
	for n < len(frame) {
		k, err := c.c.Write(frame[n:])
		if err != nil {
			return fmt.Errorf("ipc: send %s: %w", m.Type, err)
		}
		n += k
	}
	return nil
}

// Recv reads one message and the files sent with it.
func (c *Conn) Recv() (*Message, []*os.File, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	var files []*os.File
	oob := make([]byte, unix.CmsgSpace(4*64))
	read := func(buf []byte) error {
		for got := 0; got < len(buf); {
			n, oobn, _, _, err := c.c.ReadMsgUnix(buf[got:], oob)
			if oobn > 0 {
				fs, perr := parseRights(oob[:oobn])
				files = append(files, fs...)
				if perr != nil {
					return perr
				}
			}
			if err != nil {
				return err
			}
			if n == 0 {
				return errors.New("ipc: connection closed")
			}
			got += n
		}
		return nil
	}
	var hdr [4]byte
	if err := read(hdr[:]); err != nil {
		return nil, files, err
	}
	size := binary.BigEndian.Uint32(hdr[:])
	if size > MaxFrame {
		return nil, files, fmt.Errorf("ipc: frame of %d bytes", size)
	}
	body := make([]byte, size)
	if err := read(body); err != nil {
		return nil, files, err
	}
	m := &Message{}
	if err := json.Unmarshal(body, m); err != nil {
		return nil, files, fmt.Errorf("ipc: bad frame: %w", err)
	}
	return m, files, nil
}

func parseRights(oob []byte) ([]*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("ipc: control message: %w", err)
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), "ipc-fd"))
		}
	}
	return files, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }
