package layers

import (
	"fmt"

	"github.com/nngen/nngen/ir"
)

// actField is the activation field shared by the kinds that apply one.
func actField(def any) Field {
	return Field{Name: "activation", Type: StringField, Default: def, Doc: "Activation applied to the output.", Enum: ActivationNames()}
}

func init() {
	Register(&Kind{
		Name:      "Dense",
		FlatInput: []string{"weight"},
		Mask:      passMask,
		Weights:   []Weight{{Param: "weight", Role: "kernel"}, {Param: "bias", Role: "bias"}},
		Doc:       "Fully connected layer over the last axis: y = activation(x·Wᵀ + b). The kernel is stored as PyTorch's nn.Linear.weight, [units, inputs].",
		Fields: []Field{
			{Name: "units", Type: IntField, Doc: "Number of outputs.", Check: positive},
			actField("linear"),
			{Name: "use_bias", Type: BoolField, Default: true, Doc: "Whether the layer adds a bias vector."},
			{Name: "kernel_initializer", Type: StringField, Default: "glorot_uniform", Doc: "Initializer of the kernel.", Enum: Initializers},
			{Name: "bias_initializer", Type: StringField, Default: "zeros", Doc: "Initializer of the bias.", Enum: Initializers},
		},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			s := in[0]
			return append(append([]int(nil), s[:len(s)-1]...), n.Int("units")), nil
		},
		Params: func(n *ir.Node) []ir.Param {
			in := n.Inputs[0].Shape
			fanIn, units := in[len(in)-1], n.Int("units")
			ps := []ir.Param{{Name: "weight", Shape: []int{units, fanIn}, Init: n.Str("kernel_initializer"), FanIn: fanIn, FanOut: units}}
			if n.Bool("use_bias") {
				ps = append(ps, ir.Param{Name: "bias", Shape: []int{units}, Init: n.Str("bias_initializer"), FanIn: fanIn, FanOut: units})
			}
			return ps
		},
		Act: func(n *ir.Node) string { return n.Str("activation") },
		Summary: func(n *ir.Node) string {
			in := n.Inputs[0].Shape
			return fmt.Sprintf("Dense %d→%d, %s", in[len(in)-1], n.Int("units"), n.Str("activation"))
		},
	})
}
