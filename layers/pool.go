package layers

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
)

// The pooling layers and Reshape: no parameters, and for pooling a loop
// nest over every window of an NHWC input.

func init() {
	Register(&Kind{
		Name: "Reshape",
		Doc:  "Gives each sample a new shape with the same number of values, in the same order. Costs nothing: the output is the input's memory.",
		Fields: []Field{{Name: "target_shape", Type: IntsField, Doc: "Per-sample output shape; one size may be -1, inferred from the others.", Check: func(v any) string {
			t, free := v.([]int), 0
			if len(t) == 0 {
				return "must not be empty"
			}
			for _, d := range t {
				if d == -1 {
					free++
				} else if d <= 0 {
					return "must hold positive sizes (and at most one -1)"
				}
			}
			if free > 1 {
				return "may hold only one -1"
			}
			return ""
		}}},
		Alias: AliasAlways,
		Shape: reshapeShape,
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("Reshape %v→%v", n.Inputs[0].Shape, n.Shape)
		},
	})
	Register(&Kind{
		Name:    "MaxPooling2D",
		Doc:     "Maximum over each window of a [height, width, channels] input, channel by channel. Backward sends the gradient to the first maximum of each window: training records its position, or, when the windows tile the input, backward finds it again; padded cells never win.",
		Fields:  poolFields(),
		Shape:   poolShape,
		Summary: poolSummary,
		Select:  maxPoolSelect,
		Fuse:    maxPoolFuse,
	})
	Register(&Kind{
		Name:    "AveragePooling2D",
		Doc:     "Mean over each window of a [height, width, channels] input, channel by channel. With same padding a window at the border averages only its cells inside the input.",
		Fields:  poolFields(),
		Shape:   poolShape,
		Summary: poolSummary,
	})
	Register(&Kind{
		Name:    "MaxPooling1D",
		Doc:     "Maximum over each window of a [steps, channels] input, channel by channel, as MaxPooling2D over one axis: backward sends the gradient to the first maximum of each window; padded cells never win.",
		Fields:  poolFields1D(),
		Shape:   poolShape,
		Summary: poolSummary,
		Select:  maxPoolSelect,
	})
	Register(&Kind{
		Name:    "AveragePooling1D",
		Doc:     "Mean over each window of a [steps, channels] input, channel by channel. With same padding a window at the ends averages only its cells inside the input.",
		Fields:  poolFields1D(),
		Shape:   poolShape,
		Summary: poolSummary,
	})
	globalPool := func(name, what string, rank int) {
		in, out := "[height, width, channels]", "[1, 1, channels]"
		if rank == 2 {
			in, out = "[steps, channels]", "[1, channels]"
		}
		doc := what + " of each channel over all positions: " + in + " → [channels]."
		if strings.HasPrefix(name, "GlobalMax") {
			doc += " Backward sends the gradient to the first position of the maximum, as PyTorch's max pooling."
		}
		var mask func(*ir.Node) (bool, bool)
		if name == "GlobalAveragePooling1D" {
			doc += " After an Embedding with mask_zero it averages the unmasked steps only, as Keras's (a sequence of padding only averages to 0)."
			mask = func(*ir.Node) (uses, passes bool) { return true, false }
		}
		Register(&Kind{
			Name: name,
			Doc:  doc,
			Mask: mask,
			Fields: []Field{
				{Name: "keepdims", Type: BoolField, Default: false, Doc: "Whether the output keeps the spatial axes, as " + out + "."},
			},
			Shape: func(n *ir.Node, in [][]int) ([]int, error) {
				if err := globalInput(in[0], rank); err != nil {
					return nil, err
				}
				c := in[0][rank-1]
				if n.Bool("keepdims") {
					return append(slices.Repeat([]int{1}, rank-1), c), nil
				}
				return []int{c}, nil
			},
			Summary: func(n *ir.Node) string {
				return fmt.Sprintf("%s %v→%v", name, n.Inputs[0].Shape, n.Shape)
			},
		})
	}
	globalPool("GlobalAveragePooling2D", "Mean", 3)
	globalPool("GlobalMaxPooling2D", "Maximum", 3)
	globalPool("GlobalAveragePooling1D", "Mean", 2)
	globalPool("GlobalMaxPooling1D", "Maximum", 2)
}

