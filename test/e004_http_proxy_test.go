package test

import (
	"fmt"
	"testing"
)

// 004-http-proxy: host/path routing with algo.URLRouter, raw proxy to the
// mock services on 8080/8081, local 404 otherwise. One connection per
// request (link decides once per connection).
func TestExample004HTTPProxy(t *testing.T) {
	p := startScript(t, examplePath(t, "004-http-proxy"), 6080, 8080, 8081)

	const (
		s8080 = "Hello from service 8080\n"
		s8081 = "Hello from service 8081\n"
		nf    = "404"
	)
	cases := []struct{ host, path, want string }{
		{"127.0.0.1:6080", "/hello", s8080},
		{"127.0.0.1:6080", "/hi", s8081},
		{"127.0.0.1:6080", "/hi/", s8081},
		{"127.0.0.1:6080", "/hi/there", s8081},
		{"foo.com", "/bar/x", s8080},
		{"a.foo.com", "/bar", s8081},
		{"a.foo.com:6080", "/bar", s8081},
		{"x.foo.org", "/foo/bar/baz", s8080},
		{"a.b.foo.com", "/bar", nf},
		{"127.0.0.1:6080", "/x", nf},
		{"127.0.0.1:6080", "/bar/x", nf},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s%s", tc.host, tc.path), func(t *testing.T) {
			r := rawRequest(t, 6080, fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", tc.path, tc.host))
			if tc.want == nf {
				expectStatus(t, r, "HTTP/1.1", "404 Not Found")
				expectBody(t, r, "Not found\n")
				return
			}
			expectStatus(t, r, "HTTP/1.1", "200 OK")
			expectBody(t, r, tc.want)
		})
	}

	p.stopOK()
}
