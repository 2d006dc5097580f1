package layers

import (
	"fmt"
	"math"

	"github.com/nngen/nngen/ir"
)

// The rectifier layers follow Keras 3 (keras/src/layers/activations/):
// LeakyReLU and ReLU with their fields, and PReLU with one trainable slope
// per feature of the last axis (Keras's shared_axes over all the others),
// stored as PyTorch's nn.PReLU.weight.

func nonNegative(v any) string {
	if v.(float64) < 0 {
		return "must not be negative"
	}
	return ""
}

func init() {
	Register(&Kind{
		Name:        "LeakyReLU",
		Featurewise: true,
		Doc:         "Leaky rectifier: f(x) = x for x ≥ 0, else negative_slope·x.",
		Fields: []Field{
			{Name: "negative_slope", Aliases: []string{"alpha"}, Type: FloatField, Default: 0.3, Doc: "Slope for x < 0 (Keras 2 named it alpha, which is accepted too).", Check: nonNegative},
		},
		Shape: sameShape,
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("LeakyReLU %g", n.Float("negative_slope"))
		},
	})
	Register(&Kind{
		Name:        "ReLU",
		Featurewise: true,
		Doc:         "Rectifier with Keras's options: f(x) = max_value for x ≥ max_value, x for threshold ≤ x < max_value, else negative_slope·(x − threshold).",
		Fields: []Field{
			{Name: "max_value", Type: FloatField, Default: math.Inf(1), Nullable: true, Doc: "The largest output (null or absent: none, as Keras's None).", Check: nonNegative},
			{Name: "negative_slope", Type: FloatField, Default: 0.0, Doc: "Slope below the threshold.", Check: nonNegative},
			{Name: "threshold", Type: FloatField, Default: 0.0, Doc: "The input below which the output is negative_slope·(x − threshold)."},
		},
		Shape: sameShape,
		Summary: func(n *ir.Node) string {
			s := "ReLU"
			if m := n.Float("max_value"); !math.IsInf(m, 1) {
				s += fmt.Sprintf(" max %g", m)
			}
			if a := n.Float("negative_slope"); a != 0 {
				s += fmt.Sprintf(" slope %g", a)
			}
			if t := n.Float("threshold"); t != 0 {
				s += fmt.Sprintf(" threshold %g", t)
			}
			return s
		},
	})
	Register(&Kind{
		Name:        "PReLU",
		Weights:     []Weight{{Param: "weight", Role: "alpha"}},
		Featurewise: true,
		FlatInput:   []string{"weight"},
		Doc:         "Parametric rectifier: f(x) = x for x ≥ 0, else α·x, with a trainable α per feature of the last axis (Keras's PReLU with shared_axes over the other axes), stored as PyTorch's nn.PReLU.weight.",
		Fields: []Field{
			{Name: "alpha_initializer", Type: StringField, Default: "zeros", Doc: "Initializer of α.", Enum: Initializers},
		},
		Shape: sameShape,
		Params: func(n *ir.Node) []ir.Param {
			c := n.Inputs[0].Shape[len(n.Inputs[0].Shape)-1]
			return []ir.Param{{Name: "weight", Shape: []int{c}, Init: n.Str("alpha_initializer"), FanIn: c, FanOut: c}}
		},
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("PReLU, %d slopes", n.Shape[len(n.Shape)-1])
		},
	})
}
