package layers

import (
	"fmt"

	"github.com/nngen/nngen/ir"
)

// DepthwiseConv2D and SeparableConv2D: a convolution of each input channel
// on its own (depth_multiplier outputs each), then, for SeparableConv2D, a
// 1x1 convolution that mixes the channels, as Keras's.

// depthwiseFields are the window fields both kinds share, Conv2D's.
func depthwiseFields() []Field {
	return []Field{
		{Name: "kernel_size", Type: IntsField, Doc: "Window height and width (one integer: both).", Check: ints2, Broadcast: 2},
		{Name: "strides", Type: IntsField, Default: []int{1, 1}, Doc: "Steps of the window (one integer: both).", Check: ints2, Broadcast: 2},
		{Name: "padding", Type: StringField, Default: "valid", Doc: "valid: no padding; same: output size ceil(input/stride), zero padding (extra at the bottom and right).", Enum: []string{"valid", "same"}},
		{Name: "depth_multiplier", Type: IntField, Default: 1, Doc: "Outputs of the depthwise convolution per input channel: output channel c·depth_multiplier + j reads input channel c.", Check: positive},
		{Name: "dilation_rate", Type: IntsField, Default: []int{1, 1}, Doc: "Spacing of the window's taps (one integer: both).", Check: ints2, Broadcast: 2},
	}
}

// DepthwiseChannels is the number of output channels of the depthwise
// convolution of n: its input's channels times depth_multiplier.
func DepthwiseChannels(n *ir.Node) int {
	s := n.Inputs[0].Shape
	return s[len(s)-1] * n.Int("depth_multiplier")
}

// depthwiseShape returns the window geometry of n over in, checked as
// Conv2D's (strides and dilation not both above 1).
func depthwiseShape(n *ir.Node, in []int) (Geom, error) {
	g, err := ConvGeometry(n, in)
	if err != nil {
		return g, err
	}
	if n.Str("padding") == "same" && (g.SH > 1 || g.SW > 1) && (g.DH > 1 || g.DW > 1) {
		return g, fmt.Errorf("strides and dilation_rate cannot both exceed 1 (as in Keras)")
	}
	return g, nil
}

// depthwiseParam is the depthwise kernel of n, stored as PyTorch's
// nn.Conv2d(groups=channels).weight, [channels·depth_multiplier, 1, kh,
// kw], with Keras's fans of its [kh, kw, channels, depth_multiplier].
func depthwiseParam(n *ir.Node, name, init string) ir.Param {
	g, _ := ConvGeometry(n, n.Inputs[0].Shape)
	m := n.Int("depth_multiplier")
	return ir.Param{Name: name, Shape: []int{g.C * m, 1, g.KH, g.KW}, Init: n.Str(init), FanIn: g.C * g.KH * g.KW, FanOut: m * g.KH * g.KW}
}

