package interop

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	dubbo "github.com/apache/dubbo-go-hessian2"
)

// Hessian interop with github.com/apache/dubbo-go-hessian2, the Hessian
// codec of Dubbo's Go implementation, through the pipy binary: a script
// serves Hessian.encode and Hessian.decode over HTTP, and the tests check
// that dubbo-go-hessian2 reads the nested lists we write (the fixed-length
// forms 0x78-0x7F and 'X') and that we read the lists it writes (untyped,
// typed 'V' and references 'Q').

// hessianScript answers POST /encode with Hessian.encode of the one value
// whose JSON is the body (wrapped in an array: a top-level array is written
// as the sequence of its elements, so [v] writes v as one value), and POST
// /decode with the JSON of Hessian.decode of the body. A script error is a
// 500 whose body is the error.
const hessianScript = `
pipy()

.listen(PORT)
  .decodeHttpRequest()
  .replaceMessage(
    m => {
      try {
        switch (m.head.path) {
          case '/encode': return new Message(Hessian.encode([JSON.parse(m.body.toString())]));
          case '/decode': return new Message(JSON.stringify(Hessian.decode(m.body)));
        }
        return new Message({ status: 404 }, 'no such path: ' + m.head.path + '\n');
      } catch (e) {
        return new Message({ status: 500 }, String(e) + '\n');
      }
    }
  )
  .encodeHttpResponse()
`

// hessianServer is the running hessianScript.
type hessianServer struct {
	url    string
	client *http.Client
}

func startHessian(t *testing.T) *hessianServer {
	t.Helper()
	port := freePort(t)
	script := writeScript(t, tempDir(t), "pipy.js", hessianScript, "PORT", itoa(port))
	startPipy(t, script, port)
	client := &http.Client{Timeout: callTimeout}
	t.Cleanup(client.CloseIdleConnections)
	return &hessianServer{url: "http://127.0.0.1:" + strconv.Itoa(port), client: client}
}

