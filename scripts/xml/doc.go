// Package xml implements the script global `XML` (spec api.md §10): the
// XML.Node class, a parser (XML.parse, XML.decode) that turns a document
// into a tree of nodes, and a writer (XML.stringify, XML.encode) that turns
// such a tree back into text.
//
// Parsing uses encoding/xml's tokenizer in strict mode (RawToken: names are
// kept as written, prefixes are not resolved) plus the well-formedness checks
// the tokenizer leaves to its caller; anything malformed gives null, never a
// panic. Text is merged per run, whitespace-only runs are dropped, comments,
// processing instructions and DOCTYPE declarations are dropped. The writer
// follows the original's layout exactly and escapes `& < >` in text and
// `& < "` in attribute values (the original escapes nothing).
//
// Imports: the standard library, github.com/dop251/goja,
// github.com/pipy-go/pipy/filters (to unwrap Data arguments) and
// github.com/pipy-go/pipy/scripts/apidoc. Data results are made by the
// newData function the scripts package passes to [New], which it installs as
// the global `XML`.
package xml

import "github.com/pipy-go/pipy/scripts/apidoc"

// Docs documents the `XML` global and the `XML.Node` class for the
// generated API reference.
var Docs = []apidoc.Group{
	{
		Name: "XML",
		Doc: "Conversion between XML text and trees of `XML.Node`. A parsed document is a document node: " +
			"name `''`, attributes `{}`, children `[rootElement]`.",
		Entries: []apidoc.Entry{
			{Signature: "XML.parse(string)", Doc: "parses a document and returns its document node, or `null` when the text is not " +
				"a well-formed XML document (including: no root element, content after it, mismatched tags, undefined entities, " +
				"duplicate attributes, an encoding other than UTF-8, US-ASCII or ISO-8859-1). Element nodes have " +
				"`attributes` = an object of attribute strings in document order (names as written, `xmlns` declarations included), " +
				"or `null` when the element has none, and `children` = an array of child elements and text strings in document order. " +
				"Adjacent text (including CDATA sections and text around comments) is merged into one string; text that is only " +
				"whitespace is dropped, other text is kept verbatim with entities and character references decoded and line ends " +
				"normalized to `\\n`. Comments, processing instructions and DOCTYPE declarations are dropped. " +
				"A non-string argument throws a TypeError."},
			{Signature: "XML.decode(data)", Doc: "like `XML.parse` for the UTF-8 bytes of a Data; `null` for a null or undefined " +
				"data. Other non-Data arguments throw a TypeError."},
			{Signature: "XML.stringify(doc[, space])", Doc: "writes a document node as text. doc's `children` must hold exactly one " +
				"`XML.Node` (the root element), otherwise the result is `''`. Output: `<?xml version=\"1.0\" encoding=\"UTF-8\"?>`, " +
				"a newline if space > 0, then the root element. An element is written `<name a=\"v\" ...>` (attribute values in " +
				"their string form, in property order): with no, null or empty children as `<name/>`; with exactly one child " +
				"that is not a node as `<name>text</name>`; otherwise `>`, each child on its own line indented by space per " +
				"level (non-node children in their string form), and the closing tag at the element's indentation. With space " +
				"> 0 every line ends with a newline; with 0 there are no newlines or indentation. space is a number truncated " +
				"and clamped to 0..10 (default 0). Text is escaped (`&amp; &lt; &gt;`), attribute values too (`&amp; &lt; &quot;`); " +
				"names are written as they are. `{\"a\":{\"b\":\"1\",\"c\":\"2\"}}` converted by example 012 with space 2 gives " +
				"`<?xml version=\"1.0\" encoding=\"UTF-8\"?>\\n<a>\\n  <b>1</b>\\n  <c>2</c>\\n</a>\\n`. A null or undefined doc " +
				"gives `''`; a doc that is not an `XML.Node` throws a TypeError, and so does a tree in which a node contains itself."},
			{Signature: "XML.encode(doc[, space])", Doc: "like `XML.stringify` but returns the UTF-8 text as a Data; `null` for a null or " +
				"undefined doc."},
		},
	},
	{
		Name: "XML.Node",
		Doc:  "An XML element, or a document node when its name is `''`. Nodes made by the parser are instances too.",
		Entries: []apidoc.Entry{
			{Signature: "new XML.Node(name[, attributes[, children]])", Doc: "name is a string (required), attributes an object or " +
				"null, children an array or null (elements `XML.Node`s and text, other values written in their string form). " +
				"The objects are kept, not copied. Throws a TypeError without arguments (`requires 1 or more arguments`), for " +
				"a non-string name (`argument #1 expects a string`), non-object attributes (`argument #2 expects an object`) or " +
				"non-array children (`argument #3 expects an array`)."},
			{Signature: "node.name", Doc: "the element name (read-only)."},
			{Signature: "node.attributes", Doc: "the attributes object, or `null` (read-only)."},
			{Signature: "node.children", Doc: "the children array, or `null` (read-only property; the array itself can be changed)."},
		},
	},
}
