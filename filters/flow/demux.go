package flow

import (
	"github.com/pipy-go/pipy/filters"
)

func init() {
	filters.Register(&filters.Spec{
		Name: "demux", Args: "target", Description: "Sends messages to a different pipeline with each one in its own session and context",
		Params: []filters.Param{{Name: "target", Type: "string", Help: "Name of the pipeline to send messages to"}},
		Make: func(a *filters.Args) (filters.Template, error) {
			name, err := requireString(a, 0)
			if err != nil {
				return nil, err
			}
			return &demuxTemplate{target: name, module: a.Module}, nil
		},
		Sub: filters.FirstArg,
	})
}

type demuxTemplate struct {
	target string
	module *filters.Module
}

func (t *demuxTemplate) New(s *filters.Session, out filters.Sink) filters.Sink {
	return filters.NewDemux(s, t.target, t.pipeline, out)
}

// pipeline finds the target when a message starts.
func (t *demuxTemplate) pipeline() *filters.Pipeline { return t.module.Named[t.target] }
