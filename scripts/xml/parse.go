package xml

import (
	"bytes"
	stdxml "encoding/xml"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// frame is an element being parsed; the document itself is the bottom
// frame.
type frame struct {
	name     string
	attrs    goja.Value    // object or null
	children []interface{} // goja values: nodes and strings
	text     []byte        // pending character data, merged
}

// flush appends the pending text as one string child unless it is only
// whitespace.
func (f *frame) flush(rt *goja.Runtime) {
	if len(f.text) == 0 {
		return
	}
	if !isSpace(f.text) {
		f.children = append(f.children, rt.ToValue(string(f.text)))
	}
	f.text = f.text[:0]
}

var errMalformed = errors.New("malformed XML")

// parse parses a document into its document node, or returns null when b
// is not a well-formed XML document.
//
// Parsing uses encoding/xml's tokenizer in strict mode with RawToken, so
// element and attribute names stay as written (prefix:local) as with a
// parser without namespace processing (the original uses expat that way).
// RawToken does not match start and end tags; parse does, and also rejects
// what expat rejects and the tokenizer lets through: a missing root element,
// content after the root element, non-whitespace text outside it, an XML
// declaration that is not at the start, and duplicate attributes.
func (a *api) parse(b []byte) goja.Value {
	root, err := a.parseDocument(b)
	if err != nil {
		return goja.Null()
	}
	doc := &node{
		name:       a.rt.ToValue(""),
		attributes: a.rt.NewObject(),
		children:   a.rt.NewArray(root),
	}
	return a.wrap(doc, a.proto)
}

func (a *api) parseDocument(b []byte) (root goja.Value, err error) {
	rt := a.rt
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	d := stdxml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.CharsetReader = charsetReader
	var stack []*frame
	for {
		offset := d.InputOffset()
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case stdxml.StartElement:
			if len(stack) == 0 && root != nil {
				return nil, errMalformed // a second root element
			}
			if len(stack) > 0 {
				stack[len(stack)-1].flush(rt)
			}
			f := &frame{name: qname(t.Name), attrs: goja.Null()}
			if len(t.Attr) > 0 {
				attrs := rt.NewObject()
				if hasDuplicate(t.Attr) {
					return nil, errMalformed
				}
				for _, at := range t.Attr {
					k := qname(at.Name)
					// Defined, not set: an attribute named __proto__ must
					// not change the object's prototype.
					attrs.DefineDataProperty(k, rt.ToValue(at.Value), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
				}
				f.attrs = attrs
			}
			stack = append(stack, f)
		case stdxml.EndElement:
			if len(stack) == 0 {
				return nil, errMalformed
			}
			f := stack[len(stack)-1]
			if qname(t.Name) != f.name {
				return nil, errMalformed // mismatched end tag
			}
			f.flush(rt)
			stack = stack[:len(stack)-1]
			n := a.wrap(&node{
				name:       rt.ToValue(f.name),
				attributes: f.attrs,
				children:   rt.NewArray(f.children...),
			}, a.proto)
			if len(stack) == 0 {
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
		case stdxml.CharData:
			if len(stack) == 0 {
				if !isSpace(t) {
					return nil, errMalformed // text outside the root element
				}
				continue
			}
			f := stack[len(stack)-1]
			f.text = append(f.text, t...)
		case stdxml.ProcInst:
			if t.Target == "xml" && offset != 0 {
				return nil, errMalformed // declaration not at the start
			}
		case stdxml.Comment, stdxml.Directive:
			// Dropped.
		}
	}
	if len(stack) > 0 || root == nil {
		return nil, errMalformed // unclosed element or no root element
	}
	return root, nil
}

// hasDuplicate reports whether an attribute name repeats. (Names compare
// like their qnames: the tokenizer splits a name at its first colon or not
// at all.)
func hasDuplicate(attrs []stdxml.Attr) bool {
	if len(attrs) > 16 {
		seen := make(map[stdxml.Name]bool, len(attrs))
		for _, a := range attrs {
			if seen[a.Name] {
				return true
			}
			seen[a.Name] = true
		}
		return false
	}
	for i, a := range attrs {
		for _, b := range attrs[:i] {
			if a.Name == b.Name {
				return true
			}
		}
	}
	return false
}

func qname(n stdxml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// isSpace reports whether b consists only of the characters C's isspace
// accepts (the original's test for dropping text).
func isSpace(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\v', '\f', '\r':
		default:
			return false
		}
	}
	return true
}

// charsetReader supports the single-byte encodings expat has built in
// besides UTF-8 and UTF-16: ISO-8859-1 and US-ASCII.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "latin1", "iso_8859-1", "l1":
		b, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(b))
		for _, c := range b {
			out = utf8.AppendRune(out, rune(c))
		}
		return bytes.NewReader(out), nil
	case "us-ascii", "ascii":
		return input, nil
	}
	return nil, errors.New("unsupported encoding " + charset)
}
