package layers

import (
	"fmt"

	"github.com/nngen/nngen/ir"
)

// ints2 checks a field of two positive integers.
func ints2(v any) string {
	l := v.([]int)
	if len(l) != 2 {
		return fmt.Sprintf("must be a list of two integers, got %d", len(l))
	}
	if l[0] <= 0 || l[1] <= 0 {
		return "must be positive"
	}
	return ""
}

// Geom is the geometry of a 2-D window over an NHWC input: Conv2D and
// the pooling layers share it.
type Geom struct {
	H, W, C        int // input
	KH, KW         int // window
	SH, SW, DH, DW int // strides, dilation
	PT, PL         int // padding before (top, left)
	OH, OW         int // output
}

// geometry computes the output size of a window over in with Keras's
// padding rules ("same": out = ceil(in/stride), extra padding at the end).
func geometry(in []int, k, s, d []int, padding string) (Geom, error) {
	if len(in) != 3 {
		return Geom{}, fmt.Errorf("needs an input of shape [height, width, channels], got %v", in)
	}
	g := Geom{H: in[0], W: in[1], C: in[2], KH: k[0], KW: k[1], SH: s[0], SW: s[1], DH: d[0], DW: d[1]}
	ekh, ekw := (g.KH-1)*g.DH+1, (g.KW-1)*g.DW+1
	if padding == "same" {
		g.OH, g.OW = (g.H+g.SH-1)/g.SH, (g.W+g.SW-1)/g.SW
		g.PT = max((g.OH-1)*g.SH+ekh-g.H, 0) / 2
		g.PL = max((g.OW-1)*g.SW+ekw-g.W, 0) / 2
	} else {
		if ekh > g.H || ekw > g.W {
			return g, fmt.Errorf("window %dx%d (dilated) is larger than the input %dx%d with valid padding", ekh, ekw, g.H, g.W)
		}
		g.OH, g.OW = (g.H-ekh)/g.SH+1, (g.W-ekw)/g.SW+1
	}
	return g, nil
}

// ConvGeometry is the window geometry of a convolution node over the input
// shape in.
//
// A 1-D convolution (its kernel_size one integer) sees its [steps,
// channels] input as a [1, steps, channels] image with windows [1,
// kernel_size], so that a row of outputs is every step: causal padding is
// dilation·(kernel_size − 1) zeros on the left, as Keras pads.
func ConvGeometry(n *ir.Node, in []int) (Geom, error) {
	k, s, d, pad := n.Attrs["kernel_size"].([]int), n.Attrs["strides"].([]int), n.Attrs["dilation_rate"].([]int), n.Str("padding")
	if len(k) != 1 {
		return geometry(in, k, s, d, pad)
	}
	if len(in) != 2 {
		return Geom{}, fmt.Errorf("needs an input of shape [steps, channels], got %v (a Reshape layer can give it one)", in)
	}
	if pad != "causal" {
		return geometry([]int{1, in[0], in[1]}, []int{1, k[0]}, []int{1, s[0]}, []int{1, d[0]}, pad)
	}
	// Causal: valid over the input with its left padding.
	g, err := geometry([]int{1, in[0] + d[0]*(k[0]-1), in[1]}, []int{1, k[0]}, []int{1, s[0]}, []int{1, d[0]}, "valid")
	g.W, g.PL = in[0], d[0]*(k[0]-1)
	return g, err
}

// ints1 checks a field of one positive integer.
func ints1(v any) string {
	if l := v.([]int); len(l) != 1 || l[0] <= 0 {
		return "must be one positive integer"
	}
	return ""
}

