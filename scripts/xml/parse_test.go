package xml

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

func parseDump(t testing.TB, rt *goja.Runtime, text string) string {
	t.Helper()
	doc := call(t, rt, "XML.parse", text)
	if goja.IsNull(doc) {
		return "null"
	}
	n := asNode(doc)
	if n == nil {
		t.Fatalf("XML.parse(%q) returned %v", text, doc)
	}
	return dump(n, false)
}

func TestParse(t *testing.T) {
	rt := newRuntime(t)
	tests := []struct{ in, want string }{
		{`<a/>`, `[](a())`},
		{`<a></a>`, `[](a())`},
		{"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>x</a>\n", `[](a('x'))`},
		{"\ufeff<?xml version=\"1.0\"?><a/>", `[](a())`},
		{`<a x="1" y='2'><b z="&lt;&amp;&quot;"/></a>`, `[](a[x=1;y=2;](b[z=<&";]()))`},
		{"<a>\n  <b>1</b>\n  \t<c/>\n</a>", `[](a(b('1'),c()))`},
		{`<a> x <b/> y </a>`, `[](a(' x ',b(),' y '))`},
		{`<a>x &amp; y &#65;&#x42; &lt;z&gt;</a>`, `[](a('x & y AB <z>'))`},
		{`<a>x<![CDATA[ <y> ]]>z</a>`, `[](a('x <y> z'))`},
		{`<a>x<!-- c -->y<?pi data?>z</a>`, `[](a('xyz'))`},
		{"<a>  <!-- c -->\n  </a>", `[](a())`},
		{"<!DOCTYPE a><!-- c --><a/><!-- d -->\n<?pi?>", `[](a())`},
		{`<p:a xmlns:p="urn:x" p:b="1"><p:c/></p:a>`, `[](p:a[xmlns:p=urn:x;p:b=1;](p:c()))`},
		{"<a>line1\r\nline2\rline3</a>", "[](a('line1\nline2\nline3'))"},
		{`<a>héllo 😀</a>`, `[](a('héllo 😀'))`},
		{"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9</a>", `[](a('café'))`},
		{`<?xml version="1.0" encoding="US-ASCII"?><a>x</a>`, `[](a('x'))`},
		{`<a __proto__="x" constructor="y"/>`, `[](a[__proto__=x;constructor=y;]())`},
	}
	for _, tc := range tests {
		if got := parseDump(t, rt, tc.in); got != tc.want {
			t.Errorf("XML.parse(%q):\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
	if got := parseDump(t, rt, manyAttrs(20, 19)); !strings.HasSuffix(got, ";x18=18;x19=last;]())") {
		t.Errorf("20 attributes: %s", got)
	}
}

func TestParseMalformed(t *testing.T) {
	rt := newRuntime(t)
	for _, in := range []string{
		``,
		`   `,
		`text`,
		`<a>`,
		`</a>`,
		`<a></b>`,
		`<a><b></a></b>`,
		`<a/><b/>`,
		`<a/>text`,
		`text<a/>`,
		`<a>&foo;</a>`,
		`<a>&amp</a>`,
		`<a x="1" x="2"/>`,
		`<a x=1/>`,
		`<a x/>`,
		`<a><?xml version="1.0"?></a>`,
		` <?xml version="1.0"?><a/>`,
		`<?xml version="2.0"?><a/>`,
		`<?xml version="1.0" encoding="EBCDIC"?><a/>`,
		"<a>\xff</a>",
		"<a>&#0;</a>",
		`<a><!-- x </a>`,
		`<a><![CDATA[x</a>`,
		`<1a/>`,
		`<a b="<"/>`,
		manyAttrs(20, 5),
		manyAttrs(20, 0),
		manyAttrs(3, 1),
	} {
		if got := parseDump(t, rt, in); got != "null" {
			t.Errorf("XML.parse(%q) = %s, want null", in, got)
		}
	}
}

// manyAttrs returns an element with n attributes, the last named like
// attribute dup.
func manyAttrs(n, dup int) string {
	var b strings.Builder
	b.WriteString("<a")
	for i := range n - 1 {
		fmt.Fprintf(&b, ` x%d="%d"`, i, i)
	}
	fmt.Fprintf(&b, ` x%d="last"/>`, dup)
	return b.String()
}

func TestDecode(t *testing.T) {
	rt := newRuntime(t)
	if got := run(t, rt, `
		var doc = XML.decode(Data('<a k="v">t</a>'));
		[doc instanceof XML.Node, doc.name === '', JSON.stringify(doc.attributes), doc.children.length,
		 doc.children[0] instanceof XML.Node, doc.children[0].name, JSON.stringify(doc.children[0].attributes),
		 doc.children[0].children[0]].join('|')`).String(); got != `true|true|{}|1|true|a|{"k":"v"}|t` {
		t.Errorf("got %s", got)
	}
	if got := run(t, rt, `XML.parse('<a><b/></a>').children[0].children[0].attributes`); !goja.IsNull(got) {
		t.Errorf("attributes of <b/>: %v, want null", got)
	}
	for _, src := range []string{`XML.decode(null)`, `XML.decode(undefined)`, `XML.decode(Data('<a>'))`, `XML.decode(Data(''))`} {
		if got := run(t, rt, src); !goja.IsNull(got) {
			t.Errorf("%s = %v, want null", src, got)
		}
	}
	for _, src := range []string{`XML.decode('<a/>')`, `XML.decode({})`, `XML.parse()`, `XML.parse(1)`, `XML.parse(Data('<a/>'))`} {
		if _, err := rt.RunString(src); err == nil || !strings.Contains(err.Error(), "TypeError") {
			t.Errorf("%s: err %v, want a TypeError", src, err)
		}
	}
}

func TestNode(t *testing.T) {
	rt := newRuntime(t)
	got := run(t, rt, `
		var kids = ['x'];
		var attrs = {k: 'v'};
		var n = new XML.Node('a', attrs, kids);
		var m = new XML.Node('b');
		var f = XML.Node('c', null, null);
		class Sub extends XML.Node {}
		var s = new Sub('d');
		n.name = 'z'; n.children = null;           // sloppy mode: ignored
		kids.push('y');
		[n instanceof XML.Node, n.name, n.attributes === attrs, n.children === kids, n.children.length,
		 m.attributes, m.children, f instanceof XML.Node, f.name,
		 s instanceof Sub, s instanceof XML.Node, s.name,
		 JSON.stringify(n), Object.keys(m).join(), XML.Node.name, XML.Node.length,
		 typeof XML.parse, XML.stringify.length].join('|')`).String()
	want := `true|a|true|true|2|||true|c|true|true|d|{"name":"a","attributes":{"k":"v"},"children":["x","y"]}|name,attributes,children|Node|1|function|1`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := rt.RunString(`'use strict'; new XML.Node('a').name = 'b'`); err == nil {
		t.Errorf("assignment to name in strict mode did not throw")
	}
	for src, msg := range map[string]string{
		`new XML.Node()`:                 "requires 1 or more arguments",
		`new XML.Node(1)`:                "argument #1 expects a string",
		`new XML.Node('a', 'b')`:         "argument #2 expects an object",
		`new XML.Node('a', null, {})`:    "argument #3 expects an array",
		`new XML.Node('a', null, 'abc')`: "argument #3 expects an array",
	} {
		_, err := rt.RunString(src)
		if err == nil || !strings.Contains(err.Error(), "TypeError: "+msg) {
			t.Errorf("%s: err %v, want TypeError %q", src, err, msg)
		}
	}
}
