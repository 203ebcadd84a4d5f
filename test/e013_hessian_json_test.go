package test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// 013-hessian-json: HTTP+JSON -> Dubbo+Hessian -> TCP echo -> back.
func TestExample013HessianJSON(t *testing.T) {
	script := examplePath(t, "013-hessian-json")
	sample, err := os.ReadFile(filepath.Join(filepath.Dir(script), "sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := startScript(t, script, 6080, 20880)

	post := func(t *testing.T, body []byte) *response {
		t.Helper()
		raw := fmt.Sprintf("POST / HTTP/1.1\r\nHost: 127.0.0.1:6080\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		r := rawRequest(t, 6080, raw)
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		expectHeaderNames(t, r, "Connection", "Content-Length")
		return r
	}

	t.Run("sample.json", func(t *testing.T) {
		r := post(t, sample)
		var got, want any
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatalf("response is not JSON: %v\n%s", err, r.Body)
		}
		if err := json.Unmarshal(sample, &want); err != nil {
			t.Fatal(err)
		}
		if !e013Equal(got, want) {
			t.Errorf("JSON = %s, want (as parsed) %s", r.Body, sample)
		}
	})
	t.Run("object", func(t *testing.T) {
		r := post(t, []byte(`{"a":1}`))
		expectBody(t, r, "{\n  \"a\": 1\n}")
	})
	t.Run("one-element-array", func(t *testing.T) {
		r := post(t, []byte(`[7]`))
		expectBody(t, r, "7")
	})

	p.stopOK()
}

// e013Equal compares parsed JSON values, numbers within 1e-9.
func e013Equal(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && math.Abs(a-b) <= 1e-9
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !e013Equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !e013Equal(v, w) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}
