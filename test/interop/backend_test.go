package interop

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// echoHandler answers with what it received: the method, the request URI,
// the protocol and the host in x-echo-* headers, and the request body as the
// body (or "hello from backend\n" when the request had none).
func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) == 0 {
		body = []byte("hello from backend\n")
	}
	h := w.Header()
	h.Set("x-echo-method", r.Method)
	h.Set("x-echo-uri", r.URL.RequestURI())
	h.Set("x-echo-proto", r.Proto)
	h.Set("x-echo-host", r.Host)
	h.Set("content-type", "application/octet-stream")
	w.Write(body)
}

// startHTTPBackend starts a Go net/http server with echoHandler on a free
// loopback port: HTTP/1.1 only, or HTTP/1.1 and HTTP/2 by prior knowledge
// (h2c) when h2c is set. It is closed at cleanup.
func startHTTPBackend(t testing.TB, h2c bool) int {
	t.Helper()
	ln, port := listenLoopback(t)
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(h2c)
	srv := &http.Server{
		Handler:           http.HandlerFunc(echoHandler),
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return port
}
