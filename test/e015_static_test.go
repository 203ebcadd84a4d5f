package test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// 015-http-static-server: files from www/ through an algo.Cache of
// http.File, served with or without gzip; 404 for missing files.
func TestExample015StaticServer(t *testing.T) {
	script := examplePath(t, "015-http-static-server")
	gz, err := os.ReadFile(filepath.Join(filepath.Dir(script), "www", "index.html.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if len(gz) != 90 || len(page) != 90 || !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) {
		t.Fatalf("unexpected test data: %d gzip bytes, page %q", len(gz), page)
	}

	p := startScript(t, script, 6080)

	plain := func(t *testing.T, path string) {
		r := rawRequest(t, 6080, "GET "+path+" HTTP/1.1\r\nHost: 127.0.0.1:6080\r\n\r\n")
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectHeader(t, r, "Content-Type", "text/html")
		if v := r.Header.Values("Content-Encoding"); len(v) > 0 {
			t.Errorf("unexpected Content-Encoding %q without Accept-Encoding", v)
		}
		if !bytes.Equal(r.Body, page) {
			t.Errorf("body = %q, want the decompressed page %q", r.Body, page)
		}
	}
	gzipped := func(t *testing.T, path string) {
		r := rawRequest(t, 6080, "GET "+path+" HTTP/1.1\r\nHost: 127.0.0.1:6080\r\nAccept-Encoding: gzip, deflate\r\n\r\n")
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectHeader(t, r, "Content-Type", "text/html")
		expectHeader(t, r, "Content-Encoding", "gzip")
		if !bytes.Equal(r.Body, gz) {
			t.Errorf("body = %q, want the .gz file bytes %q", r.Body, gz)
		}
	}

	t.Run("root", func(t *testing.T) { plain(t, "/") })
	t.Run("root-gzip", func(t *testing.T) { gzipped(t, "/") })
	t.Run("index.html", func(t *testing.T) { plain(t, "/index.html") })
	t.Run("index.html-gzip", func(t *testing.T) { gzipped(t, "/index.html") })
	t.Run("missing", func(t *testing.T) {
		r := rawRequest(t, 6080, "GET /missing HTTP/1.1\r\nHost: 127.0.0.1:6080\r\n\r\n")
		expectStatus(t, r, "HTTP/1.1", "404 Not Found")
		expectHeader(t, r, "Content-Length", "0")
		expectBody(t, r, "")
	})
	// Again, now from the cache.
	t.Run("root-cached", func(t *testing.T) { plain(t, "/") })
	t.Run("missing-cached", func(t *testing.T) {
		r := rawRequest(t, 6080, "GET /missing HTTP/1.1\r\nHost: 127.0.0.1:6080\r\n\r\n")
		expectStatus(t, r, "HTTP/1.1", "404 Not Found")
		expectHeader(t, r, "Content-Length", "0")
	})

	p.stopOK()
}
