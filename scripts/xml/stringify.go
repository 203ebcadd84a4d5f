package xml

import (
	"github.com/dop251/goja"
)

const declaration = `<?xml version="1.0" encoding="UTF-8"?>`

// stringify writes doc, whose children must be exactly one XML.Node (the
// root element); otherwise the result is empty. space is 0..10.
func (a *api) stringify(doc *node, space int) []byte {
	children, n := arrayLen(doc.children)
	if n != 1 {
		return []byte{}
	}
	root := asNode(index(children, 0))
	if root == nil {
		return []byte{}
	}
	w := writer{rt: a.rt, space: space, open: map[*node]bool{}}
	w.b = append(w.b, declaration...)
	if space > 0 {
		w.b = append(w.b, '\n')
	}
	w.element(root, 0)
	return w.b
}

type writer struct {
	rt    *goja.Runtime
	b     []byte
	space int
	open  map[*node]bool // the elements being written, to catch cycles
}

func (w *writer) indent(level int) {
	for range w.space * level {
		w.b = append(w.b, ' ')
	}
}

func (w *writer) newline() {
	if w.space > 0 {
		w.b = append(w.b, '\n')
	}
}

// element writes one element at the given depth.
func (w *writer) element(n *node, level int) {
	if w.open[n] {
		panic(w.rt.NewTypeError("cyclic XML.Node structure"))
	}
	w.open[n] = true
	defer delete(w.open, n)

	name := n.name.String()
	w.indent(level)
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	if attrs, ok := n.attributes.(*goja.Object); ok {
		for _, k := range attrs.Keys() {
			v := attrs.Get(k)
			if v == nil {
				v = goja.Undefined()
			}
			w.b = append(w.b, ' ')
			w.b = append(w.b, k...)
			w.b = append(w.b, '=', '"')
			w.b = appendEscaped(w.b, v.String(), true)
			w.b = append(w.b, '"')
		}
	}

	children, count := arrayLen(n.children)
	switch {
	case count <= 0:
		w.b = append(w.b, '/', '>')
		w.newline()
		return
	case count == 1:
		if first := index(children, 0); asNode(first) == nil {
			w.b = append(w.b, '>')
			w.b = appendEscaped(w.b, first.String(), false)
			w.closeTag(name)
			return
		}
	}
	w.b = append(w.b, '>')
	w.newline()
	for i := range count {
		v := index(children, i)
		if c := asNode(v); c != nil {
			w.element(c, level+1)
			continue
		}
		w.indent(level + 1)
		w.b = appendEscaped(w.b, v.String(), false)
		w.newline()
	}
	w.indent(level)
	w.closeTag(name)
}

func (w *writer) closeTag(name string) {
	w.b = append(w.b, '<', '/')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
	w.newline()
}

// appendEscaped appends s escaping & < > (text) or & < " (attribute
// values).
func appendEscaped(b []byte, s string, attr bool) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			if attr {
				continue
			}
			esc = "&gt;"
		case '"':
			if !attr {
				continue
			}
			esc = "&quot;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}
