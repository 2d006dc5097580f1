package layers

import (
	"fmt"

	"github.com/nngen/nngen/ir"
)

// Slice cuts a box out of each sample, as tf.slice does with the batch axis
// left whole: Keras has no Slice layer (it takes a Lambda), so the fields
// are tf.slice's.

func init() {
	Register(&Kind{
		Name: "Slice",
		Doc: "Cuts the box of each sample that starts at begin and spans size along each axis (tf.slice of every sample, the batch axis left out; " +
			"a PyTorch twin is x[:, b0:b0+s0, b1:b1+s1, …]).",
		Fields: []Field{
			{Name: "begin", Type: IntsField, Doc: "First index kept along each axis of a sample, counted from 0.", Check: func(v any) string {
				for _, b := range v.([]int) {
					if b < 0 {
						return "must be non-negative integers"
					}
				}
				return ""
			}},
			{Name: "size", Type: IntsField, Doc: "Indices kept along each axis; −1 keeps the rest of the axis (tf.slice's convention).", Check: func(v any) string {
				for _, s := range v.([]int) {
					if s < -1 || s == 0 {
						return "must be positive integers, or -1 for the rest of an axis"
					}
				}
				return ""
			}},
		},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			begin, size := n.Attrs["begin"].([]int), n.Attrs["size"].([]int)
			if len(begin) != len(in[0]) || len(size) != len(in[0]) {
				return nil, fmt.Errorf("begin %v and size %v need one integer each per axis of the input %v", begin, size, in[0])
			}
			out := make([]int, len(size))
			for i, s := range size {
				if s == -1 {
					s = in[0][i] - begin[i]
				}
				if begin[i]+s > in[0][i] || s <= 0 {
					return nil, fmt.Errorf("axis %d: begin %d and size %d reach past the input's %d (input %v)", i+1, begin[i], size[i], in[0][i], in[0])
				}
				out[i] = s
			}
			return out, nil
		},
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("Slice %v from %v: %v→%v", n.Attrs["size"], n.Attrs["begin"], n.Inputs[0].Shape, n.Shape)
		},
	})
}
