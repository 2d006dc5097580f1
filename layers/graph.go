package layers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
)

// The kinds of models with several inputs: InputSlice, one of the model's
// named inputs, and Dot, the merge of a siamese network's two branches.

// RefName is how a spec names node n: layer.output for an Output node
// (enc.state_h), else its name.
func RefName(n *ir.Node) string {
	if n.Kind == "Output" {
		return n.Inputs[0].Name + "." + n.Str("output")
	}
	return n.Name
}

func init() {
	Register(&Kind{
		Name:     "InputSlice",
		Internal: true,
		Doc:      "One of several named model inputs: the values offset to offset+size of each sample of the model input, which holds the named inputs side by side in the order of the spec's inputs list.",
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			return slices.Clone(n.Attrs["shape"].([]int)), nil
		},
		Summary: func(n *ir.Node) string {
			off := n.Int("offset")
			return fmt.Sprintf("model input %s, values %d to %d of a sample's %d", n.Name, off, off+n.Size(), n.Inputs[0].Size())
		},
	})
	Register(&Kind{
		Name:     "Output",
		Internal: true,
		Doc:      "One of the extra outputs of its input layer (a recurrent layer's final state with return_state), which a spec names as layer.output: the layer's code writes its values and reads its gradient.",
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			l, name := n.Inputs[0], n.Str("output")
			if o, ok := OutputOf(l, name); ok {
				return slices.Clone(o.Shape), nil
			}
			var names []string
			if k := registry[l.Kind]; k.Outputs != nil {
				for _, o := range k.Outputs(l) {
					names = append(names, l.Name+"."+o.Name)
				}
			}
			if k := registry[l.Kind]; len(names) == 0 && k.Outputs != nil {
				return nil, fmt.Errorf("%s.%s: layer %s (%s, line %d) returns no states: set return_state: true on it", l.Name, name, l.Name, l.Kind, l.Pos.Line)
			}
			if len(names) == 0 {
				return nil, fmt.Errorf("%s.%s: layer %s (%s, line %d) has one output, %s", l.Name, name, l.Name, l.Kind, l.Pos.Line, l.Name)
			}
			return nil, fmt.Errorf("%s.%s: layer %s (%s, line %d) has no output %s; its outputs are %s and %s", l.Name, name, l.Name, l.Kind, l.Pos.Line, name, l.Name, strings.Join(names, ", "))
		},
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("%s, output %s of layer %s, %v", RefName(n), n.Str("output"), n.Inputs[0].Name, n.Shape)
		},
	})
	Register(&Kind{
		Name: "Dot",
		Doc: "Dot product of two inputs of one axis per sample, as Keras's Dot: y = Σᵢ x₁ᵢ·x₂ᵢ, of shape [1]. With normalize, each input is first L2-normalized along its axis " +
			"(Keras's l2_normalize, x/√max(Σx², 1e-12)), so that y is the cosine similarity of the two.",
		Fields: []Field{
			{Name: "axes", Type: IntsField, Broadcast: 2, Doc: "The axis of each input to take the product along, as Keras counts it: 1 (or −1), the one axis of a sample; an integer stands for both.", Check: func(v any) string {
				a := v.([]int)
				if len(a) != 2 {
					return "must be an integer or a list of 2 integers"
				}
				for _, x := range a {
					if x != 1 && x != -1 {
						return "must be 1 or -1 (the one axis of a sample; 0 is the batch)"
					}
				}
				return ""
			}},
			{Name: "normalize", Type: BoolField, Default: false, Doc: "Whether to L2-normalize the inputs along the axes first: the product is then their cosine similarity."},
		},
		MinInputs: 2,
		MaxInputs: 2,
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			for i, s := range in {
				if len(s) != 1 {
					return nil, fmt.Errorf("inputs must have one axis per sample, but %s is %v", n.Inputs[i].Name, s)
				}
			}
			if in[0][0] != in[1][0] {
				return nil, fmt.Errorf("inputs must have the same size along the axes: %s is %v but %s is %v", n.Inputs[0].Name, in[0], n.Inputs[1].Name, in[1])
			}
			return []int{1}, nil
		},
		Summary: func(n *ir.Node) string {
			what := "Dot"
			if n.Bool("normalize") {
				what = "Dot (cosine)"
			}
			return fmt.Sprintf("%s of %s over %d values", what, inputNames(n), n.Inputs[0].Size())
		},
	})
}
