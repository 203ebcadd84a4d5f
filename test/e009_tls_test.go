package test

import "testing"

// 009-tls: TLS server on 6443 (expired v1 self-signed cert), plain 6080
// relayed to it through a TLS client connect.
func TestExample009TLS(t *testing.T) {
	p := startScript(t, examplePath(t, "009-tls"), 6080, 6443)

	t.Run("PlainViaTLSOrigination", func(t *testing.T) {
		r := rawRequest(t, 6080, "GET / HTTP/1.1\r\nHost: 127.0.0.1:6080\r\n\r\n")
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectBody(t, r, "Hello!\n")
	})

	t.Run("TLSDirect", func(t *testing.T) {
		c := dialTLS(t, 6443)
		c.send("GET / HTTP/1.1\r\nHost: 127.0.0.1:6443\r\n\r\n")
		r := c.readResponse()
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectBody(t, r, "Hello!\n")
		c.close()
	})

	p.stopOK()
}
