package emit

import (
	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// UpSampling2D, ZeroPadding2D and Cropping2D: loops that move whole
// pixels (runs of C channels) of NHWC images.

func init() {
	Register("UpSampling2D", &Kind{Forward: upForward, Backward: upBackward})
	Register("ZeroPadding2D", &Kind{Forward: padForward, Backward: padBackward})
	Register("Cropping2D", &Kind{Forward: cropForward, Backward: cropBackward})
}

// image is one side of a rect: a batch of [H, W, C] images in buffer S (a
// slice expression), of which the block starts at row R, column Col.
type image struct {
	S            Code
	H, W, R, Col int
}

// pixel is the offset of channel 0 of pixel (r, c) of sample b of im,
// where r and c are expressions.
func (im image) pixel(c int, r, col Code) *Statement {
	return Parens(Parens(Id("b").Op("*").Lit(im.H).Op("+").Add(r)).Op("*").Lit(im.W).Op("+").Add(col)).Op("*").Lit(c)
}

// rect emits, for every sample b of the batch, the copy (or, with acc,
// the sum) of the rows×cols block of src into the one of dst: dst[b,
// dst.R+r, dst.Col+c, :] = src[b, src.R+r, src.Col+c, :].
func (e *Emitter) rect(dst, src image, rows, cols, c int, acc bool) Code {
	run := cols * c
	row := func(name string, im image) *Statement {
		return Id(name).Index(im.pixel(c, Id("r").Op("+").Lit(im.R), Lit(im.Col)).Op(":")).Index(Op(":").Lit(run))
	}
	set := Copy(Id("d"), Id("s"))
	if acc {
		set = For(List(Id("i"), Id("v")).Op(":=").Range().Id("s")).Block(Id("d").Index(Id("i")).Op("+=").Id("v"))
	}
	return Block(
		Id("dst").Op(":=").Add(dst.S),
		Id("src").Op(":=").Add(src.S),
		For(Id("b").Op(":=").Lit(0), Id("b").Op("<").Lit(e.Batch), Id("b").Op("++")).Block(
			For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(rows), Id("r").Op("++")).Block(
				Id("d").Op(":=").Add(row("dst", dst)),
				Id("s").Op(":=").Add(row("src", src)),
				set,
			),
		),
	)
}

// slice is the array pointer buf as a slice expression.
func slice(buf Code) *Statement { return Parens(buf).Index(Op(":")) }

func padForward(e *Emitter, n *ir.Node) {
	in, out := n.Inputs[0].Shape, n.Shape
	t, _, l, _ := layers.Sides(n, "padding")
	e.Add(Clear(e.Out(n)))
	e.Add(e.rect(image{e.Out(n), out[0], out[1], t, l}, image{e.Out(n.Inputs[0]), in[0], in[1], 0, 0}, in[0], in[1], in[2], false))
}

func padBackward(e *Emitter, n *ir.Node) {
	dx, acc, ok := e.GradIn(n, 0)
	if !ok {
		return
	}
	in, out := n.Inputs[0].Shape, n.Shape
	t, _, l, _ := layers.Sides(n, "padding")
	e.Add(e.rect(image{slice(dx), in[0], in[1], 0, 0}, image{e.Grad(n), out[0], out[1], t, l}, in[0], in[1], in[2], acc))
}

func cropForward(e *Emitter, n *ir.Node) {
	in, out := n.Inputs[0].Shape, n.Shape
	t, _, l, _ := layers.Sides(n, "cropping")
	e.Add(e.rect(image{e.Out(n), out[0], out[1], 0, 0}, image{e.Out(n.Inputs[0]), in[0], in[1], t, l}, out[0], out[1], out[2], false))
}

func cropBackward(e *Emitter, n *ir.Node) {
	dx, acc, ok := e.GradIn(n, 0)
	if !ok {
		return
	}
	in, out := n.Inputs[0].Shape, n.Shape
	t, _, l, _ := layers.Sides(n, "cropping")
	if !acc { // the cropped border gets no gradient
		e.Add(Clear(slice(dx)))
	}
	e.Add(e.rect(image{slice(dx), in[0], in[1], t, l}, image{e.Grad(n), out[0], out[1], 0, 0}, out[0], out[1], out[2], acc))
}

