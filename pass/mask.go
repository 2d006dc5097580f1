package pass

import (
	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// Masks follows each mask of sequence steps (Keras's masking: an
// Embedding with mask_zero masks the steps of token id 0) from its source
// down the graph: a node whose kind honours a mask gets it in
// ir.Node.Mask, one that passes it on hands it to its consumers, and a
// node whose kind cannot take a masked input is refused, as Keras refuses
// a layer that does not support masking.
func Masks(m *ir.Model) error {
	var errs ErrorList
	out := map[*ir.Node]*ir.Node{} // the mask of each node's output
	for _, n := range m.Nodes[1:] {
		n.Mask = nil
		k, ok := layers.Lookup(n.Kind)
		if !ok {
			continue
		}
		var src *ir.Node
		for i, in := range n.Inputs {
			s := out[in]
			switch {
			case s == nil:
				continue
			case k.Mask == nil:
				errs.errorf(n.Pos, "%s %s cannot take the masked steps of %s: Embedding %s (line %d) has mask_zero, and only recurrent layers, GlobalAveragePooling1D, Dense, Dropout, Activation and SpatialDropout1D take a mask (Keras's supports_masking); set mask_zero: false, or pool the steps first", n.Kind, n.Name, layers.RefName(in), s.Name, s.Pos.Line)
			case i > 0:
				errs.errorf(n.Pos, "%s %s: its input %s is masked (mask_zero of Embedding %s, line %d); only the first input of a layer can be", n.Kind, n.Name, layers.RefName(in), s.Name, s.Pos.Line)
			default:
				src = s
				continue
			}
			src = nil
			break
		}
		if k.MasksZero != nil && k.MasksZero(n) {
			out[n] = n
		}
		if src == nil {
			continue
		}
		uses, passes := k.Mask(n)
		if uses {
			n.Mask = src
		}
		if passes {
			out[n] = src
		}
	}
	if s := out[m.Output]; s != nil && m.Output != nil {
		errs.errorf(m.Loss.Pos, "the loss cannot weigh out the masked steps of output %s (mask_zero of Embedding %s, line %d), as Keras's does: end the model in a layer that consumes the mask (a recurrent layer without return_sequences, GlobalAveragePooling1D), or set mask_zero: false", m.Output.Name, s.Name, s.Pos.Line)
	}
	return errs.Err()
}
