package layers

import (
	"fmt"
	"slices"

	"github.com/nngen/nngen/ir"
)

// Conv2DTranspose and Conv1DTranspose: the adjoint of a Conv2D, as
// Keras's (TensorFlow's conv2d_transpose, the gradient of a convolution
// with respect to its input); a Conv1DTranspose is a Conv2DTranspose of
// height 1, as a Conv1D is a Conv2D of height 1.

// TransposeGeometry is the geometry of the Conv2D whose adjoint a
// Conv2DTranspose node over the input shape in computes: that Conv2D's
// input (H, W, C) is the node's output, its output (OH, OW) the node's
// input, and C the node's filters. A Conv1DTranspose's (one integer a
// field, input [steps, channels]) is that of height 1.
func TransposeGeometry(n *ir.Node, in []int) (Geom, error) {
	k, s, d := n.Attrs["kernel_size"].([]int), n.Attrs["strides"].([]int), n.Attrs["dilation_rate"].([]int)
	op := n.Attrs["output_padding"].([]int)
	if len(k) == 1 {
		if len(in) != 2 {
			return Geom{}, fmt.Errorf("needs an input of shape [steps, channels], got %v (a Reshape layer can give it one)", in)
		}
		in, k, s, d = []int{1, in[0], in[1]}, []int{1, k[0]}, []int{1, s[0]}, []int{1, d[0]}
		if len(op) == 1 {
			op = []int{0, op[0]}
		}
	}
	if len(in) != 3 {
		return Geom{}, fmt.Errorf("needs an input of shape [height, width, channels], got %v", in)
	}
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

// transposeFields are the fields of a transposed convolution over rank
// axes (1 or 2).
func transposeFields(rank int) []Field {
	check, both, ones, opDoc := ints2, " (one integer: both)", []int{1, 1}, "Extra rows and columns at the bottom and right of the output (one integer: both), each less than its stride; empty or null (Keras's None) infers the size."
	window := "Window height and width (one integer: both)."
	if rank == 1 {
		check, both, ones, opDoc = ints1, "", []int{1}, "Extra steps at the end of the output, less than the stride; empty or null (Keras's None) infers the length."
		window = "Window length."
	}
	return []Field{
		{Name: "filters", Type: IntField, Doc: "Number of output channels.", Check: positive},
		{Name: "kernel_size", Type: IntsField, Doc: window, Check: check, Broadcast: rank},
		{Name: "strides", Type: IntsField, Default: ones, Doc: "Steps of the window over the output" + both + ".", Check: check, Broadcast: rank},
		{Name: "padding", Type: StringField, Default: "valid", Doc: "valid or same, as the convolution whose adjoint this is: same gives an output of input·stride.", Enum: []string{"valid", "same"}},
		{Name: "output_padding", Type: IntsField, Default: []int{}, Nullable: true, Broadcast: rank, Doc: opDoc, Check: func(v any) string {
			l := v.([]int)
			if len(l) == 0 {
				return ""
			}
			if len(l) != rank || slices.Min(l) < 0 {
				return map[int]string{1: "must be an integer ≥ 0, or null", 2: "must be 2 integers ≥ 0 [rows, columns], or null"}[rank]
			}
			return ""
		}},
		{Name: "dilation_rate", Type: IntsField, Default: ones, Doc: "Spacing of the window's taps" + both + ".", Check: check, Broadcast: rank},
		actField("linear"),
		{Name: "use_bias", Type: BoolField, Default: true, Doc: "Whether the layer adds a bias vector."},
		{Name: "kernel_initializer", Type: StringField, Default: "glorot_uniform", Doc: "Initializer of the kernel.", Enum: Initializers},
		{Name: "bias_initializer", Type: StringField, Default: "zeros", Doc: "Initializer of the bias.", Enum: Initializers},
	}
}

// transposeShape is the shape rule of Conv2DTranspose and Conv1DTranspose.
func transposeShape(n *ir.Node, in [][]int) ([]int, error) {
	if op, s := n.Attrs["output_padding"].([]int), n.Attrs["strides"].([]int); len(op) == len(s) {
		for i := range op {
			if op[i] >= s[i] {
				return nil, fmt.Errorf("output_padding %v must be less than the strides %v, as in Keras", op, s)
			}
		}
	}
	g, err := TransposeGeometry(n, in[0])
	if err != nil {
		return nil, err
	}
	if len(in[0]) == 2 {
		return []int{g.W, g.C}, nil
	}
	return []int{g.H, g.W, g.C}, nil
}

// transposeParams are the kernel, PyTorch's [channels, filters, kh, kw]
// ([channels, filters, kernel_size] for Conv1DTranspose), and the bias.
func transposeParams(n *ir.Node) []ir.Param {
	g, _ := TransposeGeometry(n, n.Inputs[0].Shape)
	in := n.Inputs[0].Shape
	c := in[len(in)-1]
	// Keras's fans of the kernel [kh, kw, filters, channels].
	fanIn, fanOut := g.C*g.KH*g.KW, c*g.KH*g.KW
	shape := []int{c, g.C, g.KH, g.KW}
	if len(in) == 2 {
		shape = []int{c, g.C, g.KW}
	}
	ps := []ir.Param{{Name: "weight", Shape: shape, Init: n.Str("kernel_initializer"), FanIn: fanIn, FanOut: fanOut}}
	if n.Bool("use_bias") {
		ps = append(ps, ir.Param{Name: "bias", Shape: []int{g.C}, Init: n.Str("bias_initializer"), FanIn: fanIn, FanOut: fanOut})
	}
	return ps
}

func init() {
	Register(&Kind{
		Name:    "Conv2DTranspose",
		Weights: []Weight{{Param: "weight", Role: "kernel"}, {Param: "bias", Role: "bias"}},
		Doc: "Transposed 2-D convolution over [height, width, channels] inputs (the gradient of a Conv2D with respect to its input, Keras's and TensorFlow's conv2d_transpose): " +
			"each input pixel adds its channels times the kernel into a window of the output, y = activation(convᵀ(x, W) + b). " +
			"Output size per axis, as Keras's: valid, in·stride + max(k − stride, 0); same, in·stride; with output_padding p, (in − 1)·stride + k − 2·pad + p where pad is k//2 for same and 0 for valid (k dilated). " +
			"The kernel is stored as PyTorch's nn.ConvTranspose2d.weight, [channels, filters, kh, kw]. Computed per sample by a matrix product and col2im, and backward by im2col and matrix products, as Conv2D's.",
		Fields: transposeFields(2),
		Shape:  transposeShape,
		Params: transposeParams,
		Act:    func(n *ir.Node) string { return n.Str("activation") },
		Summary: func(n *ir.Node) string {
			g, _ := TransposeGeometry(n, n.Inputs[0].Shape)
			return fmt.Sprintf("Conv2DTranspose %dx%d, %d→%d channels, %dx%d→%dx%d, %s", g.KH, g.KW, n.Inputs[0].Shape[2], g.C, g.OH, g.OW, g.H, g.W, n.Str("activation"))
		},
	})
	Register(&Kind{
		Name: "Conv1DTranspose",
		Doc: "Transposed 1-D convolution over [steps, channels] inputs (the gradient of a Conv1D with respect to its input, Keras's Conv1DTranspose): " +
			"output length, as Keras's: valid, in·stride + max(k − stride, 0); same, in·stride; with output_padding p, (in − 1)·stride + k − 2·pad + p where pad is k//2 for same and 0 for valid (k dilated). " +
			"The kernel is stored as PyTorch's nn.ConvTranspose1d.weight, [channels, filters, kernel_size]. Computed as a Conv2DTranspose of height 1, by the same code.",
		Fields: transposeFields(1),
		Shape:  transposeShape,
		Params: transposeParams,
		Act:    func(n *ir.Node) string { return n.Str("activation") },
		Summary: func(n *ir.Node) string {
			g, _ := TransposeGeometry(n, n.Inputs[0].Shape)
			return fmt.Sprintf("Conv1DTranspose %d, %d→%d channels, %d→%d steps, %s padding, %s", g.KW, n.Inputs[0].Shape[1], g.C, g.OW, g.W, n.Str("padding"), n.Str("activation"))
		},
	})
}
