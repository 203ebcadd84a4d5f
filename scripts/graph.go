package scripts

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pipy-go/pipy/filters"
)

// GraphError is a pipeline graph that fails the load check.
type GraphError struct {
	Module   string
	Message  string // "pipeline not found: X" or "recursive pipeline: X"
	Graph    string // the module's graph, printed before the error
	Location string // file:line:col of the filter naming the pipeline
}

func (e *GraphError) Error() string {
	if e.Location != "" {
		return e.Location + ": [config] " + e.Message
	}
	return "[config] " + e.Message
}

// checkGraph verifies that every pipeline a filter links to exists and that
// no chain of links leads back to a pipeline already on the path. Every
// named pipeline is checked, reachable from a root or not.
func checkGraph(p *filters.Program) error {
	for _, m := range p.Modules {
		for _, pl := range m.Pipelines {
			if err := walk(p, m, pl, nil); err != nil {
				err.Module = m.Name
				err.Graph = GraphText(p, m)
				return err
			}
		}
	}
	return nil
}

func walk(p *filters.Program, m *filters.Module, pl *filters.Pipeline, path []*filters.Pipeline) *GraphError {
	for _, q := range path {
		if q == pl {
			return &GraphError{Message: "recursive pipeline: " + pl.Name, Location: loc(path)}
		}
	}
	path = append(path, pl)
	for _, f := range pl.Filters {
		tm := m
		if f.Module != "" {
			tm = p.ByName[normalizeModule(f.Module)]
			if tm == nil {
				return &GraphError{Message: "module not found: " + f.Module, Location: f.Location}
			}
		}
		for _, t := range f.Targets {
			sub := tm.Named[t]
			if sub == nil {
				return &GraphError{Message: "pipeline not found: " + t, Location: f.Location}
			}
			if err := walk(p, tm, sub, path); err != nil {
				return err
			}
		}
	}
	return nil
}

// loc gives the location of the last filter on a path, for messages.
func loc(path []*filters.Pipeline) string {
	if n := len(path); n > 0 {
		for i := len(path[n-1].Filters) - 1; i >= 0; i-- {
			if f := path[n-1].Filters[i]; len(f.Targets) > 0 {
				return f.Location
			}
		}
	}
	return ""
}

// GraphText draws a module's pipelines as a tree: root pipelines (listens,
// tasks, and named pipelines nothing links to) with their filters, and the
// pipelines they link to indented under the linking filter.
func GraphText(p *filters.Program, m *filters.Module) string {
	var b strings.Builder
	title := "Module " + m.Name
	fmt.Fprintf(&b, "\n%s\n%s\n", title, strings.Repeat("=", len(title)))
	linked := map[string]bool{}
	for _, pl := range m.Pipelines {
		for _, f := range pl.Filters {
			if f.Module == "" {
				for _, t := range f.Targets {
					linked[t] = true
				}
			}
		}
	}
	var roots []*filters.Pipeline
	for _, pl := range m.Pipelines {
		if pl.Kind != filters.NamedPipeline || !linked[pl.Name] {
			roots = append(roots, pl)
		}
	}
	sort.SliceStable(roots, func(i, j int) bool { return rootTitle(roots[i]) < rootTitle(roots[j]) })
	for _, pl := range roots {
		fmt.Fprintf(&b, "\n [%s]\n", rootTitle(pl))
		drawFilters(&b, m, pl, "   ", nil)
	}
	return b.String()
}

func rootTitle(pl *filters.Pipeline) string {
	switch pl.Kind {
	case filters.ListenPipeline:
		return "Listen on " + pl.Name
	case filters.TaskPipeline:
		return fmt.Sprintf("%s (every %s)", pl.Name, pl.Task.Text)
	}
	return pl.Name
}

func drawFilters(b *strings.Builder, m *filters.Module, pl *filters.Pipeline, indent string, path []*filters.Pipeline) {
	path = append(path, pl)
	for _, f := range pl.Filters {
		if f.Module != "" {
			fmt.Fprintf(b, "%s%s %s %v\n", indent, f.Name, f.Module, f.Targets)
			continue
		}
		fmt.Fprintf(b, "%s%s\n", indent, f.Name)
		for _, t := range f.Targets {
			sub := m.Named[t]
			fmt.Fprintf(b, "%s |--> [%s]\n", indent, t)
			if sub == nil {
				continue
			}
			seen := false
			for _, q := range path {
				seen = seen || q == sub
			}
			if !seen {
				drawFilters(b, m, sub, indent+" |     ", path)
			}
		}
	}
}
