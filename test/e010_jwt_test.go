package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// 010-jwt: JWT verification against JWKS key sets fetched by a task.
func TestExample010JWT(t *testing.T) {
	script := examplePath(t, "010-jwt")
	dir := filepath.Dir(script)
	p := startScript(t, script, 6080, 8080, 6081, 6082)
	p.waitForLine("Keys updated", startTimeout)

	for _, want := range []string{
		"Updating keys...",
		"Getting keys from http://127.0.0.1:6081/api/v1/jwks...",
		"Getting keys from https://127.0.0.1:6082/api/v1/jwks...",
		"Got 1 key(s) from http://127.0.0.1:6081/api/v1/jwks",
		"Got 1 key(s) from https://127.0.0.1:6082/api/v1/jwks",
	} {
		if p.countLines(want) == 0 {
			t.Errorf("log lacks %q", want)
		}
	}

	token := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("read token: %v", err)
		}
		return strings.TrimRight(string(b), "\r\n")
	}

	cases := []struct {
		name, auth string
		code       int // 200 or 401
		body       string
	}{
		{"rsa.jwt", "Bearer " + token("rsa.jwt"), 200, "Hello!\n"},
		{"ecdsa.jwt", "Bearer " + token("ecdsa.jwt"), 200, "Hello!\n"},
		{"rsa-invalid.jwt", "Bearer " + token("rsa-invalid.jwt"), 401, "Invalid signature"},
		{"ecdsa-invalid.jwt", "Bearer " + token("ecdsa-invalid.jwt"), 401, "Invalid signature"},
		{"hmac.jwt", "Bearer " + token("hmac.jwt"), 401, "Invalid key"},
		{"hmac-invalid.jwt", "Bearer " + token("hmac-invalid.jwt"), 401, "Invalid key"},
		{"no-authorization", "", 401, "Invalid token"},
		{"garbage-bearer", "Bearer garbage", 401, "Invalid token"},
		{"garbage", "garbage", 401, "Invalid token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := "GET / HTTP/1.1\r\nHost: 127.0.0.1:6080\r\n"
			if tc.auth != "" {
				raw += "Authorization: " + tc.auth + "\r\n"
			}
			r := rawRequest(t, 6080, raw+"\r\n")
			if tc.code == 200 {
				expectStatus(t, r, "HTTP/1.1", "200 OK")
			} else {
				expectStatus(t, r, "HTTP/1.1", "401 Unauthorized")
			}
			expectBody(t, r, tc.body)
		})
	}

	p.stopOK()
}