// post sends body to path and returns the answer's body, failing the test
// on anything but a 200.
func (s *hessianServer) post(t *testing.T, path string, body []byte) []byte {
	t.Helper()
	res, err := s.client.Post(s.url+path, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("POST %s: reading the answer: %v", path, err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s %s: status %d: %s", path, trim(string(body)), res.StatusCode, trim(string(b)))
	}
	return b
}

// encode returns Hessian.encode of the value whose JSON is js.
func (s *hessianServer) encode(t *testing.T, js []byte) []byte {
	t.Helper()
	return s.post(t, "/encode", js)
}

// decode returns JSON.stringify(Hessian.decode(b)).
func (s *hessianServer) decode(t *testing.T, b []byte) string {
	t.Helper()
	return string(s.post(t, "/decode", b))
}

// dubboJSON turns a value decoded by dubbo-go-hessian2 into the JSON value
// (as encoding/json would parse it) that it stands for.
func dubboJSON(t *testing.T, v any) any {
	t.Helper()
	switch v := v.(type) {
	case nil:
		return nil
	case bool, string:
		return v
	case int32:
		return float64(v)
	case int64:
		return float64(v)
	case float64:
		return v
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = dubboJSON(t, e)
		}
		return out
	case map[any]any:
		out := map[string]any{}
		for k, e := range v {
			out[fmt.Sprint(k)] = dubboJSON(t, e)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice { // a typed list: []int32, []string, ...
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = dubboJSON(t, rv.Index(i).Interface())
		}
		return out
	}
	t.Fatalf("unexpected %T from dubbo-go-hessian2: %#v", v, v)
	return nil
}

// dubboDecodeOne decodes b with dubbo-go-hessian2, which must find exactly
// one value, and returns it as a JSON value.
func dubboDecodeOne(t *testing.T, b []byte) (any, error) {
	t.Helper()
	d := dubbo.NewDecoder(b)
	v, err := d.Decode()
	if err != nil {
		return nil, err
	}
	if extra, err := d.Decode(); err == nil {
		return nil, fmt.Errorf("more than one value: then %#v", extra)
	}
	return dubboJSON(t, v), nil
}

// seq returns the list [f(0), ..., f(n-1)].
func seq(n int, f func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// nestedArrays are the values (JSON values, as a script would have them
// after JSON.parse) sent to Hessian.encode, exercising every list form:
// 0x78+n for 0 to 7 elements, 'X' (0x58) + the length as a compact int
// (one, two and three bytes) for more, lists in lists and in maps. head is
// how the encoding starts (hex), so that each case is known to exercise the
// form it is there for.
var nestedArrays = []struct {
	name string
	v    any
	head string
}{
	{"empty", []any{}, "78"},
	{"one", []any{1}, "7949"},
	{"seven", []any{1, 2, 3, 4, 5, 6, 7}, "7f49"},
	{"eight", []any{1, 2, 3, 4, 5, 6, 7, 8}, "589849"},
	{"empty in one", []any{[]any{}}, "7978"},
	{"deep and mixed", []any{[]any{1, []any{2, []any{3, []any{}}}}, []any{"a", nil, true, 1.5}}, "7a7a49"},
	{"in maps", []any{map[string]any{"a": []any{1, []any{2}}, "b": []any{}}, []any{map[string]any{"c": []any{[]any{}, []any{[]any{}}}}}}, "7a48"},
	{"50 of [i, \"i\", [i]]", seq(50, func(i int) any { return []any{i, strconv.Itoa(i), []any{i}} }), "58c8327b49"},
	{"3000 ints", seq(3000, func(i int) any { return i }), "58d40bb849"},
	{"8 lists of lengths 0 to 7 of [i]", seq(8, func(i int) any {
		return seq(i, func(int) any { return []any{i} })
	}), "589878797949000000017a"},
}

// TestHessianDubboReadsOurs: dubbo-go-hessian2 decodes what Hessian.encode
// writes for nested arrays into the same value.
func TestHessianDubboReadsOurs(t *testing.T) {
	s := startHessian(t)
	for _, tc := range nestedArrays {
		t.Run(tc.name, func(t *testing.T) {
			js, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			var want any
			if err := json.Unmarshal(js, &want); err != nil {
				t.Fatal(err)
			}
			b := s.encode(t, js)
			if h := hex.EncodeToString(b); !strings.HasPrefix(h, tc.head) {
				t.Errorf("Hessian.encode([%s]) = %s, want it to start with %s", trim(string(js)), trim(h), tc.head)
			}
			got, err := dubboDecodeOne(t, b)
			if err != nil {
				t.Fatalf("dubbo-go-hessian2 cannot decode Hessian.encode([%s]) = %s: %v", trim(string(js)), trim(hex.EncodeToString(b)), err)
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				t.Errorf("Hessian.encode([%s]) = %s\ndubbo-go-hessian2 decoded %s", trim(string(js)), trim(hex.EncodeToString(b)), trim(string(g)))
			}
		})
	}
}

// TestHessianWeReadDubbo: Hessian.decode reads what dubbo-go-hessian2
// writes (untyped lists, typed 'V' lists, maps, references 'Q'), and what
// Hessian.encode writes for the decoded value dubbo-go-hessian2 reads as the
// same again.
func TestHessianWeReadDubbo(t *testing.T) {
	s := startHessian(t)
	shared := []any{int32(9)}
	long := make([]any, 1000)
	for i := range long {
		long[i] = []any{int32(i), strconv.Itoa(i)}
	}
	for _, tc := range []struct {
		name string
		v    any
		want string // JSON.stringify of what we decode; "" for json.Marshal(v)
		form string // hex that dubbo-go-hessian2's encoding must contain, if any
	}{
		{"empty", []any{}, `[]`, "5890"},
		{"one", []any{int32(1)}, `[1]`, "589191"},
		{"nested empty", []any{[]any{}, []any{[]any{}}}, `[[],[[]]]`, ""},
		{"mixed", []any{int32(1), []any{"a", []any{nil, true, 1.5, int64(1) << 40}}}, `[1,["a",[null,true,1.5,1099511627776]]]`, ""},
		// Typed lists: 'V' (0x56), the type ("[int", "[string"), the length.
		{"typed", []any{[]int32{1, 2, 3}, []string{"x", "y"}}, `[[1,2,3],["x","y"]]`, "56045b696e7493"},
		{"in a map", map[string]any{"a": []any{[]any{int32(1)}, []any{}}}, `{"a":[[1],[]]}`, "4801"},
		// The second one a reference: 'Q' (0x51) and the compact int 1.
		{"shared", []any{shared, shared}, `[[9],[9]]`, "5191"},
		{"1000 of [i, \"i\"]", long, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := dubbo.NewEncoder()
			if err := e.Encode(tc.v); err != nil {
				t.Fatalf("dubbo-go-hessian2 Encode(%#v): %v", tc.v, err)
			}
			b := e.Buffer()
			h := hex.EncodeToString(b)
			if !strings.Contains(h, tc.form) {
				t.Fatalf("dubbo-go-hessian2 wrote %s, which does not contain %s: the case no longer tests that form", trim(h), tc.form)
			}
			want := tc.want
			if want == "" {
				m, err := json.Marshal(tc.v)
				if err != nil {
					t.Fatal(err)
				}
				want = string(m)
			}
			got := s.decode(t, b)
			if got != want {
				t.Fatalf("Hessian.decode(%s):\n got %s\nwant %s", trim(h), trim(got), trim(want))
			}
			// What we write for it again, dubbo-go-hessian2 reads as the same.
			again := s.encode(t, []byte(got))
			v, err := dubboDecodeOne(t, again)
			if err != nil {
				t.Fatalf("%s: dubbo-go-hessian2 cannot read Hessian.encode of it (%s): %v", trim(want), trim(hex.EncodeToString(again)), err)
			}
			if g, _ := json.Marshal(v); string(g) != want {
				t.Errorf("%s: dubbo-go-hessian2 read back %s", trim(want), trim(string(g)))
			}
		})
	}
}
