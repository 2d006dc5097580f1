package layers

import (
	"fmt"

	"github.com/nngen/nngen/ir"
)

// The 2-D geometry layers without parameters: UpSampling2D, ZeroPadding2D
// and Cropping2D, which move the pixels of a [height, width, channels]
// input without mixing its channels.

// noneNegative checks a list of integers none of which is negative.
func noneNegative(v any) string {
	for _, x := range v.([]int) {
		if x < 0 {
			return "must not be negative"
		}
	}
	return ""
}

// Sides returns the four ends of a field of Sides 2 of n: top, bottom,
// left, right.
func Sides(n *ir.Node, field string) (t, b, l, r int) {
	s := n.Attrs[field].([]int)
	return s[0], s[1], s[2], s[3]
}

// sidesField is ZeroPadding2D's padding or Cropping2D's cropping.
func sidesField(name, what string, def int) Field {
	return Field{Name: name, Type: IntsField, Default: []int{def, def, def, def}, Sides: 2, Check: noneNegative,
		Doc: "Rows and columns of " + what + ": an integer (every side), [rows, columns] (both sides of each axis) or [[top, bottom], [left, right]]."}
}

func init() {
	Register(&Kind{
		Name: "UpSampling2D",
		Doc: "Repeats the rows and columns of a [height, width, channels] input: [H, W, C] → [H·size₀, W·size₁, C]. " +
			"nearest copies each pixel into a size₀×size₁ block; bilinear interpolates between the four nearest pixels with half-pixel centres " +
			"(Keras's tf.image.resize, PyTorch's align_corners=False), the source clamped at the borders.",
		Fields: []Field{
			{Name: "size", Type: IntsField, Default: []int{2, 2}, Doc: "Upsampling factors of rows and columns (one integer: both).", Check: ints2, Broadcast: 2},
			{Name: "interpolation", Type: StringField, Default: "nearest", Doc: "How new pixels get their values.", Enum: []string{"nearest", "bilinear"}},
		},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			if err := imageInput(in[0]); err != nil {
				return nil, err
			}
			s := n.Attrs["size"].([]int)
			return []int{in[0][0] * s[0], in[0][1] * s[1], in[0][2]}, nil
		},
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("UpSampling2D %v→%v, %s", n.Inputs[0].Shape, n.Shape, n.Str("interpolation"))
		},
	})
	Register(&Kind{
		Name:   "ZeroPadding2D",
		Doc:    "Adds rows and columns of zeros around a [height, width, channels] input: [H, W, C] → [top+H+bottom, left+W+right, C].",
		Fields: []Field{sidesField("padding", "zeros to add", 1)},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			if err := imageInput(in[0]); err != nil {
				return nil, err
			}
			t, b, l, r := Sides(n, "padding")
			return []int{in[0][0] + t + b, in[0][1] + l + r, in[0][2]}, nil
		},
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("ZeroPadding2D %v→%v", n.Inputs[0].Shape, n.Shape)
		},
	})
	Register(&Kind{
		Name:   "Cropping2D",
		Doc:    "Removes rows and columns at the borders of a [height, width, channels] input: [H, W, C] → [H−top−bottom, W−left−right, C].",
		Fields: []Field{sidesField("cropping", "the input to remove", 0)},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			if err := imageInput(in[0]); err != nil {
				return nil, err
			}
			t, b, l, r := Sides(n, "cropping")
			if h, w := in[0][0]-t-b, in[0][1]-l-r; h <= 0 || w <= 0 {
				return nil, fmt.Errorf("cropping %d+%d rows and %d+%d columns leaves nothing of the input %v", t, b, l, r, in[0])
			}
			return []int{in[0][0] - t - b, in[0][1] - l - r, in[0][2]}, nil
		},
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("Cropping2D %v→%v", n.Inputs[0].Shape, n.Shape)
		},
	})
}
