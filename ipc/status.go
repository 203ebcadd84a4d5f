package ipc

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// StatusText renders the SIGTSTP pipeline table from pipeline rows: current
// pipelines sorted by name, then [STALE] ones, then a TOTAL row; every
// column as wide as its widest cell, every cell followed by two spaces.
func StatusText(rows []PipelineStat) string {
	rows = append([]PipelineStat(nil), rows...)
	sort.SliceStable(rows, func(i, j int) bool {
		si, sj := strings.HasPrefix(rows[i].Name, "[STALE]"), strings.HasPrefix(rows[j].Name, "[STALE]")
		if si != sj {
			return sj
		}
		return rows[i].Name < rows[j].Name
	})
	var cells [][]string
	var ta, tn int64
	for _, r := range rows {
		cells = append(cells, []string{"  " + r.Name, strconv.FormatInt(r.Allocated, 10), strconv.FormatInt(r.Active, 10)})
		ta += r.Allocated
		tn += r.Active
	}
	cells = append(cells, []string{"TOTAL", strconv.FormatInt(ta, 10), strconv.FormatInt(tn, 10)})
	return "\n" + Table([]string{"PIPELINE", "#ALLOCATED", "#ACTIVE"}, cells) + "\n"
}

// SumPipelines adds up rows of the same name (the same pipeline in several
// workers).
func SumPipelines(stats []*WorkerStat) []PipelineStat {
	idx := map[string]int{}
	var out []PipelineStat
	for _, s := range stats {
		if s == nil {
			continue
		}
		for _, p := range s.Pipelines {
			i, ok := idx[p.Name]
			if !ok {
				i = len(out)
				idx[p.Name] = i
				out = append(out, PipelineStat{Name: p.Name})
			}
			out[i].Allocated += p.Allocated
			out[i].Active += p.Active
		}
	}
	return out
}

// Table renders rows under a header as the status dump does: every column
// as wide as its widest cell, every cell left-aligned and followed by two
// spaces, a dashes line under the header.
func Table(header []string, rows [][]string) string {
	w := make([]int, len(header))
	for i, h := range header {
		w[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			w[i] = max(w[i], len(c))
		}
	}
	var b strings.Builder
	line := func(r []string) {
		for i, c := range r {
			fmt.Fprintf(&b, "%-*s  ", w[i], c)
		}
		b.WriteString("\n")
	}
	line(header)
	total := 0
	for _, x := range w {
		total += x + 2
	}
	b.WriteString(strings.Repeat("-", total) + "\n")
	for _, r := range rows {
		line(r)
	}
	return b.String()
}
