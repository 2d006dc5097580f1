package pass

import (
	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// Fuse records on each node which of its computations run inside other
// code (ir.Node.Fused): the output activation that the loss folds into its
// gradient, then each kind's own rule (a Conv2D's ReLU epilogue, the
// backward pass of a MaxPooling2D inside its Conv2D's per-sample loop). It
// runs after SelectKernels.
func Fuse(m *ir.Model) error {
	for _, n := range m.Nodes {
		n.Fused = ir.Fusion{}
	}
	if _, ok := layers.LookupLoss(m.Loss.Kind); ok {
		k, _ := layers.Lookup(m.Output.Kind)
		fa := layers.LossFusedAct(m)
		m.Output.Fused.IntoLoss = fa != "" && k.Act != nil && k.Act(m.Output) == fa
	}
	for _, n := range m.Nodes {
		if k, ok := layers.Lookup(n.Kind); ok && k.Fuse != nil {
			k.Fuse(n)
		}
	}
	return nil
}
