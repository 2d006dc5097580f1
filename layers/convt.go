package layers

import (
	"fmt"

	"github.com/nngen/nngen/ir"
)

// Conv2DTranspose: the adjoint of a Conv2D, as Keras's (TensorFlow's
// conv2d_transpose, the gradient of a convolution with respect to its
// input).

// TransposeGeometry is the geometry of the Conv2D whose adjoint a
// Conv2DTranspose node over the input shape in computes: that Conv2D's
// input (H, W, C) is the node's output, its output (OH, OW) the node's
// input, and C the node's filters.
func TransposeGeometry(n *ir.Node, in []int) (Geom, error) {
	if len(in) != 3 {
		return Geom{}, fmt.Errorf("needs an input of shape [height, width, channels], got %v", in)
	}
	k, s, d := n.Attrs["kernel_size"].([]int), n.Attrs["strides"].([]int), n.Attrs["dilation_rate"].([]int)
	op := n.Attrs["output_padding"].([]int)
	g := Geom{C: n.Int("filters"), KH: k[0], KW: k[1], SH: s[0], SW: s[1], DH: d[0], DW: d[1], OH: in[0], OW: in[1]}
	same := n.Str("padding") == "same"
	// Keras's deconv_output_length, per axis: the output length and the
	// padding before it.
	axis := func(i, k, s, d, a int) (length, pad int) {
		ek := (k-1)*d + 1
		switch {
		case len(op) == 0 && same:
			return i * s, max(ek-s, 0) / 2
		case len(op) == 0:
			return i*s + max(ek-s, 0), 0
		case same:
			pad = ek / 2
		}
		return (i-1)*s + ek - 2*pad + op[a], pad
	}
	g.H, g.PT = axis(in[0], g.KH, g.SH, g.DH, 0)
	g.W, g.PL = axis(in[1], g.KW, g.SW, g.DW, 1)
	if g.H <= 0 || g.W <= 0 {
		return g, fmt.Errorf("the output would be %dx%d", g.H, g.W)
	}
	return g, nil
}

func init() {
	Register(&Kind{
		Name:    "Conv2DTranspose",
		Weights: []Weight{{Param: "weight", Role: "kernel"}, {Param: "bias", Role: "bias"}},
		Doc: "Transposed 2-D convolution over [height, width, channels] inputs (the gradient of a Conv2D with respect to its input, Keras's and TensorFlow's conv2d_transpose): " +
			"each input pixel adds its channels times the kernel into a window of the output, y = activation(convᵀ(x, W) + b). " +
			"Output size per axis, as Keras's: valid, in·stride + max(k − stride, 0); same, in·stride; with output_padding p, (in − 1)·stride + k − 2·pad + p where pad is k//2 for same and 0 for valid (k dilated). " +
			"The kernel is stored as PyTorch's nn.ConvTranspose2d.weight, [channels, filters, kh, kw]. Computed per sample by a matrix product and col2im, and backward by im2col and matrix products, as Conv2D's.",
		Fields: []Field{
			{Name: "filters", Type: IntField, Doc: "Number of output channels.", Check: positive},
			{Name: "kernel_size", Type: IntsField, Doc: "Window height and width (one integer: both).", Check: ints2, Broadcast: 2},
			{Name: "strides", Type: IntsField, Default: []int{1, 1}, Doc: "Steps of the window over the output (one integer: both).", Check: ints2, Broadcast: 2},
			{Name: "padding", Type: StringField, Default: "valid", Doc: "valid or same, as the Conv2D whose adjoint this is: same gives an output of input·stride.", Enum: []string{"valid", "same"}},
			{Name: "output_padding", Type: IntsField, Default: []int{}, Nullable: true, Broadcast: 2, Doc: "Extra rows and columns at the bottom and right of the output (one integer: both), each less than its stride; empty or null (Keras's None) infers the size.", Check: func(v any) string {
				l := v.([]int)
				if len(l) == 0 {
					return ""
				}
				if len(l) != 2 || l[0] < 0 || l[1] < 0 {
					return "must be 2 integers ≥ 0 [rows, columns], or null"
				}
				return ""
			}},
			{Name: "dilation_rate", Type: IntsField, Default: []int{1, 1}, Doc: "Spacing of the window's taps (one integer: both).", Check: ints2, Broadcast: 2},
			actField("linear"),
			{Name: "use_bias", Type: BoolField, Default: true, Doc: "Whether the layer adds a bias vector."},
			{Name: "kernel_initializer", Type: StringField, Default: "glorot_uniform", Doc: "Initializer of the kernel.", Enum: Initializers},
			{Name: "bias_initializer", Type: StringField, Default: "zeros", Doc: "Initializer of the bias.", Enum: Initializers},
		},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			if op := n.Attrs["output_padding"].([]int); len(op) == 2 {
				if s := n.Attrs["strides"].([]int); op[0] >= s[0] || op[1] >= s[1] {
					return nil, fmt.Errorf("output_padding %v must be less than the strides %v, as in Keras", op, s)
				}
			}
			g, err := TransposeGeometry(n, in[0])
			if err != nil {
				return nil, err
			}
			return []int{g.H, g.W, g.C}, nil
		},
		Params: func(n *ir.Node) []ir.Param {
			g, _ := TransposeGeometry(n, n.Inputs[0].Shape)
			c := n.Inputs[0].Shape[2]
			// Keras's fans of the kernel [kh, kw, filters, channels].
			fanIn, fanOut := g.C*g.KH*g.KW, c*g.KH*g.KW
			ps := []ir.Param{{Name: "weight", Shape: []int{c, g.C, g.KH, g.KW}, Init: n.Str("kernel_initializer"), FanIn: fanIn, FanOut: fanOut}}
			if n.Bool("use_bias") {
				ps = append(ps, ir.Param{Name: "bias", Shape: []int{g.C}, Init: n.Str("bias_initializer"), FanIn: fanIn, FanOut: fanOut})
			}
			return ps
		},
		Act: func(n *ir.Node) string { return n.Str("activation") },
		Summary: func(n *ir.Node) string {
			g, _ := TransposeGeometry(n, n.Inputs[0].Shape)
			return fmt.Sprintf("Conv2DTranspose %dx%d, %d→%d channels, %dx%d→%dx%d, %s", g.KH, g.KW, n.Inputs[0].Shape[2], g.C, g.OH, g.OW, g.H, g.W, n.Str("activation"))
		},
	})
}
