package scripts

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
	"github.com/pipy-go/pipy/scripts/apidoc"
)

// httpFile is a static file served from memory, with its pre-compressed
// .gz and .br variants.
type httpFile struct {
	r               *Runtime
	ctype           string
	plain, gz, br   []byte
	hasPlain, hasGz bool
	hasBr           bool
	msgs            map[string]goja.Value
}

var contentTypes = map[string]string{
	"html": "text/html", "css": "text/css", "xml": "text/xml", "txt": "text/plain",
	"gif": "image/gif", "png": "image/png", "jpg": "image/jpeg", "svg": "image/svg+xml",
	"woff": "font/woff", "woff2": "font/woff2", "ico": "image/x-icon",
	"js": "application/javascript", "json": "application/json",
}

// MaxStaticFile bounds the size of a file http.File reads into memory.
const MaxStaticFile = 256 << 20

func (r *Runtime) openHTTPFile(p string) (*httpFile, string) {
	rel := path.Clean("/" + p) // never above the root
	full := filepath.Join(r.root, filepath.FromSlash(rel))
	if fi, err := os.Stat(full); err == nil && fi.IsDir() {
		full = filepath.Join(full, "index.html")
		rel = path.Join(rel, "index.html")
	}
	f := &httpFile{r: r, msgs: map[string]goja.Value{}}
	read := func(name string) ([]byte, bool) {
		fi, err := os.Stat(name)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > MaxStaticFile {
			return nil, false
		}
		b, err := os.ReadFile(name)
		return b, err == nil
	}
	f.plain, f.hasPlain = read(full)
	f.gz, f.hasGz = read(full + ".gz")
	f.br, f.hasBr = read(full + ".br")
	if !f.hasPlain && !f.hasGz && !f.hasBr {
		return nil, full
	}
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(rel), "."))
	f.ctype = contentTypes[ext]
	if f.ctype == "" {
		f.ctype = "application/octet-stream"
	}
	return f, full
}

func acceptsEncoding(header, enc string) bool {
	for _, tok := range strings.Split(header, ",") {
		tok, _, _ = strings.Cut(tok, ";")
		if strings.EqualFold(strings.TrimSpace(tok), enc) {
			return true
		}
	}
	return false
}

// toMessage picks the variant for an Accept-Encoding header.
func (f *httpFile) toMessage(accept string) goja.Value {
	variant, encoding := "plain", ""
	switch {
	case f.hasBr && acceptsEncoding(accept, "br"):
		variant, encoding = "br", "br"
	case f.hasGz && acceptsEncoding(accept, "gzip"):
		variant, encoding = "gz", "gzip"
	}
	if m := f.msgs[variant]; m != nil {
		return m
	}
	var body []byte
	switch variant {
	case "br":
		body = f.br
	case "gz":
		body = f.gz
	default:
		body = f.plainBytes()
	}
	rt := f.r.rt
	head := rt.NewObject()
	if body == nil {
		head.Set("status", 400)
		m := f.r.MessageValue(&filters.Message{Head: head})
		f.msgs[variant] = m
		return m
	}
	headers := rt.NewObject()
	headers.Set("content-type", f.ctype)
	if encoding != "" {
		headers.Set("content-encoding", encoding)
	}
	head.Set("headers", headers)
	m := f.r.MessageValue(&filters.Message{Head: head, Body: filters.NewDataBytes(body)})
	f.msgs[variant] = m
	return m
}

// plainBytes is the file itself, or its .gz (then .br) variant decoded.
func (f *httpFile) plainBytes() []byte {
	if f.hasPlain {
		return f.plain
	}
	var rd io.Reader
	if f.hasGz {
		zr, err := gzip.NewReader(bytes.NewReader(f.gz))
		if err != nil {
			return nil
		}
		rd = zr
	} else {
		rd = brotli.NewReader(bytes.NewReader(f.br))
	}
	b, err := io.ReadAll(io.LimitReader(rd, MaxStaticFile))
	if err != nil {
		return nil
	}
	f.plain, f.hasPlain = b, true
	return b
}

func (r *Runtime) installHTTP() {
	httpObj := r.rt.NewObject()
	_, proto := r.makeClassOn(httpObj, "File", func(call goja.ConstructorCall) *goja.Object {
		f, full := r.openHTTPFile(call.Argument(0).String())
		if f == nil {
			r.throw("file not found: %s", full)
		}
		return r.wrap(&fileHolder{f: f}, r.protoFile)
	})
	r.protoFile = proto
	ctor := httpObj.Get("File").ToObject(r.rt)
	ctor.Set("from", func(call goja.FunctionCall) goja.Value {
		f, _ := r.openHTTPFile(call.Argument(0).String())
		if f == nil {
			return goja.Null()
		}
		return r.wrap(&fileHolder{f: f}, r.protoFile)
	})
	proto.Set("toMessage", func(call goja.FunctionCall) goja.Value {
		h, ok := exportOf(call.This).(*fileHolder)
		if !ok {
			r.throwType("not an http.File object")
		}
		accept := ""
		if a := call.Argument(0); !goja.IsUndefined(a) && !goja.IsNull(a) {
			accept = a.String()
		}
		return h.f.toMessage(accept)
	})
	r.rt.Set("http", httpObj)
}

type fileHolder struct{ f *httpFile }

func (h *fileHolder) Get(key string) goja.Value           { return nil }
func (h *fileHolder) Set(key string, val goja.Value) bool { return false }
func (h *fileHolder) Has(key string) bool                 { return false }
func (h *fileHolder) Delete(key string) bool              { return false }
func (h *fileHolder) Keys() []string                      { return nil }

var httpDocs = apidoc.Group{
	Name: "http.File",
	Doc:  "A static file read once into memory with its pre-compressed variants `<path>.gz` and `<path>.br`. Paths are relative to the root directory and cannot leave it; a directory means its index.html.",
	Entries: []apidoc.Entry{
		{Signature: "new http.File(path)", Doc: "reads the file and its variants; throws `file not found: <full path>` when none exists."},
		{Signature: "http.File.from(path)", Doc: "the same, but returns null when no variant exists."},
		{Signature: "file.toMessage([acceptEncoding])", Doc: "a Message with `content-type` from the extension: the .br variant (`content-encoding: br`) when the Accept-Encoding value lists br, else the .gz one when it lists gzip, else the plain file (decoded from .gz or .br when only those exist); head `{status: 400}` when nothing is usable. Messages are cached per variant."},
	},
}
