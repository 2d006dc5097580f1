package spec

import (
	"gopkg.in/yaml.v3"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// defaultClipNorm gives the model the largest global gradient clipping norm
// its layer kinds ask for by default (recurrent layers do), unless the
// optimizer sets clipnorm, global_clipnorm or clipvalue itself (0 turns
// clipping off).
func defaultClipNorm(m *ir.Model, top map[string]entry) {
	if e, ok := top["optimizer"]; ok && e.val.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(e.val.Content); i += 2 {
			switch e.val.Content[i].Value {
			case "clipnorm", "global_clipnorm", "clipvalue":
				return
			}
		}
	}
	for _, n := range m.Nodes {
		if k, ok := layers.Lookup(n.Kind); ok && k.GlobalClipNorm > m.Opt.GlobalClipNorm {
			m.Opt.GlobalClipNorm = k.GlobalClipNorm
		}
	}
}
