package layers

import (
	"fmt"

	"github.com/nngen/nngen/ir"
)

// The preprocessing layers follow Keras 3 (keras/src/layers/preprocessing/):
// Rescaling computes x·scale + offset; Normalization computes
// (x − mean)/max(√variance, 1e-7) per feature of the last axis, its mean
// and (biased) variance adapted from the training inputs before the first
// epoch, as Keras's adapt() does, and saved in checkpoints as buffers.

// NormEpsilon is Keras's backend.epsilon(): the least standard deviation
// Normalization divides by.
const NormEpsilon = 1e-7

func init() {
	Register(&Kind{
		Name:        "Rescaling",
		Featurewise: true,
		Doc:         "Rescales its input: y = x·scale + offset (Keras's Rescaling; scale 1/255 maps bytes to [0, 1]).",
		Fields: []Field{
			{Name: "scale", Type: FloatField, Doc: "The factor."},
			{Name: "offset", Type: FloatField, Default: 0.0, Doc: "Added after the scaling."},
		},
		Shape: sameShape,
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("Rescaling ×%g + %g", n.Float("scale"), n.Float("offset"))
		},
	})
	Register(&Kind{
		Name:        "Normalization",
		Featurewise: true,
		Adapts:      true,
		Doc: "Normalizes each feature of the last axis: y = (x − mean)/max(√variance, 1e-7), or with invert x·max(√variance, 1e-7) + mean. " +
			"As Keras's adapt(), train computes the mean and the biased variance of each feature over the training inputs before the first epoch " +
			"(not on --resume: they come from the checkpoint), and checkpoints store them as buffers, never trained. " +
			"The layer must read the model's input: those are the values it adapts to.",
		Fields: []Field{
			{Name: "axis", Type: IntField, Default: -1, Doc: "The feature axis: -1, the last one (the one Keras's default supports here).", Check: func(v any) string {
				if v.(int) != -1 {
					return "must be -1 (the last axis)"
				}
				return ""
			}},
			{Name: "invert", Type: BoolField, Default: false, Doc: "Undo the normalization instead: y = x·max(√variance, 1e-7) + mean."},
		},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			if n.Inputs[0].Kind != "Input" {
				return nil, fmt.Errorf("Normalization adapts to the model's input, so it must read the input, not %s (%s)", n.Inputs[0].Name, n.Inputs[0].Kind)
			}
			return sameShape(n, in)
		},
		Params: func(n *ir.Node) []ir.Param {
			c := n.Inputs[0].Shape[len(n.Inputs[0].Shape)-1]
			return []ir.Param{
				{Name: "mean", Shape: []int{c}, Init: "zeros", FanIn: c, FanOut: c, Buffer: true},
				{Name: "variance", Shape: []int{c}, Init: "ones", FanIn: c, FanOut: c, Buffer: true},
			}
		},
		Summary: func(n *ir.Node) string {
			s := fmt.Sprintf("Normalization of %d features, adapted", n.Shape[len(n.Shape)-1])
			if n.Bool("invert") {
				s += ", inverted"
			}
			return s
		},
	})
}
