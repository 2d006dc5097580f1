package layers

import (
	"fmt"

	"github.com/nngen/nngen/ir"
)

func sameShape(n *ir.Node, in [][]int) ([]int, error) { return append([]int(nil), in[0]...), nil }

func init() {
	Register(&Kind{
		Name:        "Activation",
		Featurewise: true,
		Mask:        passMask,
		Doc:         "Applies an activation function to its input.",
		Fields:      []Field{actField(nil)},
		Shape:       sameShape,
		Act:         func(n *ir.Node) string { return n.Str("activation") },
		Summary: func(n *ir.Node) string {
			return "Activation " + n.Str("activation")
		},
	})
	Register(&Kind{
		Name:        "Dropout",
		Inference:   &Inference{},
		Mask:        passMask,
		Featurewise: true,
		Doc:         "Sets each input to zero with probability rate during training and scales the others by 1/(1−rate); the identity at inference. Masks come from the model's seeded generator, one stream per step.",
		Fields: []Field{{Name: "rate", Type: FloatField, Doc: "Fraction of the inputs to drop.", Check: func(v any) string {
			if r := v.(float64); r < 0 || r >= 1 {
				return "must be in [0, 1)"
			}
			return ""
		}}},
		Alias: AliasInference,
		Shape: sameShape,
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("Dropout %g", n.Float("rate"))
		},
	})
	Register(&Kind{
		Name:  "Flatten",
		Doc:   "Flattens each sample to one axis. Costs nothing: the output is the input's memory.",
		Alias: AliasAlways,
		Shape: func(n *ir.Node, in [][]int) ([]int, error) { return []int{ir.Prod(in[0])}, nil },
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("Flatten %v→[%d]", n.Inputs[0].Shape, n.Size())
		},
	})
}
