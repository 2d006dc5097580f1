package emit

import (
	"fmt"
	"math"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016): a 4×4 tile d of the
// input and a 3×3 kernel g give a 2×2 tile of the output as
//
//	Y = Aᵀ[(G·g·Gᵀ) ⊙ (Bᵀ·d·B)]A,
//
// 16 products instead of 36. Summed over the channels, each of the 16
// positions ξ of the transformed tiles is one matrix product over all
// tiles: M[ξ] (tiles×F) = V[ξ] (tiles×C) · U[ξ] (C×F). Backward runs the
// same algebra transposed: dM = A·dY·Aᵀ, dU[ξ] += V[ξ]ᵀ·dM[ξ],
// dV[ξ] = dM[ξ]·U[ξ]ᵀ, dx += B·dV·Bᵀ and dW = Gᵀ·dU·G, so the weight
// and input gradients take 16 products per tile as well.
var (
	winoBT = [][]int{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
	winoAT = [][]int{{1, 1, 1, 0}, {0, 1, -1, -1}}
	winoG  = [][]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}
)

func matT[T any](m [][]T) [][]T {
	t := make([][]T, len(m[0]))
	for j := range t {
		t[j] = make([]T, len(m))
		for i := range m {
			t[j][i] = m[i][j]
		}
	}
	return t
}

// WinoOp is one of the four tile transforms of F(2×2, 3×3).
type WinoOp int

// The transforms: the input's tiles into V (Bᵀ·d·B), V's products back to
// output tiles (Aᵀ·M·A, plus bias and ReLU), the output gradient into dM
// (A·dY·Aᵀ), and dV back into the input gradient (B·dV·Bᵀ, added: tiles
// overlap).
const (
	WinoIn WinoOp = iota
	WinoOut
	WinoOutGrad
	WinoInGrad
)

// Wino is a tile transform of F(2×2, 3×3) over TR rows of TW tiles of one
// NHWC sample: between the image side x (rows of W pixels of C channels;
// a tile's 4×4 inputs or 2×2 outputs start at row 2·tr, column 2·tw) and
// the transformed side v ([16][TR·TW][C], position ξ = 4i+j major).
type Wino struct {
	Op         WinoOp
	TR, TW, C  int
	W          int
	Bias, Relu bool // WinoOut only
}

// FromImage reports whether the transform reads the image side.
func (k Wino) FromImage() bool { return k.Op == WinoIn || k.Op == WinoOutGrad }

// Matrix is L of the transform dst = L·src·Lᵀ (src and dst are tiles).
func (k Wino) Matrix() [][]int {
	switch k.Op {
	case WinoIn:
		return winoBT
	case WinoOut:
		return winoAT
	case WinoOutGrad:
		return matT(winoAT)
	}
	return matT(winoBT)
}

// ImageTile is the side of a tile on the image side: 4 inputs or 2 outputs.
func (k Wino) ImageTile() int {
	if k.Op == WinoIn || k.Op == WinoInGrad {
		return 4
	}
	return 2
}

// ImageRows is the rows of the image side the transform covers.
func (k Wino) ImageRows() int { return 2*k.TR + k.ImageTile() - 2 }

// Tiles is the tiles of one call.
func (k Wino) Tiles() int { return k.TR * k.TW }

// Name is the kernel's Go name.
func (k Wino) Name() string {
	s := fmt.Sprintf("wino%s_%dx%dx%d_w%d", [...]string{"In", "Out", "OutGrad", "InGrad"}[k.Op], k.TR, k.TW, k.C, k.W)
	if k.Bias {
		s += "_bias"
	}
	if k.Relu {
		s += "_relu"
	}
	return s
}

