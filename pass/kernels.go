package pass

import (
	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// SelectKernels chooses, from the shapes, how each node whose kind has
// several ways is computed (ir.Node.Method and BackMethod), by its kind's
// Select rule: a Conv2D as Winograd's F(2×2, 3×3), one fused kernel per
// sample, shifted products or im2col; a MaxPooling2D by the MaxPool
// kernels or by recorded maxima.
func SelectKernels(m *ir.Model) error {
	for _, n := range m.Nodes {
		n.Method, n.BackMethod = "", ""
		if k, ok := layers.Lookup(n.Kind); ok && k.Select != nil {
			n.Method, n.BackMethod = k.Select(n)
		}
	}
	return nil
}
