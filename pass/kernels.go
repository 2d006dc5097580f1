package pass

import (
	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// SelectKernels chooses, from the shapes, how each node whose kind has
// several ways is computed (ir.Node.Method and BackMethod): a Conv2D as
// Winograd's F(2×2, 3×3), one fused kernel per sample, shifted products or
// im2col; a MaxPooling2D by the MaxPool kernels or by recorded maxima.
func SelectKernels(m *ir.Model) error {
	for _, n := range m.Nodes {
		switch n.Kind {
		case "Conv2D":
			n.Method, n.BackMethod = conv(n)
		case "MaxPooling2D":
			g, _ := layers.PoolGeometry(n, n.Inputs[0].Shape)
			n.Method, n.BackMethod = ir.Argmax, ir.Argmax
			if poolTiles(g) {
				n.Method, n.BackMethod = ir.Tiles, ir.Tiles
			}
		}
	}
	return nil
}

// conv returns the forward and backward methods of a Conv2D.
func conv(n *ir.Node) (fwd, back ir.Method) {
	g, _ := layers.ConvGeometry(n, n.Inputs[0].Shape)
	valid := n.Str("padding") == "valid"
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
	if direct(g, n) || valid && !layers.NeedsGrad(n.Inputs[0]) {
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
func direct(g layers.Geom, n *ir.Node) bool {
	return g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 && n.Str("padding") == "valid" && g.C >= 8
}

// winograd reports whether a Conv2D runs as F(2×2, 3×3): a 3×3 kernel at
// stride 1 without dilation, and enough channels and filters for the
// products to pay. Padding and odd outputs take zero-bordered copies of a
// sample (see layers/emit/winograd.go).
func winograd(g layers.Geom, n *ir.Node) bool {
	return g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 &&
		g.C >= 16 && n.Int("filters") >= 16
}

// poolTiles reports whether the windows tile the input exactly (strides
// equal to the window, no padding, no cell left over): then the MaxPool
// kernels run the layer, and backward finds each maximum again instead of
// recording it.
func poolTiles(g layers.Geom) bool {
	return g.SH == g.KH && g.SW == g.KW && g.PT == 0 && g.PL == 0 && g.H%g.KH == 0 && g.W%g.KW == 0 && g.OH*g.KH == g.H && g.OW*g.KW == g.W
}