// Args: the written side first (v, or x), then the other, then bias.
func (k Wino) Args() []Arg {
	img := Arg{"x", k.ImageRows() * k.W * k.C, false}
	v := Arg{"v", 16 * k.Tiles() * k.C, false}
	var a []Arg
	if k.FromImage() {
		v.Out = true
		a = []Arg{v, img}
	} else {
		img.Out = true
		a = []Arg{img, v}
	}
	if k.Bias {
		a = append(a, Arg{"bias", k.C, false})
	}
	return a
}

// Doc says what the kernel computes.
func (k Wino) Doc() string {
	t := fmt.Sprintf("%d rows of %d tiles, %d channels, image rows of %d pixels", k.TR, k.TW, k.C, k.W)
	switch k.Op {
	case WinoIn:
		return "is v[ξ][t][c] = (Bᵀ·d·B)[ξ] for the 4×4 input tile d of every tile t:\nthe input transform of Winograd's F(2×2, 3×3) over " + t + "."
	case WinoOut:
		s := "is x[2tr+i][2tw+j][c] = (Aᵀ·m·A)[i][j]"
		if k.Bias {
			s += " + bias[c]"
		}
		if k.Relu {
			s += ", ReLU'd,"
		}
		return s + " for the 4×4 tile m of v of every tile:\nthe output transform of Winograd's F(2×2, 3×3) over " + t + "."
	case WinoOutGrad:
		return "is v[ξ][t][c] = (A·dy·Aᵀ)[ξ] for the 2×2 tile dy of x of every tile t:\nthe output gradient's transform of Winograd's F(2×2, 3×3) over " + t + "."
	}
	return "adds (B·dv·Bᵀ)[i][j] to x[2tr+i][2tw+j][c] for the 4×4 tile dv of v of every tile\n(tiles overlap by two rows and columns): the input gradient's transform of Winograd's F(2×2, 3×3) over " + t + "."
}

// Flops of one call: the additions of the row combinations (S per column
// of a source tile, S = Σ_i (nonzeros of row i of L − 1)) and of the column
// combinations (S per row of the destination tile).
func (k Wino) Flops() int {
	l := k.Matrix()
	s := 0
	for _, row := range l {
		for _, v := range row {
			if v != 0 {
				s++
			}
		}
		s--
	}
	return (len(l[0]) + len(l)) * s * k.Tiles() * k.C
}

// Terms summed into one output: 16 per tile, four tiles overlapping in the
// input gradient.
func (k Wino) Terms() int {
	if k.Op == WinoInGrad {
		return 4*16 + 1
	}
	return 16 + 1
}

// imageIndex is the index into x of pixel (r, q) of tile (tr, tw),
// channel c, in the twin's variables.
func (k Wino) imageIndex(r, q int) *Statement {
	return Parens(Parens(Lit(2).Op("*").Id("tr").Op("+").Lit(r)).Op("*").Lit(k.W).Op("+").Lit(2).Op("*").Id("tw").Op("+").Lit(q)).Op("*").Lit(k.C).Op("+").Id("c")
}

// winoIndex is the index into v of position xi of tile t, channel c.
func (k Wino) winoIndex(xi int) *Statement {
	return Parens(Lit(xi * k.Tiles()).Op("+").Id("t")).Op("*").Lit(k.C).Op("+").Id("c")
}

// PositiveFirst returns the indices of coef's nonzero coefficients,
// positive ones first: a sum then starts with a positive term where it has
// one (the Go twins and the assembly alike).
func PositiveFirst[T int | float64](coef []T) []int {
	var ix []int
	for pass := 0; pass < 2; pass++ {
		for i, c := range coef {
			if c != 0 && (c > 0) == (pass == 0) {
				ix = append(ix, i)
			}
		}
	}
	return ix
}

