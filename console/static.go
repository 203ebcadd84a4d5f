package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// The UI bundle, built by ./build.sh (console/ui: npm run build). Only
// .keep is there when it has not been built.
//
//go:embed all:ui/dist
var embedded embed.FS

func distFS() fs.FS {
	sub, err := fs.Sub(embedded, "ui/dist")
	if err != nil {
		panic(err)
	}
	return sub
}

// asset is a file of the bundle ready to send.
type asset struct {
	ctype string
	plain []byte
	gz    []byte // nil when not worth compressing
	etag  string
}

const placeholderPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pipy console</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; }
code, pre { font-family: ui-monospace, monospace; background: rgba(127,127,127,.15); padding: .1em .3em; border-radius: 3px; }
pre { padding: .6em .8em; }
@media (prefers-color-scheme: dark) { body { background: #1e1e1e; color: #ddd; } }
</style>
</head>
<body>
<h1>pipy console</h1>
<p>The console UI bundle is not built into this binary.</p>
<p>Build it, then rebuild pipy, from the source tree:</p>
<pre>./build.sh</pre>
<p>or build only the bundle, then run <code>go build</code> again:</p>
<pre>cd console/ui &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>The REST API under <code>/api/</code> works without it.</p>
</body>
</html>
`

// serveStatic serves the UI: any path outside /api/, "/" meaning
// /index.html.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	a := s.asset(name)
	if a == nil {
		s.empty(w, http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", a.ctype)
	body, etag := a.plain, a.etag
	if a.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, etag = a.gz, a.etag[:len(a.etag)-1]+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if matchETag(r.Header.Get("If-None-Match"), etag) {
		h.Del("Content-Type")
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", itoa(int64(len(body))))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// asset loads a file of the bundle, from name or from a precompressed
// name.gz, and caches it. Names with a segment starting with a dot are
// not served. Without an index.html, the placeholder page stands in.
func (s *Server) asset(name string) *asset {
	if v, ok := s.static.Load(name); ok {
		return v.(*asset)
	}
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") {
			return nil
		}
	}
	if !fs.ValidPath(name) {
		return nil
	}
	a := &asset{ctype: contentType(name)}
	if b, err := fs.ReadFile(s.assets, name); err == nil {
		a.plain = b
	} else if gz, err := fs.ReadFile(s.assets, name+".gz"); err == nil {
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return nil
		}
		if a.plain, err = io.ReadAll(zr); err != nil {
			return nil
		}
		a.gz = gz
	} else if name == "index.html" {
		a.plain = []byte(placeholderPage)
	} else {
		return nil // missing, or a directory
	}
	if a.ctype == "" {
		a.ctype = http.DetectContentType(a.plain)
	}
	if a.gz == nil && compressible(a.ctype) && len(a.plain) >= 256 {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.Write(a.plain)
		zw.Close()
		if b.Len() < len(a.plain) {
			a.gz = b.Bytes()
		}
	}
	sum := sha256.Sum256(a.plain)
	a.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
	v, _ := s.static.LoadOrStore(name, a)
	return v.(*asset)
}

var extraTypes = map[string]string{
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".html":  "text/html; charset=utf-8",
	".json":  "application/json",
	".map":   "application/json",
	".svg":   "image/svg+xml",
	".ico":   "image/x-icon",
	".woff":  "font/woff",
	".woff2": "font/woff2",
	".ttf":   "font/ttf",
	".txt":   "text/plain; charset=utf-8",
	".wasm":  "application/wasm",
}

func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := extraTypes[ext]; ok {
		return t
	}
	return mime.TypeByExtension(ext)
}

func compressible(ctype string) bool {
	ctype, _, _ = strings.Cut(ctype, ";")
	switch {
	case strings.HasPrefix(ctype, "text/"), strings.HasSuffix(ctype, "+xml"), strings.HasSuffix(ctype, "+json"):
		return true
	}
	switch ctype {
	case "application/json", "application/javascript", "application/wasm", "application/xml", "image/x-icon", "font/ttf":
		return true
	}
	return false
}

// acceptsGzip tells whether an Accept-Encoding header allows gzip: named
// with a non-zero quality, or covered by "*" without being refused.
func acceptsGzip(header string) bool {
	gzip, star := -1.0, -1.0
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					f = 0
				}
				q = f
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip", "x-gzip":
			gzip = max(gzip, q)
		case "*":
			star = max(star, q)
		}
	}
	if gzip >= 0 {
		return gzip > 0
	}
	return star > 0
}

func matchETag(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
