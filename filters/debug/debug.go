// Package debug holds the filters for looking at a stream: dummy (eats
// every event), print (writes Data to the standard output) and dump (writes
// every event, with heads and a hex dump).
package debug

import (
	"github.com/pipy-go/pipy/filters"

	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dop251/goja"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "dummy", Args: "", Description: "Eats up all events",
		Make: func(a *filters.Args) (filters.Template, error) { return dummyTemplate{}, nil },
	})
	filters.Register(&filters.Spec{
		Name: "print", Args: "", Description: "Outputs raw data to the standard output",
		Make: func(a *filters.Args) (filters.Template, error) { return printTemplate{}, nil },
	})
	filters.Register(&filters.Spec{
		Name: "dump", Args: "[tag]", Description: "Outputs events to the standard output",
		Params: []filters.Param{{Name: "tag", Type: "string|function", Help: "Tag that is printed alongside of the events"}},
		Make: func(a *filters.Args) (filters.Template, error) {
			return &dumpTemplate{tag: filters.NewLazy(a.Get(0))}, nil
		},
	})
}

type dummyTemplate struct{}

func (dummyTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return filters.SinkFunc(func(evt filters.Event) {
		if d, ok := evt.(*filters.Data); ok {
			d.Release()
		}
	})
}

type printTemplate struct{}

func (printTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &printer{s: s, out: out}
}

// printer writes the text of Data events to the output, one line per LF or
// per 100 characters, dropping control characters.
type printer struct {
	s    *filters.Session
	out  filters.Sink
	line []byte
}

func (p *printer) Input(evt filters.Event) {
	switch e := evt.(type) {
	case *filters.Data:
		e.Chunks(func(b []byte) {
			for _, c := range b {
				if c == '\n' {
					p.flush()
					continue
				}
				if c < 0x20 {
					continue
				}
				p.line = append(p.line, c)
				if len(p.line) >= 100 {
					p.flush()
				}
			}
		})
	case *filters.MessageEnd, *filters.SessionEnd:
		if len(p.line) > 0 {
			p.flush()
		}
	}
	p.out.Input(evt)
}

func (p *printer) flush() {
	p.s.Env().Print(string(p.line))
	p.line = p.line[:0]
}

type dumpTemplate struct{ tag filters.Lazy }

func (t *dumpTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return &dumper{t: t, s: s, out: out}
}

type dumper struct {
	t   *dumpTemplate
	s   *filters.Session
	out filters.Sink
}

func (d *dumper) Input(evt filters.Event) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s [dump] [context=%d] ", timestamp(), d.s.Context.ID)
	if d.t.tag.IsSet() {
		v, err := d.t.tag.Eval(d.s)
		if err != nil {
			d.s.Abort(err)
			return
		}
		fmt.Fprintf(&b, "[%s] ", v.String())
	}
	b.WriteString(evt.Kind().String())
	switch e := evt.(type) {
	case *filters.MessageStart:
		if e.Head != nil {
			b.WriteString(" ")
			b.WriteString(headJSON(d.s, e.Head))
		}
	case *filters.SessionEnd:
		fmt.Fprintf(&b, " [%d] %s", e.Err, e.Message)
	case *filters.Data:
		fmt.Fprintf(&b, " [size=%d]", e.Size())
		if e.Size() > 0 {
			b.WriteString("\n")
			b.WriteString(hexDump(e.Bytes()))
		}
	}
	for _, line := range strings.Split(b.String(), "\n") {
		d.s.Env().Print(line)
	}
	d.out.Input(evt)
}

func headJSON(s *filters.Session, head any) string {
	switch h := head.(type) {
	case goja.Value:
		if o, ok := h.(*goja.Object); ok {
			if b, err := json.Marshal(o.Export()); err == nil {
				return string(b)
			}
		}
		return h.String()
	case filters.Head:
		return headJSON(s, s.Script().HeadValue(h))
	}
	return fmt.Sprint(head)
}

func hexDump(p []byte) string {
	var b strings.Builder
	dashes := strings.Repeat("-", 68)
	b.WriteString(dashes + "\n")
	for i := 0; i < len(p); i += 16 {
		row := p[i:min(i+16, len(p))]
		for j := 0; j < 16; j++ {
			if j < len(row) {
				fmt.Fprintf(&b, "%02X ", row[j])
			} else {
				b.WriteString(" - ")
			}
		}
		b.WriteString(" | ")
		for j := 0; j < 16; j++ {
			if j < len(row) {
				c := row[j]
				if c < 0x20 || c == 0x7f {
					c = '?'
				}
				if c >= 0x80 {
					c = '?'
				}
				b.WriteByte(c)
			} else {
				b.WriteByte('.')
			}
		}
		b.WriteString("\n")
	}
	b.WriteString(dashes)
	return b.String()
}

// timestamp is the time as dump prints it.
func timestamp() string { return time.Now().Format("2006-01-02 15:04:05") }