// linComb is the Go expression Σ coef[i]·terms[i], in PositiveFirst's
// order; coefficients ±1 multiply nothing.
func linComb[T int | float64](coef []T, terms []Code) *Statement {
	var s *Statement
	for _, i := range PositiveFirst(coef) {
		c := float64(coef[i])
		t := Add(terms[i])
		if c != 1 && c != -1 {
			t = Id("Float").Call(Lit(math.Abs(c))).Op("*").Add(terms[i])
		}
		switch {
		case s == nil && c < 0:
			s = Op("-").Add(t)
		case s == nil:
			s = t
		case c < 0:
			s = s.Op("-").Add(t)
		default:
			s = s.Op("+").Add(t)
		}
	}
	return s
}

// Twin returns the Go loops.
func (k Wino) Twin() []Code {
	l := k.Matrix()
	a, p := len(l), len(l[0])
	src := func(r, q int) *Statement {
		if k.FromImage() {
			return Id("x").Index(k.imageIndex(r, q))
		}
		return Id("v").Index(k.winoIndex(r*4 + q))
	}
	dst := func(i, j int) *Statement {
		if k.FromImage() {
			return Id("v").Index(k.winoIndex(i*4 + j))
		}
		return Id("x").Index(k.imageIndex(i, j))
	}
	sv := func(r, q int) Code { return Id(fmt.Sprintf("s%d%d", r, q)) }
	body := []Code{}
	for r := 0; r < p; r++ {
		for q := 0; q < p; q++ {
			body = append(body, Add(sv(r, q)).Op(":=").Add(src(r, q)))
		}
	}
	for i := 0; i < a; i++ {
		var rows []Code
		var rs []Code
		for q := 0; q < p; q++ {
			var col []Code
			for r := 0; r < p; r++ {
				col = append(col, sv(r, q))
			}
			rq := Id(fmt.Sprintf("r%d", q))
			rs = append(rs, rq)
			rows = append(rows, Add(rq).Op(":=").Add(linComb(l[i], col)))
		}
		for j := 0; j < a; j++ {
			val := linComb(l[j], rs)
			switch {
			case k.Op == WinoInGrad:
				rows = append(rows, dst(i, j).Op("+=").Add(val))
			case k.Bias || k.Relu:
				if k.Bias {
					val = Parens(val).Op("+").Id("bias").Index(Id("c"))
				}
				y := Id(fmt.Sprintf("y%d", j))
				rows = append(rows, Add(y).Op(":=").Add(val))
				if k.Relu {
					rows = append(rows, If(Op("!").Parens(Add(y).Op(">").Lit(0))).Block(Add(y).Op("=").Lit(0)))
				}
				rows = append(rows, dst(i, j).Op("=").Add(y))
			default:
				rows = append(rows, dst(i, j).Op("=").Add(val))
			}
		}
		body = append(body, Block(rows...))
	}
	return []Code{loop("tr", k.TR, loop("tw", k.TW,
		Id("t").Op(":=").Id("tr").Op("*").Lit(k.TW).Op("+").Id("tw"),
		loop("c", k.C, body...),
	))}
}

// winoRows is the tile rows of one pass of a Winograd convolution: the
// largest divisor of th whose transformed tiles (16 positions × tiles × ch
// values) stay within 160 KiB, so that V and M of a pass stay in L2.
func winoRows(th, tw, ch int) int {
	for tr := th; tr > 1; tr-- {
		if th%tr == 0 && 16*tr*tw*ch*4 <= 160<<10 {
			return tr
		}
	}
	return 1
}

// winoGeom is the plan of a Winograd Conv2D: its passes of tr tile rows
// over th rows of tw tiles, and its buffers. The tiles cover an output of
// oh×ow (OH and OW rounded up to even) from an input of ih×iw = (oh+2)×(ow+2)
// pixels; where that is not the sample itself (padding, odd sizes), each
// sample is copied into the zero border of xp first (padIn), the outputs go
// to yp and are cut out of it (padOut), and backward reads the output
// gradient from dyp (whose extra row and column stay zero) and sums the
// input gradient in dxp.
type winoGeom struct {
	g              convGeom
	f              int
	th, tw, tr     int
	tiles          int // tiles of one pass
	oh, ow, ih, iw int
	padIn, padOut  bool
	v, m           string
	u, ut, du      string
	xp, yp         string
	dxp, dyp       string
}

