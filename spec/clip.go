package spec

import (
	"gopkg.in/yaml.v3"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// defaultClipNorm gives the model the largest gradient clipping norm its
// layer kinds ask for by default (recurrent layers do), unless the
// optimizer sets clipnorm itself (0 turns clipping off).
func defaultClipNorm(m *ir.Model, top map[string]entry) {
	if e, ok := top["optimizer"]; ok && e.val.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(e.val.Content); i += 2 {
			if e.val.Content[i].Value == "clipnorm" {
				return
			}
		}
	}
	for _, n := range m.Nodes {
		if k, ok := layers.Lookup(n.Kind); ok && k.ClipNorm > m.Opt.ClipNorm {
			m.Opt.ClipNorm = k.ClipNorm
		}
	}
}
