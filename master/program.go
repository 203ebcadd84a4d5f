package master

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"time"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/logging"
	"github.com/pipy-go/pipy/scripts"
)

// The program: which module of the root directory the workers run, and how
// it changes (SIGHUP, --watch-config-file, the console). The master loads a
// module itself first, to learn its listen addresses and to stop a broken
// script before any worker sees it; a load error is logged here, once, in
// both run modes.

// program returns the root directory and the running module ("" for none).
func (m *Master) program() (root, module string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.root, m.module
}

func (m *Master) currentModule() string {
	_, module := m.program()
	return module
}

func (m *Master) setModule(module string) {
	m.mu.Lock()
	m.module = module
	m.mu.Unlock()
}

// moduleFiles returns the files of the last loaded program.
func (m *Master) moduleFiles() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.files
}

// learn loads module without starting it and returns its listen addresses.
// A module that does not load is logged with its source excerpt.
func (m *Master) learn(module string) ([]*filters.ListenSpec, error) {
	if module == "" {
		return nil, nil // stopped from the console
	}
	// What the script logs while loading is kept back: the workers log it
	// again when they load, unless the load fails here.
	var held bytes.Buffer
	heldOut := logging.NewOutput(&held)
	env := &filters.Env{Loop: filters.NewLoop(), Log: logging.New(heldOut, m.log.GetLevel()), Print: heldOut.Line}
	root, _ := m.program()
	prog, err := scripts.LoadModule(root, module, env)
	if err != nil {
		for _, line := range strings.Split(strings.TrimRight(held.String(), "\n"), "\n") {
			if line != "" {
				m.opts.Output.Line(line)
			}
		}
		m.logLoadError(err)
		return nil, err
	}
	m.mu.Lock()
	m.files = scripts.ModuleFiles(prog)
	if m.opts.GUIAddr != "" {
		m.prog = prog // for the console's graphs; otherwise not worth its memory
	}
	m.mu.Unlock()
	var specs []*filters.ListenSpec
	for _, p := range prog.Pipelines() {
		if p.Kind == filters.ListenPipeline {
			if p.Listen.Port == 0 {
				m.log.Warn("[master] listen on port 0 gives each worker its own port", "addr", p.Listen.Addr())
				continue
			}
			specs = append(specs, p.Listen)
		}
	}
	return specs, nil
}

// logLoadError logs a load error with its source excerpt.
func (m *Master) logLoadError(err error) {
	m.log.Error(err.Error())
	var le *scripts.LoadError
	if errors.As(err, &le) {
		for _, d := range le.Detail {
			m.log.Error(d)
		}
	}
}

// reload loads the running module again and hands it to every worker.
func (m *Master) reload() {
	name := m.currentModule()
	if name == "" {
		m.log.Error("No script running")
		return
	}
	if m.runModule(name) != nil {
		m.log.Error("Failed reloading script: " + name)
	}
}

// runModule makes module of the root directory the program of every
// worker: the master loads it to learn its listen addresses, opens their
// sockets (closing those no longer declared), then tells each worker to
// load it with the sockets and waits for their answers. A module that does
// not load changes nothing; an error of a worker is returned after every
// worker has answered.
func (m *Master) runModule(module string) error {
	specs, err := m.learn(module)
	// The master keeps nothing of the program it loaded to learn the
	// ports: collect it now, as a worker does after a reload, or each
	// reload's garbage waits for the next GC goal and the RSS of a master
	// driven by frequent reloads climbs for a while.
	runtime.GC()
	if err != nil {
		return err
	}
	if err := m.openSockets(specs); err != nil {
		m.log.Error(err.Error())
		return err
	}
	m.setModule(module) // a worker restarted from now on runs it too
	var waits []func(<-chan time.Time) error
	for _, s := range m.slots {
		waits = append(waits, s.reload(module))
	}
	deadline := time.After(m.env.reloadTimeout)
	var errs []error
	for _, wait := range waits {
		if err := wait(deadline); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// controlRequest is a console request to start (module set) or stop the
// program, carried out by the master's loop.
type controlRequest struct {
	module string // e.g. "/004-http-proxy/pipy.js"; "" stops the program
	done   chan error
}

// control runs in the master's loop: it switches every worker to another
// module of the root directory, or stops the program on every worker.
func (m *Master) control(req controlRequest) error {
	if req.module == "" {
		m.mu.Lock()
		m.module, m.prog, m.files = "", nil, nil
		m.mu.Unlock()
		if err := m.openSockets(nil); err != nil { // closes every socket
			m.log.Error(err.Error())
		}
		for _, s := range m.slots {
			s.send(unloadMsg)
		}
		m.log.Info("[gui] program stopped on every worker")
		return nil
	}
	if err := m.runModule(req.module); err != nil {
		m.log.Error("Failed starting script: " + req.module)
		return err
	}
	m.log.Info("[gui] starting a program", "module", req.module, "workers", len(m.slots))
	return nil
}