func (e *Emitter) winoPlan(n *ir.Node, g convGeom) winoGeom {
	f := n.Int("filters")
	w := winoGeom{g: g, f: f, th: (g.OH + 1) / 2, tw: (g.OW + 1) / 2}
	w.oh, w.ow = 2*w.th, 2*w.tw
	w.ih, w.iw = w.oh+2, w.ow+2
	w.padIn = g.PT > 0 || g.PL > 0 || g.H != w.ih || g.W != w.iw
	w.padOut = w.oh != g.OH || w.ow != g.OW
	w.tr = winoRows(w.th, w.tw, max(g.C, f))
	w.tiles = w.tr * w.tw
	w.v, w.m = n.Name+"_wV", n.Name+"_wM"
	w.u, w.ut, w.du = n.Name+"_wU", n.Name+"_wUT", n.Name+"_wdU"
	w.xp, w.yp = n.Name+"_wX", n.Name+"_wY"
	w.dxp, w.dyp = n.Name+"_wdX", n.Name+"_wdY"
	e.Use(w.v, 16*w.tiles*g.C, "Winograd-transformed input tiles (and their gradient) of one pass of layer "+n.Name+", [16][tiles][channels]")
	e.Use(w.m, 16*w.tiles*f, "Winograd-domain outputs (and their gradient) of one pass of layer "+n.Name+", [16][tiles][filters]")
	e.Use(w.u, 16*g.C*f, "Winograd-transformed kernel G·g·Gᵀ of layer "+n.Name+", [16][channels][filters]")
	if w.padIn {
		// Only the interior is ever written: the border stays zero from one
		// pass to the next, so the buffer keeps memory of its own.
		e.UseState(w.xp, w.ih*w.iw*g.C, "", "one sample's input of layer "+n.Name+" in a border of zeros, as the Winograd tiles read it")
	}
	if w.padOut {
		e.Use(w.yp, w.oh*w.ow*f, "one sample's output of layer "+n.Name+" over whole Winograd tiles")
	}
	return w
}

// copyRows emits the copy of rows rows of cols pixels of ch values from
// src (a slice expression, rows sw pixels wide) to dst (rows dw wide), the
// first at pixel (r0, c0) of dst: add adds instead.
func copyRows(dst, src Code, rows, cols, ch, dw, sw, r0, c0 int, add bool) Code {
	d := Add(dst).Index(Parens(Parens(Id("r").Op("+").Lit(r0)).Op("*").Lit(dw).Op("+").Lit(c0)).Op("*").Lit(ch).Op(":")).Index(Op(":").Lit(cols * ch))
	sr := Add(src).Index(Id("r").Op("*").Lit(sw * ch).Op(":")).Index(Op(":").Lit(cols * ch))
	body := Copy(d, sr)
	if add {
		body = Block(
			Id("d").Op(":=").Add(d),
			For(List(Id("i"), Id("v")).Op(":=").Range().Add(sr)).Block(Id("d").Index(Id("i")).Op("+=").Id("v")),
		)
	}
	return loop("r", rows, body)
}

// product is the kernel of one position's product, a 1×1 convolution over
// the tiles of a pass: from c channels to f filters.
func (w winoGeom) product(c, f int) ConvFwd {
	return ConvFwd{H: 1, W: w.tiles, C: c, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, OH: 1, OW: w.tiles, F: f}
}

// passes emits the loop over the passes of sample b (r0: the first tile
// row of the pass).
func (w winoGeom) passes(body ...Code) Code {
	return For(Id("r0").Op(":=").Lit(0), Id("r0").Op("<").Lit(w.th), Id("r0").Op("+=").Lit(w.tr)).Block(body...)
}

