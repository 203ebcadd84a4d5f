package console

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Why a path cannot be used.
var (
	errNotFound = errors.New("not found")
	errOutside  = errors.New("outside the served directory")
	errIsDir    = errors.New("is a directory")
	errTooLarge = errors.New("too large")
)

// cleanRel normalises a path of /api/files/: "." and empty segments are
// dropped and ".." removes the previous segment but never goes above the
// root. It returns the segments.
func cleanRel(p string) ([]string, error) {
	var segs []string
	for _, s := range strings.Split(p, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			if strings.ContainsRune(s, 0) || filepath.Separator != '/' && strings.ContainsRune(s, filepath.Separator) {
				return nil, errNotFound
			}
			segs = append(segs, s)
		}
	}
	return segs, nil
}

// resolve turns a path of /api/files/ into a file name under the root. The
// deepest part of it that exists must stay inside the root once symlinks
// are resolved.
func (s *Server) resolve(p string) (string, error) {
	segs, err := cleanRel(p)
	if err != nil {
		return "", err
	}
	full := filepath.Join(append([]string{s.root}, segs...)...)
	if err := s.contained(full); err != nil {
		return "", err
	}
	return full, nil
}

// contained checks that full, or its deepest existing ancestor, resolves
// to a place inside the root.
func (s *Server) contained(full string) error {
	p := full
	for {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			if !within(s.realRoot, real) {
				return errOutside
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return errNotFound // e.g. a file used as a directory
		}
		parent := filepath.Dir(p)
		if parent == p || !within(s.root, parent) {
			return errNotFound
		}
		p = parent
	}
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return rel == "." || rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func (s *Server) fileError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errOutside):
		s.text(w, http.StatusForbidden, "path leaves the served directory\n")
	case errors.Is(err, errTooLarge):
		s.text(w, http.StatusRequestEntityTooLarge, "file too large\n")
	default:
		s.empty(w, http.StatusNotFound)
	}
}

// listFiles answers GET /api/files: the tree of the root directory.
func (s *Server) listFiles(w http.ResponseWriter, r *http.Request) {
	s.json(w, http.StatusOK, s.tree(s.root, 0))
}

const maxTreeDepth = 32

// tree maps every entry of dir to "" for a file or to the tree of a
// directory. Dot names, symlinks leaving the root or pointing to
// directories, and special files are left out.
func (s *Server) tree(dir string, depth int) map[string]any {
	out := map[string]any{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		full := filepath.Join(dir, name)
		switch t := e.Type(); {
		case t.IsDir():
			if depth < maxTreeDepth {
				out[name] = s.tree(full, depth+1)
			} else {
				out[name] = map[string]any{}
			}
		case t.IsRegular():
			out[name] = ""
		case t&fs.ModeSymlink != 0:
			real, err := filepath.EvalSymlinks(full)
			if err != nil || !within(s.realRoot, real) {
				continue
			}
			if fi, err := os.Stat(real); err == nil && fi.Mode().IsRegular() {
				out[name] = ""
			}
		}
	}
	return out
}

// file serves /api/files/<path>.
func (s *Server) file(w http.ResponseWriter, r *http.Request, p string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.readFile(w, r, p)
	case http.MethodPost:
		s.writeFile(w, r, p)
	case http.MethodDelete:
		s.deleteFile(w, r, p)
	default:
		allow(w, r, http.MethodGet, http.MethodPost, http.MethodDelete)
	}
}

func (s *Server) readFile(w http.ResponseWriter, r *http.Request, p string) {
	full, err := s.resolve(p)
	if err != nil {
		s.fileError(w, err)
		return
	}
	// Only regular files: a directory is not found, and a FIFO would block.
	fi, err := os.Stat(full)
	if err != nil || !fi.Mode().IsRegular() {
		s.empty(w, http.StatusNotFound)
		return
	}
	f, err := os.Open(full)
	if err != nil {
		s.empty(w, http.StatusNotFound)
		return
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		s.empty(w, http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", itoa(fi.Size()))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.CopyN(w, f, fi.Size())
	}
}

func (s *Server) writeFile(w http.ResponseWriter, r *http.Request, p string) {
	full, err := s.resolve(p)
	if err == nil && full == s.root {
		err = errNotFound
	}
	if err == nil {
		err = s.writeAtomic(full, http.MaxBytesReader(w, r.Body, MaxFileSize))
	}
	switch {
	case err == nil:
		s.empty(w, http.StatusCreated)
	case errors.Is(err, errOutside), errors.Is(err, errTooLarge), errors.Is(err, errNotFound), errors.Is(err, errIsDir):
		s.fileError(w, err)
	default:
		// An I/O failure (permissions, a full disk): the file is left as
		// it was; say so to the browser and in the log.
		s.log.Warn("[gui] cannot save a file", "path", p, "error", err)
		status := http.StatusInternalServerError
		if errors.Is(err, fs.ErrPermission) {
			status = http.StatusForbidden
		}
		s.text(w, status, "cannot save the file: "+err.Error()+"\n")
	}
}

// writeAtomic replaces full with the content of body: it is written to a
// temporary file in the same directory, then renamed, so readers and
// concurrent writers never see a mix. Missing parent directories are
// created.
func (s *Server) writeAtomic(full string, body io.Reader) (err error) {
	dir := filepath.Dir(full)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errNotFound
	}
	// MkdirAll followed any symlinked directories: check again.
	if err := s.contained(dir); err != nil {
		return err
	}
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(full); err == nil {
		if fi.IsDir() {
			return errIsDir
		}
		if fi.Mode().IsRegular() {
			mode = fi.Mode().Perm()
		}
	}
	tmp, err := os.CreateTemp(dir, ".pipy-console-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, body); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errTooLarge
		}
		return err
	}
	if err = tmp.Chmod(mode); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), full)
}

func (s *Server) deleteFile(w http.ResponseWriter, r *http.Request, p string) {
	full, err := s.resolve(p)
	if err != nil {
		s.fileError(w, err)
		return
	}
	fi, err := os.Lstat(full)
	if err != nil || fi.IsDir() || full == s.root {
		s.empty(w, http.StatusNotFound)
		return
	}
	if err := os.Remove(full); err != nil {
		s.log.Warn("[gui] cannot delete a file", "path", p, "error", err)
		s.empty(w, http.StatusNotFound)
		return
	}
	s.empty(w, http.StatusNoContent)
}
