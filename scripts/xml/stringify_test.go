package xml

import (
	"strings"
	"testing"

	"github.com/dop251/goja"
)

func TestStringify(t *testing.T) {
	rt := newRuntime(t)
	run(t, rt, `
		var N = XML.Node;
		function doc(...c) { return new N('', null, c) }
		var tree = doc(new N('r', {id: 1, s: 'a b'}, [
			new N('e'),
			new N('f', null, []),
			new N('t', null, ['text']),
			new N('n', null, [42]),
			new N('m', null, ['x', new N('i'), 'y']),
			new N('one', null, [new N('only')]),
		]));
	`)
	const head = `<?xml version="1.0" encoding="UTF-8"?>`
	tests := []struct{ src, want string }{
		{`XML.stringify(tree)`, head + `<r id="1" s="a b"><e/><f/><t>text</t><n>42</n><m>x<i/>y</m><one><only/></one></r>`},
		{`XML.stringify(tree, 2)`, head + "\n" + `<r id="1" s="a b">
  <e/>
  <f/>
  <t>text</t>
  <n>42</n>
  <m>
    x
    <i/>
    y
  </m>
  <one>
    <only/>
  </one>
</r>
`},
		{`XML.stringify(doc(new N('a', null, [new N('b')])), 20)`, head + "\n<a>\n          <b/>\n</a>\n"},
		{`XML.stringify(doc(new N('a', null, [new N('b')])), 2.9)`, head + "\n<a>\n  <b/>\n</a>\n"},
		{`XML.stringify(doc(new N('a', null, [new N('b')])), -3)`, head + "<a><b/></a>"},
		{`XML.stringify(doc(new N('a', null, [new N('b')])), 'x')`, head + "<a><b/></a>"},
		{`XML.stringify(doc(new N('a')), 1)`, head + "\n<a/>\n"},
		{`XML.stringify(new N('', {}, [new N('a', {}, ['x'])]), 1)`, head + "\n<a>x</a>\n"},
		// The document node's name and attributes are not written.
		{`XML.stringify(new N('ignored', {x: 1}, [new N('a')]))`, head + "<a/>"},
		// Not exactly one root node: empty.
		{`XML.stringify(doc())`, ``},
		{`XML.stringify(doc(new N('a'), new N('b')))`, ``},
		{`XML.stringify(doc('text'))`, ``},
		{`XML.stringify(new N(''))`, ``},
		{`XML.stringify(null)`, ``},
		{`XML.stringify()`, ``},
		// Escaping.
		{`XML.stringify(doc(new N('a', {q: '"&<>\''}, ['<&>"\''])))`, head + `<a q="&quot;&amp;&lt;>'">&lt;&amp;&gt;"'</a>`},
		{`XML.stringify(doc(new N('a', null, ['1 < 2', new N('b'), 'x & y'])))`, head + `<a>1 &lt; 2<b/>x &amp; y</a>`},
		// Children that are not nodes are written in their string form.
		{`XML.stringify(doc(new N('a', null, [null])))`, head + `<a>null</a>`},
		{`XML.stringify(doc(new N('a', null, [{toString() { return 'obj' }}, 1])))`, head + `<a>obj1</a>`},
		{`XML.stringify(doc(new N('a', null, [{name: 'fake', children: []}])))`, head + `<a>[object Object]</a>`},
	}
	for _, tc := range tests {
		if got := run(t, rt, tc.src).String(); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.src, got, tc.want)
		}
	}

	// encode gives the same bytes as a Data.
	if got := run(t, rt, `str(XML.encode(tree, 2)) === XML.stringify(tree, 2)`); !got.ToBoolean() {
		t.Errorf("encode and stringify differ")
	}
	if got := run(t, rt, `str(XML.encode(doc()))`).String(); got != "" {
		t.Errorf("encode of an empty document: %q", got)
	}
	if got := run(t, rt, `XML.encode(null)`); !goja.IsNull(got) {
		t.Errorf("XML.encode(null) = %v", got)
	}
	for _, src := range []string{
		`XML.stringify({children: [new N('a')]})`,
		`XML.encode('<a/>')`,
		`var c = new N('c', null, []); c.children.push(c); XML.stringify(doc(c))`,
	} {
		if _, err := rt.RunString(src); err == nil || !strings.Contains(err.Error(), "TypeError") {
			t.Errorf("%s: err %v, want a TypeError", src, err)
		}
	}
	// The same node twice (not a cycle) is fine.
	if got := run(t, rt, `var s = new N('s'); XML.stringify(doc(new N('a', null, [s, s])))`).String(); got != head+"<a><s/><s/></a>" {
		t.Errorf("shared node: %q", got)
	}
}

// TestEscapingRoundTrip checks that escaped output parses back to the same
// strings.
func TestEscapingRoundTrip(t *testing.T) {
	rt := newRuntime(t)
	got := run(t, rt, `
		var s = 'a<b>c&d"e\'f ]]> &amp;';
		var d = XML.parse(XML.stringify(new XML.Node('', null, [new XML.Node('x', {v: s}, [s])])));
		var x = d.children[0];
		x.attributes.v === s && x.children[0] === s`)
	if !got.ToBoolean() {
		t.Errorf("escaped text or attribute did not round-trip")
	}
}
