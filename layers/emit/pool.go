package emit

import (
	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// The pooling layers and Reshape: no parameters, and for pooling a loop
// nest over every window of an NHWC input.

func init() {
	Register("Reshape", &Kind{
		Forward:  func(e *Emitter, n *ir.Node) {},
		Backward: func(e *Emitter, n *ir.Node) {},
	})
	// The 1-D kinds pool a [steps, 1, channels] image (layers.PoolGeometry).
	for _, name := range []string{"MaxPooling2D", "MaxPooling1D"} {
		Register(name, &Kind{
			Forward:  maxPoolForward,
			Backward: maxPoolBackward,
		})
	}
	for _, name := range []string{"AveragePooling2D", "AveragePooling1D"} {
		Register(name, &Kind{
			Forward:  avgPoolForward,
			Backward: avgPoolBackward,
		})
	}
	for _, name := range []string{"GlobalAveragePooling2D", "GlobalAveragePooling1D"} {
		Register(name, &Kind{
			Forward:  globalAvgPoolForward,
			Backward: globalAvgPoolBackward,
		})
	}
	for _, name := range []string{"GlobalMaxPooling2D", "GlobalMaxPooling1D"} {
		Register(name, &Kind{
			Forward:  globalMaxPoolForward,
			Backward: globalMaxPoolBackward,
		})
	}
}

// poolLin is the expression v*s + c, simplified.
func poolLin(v string, s, c int) *Statement {
	x := Id(v)
	if s != 1 {
		x = x.Op("*").Lit(s)
	}
	switch {
	case c > 0:
		x = x.Op("+").Lit(c)
	case c < 0:
		x = x.Op("-").Lit(-c)
	}
	return x
}

// poolSpan emits lo and hi, the input rows (or columns) [lo, hi) of the
// window at output index o along an axis of n cells: window k, stride s,
// padding p before, out windows.
func poolSpan(lo, hi, o string, k, s, p, n, out int) []Code {
	l, h := poolLin(o, s, -p), poolLin(o, s, k-p)
	clipLo, clipHi := poolClips(k, s, p, n, out)
	if clipLo {
		l = Max(l, Lit(0))
	}
	if clipHi {
		h = Min(h, Lit(n))
	}
	return []Code{Id(lo).Op(":=").Add(l), Id(hi).Op(":=").Add(h)}
}

// poolClips reports whether the padding clips the first and the last
// window along an axis, with the arguments of poolSpan.
func poolClips(k, s, p, n, out int) (lo, hi bool) {
	return p > 0, (out-1)*s-p+k > n
}

// poolClipped reports whether the padding clips some window, that is,
// whether the windows differ in size.
func poolClipped(g convGeom) bool {
	t, b := poolClips(g.KH, g.SH, g.PT, g.H, g.OH)
	l, r := poolClips(g.KW, g.SW, g.PL, g.W, g.OW)
	return t || b || l || r
}

// poolLoops emits the loops over every window of a batch: body sees b, the
// window's rows [h0, h1) and columns [w0, w1) inside the input, and o, the
// offset of its output channels.
func poolLoops(g convGeom, batch int, body ...Code) Code {
	rows := poolSpan("h0", "h1", "oh", g.KH, g.SH, g.PT, g.H, g.OH)
	cols := poolSpan("w0", "w1", "ow", g.KW, g.SW, g.PL, g.W, g.OW)
	o := Id("o").Op(":=").Parens(Parens(Id("b").Op("*").Lit(g.OH).Op("+").Id("oh")).Op("*").Lit(g.OW).Op("+").Id("ow")).Op("*").Lit(g.C)
	return For(Id("b").Op(":=").Lit(0), Id("b").Op("<").Lit(batch), Id("b").Op("++")).Block(
		For(Id("oh").Op(":=").Lit(0), Id("oh").Op("<").Lit(g.OH), Id("oh").Op("++")).Block(append(rows,
			For(Id("ow").Op(":=").Lit(0), Id("ow").Op("<").Lit(g.OW), Id("ow").Op("++")).Block(append(append(cols, o), body...)...),
		)...),
	)
}

// poolPixel is the offset of channel 0 of input pixel (h, w) of sample b.
func poolPixel(g convGeom, h, w Code) *Statement {
	return Parens(Parens(Id("b").Op("*").Lit(g.H).Op("+").Add(h)).Op("*").Lit(g.W).Op("+").Add(w)).Op("*").Lit(g.C)
}

// poolWindow emits the loops over the cells of the current window; body
// sees i, the offset of the cell's channel 0.
func poolWindow(g convGeom, body ...Code) Code {
	return For(Id("h").Op(":=").Id("h0"), Id("h").Op("<").Id("h1"), Id("h").Op("++")).Block(
		For(Id("w").Op(":=").Id("w0"), Id("w").Op("<").Id("w1"), Id("w").Op("++")).Block(append([]Code{
			Id("i").Op(":=").Add(poolPixel(g, Id("h"), Id("w"))),
		}, body...)...),
	)
}

// poolChannels is s[off:][:C], a channel vector of an NHWC buffer.
func poolChannels(s string, off Code, c int) *Statement {
	return Id(s).Index(Add(off).Op(":")).Index(Op(":").Lit(c))
}

// poolArgmax is the buffer of the input offsets of the maxima of a
// MaxPooling2D node, kept from the training forward for backward.
func (e *Emitter) poolArgmax(n *ir.Node) (name, typ string) {
	name, typ = n.Name+"_argmax", "int32"
	size := e.Batch * n.Size()
	if e.Batch*n.Inputs[0].Size() > 1<<31-1 {
		typ = "int"
	}
	e.UseTyped(name, size, typ, "input offset of each maximum of layer "+n.Name)
	return name, typ
}

func maxPoolForward(e *Emitter, n *ir.Node) {
	g, _ := poolGeometry(n, n.Inputs[0].Shape)
	if n.Method == ir.Tiles {
		k := MaxPool{H: g.H, W: g.W, C: g.C, KH: g.KH, KW: g.KW}
		e.batchLoop(e.funcCall(k, sample(e.OutName(n), n.Size()), sample(e.OutName(n.Inputs[0]), n.Inputs[0].Size())))
		return
	}
	// Each window starts from its first cell, so padding never wins.
	first := []Code{
		Id("dst").Op(":=").Add(poolChannels("out", Id("o"), g.C)),
		Id("i0").Op(":=").Add(poolPixel(g, Id("h0"), Id("w0"))),
		Copy(Id("dst"), Id("in").Index(Id("i0").Op(":"))),
	}
	better := []Code{Id("dst").Index(Id("c")).Op("=").Id("v")}
	decl := []Code{
		Id("in").Op(":=").Add(e.Out(n.Inputs[0])),
		Id("out").Op(":=").Add(e.Out(n)),
	}
	if e.Train {
		arg, typ := e.poolArgmax(n)
		decl = append(decl, Id("arg").Op(":=").Id("m").Dot(arg).Index(Op(":")))
		first = append(first,
			Id("am").Op(":=").Add(poolChannels("arg", Id("o"), g.C)),
			For(Id("c").Op(":=").Range().Id("am")).Block(Id("am").Index(Id("c")).Op("=").Id(typ).Call(Id("i0").Op("+").Id("c"))),
		)
		better = append(better, Id("am").Index(Id("c")).Op("=").Id(typ).Call(Id("i").Op("+").Id("c")))
	}
	loops := poolLoops(g, e.Batch, append(first, poolWindow(g,
		For(List(Id("c"), Id("v")).Op(":=").Range().Add(poolChannels("in", Id("i"), g.C))).Block(
			If(Id("v").Op(">").Id("dst").Index(Id("c"))).Block(better...),
		),
	))...)
	e.Block(append(decl, loops)...)
}

func maxPoolBackward(e *Emitter, n *ir.Node) {
	dx, acc, ok := e.GradIn(n, 0)
	if !ok {
		return
	}
	if g, _ := poolGeometry(n, n.Inputs[0].Shape); n.BackMethod == ir.Tiles {
		k := MaxPool{H: g.H, W: g.W, C: g.C, KH: g.KH, KW: g.KW, Grad: true}
		in, out := n.Inputs[0].Size(), n.Size()
		if x := n.Fused.BackwardInto; x != nil {
			// The convolution's backward loop runs this per sample, just
			// before it uses the gradient (see pass.Fuse).
			if acc {
				panic("emit: the backward of " + n.Name + " is fused into " + x.Name + ", whose gradient another layer writes")
			}
			e.deferGrad(x, n, func(dst Code) Code {
				return e.funcCall(k, dst, sample(e.GradName(n), out), sample(e.OutName(x), in), sample(e.OutName(n), out))
			})
			return
		}
		call := e.funcCall(k, sample(e.GradName(n.Inputs[0]), in), sample(e.GradName(n), out), sample(e.OutName(n.Inputs[0]), in), sample(e.OutName(n), out))
		if !acc {
			e.batchLoop(call)
			return
		}
		// Another consumer wrote dx first: the kernel writes a scratch
		// sample, which is added.
		tmp := n.Name + "_dx"
		e.Use(tmp, in, "one sample's input gradient of layer "+n.Name)
		call = e.funcCall(k, e.Arr(tmp), sample(e.GradName(n), out), sample(e.OutName(n.Inputs[0]), in), sample(e.OutName(n), out))
		e.batchLoop(call, Block(
			Id("dx").Op(":=").Add(sample(e.GradName(n.Inputs[0]), in)),
			For(List(Id("i"), Id("v")).Op(":=").Range().Id("m").Dot(tmp)).Block(Id("dx").Index(Id("i")).Op("+=").Id("v")),
		))
		return
	}
	arg, _ := e.poolArgmax(n)
	code := []Code{Id("dx").Op(":=").Parens(dx).Index(Op(":"))}
	if !acc {
		code = append(code, Clear(Id("dx")))
	}
	e.Block(append(code,
		Id("d").Op(":=").Add(e.Grad(n)),
		For(List(Id("k"), Id("i")).Op(":=").Range().Id("m").Dot(arg).Index(Op(":"))).Block(
			Id("dx").Index(Id("i")).Op("+=").Id("d").Index(Id("k")),
		),
	)...)
}

// poolScale emits k, the reciprocal of the current window's cell count.
func (e *Emitter) poolScale(g convGeom) Code {
	if !poolClipped(g) {
		return Id("k").Op(":=").Add(e.Lit(1 / float64(g.KH*g.KW)))
	}
	return Id("k").Op(":=").Lit(1).Op("/").Id("Float").Call(Parens(Id("h1").Op("-").Id("h0")).Op("*").Parens(Id("w1").Op("-").Id("w0")))
}

func avgPoolForward(e *Emitter, n *ir.Node) {
	g, _ := poolGeometry(n, n.Inputs[0].Shape)
	loops := poolLoops(g, e.Batch,
		Id("dst").Op(":=").Add(poolChannels("out", Id("o"), g.C)),
		Clear(Id("dst")),
		poolWindow(g, For(List(Id("c"), Id("v")).Op(":=").Range().Add(poolChannels("in", Id("i"), g.C))).Block(
			Id("dst").Index(Id("c")).Op("+=").Id("v"),
		)),
		e.poolScale(g),
		For(Id("c").Op(":=").Range().Id("dst")).Block(Id("dst").Index(Id("c")).Op("*=").Id("k")),
	)
	e.Block(
		Id("in").Op(":=").Add(e.Out(n.Inputs[0])),
		Id("out").Op(":=").Add(e.Out(n)),
		loops,
	)
}

func avgPoolBackward(e *Emitter, n *ir.Node) {
	dx, acc, ok := e.GradIn(n, 0)
	if !ok {
		return
	}
	g, _ := poolGeometry(n, n.Inputs[0].Shape)
	code := []Code{Id("dx").Op(":=").Parens(dx).Index(Op(":"))}
	if !acc {
		code = append(code, Clear(Id("dx")))
	}
	loops := poolLoops(g, e.Batch,
		Id("dy").Op(":=").Add(poolChannels("d", Id("o"), g.C)),
		e.poolScale(g),
		poolWindow(g,
			Id("dst").Op(":=").Add(poolChannels("dx", Id("i"), g.C)),
			For(List(Id("c"), Id("v")).Op(":=").Range().Id("dy")).Block(
				Id("dst").Index(Id("c")).Op("+=").Id("v").Op("*").Id("k"),
			),
		),
	)
	e.Block(append(code, Id("d").Op(":=").Add(e.Grad(n)), loops)...)
}

func globalAvgPoolForward(e *Emitter, n *ir.Node) {
	hw, c := globalPositions(n)
	pre, skip, k, scale := e.maskedMean(n, hw)
	e.Block(append(pre,
		Id("in").Op(":=").Add(e.Out(n.Inputs[0])),
		Id("out").Op(":=").Add(e.Out(n)),
		For(Id("b").Op(":=").Lit(0), Id("b").Op("<").Lit(e.Batch), Id("b").Op("++")).Block(append(k,
			Id("dst").Op(":=").Add(poolChannels("out", Id("b").Op("*").Lit(c), c)),
			Clear(Id("dst")),
			For(Id("p").Op(":=").Lit(0), Id("p").Op("<").Lit(hw), Id("p").Op("++")).Block(append(skip,
				For(List(Id("c"), Id("v")).Op(":=").Range().Add(poolChannels("in", Parens(Id("b").Op("*").Lit(hw).Op("+").Id("p")).Op("*").Lit(c), c))).Block(
					Id("dst").Index(Id("c")).Op("+=").Id("v"),
				))...,
			),
			For(Id("c").Op(":=").Range().Id("dst")).Block(Id("dst").Index(Id("c")).Op("*=").Add(scale)))...,
		))...,
	)
}

// maskedMean returns the code of a mean over the hw steps of each sample
// b: pre (before the loop over samples), k (in it: with a mask, k, the
// inverse of the count of unmasked steps), skip (in the loop over steps
// p: it skips a masked step, one whose token id is 0) and scale, the
// factor of the mean (1/hw without a mask).
func (e *Emitter) maskedMean(n *ir.Node, hw int) (pre, skip, k []Code, scale Code) {
	if n.Mask == nil {
		return nil, nil, nil, e.Lit(1 / float64(hw))
	}
	id := Id("ids").Index(Id("b").Op("*").Lit(hw).Op("+").Id("p"))
	pre = []Code{Id("ids").Op(":=").Add(e.Out(n.Mask.Inputs[0]))}
	skip = []Code{If(id.Clone().Op("==").Lit(0)).Block(Continue())}
	k = []Code{
		Id("cnt").Op(":=").Lit(0),
		For(Id("p").Op(":=").Lit(0), Id("p").Op("<").Lit(hw), Id("p").Op("++")).Block(
			If(id.Clone().Op("!=").Lit(0)).Block(Id("cnt").Op("++"))),
		Id("k").Op(":=").Add(e.Lit(0)),
		If(Id("cnt").Op(">").Lit(0)).Block(Id("k").Op("=").Lit(1).Op("/").Id("Float").Call(Id("cnt"))),
	}
	return pre, skip, k, Id("k")
}

func globalAvgPoolBackward(e *Emitter, n *ir.Node) {
	dx, acc, ok := e.GradIn(n, 0)
	if !ok {
		return
	}
	hw, c := globalPositions(n)
	op := "="
	if acc {
		op = "+="
	}
	pre, skip, k, scale := e.maskedMean(n, hw)
	var w []Code
	if len(skip) > 0 { // a masked step's gradient is 0
		w = []Code{Id("w").Op(":=").Id("k"), If(Id("ids").Index(Id("b").Op("*").Lit(hw).Op("+").Id("p")).Op("==").Lit(0)).Block(Id("w").Op("=").Lit(0))}
		scale = Id("w")
	}
	e.Block(append(pre,
		Id("dx").Op(":=").Parens(dx).Index(Op(":")),
		Id("d").Op(":=").Add(e.Grad(n)),
		For(Id("b").Op(":=").Lit(0), Id("b").Op("<").Lit(e.Batch), Id("b").Op("++")).Block(append(k,
			Id("dy").Op(":=").Add(poolChannels("d", Id("b").Op("*").Lit(c), c)),
			For(Id("p").Op(":=").Lit(0), Id("p").Op("<").Lit(hw), Id("p").Op("++")).Block(append(w,
				Id("dst").Op(":=").Add(poolChannels("dx", Parens(Id("b").Op("*").Lit(hw).Op("+").Id("p")).Op("*").Lit(c), c)),
				For(List(Id("c"), Id("v")).Op(":=").Range().Id("dy")).Block(
					Id("dst").Index(Id("c")).Op(op).Id("v").Op("*").Add(scale),
				))...,
			))...,
		))...,
	)
}

// globalPositions returns the positions and the channels of a global
// pooling node's input, an image or a sequence.
func globalPositions(n *ir.Node) (hw, c int) {
	in := n.Inputs[0].Shape
	return ir.Prod(in[:len(in)-1]), in[len(in)-1]
}

func globalMaxPoolForward(e *Emitter, n *ir.Node) {
	hw, c := globalPositions(n)
	e.Block(
		Id("in").Op(":=").Add(e.Out(n.Inputs[0])),
		Id("out").Op(":=").Add(e.Out(n)),
		For(Id("b").Op(":=").Lit(0), Id("b").Op("<").Lit(e.Batch), Id("b").Op("++")).Block(
			Id("dst").Op(":=").Add(poolChannels("out", Id("b").Op("*").Lit(c), c)),
			Copy(Id("dst"), poolChannels("in", Id("b").Op("*").Lit(hw*c), c)),
			For(Id("p").Op(":=").Lit(1), Id("p").Op("<").Lit(hw), Id("p").Op("++")).Block(
				For(List(Id("c"), Id("v")).Op(":=").Range().Add(poolChannels("in", Parens(Id("b").Op("*").Lit(hw).Op("+").Id("p")).Op("*").Lit(c), c))).Block(
					If(Id("v").Op(">").Id("dst").Index(Id("c"))).Block(Id("dst").Index(Id("c")).Op("=").Id("v")),
				),
			),
		),
	)
}

// globalMaxPoolBackward sends each channel's gradient to the first
// position whose input equals the maximum (the output).
func globalMaxPoolBackward(e *Emitter, n *ir.Node) {
	dx, acc, ok := e.GradIn(n, 0)
	if !ok {
		return
	}
	hw, c := globalPositions(n)
	op := "="
	if acc {
		op = "+="
	}
	test := If(Op("!").Id("won").Op("&&").Id("in").Index(Id("i")).Op("==").Id("out").Index(Id("o"))).Block(
		Id("dx").Index(Id("i")).Op(op).Id("d").Index(Id("o")),
		Id("won").Op("=").True(),
	)
	if !acc {
		test = test.Else().Block(Id("dx").Index(Id("i")).Op("=").Lit(0))
	}
	e.Block(
		Id("in").Op(":=").Add(e.Out(n.Inputs[0])),
		Id("out").Op(":=").Add(e.Out(n)),
		Id("dx").Op(":=").Parens(dx).Index(Op(":")),
		Id("d").Op(":=").Add(e.Grad(n)),
		For(Id("b").Op(":=").Lit(0), Id("b").Op("<").Lit(e.Batch), Id("b").Op("++")).Block(
			For(Id("c").Op(":=").Lit(0), Id("c").Op("<").Lit(c), Id("c").Op("++")).Block(
				Id("o").Op(":=").Id("b").Op("*").Lit(c).Op("+").Id("c"),
				Id("won").Op(":=").False(),
				For(Id("p").Op(":=").Lit(0), Id("p").Op("<").Lit(hw), Id("p").Op("++")).Block(
					Id("i").Op(":=").Parens(Id("b").Op("*").Lit(hw).Op("+").Id("p")).Op("*").Lit(c).Op("+").Id("c"),
					test,
				),
			),
		),
	)
}
