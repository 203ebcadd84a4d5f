package scripts

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pipy-go/pipy/filters"
)

// ModuleFiles returns the files of every module of a program.
func ModuleFiles(p *filters.Program) []string {
	rt, ok := p.Script.(*Runtime)
	if !ok {
		return nil
	}
	var files []string
	for _, m := range p.Modules {
		files = append(files, filepath.Join(rt.root, filepath.FromSlash(strings.TrimPrefix(m.Name, "/"))))
	}
	return files
}

// Watch polls files (re-read from files() after every change) every second
// and calls onChange once their size or modification time changed and then
// stayed the same for a second (so an editor's save is seen once). A file
// that is missing for a while just counts as changed when it comes back. It
// returns when stop is closed.
func Watch(stop <-chan struct{}, files func() []string, onChange func()) {
	type stamp struct {
		size  int64
		mtime time.Time
		ok    bool
	}
	snapshot := func() map[string]stamp {
		s := map[string]stamp{}
		for _, f := range files() {
			if fi, err := os.Stat(f); err == nil {
				s[f] = stamp{fi.Size(), fi.ModTime(), true}
			} else {
				s[f] = stamp{}
			}
		}
		return s
	}
	same := func(a, b map[string]stamp) bool {
		if len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if b[k] != v {
				return false
			}
		}
		return true
	}
	last := snapshot()
	var pending map[string]stamp
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := snapshot()
		switch {
		case pending != nil && same(now, pending):
			pending = nil
			onChange()
			last = snapshot()
		case !same(now, last):
			pending = now
		default:
			pending = nil
		}
	}
}