// convFields are the fields of a convolution over rank axes (1 or 2).
func convFields(rank int) []Field {
	check, both, pads := ints2, " (one integer: both)", "valid: no padding; same: output size ceil(input/stride), zero padding (extra at the bottom and right)."
	if rank == 1 {
		check, both, pads = ints1, "", "valid: no padding; same: output length ceil(steps/stride), zero padding (extra at the end); causal: dilation_rate·(kernel_size − 1) zeros before the first step, so that output t sees no input after t (as Keras's causal)."
	}
	enum := []string{"valid", "same"}
	if rank == 1 {
		enum = append(enum, "causal")
	}
	ones := []int{1, 1}[:rank]
	return []Field{
		{Name: "filters", Type: IntField, Doc: "Number of output channels.", Check: positive},
		{Name: "kernel_size", Type: IntsField, Doc: "Window " + map[int]string{1: "length.", 2: "height and width" + both + "."}[rank], Check: check, Broadcast: rank},
		{Name: "strides", Type: IntsField, Default: ones, Doc: "Steps of the window" + both + ".", Check: check, Broadcast: rank},
		{Name: "padding", Type: StringField, Default: "valid", Doc: pads, Enum: enum},
		{Name: "dilation_rate", Type: IntsField, Default: ones, Doc: "Spacing of the window's taps" + both + ".", Check: check, Broadcast: rank},
		{Name: "groups", Type: IntField, Default: 1, Doc: "Number of groups the channels are split in: group i of filters/groups filters sees only group i of channels/groups input channels (Keras's and PyTorch's groups); filters and the input's channels must be multiples of it.", Check: positive},
		actField("linear"),
		{Name: "use_bias", Type: BoolField, Default: true, Doc: "Whether the layer adds a bias vector."},
		{Name: "kernel_initializer", Type: StringField, Default: "glorot_uniform", Doc: "Initializer of the kernel.", Enum: Initializers},
		{Name: "bias_initializer", Type: StringField, Default: "zeros", Doc: "Initializer of the bias.", Enum: Initializers},
	}
}

// convShape is the shape rule of Conv1D and Conv2D.
func convShape(n *ir.Node, in [][]int) ([]int, error) {
	g, err := ConvGeometry(n, in[0])
	if err != nil {
		return nil, err
	}
	if n.Str("padding") != "valid" && (g.SH > 1 || g.SW > 1) && (g.DH > 1 || g.DW > 1) {
		return nil, fmt.Errorf("strides and dilation_rate cannot both exceed 1 (as in Keras)")
	}
	f, groups := n.Int("filters"), n.Int("groups")
	if f%groups != 0 || g.C%groups != 0 {
		return nil, fmt.Errorf("groups %d must divide both filters (%d) and the input's channels (%d)", groups, f, g.C)
	}
	if len(in[0]) == 2 {
		return []int{g.OW, f}, nil
	}
	return []int{g.OH, g.OW, f}, nil
}

// convParams are the kernel, PyTorch's [filters, channels/groups, kh, kw]
// ([filters, channels/groups, kernel_size] for Conv1D), and the bias.
func convParams(n *ir.Node) []ir.Param {
	g, _ := ConvGeometry(n, n.Inputs[0].Shape)
	f, cg := n.Int("filters"), g.C/n.Int("groups")
	fanIn, fanOut := cg*g.KH*g.KW, f*g.KH*g.KW
	shape := []int{f, cg, g.KH, g.KW}
	if len(n.Inputs[0].Shape) == 2 {
		shape = []int{f, cg, g.KW}
	}
	ps := []ir.Param{{Name: "weight", Shape: shape, Init: n.Str("kernel_initializer"), FanIn: fanIn, FanOut: fanOut}}
	if n.Bool("use_bias") {
		ps = append(ps, ir.Param{Name: "bias", Shape: []int{f}, Init: n.Str("bias_initializer"), FanIn: fanIn, FanOut: fanOut})
	}
	return ps
}