// rowsOf is the image rows of sample b of buffer buf (a slice variable)
// that a pass starting at tile row r0 covers: n rows of width×ch values.
func rowsOf(buf string, width, ch, n int) *Statement {
	return view(buf, Id("r0").Op("*").Lit(2*width*ch), n*width*ch)
}

// positions emits `for xi := 0; xi < 16; xi++ { body }`.
func positions(body ...Code) Code { return loop("xi", 16, body...) }

// posOf is position xi of a [16][n] buffer (a field name) as an array
// pointer.
func posOf(buf string, n int) *Statement {
	return view("m."+buf, Id("xi").Op("*").Lit(n), n)
}

// winoKernel emits U = G·g·Gᵀ for every (filter, channel) of the
// PyTorch-ordered kernel w: u[ξ][c][f].
func (e *Emitter) winoKernel(w winoGeom, torch Code) Code {
	C, F := w.g.C, w.f
	gv := func(kh, kw int) Code { return Id("g").Index(Lit(kh*3 + kw)) }
	tv := func(i, kw int) Code { return Id(fmt.Sprintf("t%d%d", i, kw)) }
	var body []Code
	body = append(body, Id("g").Op(":=").Id("w").Index(Parens(Id("f").Op("*").Lit(C).Op("+").Id("c")).Op("*").Lit(9).Op(":")).Index(Op(":").Lit(9)))
	for i := 0; i < 4; i++ {
		for kw := 0; kw < 3; kw++ {
			body = append(body, Add(tv(i, kw)).Op(":=").Add(linComb(winoG[i], []Code{gv(0, kw), gv(1, kw), gv(2, kw)})))
		}
	}
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			body = append(body, Id("u").Index(Parens(Lit((i*4+j)*C).Op("+").Id("c")).Op("*").Lit(F).Op("+").Id("f")).Op("=").
				Add(linComb(winoG[j], []Code{tv(i, 0), tv(i, 1), tv(i, 2)})))
		}
	}
	return Block(
		Id("w").Op(":=").Add(torch),
		Id("u").Op(":=").Add(e.Arr(w.u)),
		loop("f", F, loop("c", C, body...)),
	)
}

// winoKernelGrad emits dW = Gᵀ·dU·G into the PyTorch-ordered gradient dw.
func (e *Emitter) winoKernelGrad(w winoGeom, torch Code) Code {
	C, F := w.g.C, w.f
	dv := func(i, j int) Code {
		return Id("du").Index(Parens(Lit((i*4 + j) * C).Op("+").Id("c")).Op("*").Lit(F).Op("+").Id("f"))
	}
	sv := func(kh, j int) Code { return Id(fmt.Sprintf("s%d%d", kh, j)) }
	gt := matT(winoG)
	var body []Code
	for kh := 0; kh < 3; kh++ {
		for j := 0; j < 4; j++ {
			body = append(body, Add(sv(kh, j)).Op(":=").Add(linComb(gt[kh], []Code{dv(0, j), dv(1, j), dv(2, j), dv(3, j)})))
		}
	}
	body = append(body, Id("g").Op(":=").Id("dw").Index(Parens(Id("f").Op("*").Lit(C).Op("+").Id("c")).Op("*").Lit(9).Op(":")).Index(Op(":").Lit(9)))
	for kh := 0; kh < 3; kh++ {
		for kw := 0; kw < 3; kw++ {
			body = append(body, Id("g").Index(Lit(kh*3+kw)).Op("=").Add(linComb(gt[kw], []Code{sv(kh, 0), sv(kh, 1), sv(kh, 2), sv(kh, 3)})))
		}
	}
	return Block(
		Id("dw").Op(":=").Add(torch),
		Id("du").Op(":=").Add(e.Arr(w.du)),
		loop("f", F, loop("c", C, body...)),
	)
}

