package xml

import (
	"os"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

var crlf = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// FuzzParse checks that XML.parse never panics and that what it accepts is
// written by XML.stringify in a form it parses back to the same tree (line
// ends aside: a CR from a character reference is written as is, unescaped
// as the spec says, and the parser reads CR LF and CR as LF).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`<a/>`,
		`<r a="1"><x>t</x><x>u</x><y/><z><w>1</w></z></r>`,
		`<a x="&lt;&amp;&quot;">x &amp; <![CDATA[<y>]]><!-- c --><?pi?>z<b/></a>`,
		`<p:a xmlns:p="urn:x" p:b="1"><p:c/></p:a>`,
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9</a>",
		`<a>&#13;&#10;x</a>`,
		`<a><b></a></b>`,
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("testdata/sample.xml"); err == nil {
		f.Add(b)
	}
	rt := goja.New()
	a := &api{rt: rt, newData: newDataFunc(rt)}
	a.proto = rt.NewObject()
	f.Fuzz(func(t *testing.T, in []byte) {
		doc := a.parse(in)
		if goja.IsNull(doc) {
			return
		}
		n := asNode(doc)
		out := a.stringify(n, 0)
		doc2 := a.parse(out)
		if goja.IsNull(doc2) {
			t.Fatalf("output of %q does not parse: %q", in, out)
		}
		d1 := crlf.Replace(dump(n, false))
		d2 := crlf.Replace(dump(asNode(doc2), false))
		if d1 != d2 {
			t.Fatalf("%q\nparsed   %s\nreparsed %s (from %q)", in, d1, d2, out)
		}
	})
}
