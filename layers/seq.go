package layers

import (
	"fmt"
	"slices"

	"github.com/nngen/nngen/ir"
)

// The small layers of Keras's everyday catalogue that move or scale values
// without parameters: padding, cropping and up-sampling of sequences,
// SpatialDropout1D, Permute and UnitNormalization.

// seqInput says why shape is not a [steps, features] sample.
func seqInput(shape []int) error {
	if len(shape) != 2 {
		return fmt.Errorf("needs an input of shape [steps, features], got %v (a Reshape layer can give it one)", shape)
	}
	return nil
}

// pairNonNegative checks a field of two non-negative integers.
func pairNonNegative(v any) string {
	if l := v.([]int); len(l) != 2 || l[0] < 0 || l[1] < 0 {
		return "must be 2 non-negative integers [before, after]"
	}
	return ""
}

// Ends returns the steps a ZeroPadding1D adds (its padding), or a
// Cropping1D removes (its cropping), at the start and at the end of the
// sequence.
func Ends(n *ir.Node) (start, end int) {
	l, ok := n.Attrs["padding"].([]int)
	if !ok {
		l = n.Attrs["cropping"].([]int)
	}
	return l[0], l[1]
}

// UnitAxis returns the axis of node n's input (0-based, of the sample) that
// a UnitNormalization normalizes over.
func UnitAxis(n *ir.Node) int {
	a := n.Int("axis")
	if a < 0 {
		return len(n.Inputs[0].Shape) + a
	}
	return a - 1
}

func init() {
	Register(&Kind{
		Name: "ZeroPadding1D",
		Doc:  "Adds zero steps at the start and the end of a [steps, features] sequence (Keras's ZeroPadding1D).",
		Fields: []Field{
			{Name: "padding", Type: IntsField, Default: []int{1, 1}, Broadcast: 2, Doc: "Zero steps added at the start and at the end (one integer: both).", Check: pairNonNegative},
		},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			if err := seqInput(in[0]); err != nil {
				return nil, err
			}
			a, b := Ends(n)
			return []int{in[0][0] + a + b, in[0][1]}, nil
		},
		Summary: func(n *ir.Node) string {
			a, b := Ends(n)
			return fmt.Sprintf("ZeroPadding1D (%d, %d): %d→%d steps", a, b, n.Inputs[0].Shape[0], n.Shape[0])
		},
	})
	Register(&Kind{
		Name: "Cropping1D",
		Doc:  "Removes steps at the start and the end of a [steps, features] sequence (Keras's Cropping1D).",
		Fields: []Field{
			{Name: "cropping", Type: IntsField, Default: []int{1, 1}, Broadcast: 2, Doc: "Steps removed at the start and at the end (one integer: both).", Check: pairNonNegative},
		},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			if err := seqInput(in[0]); err != nil {
				return nil, err
			}
			a, b := Ends(n)
			if a+b >= in[0][0] {
				return nil, fmt.Errorf("cropping %d+%d steps leaves none of the input's %d", a, b, in[0][0])
			}
			return []int{in[0][0] - a - b, in[0][1]}, nil
		},
		Summary: func(n *ir.Node) string {
			a, b := Ends(n)
			return fmt.Sprintf("Cropping1D (%d, %d): %d→%d steps", a, b, n.Inputs[0].Shape[0], n.Shape[0])
		},
	})
	Register(&Kind{
		Name: "UpSampling1D",
		Doc:  "Repeats each step of a [steps, features] sequence size times: [steps·size, features] (Keras's UpSampling1D, PyTorch's nearest up-sampling).",
		Fields: []Field{
			{Name: "size", Type: IntField, Default: 2, Doc: "Copies of each step.", Check: positive},
		},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			if err := seqInput(in[0]); err != nil {
				return nil, err
			}
			return []int{in[0][0] * n.Int("size"), in[0][1]}, nil
		},
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("UpSampling1D ×%d: %d→%d steps", n.Int("size"), n.Inputs[0].Shape[0], n.Shape[0])
		},
	})
	registerSpatialDropout("SpatialDropout1D", "[steps, features] sequence", "at every step", "[batch, 1, features]", seqInput)
	registerSpatialDropout("SpatialDropout2D", "[height, width, channels] image", "at every position", "[batch, 1, 1, channels]", imageInput)
	Register(&Kind{
		Name: "Permute",
		Doc:  "Permutes the axes of each sample: output axis i is input axis dims[i] (Keras's Permute, axes counted from 1, the batch axis left out).",
		Fields: []Field{
			{Name: "dims", Type: IntsField, Doc: "A permutation of 1…rank: the input axis of each output axis.", Check: func(v any) string {
				l := slices.Sorted(slices.Values(v.([]int)))
				for i, d := range l {
					if d != i+1 {
						return "must be a permutation of 1…rank (axes counted from 1, the batch axis left out)"
					}
				}
				return ""
			}},
		},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			dims := n.Attrs["dims"].([]int)
			if len(dims) != len(in[0]) {
				return nil, fmt.Errorf("dims %v has %d axes, the input %v has %d", dims, len(dims), in[0], len(in[0]))
			}
			var out []int
			for _, d := range dims {
				out = append(out, in[0][d-1])
			}
			return out, nil
		},
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("Permute %v: %v→%v", n.Attrs["dims"], n.Inputs[0].Shape, n.Shape)
		},
	})
	Register(&Kind{
		Name:        "UnitNormalization",
		Featurewise: true,
		Doc:         "Scales each vector along axis to unit L2 norm: y = x / √max(Σ x², 1e-12), as Keras's UnitNormalization.",
		Fields: []Field{
			{Name: "axis", Type: IntField, Default: -1, Doc: "The axis normalized over, Keras's count: 1 is the first axis of a sample, −1 the last."},
		},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			if a, r := n.Int("axis"), len(in[0]); a == 0 || a > r || a < -r {
				return nil, fmt.Errorf("axis %d is out of range for an input of shape %v (1 to %d, or −1 to −%d; 0 is the batch)", a, in[0], r, r)
			}
			return sameShape(n, in)
		},
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("UnitNormalization over axis %d of %v", n.Int("axis"), n.Shape)
		},
	})
}

// registerSpatialDropout registers a dropout of whole channels (the last
// axis) of a sample of the shape input accepts: Keras's SpatialDropout1D and
// SpatialDropout2D, channels_last.
func registerSpatialDropout(name, sample, where, noise string, input func([]int) error) {
	Register(&Kind{
		Name:      name,
		Mask:      passMask,
		Inference: &Inference{},
		Doc: "Dropout of whole channels of a " + sample + ": in training each channel of a sample is zeroed " + where + " with probability rate, " +
			"the others scaled by 1/(1−rate); the identity at inference (Keras's " + name + ", channels_last, noise shape " + noise + ").",
		Fields: []Field{{Name: "rate", Type: FloatField, Doc: "Fraction of the channels to drop.", Check: func(v any) string {
			if r := v.(float64); r < 0 || r >= 1 {
				return "must be in [0, 1)"
			}
			return ""
		}}},
		Alias: AliasInference,
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			if err := input(in[0]); err != nil {
				return nil, err
			}
			return sameShape(n, in)
		},
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("%s %g", name, n.Float("rate"))
		},
	})
}