// convForwardWino is the forward pass of a Conv2D as F(2×2, 3×3): per
// sample and pass, the input transform, 16 products and the output
// transform with bias and ReLU.
func convForwardWino(e *Emitter, n *ir.Node, g convGeom) {
	f, act := n.Int("filters"), n.Str("activation")
	w := e.winoPlan(n, g)
	wp, _ := e.Param(n, "weight")
	e.Add(e.winoKernel(w, wp))
	in := Wino{Op: WinoIn, TR: w.tr, TW: w.tw, C: g.C, W: w.iw}
	out := Wino{Op: WinoOut, TR: w.tr, TW: w.tw, C: f, W: w.ow, Bias: n.Bool("use_bias"), Relu: n.Fused.Epilogue == "relu"}
	outName, outSize, inSize := e.OutName(n), n.Size(), n.Inputs[0].Size()
	body := []Code{
		Id("x").Op(":=").Id("m").Dot(e.OutName(n.Inputs[0])).Index(Id("b").Op("*").Lit(inSize).Op(":").Parens(Id("b").Op("+").Lit(1)).Op("*").Lit(inSize)),
		Id("y").Op(":=").Id("m").Dot(outName).Index(Id("b").Op("*").Lit(outSize).Op(":").Parens(Id("b").Op("+").Lit(1)).Op("*").Lit(outSize)),
	}
	xs, ys := "x", "y"
	if w.padIn {
		body = append(body, copyRows(Id("m").Dot(w.xp), Id("x"), g.H, g.W, g.C, w.iw, g.W, g.PT, g.PL, false))
		xs = "m." + w.xp
	}
	if w.padOut {
		ys = "m." + w.yp
	}
	outArgs := []Code{rowsOf(ys, w.ow, f, out.ImageRows()), e.Arr(w.m)}
	if out.Bias {
		bias, _ := e.Param(n, "bias")
		outArgs = append(outArgs, bias)
	}
	body = append(body, w.passes(
		e.funcCall(in, e.Arr(w.v), rowsOf(xs, w.iw, g.C, in.ImageRows())),
		positions(e.funcCall(w.product(g.C, f), posOf(w.m, w.tiles*f), posOf(w.v, w.tiles*g.C), posOf(w.u, g.C*f))),
		e.funcCall(out, outArgs...),
	))
	if w.padOut {
		body = append(body, copyRows(Id("y"), Id("m").Dot(w.yp), g.OH, g.OW, f, g.OW, w.ow, 0, 0, false))
	}
	if !out.Relu && !Batched(act) {
		body = append(body, e.ActivateOn(act, sample(outName, outSize).Index(Op(":"))))
	}
	e.batchLoop(body...)
	if Batched(act) {
		e.Activate(n, act)
	}
}

