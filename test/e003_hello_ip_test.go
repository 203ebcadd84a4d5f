package test

import "testing"

// 003-hello-ip: the reply names the client's address.
func TestExample003HelloIP(t *testing.T) {
	p := startScript(t, examplePath(t, "003-hello-ip"), 6080)

	r := rawRequest(t, 6080, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	expectStatus(t, r, "HTTP/1.1", "200 OK")
	expectHeader(t, r, "Content-Length", "18")
	expectBody(t, r, "Hello, 127.0.0.1!\n")

	p.stopOK()
}
