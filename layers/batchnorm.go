package layers

import (
	"fmt"

	"github.com/nngen/nngen/ir"
)

// BatchNormalization follows Keras 3 (keras/src/layers/normalization/
// batch_normalization.py): training normalizes by the batch mean and biased
// variance and moves the moving statistics towards them,
// moving = moving·momentum + batch·(1 − momentum); inference normalizes by the
// moving statistics. Keras 2 stores the same biased variance: its fused path
// removes the Bessel correction of the fused kernel before the update.

func init() {
	Register(&Kind{
		Name:        "BatchNormalization",
		Weights:     []Weight{{Param: "weight", Role: "gamma"}, {Param: "bias", Role: "beta"}},
		Inference:   &Inference{},
		Featurewise: true,
		Batchwise:   true,
		FlatInput:   []string{"weight", "bias", "running_mean", "running_var"},
		Doc: "Normalizes each channel (the last axis) over the batch and every other axis: y = γ·(x − μ)/√(σ² + ε) + β. " +
			"Training uses the batch mean μ and biased variance σ² and, as Keras does, moves the moving statistics towards them: " +
			"moving = moving·momentum + batch·(1 − momentum); inference uses the moving statistics. " +
			"Stored as PyTorch's nn.BatchNorm: weight (γ), bias (β), and running_mean and running_var, which are saved but never trained.",
		Fields: []Field{
			{Name: "momentum", Type: FloatField, Default: 0.99, Doc: "Weight of the old value in each update of the moving statistics.", Check: bnMomentum},
			{Name: "epsilon", Type: FloatField, Default: 0.001, Doc: "Added to the variance before the square root.", Check: bnEpsilon},
			{Name: "center", Type: BoolField, Default: true, Doc: "Whether the layer adds the offset β (bias)."},
			{Name: "scale", Type: BoolField, Default: true, Doc: "Whether the layer multiplies by the scale γ (weight)."},
			{Name: "beta_initializer", Type: StringField, Default: "zeros", Doc: "Initializer of β.", Enum: Initializers},
			{Name: "gamma_initializer", Type: StringField, Default: "ones", Doc: "Initializer of γ.", Enum: Initializers},
			{Name: "moving_mean_initializer", Type: StringField, Default: "zeros", Doc: "Initializer of the moving mean.", Enum: Initializers},
			{Name: "moving_variance_initializer", Type: StringField, Default: "ones", Doc: "Initializer of the moving variance.", Enum: Initializers},
		},
		Shape: sameShape,
		Params: func(n *ir.Node) []ir.Param {
			c := n.Inputs[0].Shape[len(n.Inputs[0].Shape)-1]
			p := func(name, init string, buffer bool) ir.Param {
				return ir.Param{Name: name, Shape: []int{c}, Init: n.Str(init), FanIn: c, FanOut: c, Buffer: buffer}
			}
			var ps []ir.Param
			if n.Bool("scale") {
				ps = append(ps, p("weight", "gamma_initializer", false))
			}
			if n.Bool("center") {
				ps = append(ps, p("bias", "beta_initializer", false))
			}
			return append(ps, p("running_mean", "moving_mean_initializer", true), p("running_var", "moving_variance_initializer", true))
		},
		Summary: func(n *ir.Node) string {
			s := fmt.Sprintf("BatchNormalization of %d channels, momentum %g, epsilon %g", n.Shape[len(n.Shape)-1], n.Float("momentum"), n.Float("epsilon"))
			if !n.Bool("scale") {
				s += ", no scale"
			}
			if !n.Bool("center") {
				s += ", no center"
			}
			return s
		},
	})
}

// bnMomentum and bnEpsilon check the fields of the same names.
func bnMomentum(v any) string {
	if f := v.(float64); f < 0 || f > 1 {
		return "must be in [0, 1]"
	}
	return ""
}

func bnEpsilon(v any) string {
	if v.(float64) <= 0 {
		return "must be positive"
	}
	return ""
}