// convBackwardWino is the backward pass of a Conv2D as F(2×2, 3×3): per
// sample and pass, the input transform again and the output gradient's,
// then per position the kernel gradient's product and the input
// gradient's (into V, which that position no longer needs), and the input
// gradient's transform; the kernel gradient is transformed back once.
func convBackwardWino(e *Emitter, n *ir.Node, g convGeom) {
	f := n.Int("filters")
	ohw, inSize := g.OH*g.OW, n.Inputs[0].Size()
	w := e.winoPlan(n, g)
	e.Use(w.du, 16*g.C*f, "gradient of the Winograd-transformed kernel of layer "+n.Name+", [16][channels][filters]")
	dy, body := e.gradPrologue(n, ohw)
	e.Add(Op("*").Add(e.Arr(w.du)).Op("=").Index(Lit(16 * g.C * f)).Id("Float").Values())
	in := Wino{Op: WinoIn, TR: w.tr, TW: w.tw, C: g.C, W: w.iw}
	outGrad := Wino{Op: WinoOutGrad, TR: w.tr, TW: w.tw, C: f, W: w.ow}
	wgrad := ConvWGrad{H: 1, W: w.tiles, C: g.C, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, OH: 1, OW: w.tiles, F: f}
	perPos := []Code{e.funcCall(wgrad, posOf(w.du, g.C*f), posOf(w.v, w.tiles*g.C), posOf(w.m, w.tiles*f))}
	body = append(body,
		Id("x").Op(":=").Id("m").Dot(e.OutName(n.Inputs[0])).Index(Id("b").Op("*").Lit(inSize).Op(":").Parens(Id("b").Op("+").Lit(1)).Op("*").Lit(inSize)),
		Id("dy").Op(":=").Parens(dy).Index(Op(":")))
	xs, dys := "x", "dy"
	if w.padIn {
		body = append(body, copyRows(Id("m").Dot(w.xp), Id("x"), g.H, g.W, g.C, w.iw, g.W, g.PT, g.PL, false))
		xs = "m." + w.xp
	}
	if w.padOut { // the extra row or column of outputs has no gradient: zeros
		e.UseState(w.dyp, w.oh*w.ow*f, "", "one sample's output gradient of layer "+n.Name+" over whole Winograd tiles, zero outside the output")
		body = append(body, copyRows(Id("m").Dot(w.dyp), Id("dy"), g.OH, g.OW, f, w.ow, g.OW, 0, 0, false))
		dys = "m." + w.dyp
	}
	var pass []Code
	pass = append(pass,
		e.funcCall(in, e.Arr(w.v), rowsOf(xs, w.iw, g.C, in.ImageRows())),
		e.funcCall(outGrad, e.Arr(w.m), rowsOf(dys, w.ow, f, outGrad.ImageRows())))
	var after, last []Code
	if dx, acc, ok := e.GradIn(n, 0); ok {
		e.Use(w.ut, 16*f*g.C, "Winograd-transformed kernel of layer "+n.Name+", [16][filters][channels]")
		e.Add(loop("xi", 16, loop("c", g.C, loop("f", f,
			Id("m").Dot(w.ut).Index(Parens(Id("xi").Op("*").Lit(f).Op("+").Id("f")).Op("*").Lit(g.C).Op("+").Id("c")).Op("=").
				Id("m").Dot(w.u).Index(Parens(Id("xi").Op("*").Lit(g.C).Op("+").Id("c")).Op("*").Lit(f).Op("+").Id("f"))))))
		body = append(body, Id("dx").Op(":=").Parens(dx).Index(Id("b").Op("*").Lit(inSize).Op(":").Parens(Id("b").Op("+").Lit(1)).Op("*").Lit(inSize)))
		dxs := "dx"
		switch {
		case w.padIn: // into a bordered buffer, then its inside into dx
			e.Use(w.dxp, w.ih*w.iw*g.C, "one sample's input gradient of layer "+n.Name+" over the Winograd tiles' inputs")
			body = append(body, Clear(Id("m").Dot(w.dxp).Index(Op(":"))))
			dxs = "m." + w.dxp
			last = append(last, copyRows(Id("dx"), Id("m").Dot(w.dxp).Index(Lit((g.PT*w.iw+g.PL)*g.C).Op(":")), g.H, g.W, g.C, g.W, w.iw, 0, 0, acc))
		case !acc: // cleared sample by sample, while in cache
			body = append(body, Clear(Id("dx")))
		}
		perPos = append(perPos, e.funcCall(w.product(f, g.C), posOf(w.v, w.tiles*g.C), posOf(w.m, w.tiles*f), posOf(w.ut, f*g.C)))
		inGrad := Wino{Op: WinoInGrad, TR: w.tr, TW: w.tw, C: g.C, W: w.iw}
		after = append(after, e.funcCall(inGrad, rowsOf(dxs, w.iw, g.C, inGrad.ImageRows()), e.Arr(w.v)))
	}
	pass = append(pass, positions(perPos...))
	pass = append(pass, after...)
	body = append(body, w.passes(pass...))
	body = append(body, last...)
	e.batchLoop(body...)
	dw, _ := e.ParamGrad(n, "weight")
	e.Add(e.winoKernelGrad(w, dw))
}
