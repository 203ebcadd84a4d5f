package scripts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/scripts/algo"
	"github.com/pipy-go/pipy/scripts/crypto"
	"github.com/pipy-go/pipy/scripts/hessian"
	"github.com/pipy-go/pipy/scripts/netmask"
	"github.com/pipy-go/pipy/scripts/url"
	"github.com/pipy-go/pipy/scripts/xml"
)

// newData makes a script Data holding b (handed to API packages).
func (r *Runtime) newData(b []byte) goja.Value { return r.dataValue(filters.NewDataBytes(b)) }

func (r *Runtime) installGlobals() {
	r.installEvents()
	r.installPipy()
	r.installConsole()
	r.installOS()
	r.installJSON()
	r.installSession()
	r.installRepeat()
	r.installHTTP()
	r.rt.Set("algo", algo.New(r.rt))
	r.rt.Set("crypto", crypto.New(r.rt, r.newData))
	r.rt.Set("URL", url.New(r.rt))
	r.rt.Set("Netmask", netmask.New(r.rt))
	r.rt.Set("XML", xml.New(r.rt, r.newData))
	r.rt.Set("Hessian", hessian.New(r.rt, r.newData))
}

func (r *Runtime) installConsole() {
	console := r.rt.NewObject()
	logAt := func(level string) func(call goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			parts := make([]string, len(call.Arguments))
			for i, a := range call.Arguments {
				parts[i] = a.String()
			}
			for _, line := range strings.Split(strings.Join(parts, " "), "\n") {
				msg := "[pjs] " + line
				switch level {
				case "debug":
					r.env.Log.Debug(msg)
				case "warn":
					r.env.Log.Warn(msg)
				case "error":
					r.env.Log.Error(msg)
				default:
					r.env.Log.Info(msg)
				}
			}
			return goja.Undefined()
		}
	}
	console.Set("log", logAt("info"))
	console.Set("info", logAt("info"))
	console.Set("debug", logAt("debug"))
	console.Set("warn", logAt("warn"))
	console.Set("error", logAt("error"))
	r.rt.Set("console", console)
}

// resolve makes a script path absolute against the root directory.
func (r *Runtime) resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.root, p)
}

func (r *Runtime) installOS() {
	o := r.rt.NewObject()
	env := r.rt.NewObject()
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env.Set(k, v)
		}
	}
	o.Set("env", env)
	o.Set("readFile", func(call goja.FunctionCall) goja.Value {
		p := call.Argument(0).String()
		b, err := os.ReadFile(r.resolve(p))
		if err != nil {
			r.env.Log.Error("os.readFile: cannot open file: " + p + ": " + reasonOf(err))
			return goja.Null()
		}
		r.prog.Files.Note(p, b)
		return r.dataValue(filters.NewDataBytes(b))
	})
	o.Set("writeFile", func(call goja.FunctionCall) goja.Value {
		p := call.Argument(0).String()
		var b []byte
		a := call.Argument(1)
		if x := filters.Unwrap(a); x != nil {
			if d, ok := x.(*filters.Data); ok {
				b = d.Bytes()
			}
		} else {
			b = []byte(a.String())
		}
		if err := os.WriteFile(r.resolve(p), b, 0o644); err != nil {
			r.env.Log.Error("os.writeFile: cannot open file: " + p)
			return goja.Null()
		}
		return goja.Undefined()
	})
	o.Set("stat", func(call goja.FunctionCall) goja.Value {
		p := call.Argument(0).String()
		fi, err := os.Stat(r.resolve(p))
		if err != nil {
			return goja.Null()
		}
		return r.statObject(fi)
	})
	r.rt.Set("os", o)
}

func (r *Runtime) statObject(fi os.FileInfo) goja.Value {
	o := r.rt.NewObject()
	mode := fi.Mode()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		o.Set("dev", uint64(st.Dev))
		o.Set("ino", uint64(st.Ino))
		o.Set("mode", uint64(st.Mode))
		o.Set("nlink", uint64(st.Nlink))
		o.Set("uid", st.Uid)
		o.Set("gid", st.Gid)
		o.Set("rdev", uint64(st.Rdev))
		o.Set("blksize", int64(st.Blksize))
		o.Set("blocks", int64(st.Blocks))
		o.Set("atime", statTime(st, "a"))
		o.Set("ctime", statTime(st, "c"))
	}
	o.Set("size", fi.Size())
	o.Set("mtime", fi.ModTime().Unix())
	is := func(b bool) func(goja.FunctionCall) goja.Value {
		return func(goja.FunctionCall) goja.Value { return r.rt.ToValue(b) }
	}
	o.Set("isFile", is(mode.IsRegular()))
	o.Set("isDirectory", is(mode.IsDir()))
	o.Set("isCharacterDevice", is(mode&os.ModeCharDevice != 0))
	o.Set("isBlockDevice", is(mode&os.ModeDevice != 0 && mode&os.ModeCharDevice == 0))
	o.Set("isFIFO", is(mode&os.ModeNamedPipe != 0))
	o.Set("isSymbolicLink", is(mode&os.ModeSymlink != 0))
	o.Set("isSocket", is(mode&os.ModeSocket != 0))
	return o
}

func reasonOf(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