// upLoops emits the loops over every output pixel of an UpSampling2D over
// the whole batch; body sees o, the offset of the output pixel's channel
// 0, and, for nearest, i, the input pixel's; for bilinear the offsets
// i00, i01, i10, i11 of the four input pixels and their weights along
// rows (ly) and columns (lx).
func upLoops(e *Emitter, n *ir.Node, body ...Code) Code {
	in, out := n.Inputs[0].Shape, n.Shape
	s := n.Attrs["size"].([]int)
	src := image{H: in[0], W: in[1]}
	dst := image{H: out[0], W: out[1]}
	c := in[2]
	var rows, cols []Code
	if n.Str("interpolation") == "nearest" {
		rows = []Code{Id("ih").Op(":=").Id("oh").Op("/").Lit(s[0])}
		cols = []Code{
			Id("iw").Op(":=").Id("ow").Op("/").Lit(s[1]),
			Id("i").Op(":=").Add(src.pixel(c, Id("ih"), Id("iw"))),
		}
	} else {
		// The source coordinate (o + ½)/size − ½, clamped at 0; its
		// neighbour below clamped at the last row.
		axis := func(o, f, lo, hi, l string, size, last int) []Code {
			return []Code{
				Id(f).Op(":=").Max(Parens(Id("float64").Call(Id(o)).Op("+").Lit(0.5)).Op("/").Lit(float64(size)).Op("-").Lit(0.5), Lit(0.0)),
				Id(lo).Op(":=").Int().Call(Id(f)),
				Id(hi).Op(":=").Min(Id(lo).Op("+").Lit(1), Lit(last)),
				Id(l).Op(":=").Id("Float").Call(Id(f).Op("-").Id("float64").Call(Id(lo))),
			}
		}
		rows = axis("oh", "fy", "h0", "h1", "ly", s[0], in[0]-1)
		cols = append(axis("ow", "fx", "w0", "w1", "lx", s[1], in[1]-1),
			Id("i00").Op(":=").Add(src.pixel(c, Id("h0"), Id("w0"))),
			Id("i01").Op(":=").Add(src.pixel(c, Id("h0"), Id("w1"))),
			Id("i10").Op(":=").Add(src.pixel(c, Id("h1"), Id("w0"))),
			Id("i11").Op(":=").Add(src.pixel(c, Id("h1"), Id("w1"))),
		)
	}
	cols = append(cols, Id("o").Op(":=").Add(dst.pixel(c, Id("oh"), Id("ow"))))
	return For(Id("b").Op(":=").Lit(0), Id("b").Op("<").Lit(e.Batch), Id("b").Op("++")).Block(
		For(Id("oh").Op(":=").Lit(0), Id("oh").Op("<").Lit(out[0]), Id("oh").Op("++")).Block(append(rows,
			For(Id("ow").Op(":=").Lit(0), Id("ow").Op("<").Lit(out[1]), Id("ow").Op("++")).Block(append(cols, body...)...),
		)...),
	)
}

// pix is s[off:][:c], the channels of one pixel.
func pix(s, off string, c int) *Statement { return Id(s).Index(Id(off).Op(":")).Index(Op(":").Lit(c)) }

func upForward(e *Emitter, n *ir.Node) {
	c := n.Shape[2]
	decl := []Code{Id("x").Op(":=").Add(e.Out(n.Inputs[0])), Id("y").Op(":=").Add(e.Out(n))}
	if n.Str("interpolation") == "nearest" {
		e.Block(append(decl, upLoops(e, n, Copy(pix("y", "o", c), pix("x", "i", c))))...)
		return
	}
	e.Block(append(decl, upLoops(e, n,
		Id("p00").Op(",").Id("p01").Op(",").Id("p10").Op(",").Id("p11").Op(":=").List(pix("x", "i00", c), pix("x", "i01", c), pix("x", "i10", c), pix("x", "i11", c)),
		For(Id("k").Op(":=").Range().Lit(c)).Block(
			Id("y").Index(Id("o").Op("+").Id("k")).Op("=").Parens(Lit(1).Op("-").Id("ly")).Op("*").Parens(
				Parens(Lit(1).Op("-").Id("lx")).Op("*").Id("p00").Index(Id("k")).Op("+").Id("lx").Op("*").Id("p01").Index(Id("k"))).Op("+").
				Id("ly").Op("*").Parens(Parens(Lit(1).Op("-").Id("lx")).Op("*").Id("p10").Index(Id("k")).Op("+").Id("lx").Op("*").Id("p11").Index(Id("k"))),
		),
	))...)
}

func upBackward(e *Emitter, n *ir.Node) {
	dx, acc, ok := e.GradIn(n, 0)
	if !ok {
		return
	}
	c := n.Shape[2]
	decl := []Code{Id("dx").Op(":=").Add(slice(dx)), Id("dy").Op(":=").Add(e.Grad(n))}
	if !acc {
		decl = append(decl, Clear(Id("dx")))
	}
	if n.Str("interpolation") == "nearest" {
		e.Block(append(decl, upLoops(e, n,
			Id("d").Op(":=").Add(pix("dx", "i", c)),
			For(List(Id("k"), Id("v")).Op(":=").Range().Add(pix("dy", "o", c))).Block(Id("d").Index(Id("k")).Op("+=").Id("v")),
		))...)
		return
	}
	// The adjoint of the interpolation: each output's gradient goes to its
	// four sources by their weights (the same pixel twice at a border).
	w := func(a, b Code) *Statement { return Parens(a).Op("*").Parens(b) }
	e.Block(append(decl, upLoops(e, n,
		Id("w00").Op(",").Id("w01").Op(":=").List(w(Lit(1).Op("-").Id("ly"), Lit(1).Op("-").Id("lx")), w(Lit(1).Op("-").Id("ly"), Id("lx"))),
		Id("w10").Op(",").Id("w11").Op(":=").List(w(Id("ly"), Lit(1).Op("-").Id("lx")), Id("ly").Op("*").Id("lx")),
		For(List(Id("k"), Id("g")).Op(":=").Range().Add(pix("dy", "o", c))).Block(
			Id("dx").Index(Id("i00").Op("+").Id("k")).Op("+=").Id("w00").Op("*").Id("g"),
			Id("dx").Index(Id("i01").Op("+").Id("k")).Op("+=").Id("w01").Op("*").Id("g"),
			Id("dx").Index(Id("i10").Op("+").Id("k")).Op("+=").Id("w10").Op("*").Id("g"),
			Id("dx").Index(Id("i11").Op("+").Id("k")).Op("+=").Id("w11").Op("*").Id("g"),
		),
	))...)
}