func init() {
	Register(&Kind{
		Name: "Conv2D",
		Doc: "2-D convolution over [height, width, channels] inputs (NHWC inside): y = activation(conv(x, W) + b). " +
			"The kernel is stored as PyTorch's nn.Conv2d.weight, [filters, channels/groups, kh, kw]. Computed per sample by fused convolution kernels (im2col and matrix products where those do not apply); " +
			"a 3x3 kernel at stride 1 without dilation, with 16 or more channels and filters, runs as Winograd's F(2x2, 3x3) in training and inference alike (any padding and size); a grouped one runs group by group as im2col and matrix products.",
		Fields:  convFields(2),
		Shape:   convShape,
		Params:  convParams,
		Weights: []Weight{{Param: "weight", Role: "kernel"}, {Param: "bias", Role: "bias"}},
		Act:     func(n *ir.Node) string { return n.Str("activation") },
		Select:  convSelect,
		Fuse:    convFuse,
		Summary: func(n *ir.Node) string {
			g, _ := ConvGeometry(n, n.Inputs[0].Shape)
			return fmt.Sprintf("Conv2D %dx%d, %d→%d channels%s, %dx%d→%dx%d, %s", g.KH, g.KW, g.C, n.Int("filters"), groupsText(n), g.H, g.W, g.OH, g.OW, n.Str("activation"))
		},
	})
	Register(&Kind{
		Name: "Conv1D",
		Doc: "1-D convolution over [steps, channels] inputs (Keras's channels_last): y = activation(conv(x, W) + b), output [steps', filters]. " +
			"The kernel is stored as PyTorch's nn.Conv1d.weight, [filters, channels/groups, kernel_size]. Computed as a Conv2D of height 1, by the same kernels.",
		Fields:  convFields(1),
		Shape:   convShape,
		Params:  convParams,
		Weights: []Weight{{Param: "weight", Role: "kernel"}, {Param: "bias", Role: "bias"}},
		Act:     func(n *ir.Node) string { return n.Str("activation") },
		Select:  convSelect,
		Fuse:    convFuse,
		Summary: func(n *ir.Node) string {
			g, _ := ConvGeometry(n, n.Inputs[0].Shape)
			return fmt.Sprintf("Conv1D %d, %d→%d channels%s, %d→%d steps, %s padding, %s", g.KW, g.C, n.Int("filters"), groupsText(n), g.W, g.OW, n.Str("padding"), n.Str("activation"))
		},
	})
}

// groupsText is ", N groups" for a grouped convolution, else "".
func groupsText(n *ir.Node) string {
	if gr := n.Int("groups"); gr > 1 {
		return fmt.Sprintf(", %d groups", gr)
	}
	return ""
}

// convSelect returns the forward and backward methods of a Conv2D.
func convSelect(n *ir.Node) (fwd, back ir.Method) {
	g, _ := ConvGeometry(n, n.Inputs[0].Shape)
	valid := n.Str("padding") == "valid"
	if n.Int("groups") > 1 {
		return ir.Grouped, ir.Grouped
	}
	switch {
	case winograd(g, n):
		return ir.Winograd, ir.Winograd
	case valid:
		fwd = ir.ConvKernel
	case direct(g, n):
		fwd = ir.Direct
	default:
		fwd = ir.Im2col
	}
	// Without an input gradient (a first layer), any Conv2D without
	// padding needs only the ConvWGrad kernel of the direct path.
	back = ir.Im2col
	if direct(g, n) || valid && !NeedsGrad(n.Inputs[0]) {
		back = ir.Direct
	}
	return fwd, back
}

// direct reports whether a Conv2D runs as shifted products instead of
// im2col: with stride 1, no dilation and valid padding, the inputs a tap
// meets along an output row are one contiguous [OW, C] block of the NHWC
// input, so each (output row, tap) pair is a small GEMM straight from the
// input — no column buffer, no scatter in backward. Few channels make the
// products too small to pay.
func direct(g Geom, n *ir.Node) bool {
	return g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 && n.Str("padding") == "valid" && g.C >= 8
}

// winograd reports whether a Conv2D runs as F(2×2, 3×3): a 3×3 kernel at
// stride 1 without dilation, and enough channels and filters for the
// products to pay. Padding and odd outputs take zero-bordered copies of a
// sample (see layers/emit/winograd.go).
func winograd(g Geom, n *ir.Node) bool {
	return g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 &&
		g.C >= 16 && n.Int("filters") >= 16
}

// convFuse: a ReLU is applied by the Conv2D's own kernels as they store
// (and its derivative by the bias gradient's kernel).
func convFuse(n *ir.Node) {
	if n.Str("activation") == "relu" {
		n.Fused.Epilogue = "relu"
	}
}
