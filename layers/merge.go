package layers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
)

// The merge layers: several inputs, one output, no parameters, as Keras's
// merging layers. The element-wise ones need inputs of one shape;
// Concatenate needs them equal but along its axis.

// elementwise lists the element-wise merges: name, how many inputs (2:
// exactly two; else two or more) and the formula the doc gives.
var elementwise = []struct {
	name    string
	exact   bool
	formula string
}{
	{"Add", false, "Sums its inputs element by element: y = x₁ + x₂ + …."},
	{"Subtract", true, "Subtracts its second input from its first element by element: y = x₁ − x₂."},
	{"Multiply", false, "Multiplies its inputs element by element: y = x₁·x₂·…; the gradient of xᵢ is dy times the product of the others."},
	{"Average", false, "Averages its inputs element by element: y = (x₁ + … + xₙ)/n."},
	{"Maximum", false, "Maximum of its inputs element by element. Backward sends the gradient to the first input that holds the maximum, as Keras's chain of tf.maximum does; the others get zero (torch.maximum would split a tie in halves)."},
	{"Minimum", false, "Minimum of its inputs element by element. Backward sends the gradient to the first input that holds the minimum, as Keras's chain of tf.minimum does; the others get zero."},
}

func init() {
	for _, m := range elementwise {
		k := &Kind{
			Name:        m.name,
			Featurewise: true,
			Doc:         m.formula + " All inputs must have the same shape, the output's.",
			MinInputs:   2,
			MaxInputs:   Variadic,
			Shape:       mergeShape,
			Summary:     mergeSummary,
		}
		if m.exact {
			k.Doc = m.formula + " Takes exactly two inputs, of the same shape."
			k.MaxInputs = 2
		} else {
			k.Doc += " Takes two or more inputs (an input may be named twice)."
		}
		Register(k)
	}
	Register(&Kind{
		Name: "Concatenate",
		Doc:  "Joins its inputs along an axis: their shapes must be equal but along it, where the output's size is the sum of theirs. Takes two or more inputs.",
		Fields: []Field{{Name: "axis", Type: IntField, Default: -1, Doc: "The axis to join along, as Keras counts it: 1 is the first axis of a sample (0, the batch, is not allowed), −1 the last.", Check: func(v any) string {
			if v.(int) == 0 {
				return "must not be 0, the batch axis: 1 is the first axis of a sample, -1 the last"
			}
			return ""
		}}},
		MinInputs: 2,
		MaxInputs: Variadic,
		Shape:     concatShape,
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("Concatenate %s on axis %d → %v", inputNames(n), n.Int("axis"), n.Shape)
		},
	})
}

func inputNames(n *ir.Node) string {
	var names []string
	for _, in := range n.Inputs {
		names = append(names, in.Name)
	}
	return strings.Join(names, ", ")
}

func mergeSummary(n *ir.Node) string {
	return fmt.Sprintf("%s of %s, %d values", n.Kind, inputNames(n), n.Size())
}

// mergeShape is the shape rule of the element-wise merges: one shape.
func mergeShape(n *ir.Node, in [][]int) ([]int, error) {
	for i := 1; i < len(in); i++ {
		if !slices.Equal(in[i], in[0]) {
			return nil, fmt.Errorf("inputs must have the same shape: %s is %v but %s is %v", n.Inputs[0].Name, in[0], n.Inputs[i].Name, in[i])
		}
	}
	return slices.Clone(in[0]), nil
}

// ConcatAxis is the per-sample axis (from 0) along which Concatenate node n
// joins inputs of rank rank, or an error when the axis is out of range.
func ConcatAxis(n *ir.Node, rank int) (int, error) {
	a := n.Int("axis")
	switch {
	case a < 0 && -a <= rank:
		return rank + a, nil
	case a > 0 && a <= rank:
		return a - 1, nil
	}
	if rank == 1 {
		return 0, fmt.Errorf("axis %d is out of range: inputs of one axis per sample take axis 1 or -1", a)
	}
	return 0, fmt.Errorf("axis %d is out of range: inputs of %d axes per sample take an axis from 1 to %d or from -%d to -1", a, rank, rank, rank)
}

func concatShape(n *ir.Node, in [][]int) ([]int, error) {
	for i := 1; i < len(in); i++ {
		if len(in[i]) != len(in[0]) {
			return nil, fmt.Errorf("inputs must have as many axes: %s is %v but %s is %v", n.Inputs[0].Name, in[0], n.Inputs[i].Name, in[i])
		}
	}
	a, err := ConcatAxis(n, len(in[0]))
	if err != nil {
		return nil, err
	}
	out := slices.Clone(in[0])
	for i := 1; i < len(in); i++ {
		for j := range in[i] {
			if j != a && in[i][j] != in[0][j] {
				return nil, fmt.Errorf("inputs must have the same shape but along axis %d: %s is %v but %s is %v", n.Int("axis"), n.Inputs[0].Name, in[0], n.Inputs[i].Name, in[i])
			}
		}
		out[a] += in[i][a]
	}
	return out, nil
}
