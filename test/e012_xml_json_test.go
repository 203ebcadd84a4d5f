package test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// 012-xml-json: XML -> JSON on 6080, JSON -> XML on 6081.
func TestExample012XMLJSON(t *testing.T) {
	script := examplePath(t, "012-xml-json")
	dir := filepath.Dir(script)
	sampleXML, err := os.ReadFile(filepath.Join(dir, "sample.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sampleJSON, err := os.ReadFile(filepath.Join(dir, "sample.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := startScript(t, script, 6080, 6081)

	post := func(t *testing.T, port int, ctype string, body []byte) *response {
		t.Helper()
		raw := fmt.Sprintf("POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
			port, ctype, len(body), body)
		r := rawRequest(t, port, raw)
		expectStatus(t, r, "HTTP/1.1", "200 OK")
		return r
	}

	t.Run("sample.xml->json", func(t *testing.T) {
		r := post(t, 6080, "application/xml", sampleXML)
		var got, want any
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatalf("response is not JSON: %v\n%s", err, r.Body)
		}
		if err := json.Unmarshal(sampleJSON, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("JSON = %s\nwant (as parsed) %s", r.Body, sampleJSON)
		}
		if cds, ok := got.(map[string]any)["CATALOG"].(map[string]any)["CD"].([]any); !ok || len(cds) != 26 {
			t.Errorf("want 26 CD entries")
		}
	})

	t.Run("small-xml->json", func(t *testing.T) {
		r := post(t, 6080, "application/xml", []byte(`<r a="1"><x>t</x><x>u</x><y/><z><w>1</w></z></r>`))
		var got, want any
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatalf("response is not JSON: %v\n%s", err, r.Body)
		}
		json.Unmarshal([]byte(`{"r":{"x":["t","u"],"y":{},"z":{"w":"1"}}}`), &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("JSON = %s, want (up to key order) %s", r.Body, `{"r":{"x":["t","u"],"y":{},"z":{"w":"1"}}}`)
		}
	})

	t.Run("sample.json->xml", func(t *testing.T) {
		r := post(t, 6081, "application/json", sampleJSON)
		const decl = `<?xml version="1.0" encoding="UTF-8"?>`
		if !strings.HasPrefix(string(r.Body), decl) {
			t.Errorf("XML does not start with %s: %.100q", decl, r.Body)
		}
		got, err := e012ParseXML(r.Body)
		if err != nil {
			t.Fatalf("response is not XML: %v\n%s", err, r.Body)
		}
		want, err := e012ParseXML(sampleXML)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := got.canon(), want.canon(); g != w {
			t.Errorf("XML tree differs from sample.xml's:\n got %s\nwant %s", g, w)
		}
	})

	t.Run("small-json->xml", func(t *testing.T) {
		r := post(t, 6081, "application/json", []byte(`{"a":{"b":"1","c":"2"}}`))
		expectBody(t, r, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>\n  <b>1</b>\n  <c>2</c>\n</a>\n")
	})

	p.stopOK()
}

// e012Node is a generic XML element: name, trimmed text, child elements.
type e012Node struct {
	name     string
	text     string
	children []*e012Node
}

// e012ParseXML parses a document with a single root element.
func e012ParseXML(b []byte) (*e012Node, error) {
	d := xml.NewDecoder(strings.NewReader(string(b)))
	root := &e012Node{name: "#document"}
	stack := []*e012Node{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		top := stack[len(stack)-1]
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &e012Node{name: tok.Name.Local}
			top.children = append(top.children, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.text += string(tok)
		}
	}
	if len(stack) != 1 {
		return nil, fmt.Errorf("unbalanced document")
	}
	if len(root.children) != 1 {
		return nil, fmt.Errorf("document has %d root elements", len(root.children))
	}
	return root.children[0], nil
}

// canon renders the tree, ignoring surrounding whitespace in text and the
// order of children within each CD element.
func (n *e012Node) canon() string {
	var parts []string
	for _, c := range n.children {
		parts = append(parts, c.canon())
	}
	if n.name == "CD" {
		sort.Strings(parts)
	}
	return fmt.Sprintf("<%s>%s%s</%s>", n.name, e012XMLEscape(strings.TrimSpace(n.text)), strings.Join(parts, ""), n.name)
}

func e012XMLEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
