package pass

import (
	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// Fuse records on each node which of its computations run inside other
// code (ir.Node.Fused): the output activation that the loss folds into its
// gradient, the ReLU that a Conv2D's kernels apply as they store, and the
// backward pass of a MaxPooling2D that runs inside its Conv2D's
// per-sample backward loop. It runs after SelectKernels.
func Fuse(m *ir.Model) error {
	for _, n := range m.Nodes {
		n.Fused = ir.Fusion{}
	}
	if l, ok := layers.LookupLoss(m.Loss.Kind); ok {
		k, _ := layers.Lookup(m.Output.Kind)
		m.Output.Fused.IntoLoss = l.FusedAct != "" && k.Act != nil && k.Act(m.Output) == l.FusedAct
	}
	for _, n := range m.Nodes {
		switch n.Kind {
		case "Conv2D":
			if n.Str("activation") == "relu" {
				n.Fused.Epilogue = "relu"
			}
		case "MaxPooling2D":
			// Then the pooling's backward writes the gradient of one sample
			// of the convolution's output just before the convolution's
			// backward reads it, while it is in cache. With one consumer,
			// nothing else writes that gradient first.
			if x := n.Inputs[0]; n.BackMethod == ir.Tiles && x.Kind == "Conv2D" && len(x.Consumers) == 1 && !layers.Rowwise(x.Str("activation")) {
				n.Fused.BackwardInto = x
			}
		}
	}
	return nil
}
