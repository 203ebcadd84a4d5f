package hessian

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestHessianJS checks nested arrays both ways against hessian.js (npm,
// pinned in testdata/hessianjs/package-lock.json): it reads what
// Hessian.encode writes, and Hessian.decode reads what it writes. The test
// is skipped when node or npm is missing; testdata/hessianjs/node_modules is
// installed with `npm ci` when absent.
func TestHessianJS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found in PATH: skipping the hessian.js interop test")
	}
	dir, err := filepath.Abs(filepath.Join("testdata", "hessianjs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "hessian.js", "package.json")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Skip("npm not found in PATH: skipping the hessian.js interop test (needs npm ci in testdata/hessianjs)")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}

	rt := newRuntime(t)
	type result struct {
		Value json.RawMessage `json:"value"`
		Error string          `json:"error"`
	}
	var req struct {
		Decode []string          `json:"decode"`
		Encode []json.RawMessage `json:"encode"`
	}
	var wants []any // each case's value as JSON
	for _, src := range nestedArrays {
		req.Decode = append(req.Decode, run(t, rt, "hex(Hessian.encode(["+src+"]))").String())
		js := run(t, rt, "JSON.stringify("+src+")").String()
		req.Encode = append(req.Encode, json.RawMessage(js))
		var w any
		if err := json.Unmarshal([]byte(js), &w); err != nil {
			t.Fatal(err)
		}
		wants = append(wants, w)
	}
	// The reason for the fixed-length lists: hessian.js cannot read 'W'.
	req.Decode = append(req.Decode, "57"+"4900000001"+"5a")

	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "interop.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node interop.mjs: %v\n%s", err, stderr.Bytes())
	}
	var resp struct {
		Decoded []result `json:"decoded"`
		Encoded []string `json:"encoded"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("node interop.mjs printed %q: %v", trim(string(out)), err)
	}
	if len(resp.Decoded) != len(req.Decode) || len(resp.Encoded) != len(req.Encode) {
		t.Fatalf("node interop.mjs answered %d decodings and %d encodings, want %d and %d",
			len(resp.Decoded), len(resp.Encoded), len(req.Decode), len(req.Encode))
	}

	for i, src := range nestedArrays {
		// hessian.js reads ours.
		if r := resp.Decoded[i]; r.Error != "" {
			t.Errorf("hessian.js cannot decode Hessian.encode([%s]) = %s: %s", src, trim(req.Decode[i]), r.Error)
		} else {
			var got any
			if err := json.Unmarshal(r.Value, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, wants[i]) {
				t.Errorf("%s: hessian.js decoded %s", src, trim(string(r.Value)))
			}
		}
		// We read hessian.js's.
		h := resp.Encoded[i]
		if _, err := hex.DecodeString(h); err != nil {
			t.Fatalf("hessian.js encoding of %s: %v", src, err)
		}
		var got any
		js := run(t, rt, "JSON.stringify(Hessian.decode(fromHex('"+h+"')))").String()
		if err := json.Unmarshal([]byte(js), &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, wants[i]) {
			t.Errorf("%s: hessian.js wrote %s, we decode %s", src, trim(h), trim(js))
		}
	}
	if r := resp.Decoded[len(nestedArrays)]; r.Error == "" {
		t.Logf("hessian.js now reads the variable-length list 0x57 too (%s)", r.Value)
	}
}

// nestedArrays are script values (each the one element of a top-level
// array, so encoded as one list) exercising the list forms.
var nestedArrays = []string{
	`[]`,
	`[1]`,
	`[1, 2, 3, 4, 5, 6, 7]`,
	`[1, 2, 3, 4, 5, 6, 7, 8]`,
	`[[]]`,
	`[[1, [2, [3, []]]], ['a', null, true, 1.5]]`,
	`[{a: [1, [2]], b: []}, [{c: [[], [[]]]}]]`,
	`Array.from({length: 50}, (_, i) => [i, String(i), [i]])`,
	`Array.from({length: 3000}, (_, i) => i)`,
	`Array.from({length: 8}, (_, i) => Array.from({length: i}, () => [i]))`,
}
