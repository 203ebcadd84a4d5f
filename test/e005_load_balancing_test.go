package test

import (
	"testing"
)

// 005-load-balancing: TCP round-robin 2:1:1 over 8080/8081/8082.
func TestExample005LoadBalancing(t *testing.T) {
	p := startScript(t, examplePath(t, "005-load-balancing"), 6080, 8080, 8081, 8082)

	type answer struct{ status, body string }
	services := map[int]answer{
		8080: {"200 OK", "Hello from service 8080"},
		8081: {"300 Multiple Choices", "Hello from service 8081"},
		8082: {"500 Internal Server Error", "Hello from service 8082"},
	}
	identify := func(r *response) int {
		for port, a := range services {
			if r.Status == a.status && string(r.Body) == a.body {
				return port
			}
		}
		return 0
	}

	order := []int{8080, 8081, 8082, 8080, 8080, 8081, 8082, 8080}
	var got []int
	for i := range order {
		r := rawRequest(t, 6080, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		port := identify(r)
		if port == 0 {
			t.Errorf("connection %d: unrecognised response %q", i+1, r.String())
		} else {
			// The mocks' heads carry no extra headers (status overridden by
			// encodeHttpResponse({status}) has no headers either).
			expectHeaderNames(t, r, "Connection", "Content-Length")
		}
		got = append(got, port)
	}
	for i := range order {
		if got[i] != order[i] {
			t.Errorf("services hit = %v, want %v", got, order)
			break
		}
	}

	p.stopOK()
}
