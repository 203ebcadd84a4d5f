package xml_test

import (
	"fmt"

	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/scripts/xml"
)

func ExampleNew() {
	rt := goja.New()
	newData := func(b []byte) goja.Value { return rt.ToValue(string(b)) } // the scripts package makes a Data
	rt.Set("XML", xml.New(rt, newData))
	v, _ := rt.RunString(`
		var doc = XML.parse('<a x="1"><b>one &amp; two</b><c/></a>');
		var a = doc.children[0];
		a.children.push(new XML.Node('d', {y: '"2"'}, ['<3>']));
		XML.stringify(doc, 2)`)
	fmt.Print(v)
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <a x="1">
	//   <b>one &amp; two</b>
	//   <c/>
	//   <d y="&quot;2&quot;">&lt;3&gt;</d>
	// </a>
}