// globalInput says why shape is not a sample of rank axes, the last the
// channels: an image (3) or a sequence (2).
func globalInput(shape []int, rank int) error {
	if rank == 3 {
		return imageInput(shape)
	}
	if len(shape) != 2 {
		return fmt.Errorf("needs an input of shape [steps, channels], got %v (a Reshape layer can give it one)", shape)
	}
	return nil
}

// reshapeShape resolves target_shape against the input's size.
func reshapeShape(n *ir.Node, in [][]int) ([]int, error) {
	t := n.Attrs["target_shape"].([]int)
	size := ir.Prod(in[0])
	out := append([]int(nil), t...)
	known, free := 1, -1
	for i, d := range t {
		switch {
		case d == -1:
			free = i
		case known > math.MaxInt/d:
			return nil, fmt.Errorf("cannot reshape %v (%d values) to %v (too many values)", in[0], size, t)
		default:
			known *= d
		}
	}
	switch {
	case free >= 0 && size%known != 0:
		return nil, fmt.Errorf("cannot reshape %v (%d values) to %v: %d is not a multiple of %d", in[0], size, t, size, known)
	case free >= 0:
		out[free] = size / known
	case known != size:
		return nil, fmt.Errorf("cannot reshape %v (%d values) to %v (%d values)", in[0], size, t, known)
	}
	return out, nil
}

// poolFields are the fields of MaxPooling2D and AveragePooling2D.
func poolFields() []Field {
	pair := func(empty bool) func(v any) string {
		return func(v any) string {
			l := v.([]int)
			if len(l) == 0 && empty {
				return ""
			}
			if len(l) != 2 || l[0] <= 0 || l[1] <= 0 {
				return "must be 2 positive integers [height, width]"
			}
			return ""
		}
	}
	return []Field{
		{Name: "pool_size", Type: IntsField, Default: []int{2, 2}, Doc: "Window height and width (one integer: both).", Check: pair(false), Broadcast: 2},
		{Name: "strides", Type: IntsField, Default: []int{}, Doc: "Steps of the window, vertical and horizontal (one integer: both); empty means pool_size (Keras's None).", Check: pair(true), Broadcast: 2},
		{Name: "padding", Type: StringField, Default: "valid", Doc: "valid: windows inside the input only; same: output size ceil(input/stride), the windows padded evenly (extra at the bottom and right) and padded cells ignored.", Enum: []string{"valid", "same"}},
	}
}

// poolFields1D are the fields of MaxPooling1D and AveragePooling1D.
func poolFields1D() []Field {
	one := func(empty bool) func(v any) string {
		return func(v any) string {
			l := v.([]int)
			if len(l) == 0 && empty {
				return ""
			}
			if len(l) != 1 || l[0] <= 0 {
				return "must be one positive integer"
			}
			return ""
		}
	}
	return []Field{
		{Name: "pool_size", Type: IntsField, Default: []int{2}, Doc: "Window length.", Check: one(false), Broadcast: 1},
		{Name: "strides", Type: IntsField, Default: []int{}, Doc: "Step of the window; empty means pool_size (Keras's None).", Check: one(true), Broadcast: 1},
		{Name: "padding", Type: StringField, Default: "valid", Doc: "valid: windows inside the input only; same: output length ceil(steps/stride), the windows padded evenly (extra at the end) and padded cells ignored.", Enum: []string{"valid", "same"}},
	}
}

// pool1D reports whether n pools a [steps, channels] input.
func pool1D(n *ir.Node) bool { return strings.HasSuffix(n.Kind, "1D") }

// imageInput says why shape is not a [height, width, channels] sample.
func imageInput(shape []int) error {
	if len(shape) != 3 {
		return fmt.Errorf("needs an input of shape [height, width, channels], got %v (a Reshape layer can give it one)", shape)
	}
	return nil
}

