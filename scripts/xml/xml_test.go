package xml

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/filters"
)

// dataObj stands in for the scripts package's Data objects: a dynamic
// object whose Export() implements filters.Wrapped.
type dataObj struct{ d *filters.Data }

func (o *dataObj) Unwrap() any                 { return o.d }
func (o *dataObj) Get(string) goja.Value       { return nil }
func (o *dataObj) Set(string, goja.Value) bool { return false }
func (o *dataObj) Has(string) bool             { return false }
func (o *dataObj) Delete(string) bool          { return false }
func (o *dataObj) Keys() []string              { return nil }
func newDataFunc(rt *goja.Runtime) func([]byte) goja.Value {
	return func(b []byte) goja.Value { return rt.NewDynamicObject(&dataObj{filters.NewDataBytes(b)}) }
}

// helpers012 are example 012's conversion functions (pipy.js), as plain
// functions.
const helpers012 = `
var _obj2xml = node => (
    Object.entries(node).flatMap(ent => (
      ((k, v) => (
        k = ent[0],
        v = ent[1],
        v instanceof Array && (
          v.map(e => new XML.Node(k, null, _obj2xml(e)))
        ) ||
        v instanceof Object && (
          new XML.Node(k, null, _obj2xml(v))
        ) || (
          new XML.Node(k, null, [ v ])
        )
      ))()
    ))
  );

var _xml2obj = node => (
    ((
      children,
      first,
      previous,
      obj, k, v,
    ) => (
      obj = {},
      node.children.forEach(node => (
        children = node.children,
        first = children[0],
        v = children.length != 1 || first instanceof XML.Node ? _xml2obj(node) : (first || ''),
        k = node.name,
        previous = obj[k],
        previous instanceof Array ? (
          previous.push(v)
        ) : (
          obj[k] = previous ? [previous, v] : v
        )
      )),
      obj
    ))()
  );

// What the two listeners of example 012 do with a body.
function xml2json(data) { return JSON.stringify(_xml2obj(XML.decode(data)), null, 2) }
function json2xml(text) { return XML.encode(new XML.Node('', null, _obj2xml(JSON.parse(text))), 2) }
`

func newRuntime(t testing.TB) *goja.Runtime {
	t.Helper()
	rt := goja.New()
	rt.Set("XML", New(rt, newDataFunc(rt)))
	rt.Set("Data", func(s string) goja.Value { return newDataFunc(rt)([]byte(s)) })
	rt.Set("str", func(v goja.Value) string { return filters.Unwrap(v).(*filters.Data).String() })
	if _, err := rt.RunString(helpers012); err != nil {
		t.Fatal(err)
	}
	return rt
}

func run(t *testing.T, rt *goja.Runtime, src string) goja.Value {
	t.Helper()
	v, err := rt.RunString(src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return v
}

func call(t testing.TB, rt *goja.Runtime, fn string, args ...interface{}) goja.Value {
	t.Helper()
	fv, err := rt.RunString(fn)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := goja.AssertFunction(fv)
	if !ok {
		t.Fatalf("%s is not a function", fn)
	}
	vals := make([]goja.Value, len(args))
	for i, a := range args {
		vals[i] = rt.ToValue(a)
	}
	v, err := f(goja.Undefined(), vals...)
	if err != nil {
		t.Fatalf("%s: %v", fn, err)
	}
	return v
}

func jsonEqual(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("bad JSON %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad JSON %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExample012XMLToJSON(t *testing.T) {
	rt := newRuntime(t)
	xmlText := readFile(t, "testdata/sample.xml")
	got := call(t, rt, "xml2json", newDataFunc(rt)([]byte(xmlText))).String()
	jsonEqual(t, got, readFile(t, "testdata/sample.json"))
	if n := strings.Count(got, `"TITLE"`); n != 26 {
		t.Errorf("%d CD entries, want 26", n)
	}

	got = call(t, rt, "xml2json", newDataFunc(rt)([]byte(`<r a="1"><x>t</x><x>u</x><y/><z><w>1</w></z></r>`))).String()
	jsonEqual(t, got, `{"r":{"x":["t","u"],"y":{},"z":{"w":"1"}}}`)
}

func TestExample012JSONToXML(t *testing.T) {
	rt := newRuntime(t)
	got := call(t, rt, "str", call(t, rt, "json2xml", `{"a":{"b":"1","c":"2"}}`)).String()
	want := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>\n  <b>1</b>\n  <c>2</c>\n</a>\n"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}

	got = call(t, rt, "str", call(t, rt, "json2xml", readFile(t, "testdata/sample.json"))).String()
	if !strings.HasPrefix(got, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CATALOG>\n  <CD>\n    <YEAR>1985</YEAR>\n") {
		t.Fatalf("unexpected start:\n%s", got[:200])
	}
	if g, w := canonical(t, got), canonical(t, readFile(t, "testdata/sample.xml")); g != w {
		t.Fatalf("trees differ:\ngot  %s\nwant %s", g, w)
	}
}

// canonical parses text with XML.parse (checked against encoding/xml being
// happy with it too) and dumps the tree with the children of CD elements
// sorted.
func canonical(t testing.TB, text string) string {
	t.Helper()
	rt := newRuntime(t)
	doc := call(t, rt, "XML.parse", text)
	if goja.IsNull(doc) {
		t.Fatalf("not parsed: %q", text)
	}
	return dump(asNode(doc), true)
}

// dump writes a node tree as a compact string: name[attrs](children).
func dump(n *node, sortCD bool) string {
	var b strings.Builder
	b.WriteString(n.name.String())
	if a, ok := n.attributes.(*goja.Object); ok {
		b.WriteString("[")
		for _, k := range a.Keys() {
			b.WriteString(k + "=" + a.Get(k).String() + ";")
		}
		b.WriteString("]")
	}
	if c, n2 := arrayLen(n.children); n2 >= 0 {
		var parts []string
		for i := range n2 {
			v := index(c, i)
			if cn := asNode(v); cn != nil {
				parts = append(parts, dump(cn, sortCD))
			} else {
				parts = append(parts, "'"+v.String()+"'")
			}
		}
		if sortCD && n.name.String() == "CD" {
			sort.Strings(parts)
		}
		b.WriteString("(" + strings.Join(parts, ",") + ")")
	}
	return b.String()
}