func init() {
	Register(&Kind{
		Name:    "DepthwiseConv2D",
		Weights: []Weight{{Param: "weight", Role: "depthwise"}, {Param: "bias", Role: "bias"}},
		Doc: "Depthwise 2-D convolution over [height, width, channels] inputs: each input channel c is convolved on its own with depth_multiplier kernels, giving output channels c·depth_multiplier + j, " +
			"y = activation(dwconv(x, W) + b). The kernel is stored as PyTorch's nn.Conv2d(channels, channels·depth_multiplier, groups=channels).weight, [channels·depth_multiplier, 1, kh, kw].",
		Fields: append(depthwiseFields(),
			actField("linear"),
			Field{Name: "use_bias", Type: BoolField, Default: true, Doc: "Whether the layer adds a bias vector."},
			Field{Name: "depthwise_initializer", Type: StringField, Default: "glorot_uniform", Doc: "Initializer of the depthwise kernel.", Enum: Initializers},
			Field{Name: "bias_initializer", Type: StringField, Default: "zeros", Doc: "Initializer of the bias.", Enum: Initializers},
		),
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			g, err := depthwiseShape(n, in[0])
			if err != nil {
				return nil, err
			}
			return []int{g.OH, g.OW, g.C * n.Int("depth_multiplier")}, nil
		},
		Params: func(n *ir.Node) []ir.Param {
			w := depthwiseParam(n, "weight", "depthwise_initializer")
			ps := []ir.Param{w}
			if n.Bool("use_bias") {
				ps = append(ps, ir.Param{Name: "bias", Shape: []int{w.Shape[0]}, Init: n.Str("bias_initializer"), FanIn: w.FanIn, FanOut: w.FanOut})
			}
			return ps
		},
		Act: func(n *ir.Node) string { return n.Str("activation") },
		Summary: func(n *ir.Node) string {
			g, _ := ConvGeometry(n, n.Inputs[0].Shape)
			return fmt.Sprintf("DepthwiseConv2D %dx%d, %d→%d channels, %dx%d→%dx%d, %s", g.KH, g.KW, g.C, DepthwiseChannels(n), g.H, g.W, g.OH, g.OW, n.Str("activation"))
		},
	})
	Register(&Kind{
		Name:    "SeparableConv2D",
		Weights: []Weight{{Param: "depthwise_weight", Role: "depthwise"}, {Param: "pointwise_weight", Role: "pointwise"}, {Param: "bias", Role: "bias"}},
		Doc: "Depthwise separable 2-D convolution over [height, width, channels] inputs: a DepthwiseConv2D without bias, then a 1x1 convolution to filters channels, " +
			"y = activation(pointwise(dwconv(x, Wd), Wp) + b). The kernels are stored as PyTorch's depthwise nn.Conv2d(groups=channels).weight, [channels·depth_multiplier, 1, kh, kw] (depthwise_weight), " +
			"and pointwise nn.Conv2d.weight, [filters, channels·depth_multiplier, 1, 1] (pointwise_weight).",
		Fields: append([]Field{{Name: "filters", Type: IntField, Doc: "Number of output channels.", Check: positive}},
			append(depthwiseFields(),
				actField("linear"),
				Field{Name: "use_bias", Type: BoolField, Default: true, Doc: "Whether the layer adds a bias vector."},
				Field{Name: "depthwise_initializer", Type: StringField, Default: "glorot_uniform", Doc: "Initializer of the depthwise kernel.", Enum: Initializers},
				Field{Name: "pointwise_initializer", Type: StringField, Default: "glorot_uniform", Doc: "Initializer of the pointwise kernel.", Enum: Initializers},
				Field{Name: "bias_initializer", Type: StringField, Default: "zeros", Doc: "Initializer of the bias.", Enum: Initializers},
			)...),
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			g, err := depthwiseShape(n, in[0])
			if err != nil {
				return nil, err
			}
			return []int{g.OH, g.OW, n.Int("filters")}, nil
		},
		Params: func(n *ir.Node) []ir.Param {
			cm, f := DepthwiseChannels(n), n.Int("filters")
			ps := []ir.Param{
				depthwiseParam(n, "depthwise_weight", "depthwise_initializer"),
				{Name: "pointwise_weight", Shape: []int{f, cm, 1, 1}, Init: n.Str("pointwise_initializer"), FanIn: cm, FanOut: f},
			}
			if n.Bool("use_bias") {
				ps = append(ps, ir.Param{Name: "bias", Shape: []int{f}, Init: n.Str("bias_initializer"), FanIn: cm, FanOut: f})
			}
			return ps
		},
		Act: func(n *ir.Node) string { return n.Str("activation") },
		Summary: func(n *ir.Node) string {
			g, _ := ConvGeometry(n, n.Inputs[0].Shape)
			return fmt.Sprintf("SeparableConv2D %dx%d, %d→%d→%d channels, %dx%d→%dx%d, %s", g.KH, g.KW, g.C, DepthwiseChannels(n), n.Int("filters"), g.H, g.W, g.OH, g.OW, n.Str("activation"))
		},
	})
}