// PoolGeometry is the window geometry of a pooling node over the input
// shape in.
//
// A 1-D pooling node's [steps, channels] input is a [steps, 1, channels]
// image with windows [pool_size, 1].
func PoolGeometry(n *ir.Node, in []int) (Geom, error) {
	k, s, pad := n.Attrs["pool_size"].([]int), n.Attrs["strides"].([]int), n.Str("padding")
	if len(s) == 0 {
		s = k
	}
	if pool1D(n) {
		if len(in) != 2 {
			return Geom{}, fmt.Errorf("needs an input of shape [steps, channels], got %v (a Reshape layer can give it one)", in)
		}
		if pad == "valid" && k[0] > in[0] {
			return Geom{}, fmt.Errorf("pool_size %d is longer than the input's %d steps with valid padding", k[0], in[0])
		}
		return geometry([]int{in[0], 1, in[1]}, []int{k[0], 1}, []int{s[0], 1}, []int{1, 1}, pad)
	}
	if err := imageInput(in); err != nil {
		return Geom{}, err
	}
	if pad == "valid" && (k[0] > in[0] || k[1] > in[1]) {
		return Geom{}, fmt.Errorf("pool_size %dx%d is larger than the input %dx%d with valid padding", k[0], k[1], in[0], in[1])
	}
	return geometry(in, k, s, []int{1, 1}, pad)
}

func poolShape(n *ir.Node, in [][]int) ([]int, error) {
	g, err := PoolGeometry(n, in[0])
	if err != nil {
		return nil, err
	}
	if pool1D(n) {
		return []int{g.OH, g.C}, nil
	}
	return []int{g.OH, g.OW, g.C}, nil
}

func poolSummary(n *ir.Node) string {
	g, _ := PoolGeometry(n, n.Inputs[0].Shape)
	if pool1D(n) {
		return fmt.Sprintf("%s %d, stride %d, %s padding: %d→%d steps, %d channels", n.Kind, g.KH, g.SH, n.Str("padding"), g.H, g.OH, g.C)
	}
	return fmt.Sprintf("%s %dx%d, strides %dx%d, %s padding: %dx%d→%dx%d, %d channels", n.Kind, g.KH, g.KW, g.SH, g.SW, n.Str("padding"), g.H, g.W, g.OH, g.OW, g.C)
}

// poolTiles reports whether the windows tile the input exactly (strides
// equal to the window, no padding, no cell left over): then the MaxPool
// kernels run the layer, and backward finds each maximum again instead of
// recording it.
func poolTiles(g Geom) bool {
	return g.SH == g.KH && g.SW == g.KW && g.PT == 0 && g.PL == 0 && g.H%g.KH == 0 && g.W%g.KW == 0 && g.OH*g.KH == g.H && g.OW*g.KW == g.W
}

// maxPoolSelect: the MaxPool kernels where the windows tile the input,
// else loops that record each maximum.
func maxPoolSelect(n *ir.Node) (fwd, back ir.Method) {
	g, _ := PoolGeometry(n, n.Inputs[0].Shape)
	if poolTiles(g) && !pool1D(n) {
		return ir.Tiles, ir.Tiles
	}
	return ir.Argmax, ir.Argmax
}

// maxPoolFuse runs the backward of a tiling MaxPooling2D inside its input
// Conv2D's per-sample backward loop, when it alone reads that Conv2D and no
// row-wise activation needs the whole gradient first: it then writes the
// gradient of one sample of the convolution's output just before the
// convolution's backward reads it, while it is in cache. With one
// consumer, nothing else writes that gradient first.
func maxPoolFuse(n *ir.Node) {
	if x := n.Inputs[0]; n.BackMethod == ir.Tiles && x.Kind == "Conv2D" && len(x.Consumers) == 1 && !Batched(x.Str("activation")) {
		n.Fused.BackwardInto = x
	}
}
