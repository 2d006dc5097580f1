package emit

import (
	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// DepthwiseConv2D and SeparableConv2D. The depthwise convolution runs as
// loops over each sample's windows, each tap a run of channels·multiplier
// products, with its kernel in [kh][kw][channels·multiplier] order; the
// pointwise convolution of SeparableConv2D is a matrix product over the
// whole batch, as Dense's.

func init() {
	Register("DepthwiseConv2D", &Kind{Forward: depthwiseForward, Backward: depthwiseBackward})
	Register("SeparableConv2D", &Kind{Forward: separableForward, Backward: separableBackward})
}

// dwTaps emits, for sample b, the loops over every tap inside the input of
// every output position: body sees o (the output position's offset), xi
// (the input pixel's) and t (the tap's offset into the kernel).
func dwTaps(g convGeom, cm int, body ...Code) Code {
	return For(Id("oh").Op(":=").Lit(0), Id("oh").Op("<").Lit(g.OH), Id("oh").Op("++")).Block(
		For(Id("ow").Op(":=").Lit(0), Id("ow").Op("<").Lit(g.OW), Id("ow").Op("++")).Block(
			Id("o").Op(":=").Parens(Id("oh").Op("*").Lit(g.OW).Op("+").Id("ow")).Op("*").Lit(cm),
			For(Id("kh").Op(":=").Lit(0), Id("kh").Op("<").Lit(g.KH), Id("kh").Op("++")).Block(
				Id("ih").Op(":=").Id("oh").Op("*").Lit(g.SH).Op("-").Lit(g.PT).Op("+").Id("kh").Op("*").Lit(g.DH),
				If(Id("ih").Op("<").Lit(0).Op("||").Id("ih").Op(">=").Lit(g.H)).Block(Continue()),
				For(Id("kw").Op(":=").Lit(0), Id("kw").Op("<").Lit(g.KW), Id("kw").Op("++")).Block(append([]Code{
					Id("iw").Op(":=").Id("ow").Op("*").Lit(g.SW).Op("-").Lit(g.PL).Op("+").Id("kw").Op("*").Lit(g.DW),
					If(Id("iw").Op("<").Lit(0).Op("||").Id("iw").Op(">=").Lit(g.W)).Block(Continue()),
					Id("xi").Op(":=").Parens(Id("ih").Op("*").Lit(g.W).Op("+").Id("iw")).Op("*").Lit(g.C),
					Id("t").Op(":=").Parens(Id("kh").Op("*").Lit(g.KW).Op("+").Id("kw")).Op("*").Lit(cm),
				}, body...)...),
			),
		),
	)
}

// dwInput is the input channel of output channel i: i/multiplier.
func dwInput(m int) *Statement {
	if m == 1 {
		return Id("xi").Op("+").Id("i")
	}
	return Id("xi").Op("+").Id("i").Op("/").Lit(m)
}

// dwPermute emits the copy of the depthwise kernel torch ([C·M][1][KH][KW])
// into scratch ([KH][KW][C·M]), or back with back.
func dwPermute(g convGeom, cm int, torch, scratch Code, back bool) Code {
	taps := g.KH * g.KW
	w := Id("w").Index(Id("i").Op("*").Lit(taps).Op("+").Id("k"))
	t := Id("wt").Index(Id("k").Op("*").Lit(cm).Op("+").Id("i"))
	assign := t.Clone().Op("=").Add(w.Clone())
	if back {
		assign = w.Clone().Op("=").Add(t.Clone())
	}
	return Block(
		Id("w").Op(":=").Add(torch),
		Id("wt").Op(":=").Add(scratch),
		For(Id("i").Op(":=").Lit(0), Id("i").Op("<").Lit(cm), Id("i").Op("++")).Block(
			For(Id("k").Op(":=").Lit(0), Id("k").Op("<").Lit(taps), Id("k").Op("++")).Block(assign)),
	)
}

// depthwise emits the depthwise forward pass of n with kernel param into
// the batch buffer dst (a name): its kernel permuted, then per sample.
// extra is per-sample code after each sample (bias and activation).
func (e *Emitter) depthwise(n *ir.Node, param, dst string, extra func() []Code) {
	g, _ := convGeometry(n, n.Inputs[0].Shape)
	m, cm := n.Int("depth_multiplier"), layers.DepthwiseChannels(n)
	w, _ := e.Param(n, param)
	wt, _ := e.tapsOf(n, "wt", cm*g.KH*g.KW)
	e.Add(dwPermute(g, cm, w, e.Arr(wt), false))
	inSize, outSize := n.Inputs[0].Size(), g.OH*g.OW*cm
	body := []Code{Block(
		Id("x").Op(":=").Add(samplePart(field(e.OutName(n.Inputs[0])), inSize)),
		Id("y").Op(":=").Add(samplePart(field(dst), outSize)),
		Id("wt").Op(":=").Add(e.Arr(wt)),
		Clear(Id("y")),
		dwTaps(g, cm, For(Id("i").Op(":=").Lit(0), Id("i").Op("<").Lit(cm), Id("i").Op("++")).Block(
			Id("y").Index(Id("o").Op("+").Id("i")).Op("+=").Id("x").Index(dwInput(m)).Op("*").Id("wt").Index(Id("t").Op("+").Id("i")),
		)),
	)}
	if extra != nil {
		body = append(body, extra()...)
	}
	e.batchLoop(body...)
}

// depthwiseBack emits the depthwise backward pass of n with kernel param,
// from the gradient dy (a batch buffer name) of its output: the kernel's
// gradient and the input's. pre is per-sample code before each sample
// (the activation's derivative, the bias gradient).
func (e *Emitter) depthwiseBack(n *ir.Node, param, dy string, pre []Code) {
	g, _ := convGeometry(n, n.Inputs[0].Shape)
	m, cm := n.Int("depth_multiplier"), layers.DepthwiseChannels(n)
	inSize, outSize := n.Inputs[0].Size(), g.OH*g.OW*cm
	dw, _ := e.ParamGrad(n, param)
	dwt, _ := e.tapsOf(n, "dwt", cm*g.KH*g.KW)
	e.Add(Op("*").Add(e.Arr(dwt)).Op("=").Index(Lit(cm * g.KH * g.KW)).Id("Float").Values())
	decl := []Code{
		Id("x").Op(":=").Add(samplePart(field(e.OutName(n.Inputs[0])), inSize)),
		Id("d").Op(":=").Add(samplePart(field(dy), outSize)),
		Id("dwt").Op(":=").Add(e.Arr(dwt)),
	}
	each := []Code{Id("dwt").Index(Id("t").Op("+").Id("i")).Op("+=").Id("x").Index(dwInput(m)).Op("*").Id("d").Index(Id("o").Op("+").Id("i"))}
	if dx, acc, ok := e.GradIn(n, 0); ok {
		w, _ := e.Param(n, param)
		wt, _ := e.tapsOf(n, "wt", cm*g.KH*g.KW)
		e.Add(dwPermute(g, cm, w, e.Arr(wt), false))
		decl = append(decl, Id("wt").Op(":=").Add(e.Arr(wt)), Id("dx").Op(":=").Add(samplePart(dx, inSize)))
		if !acc {
			decl = append(decl, Clear(Id("dx")))
		}
		each = append(each, Id("dx").Index(dwInput(m)).Op("+=").Id("wt").Index(Id("t").Op("+").Id("i")).Op("*").Id("d").Index(Id("o").Op("+").Id("i")))
	}
	body := append(pre, Block(append(decl, dwTaps(g, cm, For(Id("i").Op(":=").Lit(0), Id("i").Op("<").Lit(cm), Id("i").Op("++")).Block(each...)))...))
	e.batchLoop(body...)
	e.Add(dwPermute(g, cm, dw, e.Arr(dwt), true))
}

func depthwiseForward(e *Emitter, n *ir.Node) {
	outName := e.OutName(n)
	g, _ := convGeometry(n, n.Inputs[0].Shape)
	e.depthwise(n, "weight", outName, func() []Code { return e.biasActRows(n, g.OH*g.OW, n.Shape[2], outName) })
	if act := n.Str("activation"); Batched(act) {
		e.Activate(n, act)
	}
}

func depthwiseBackward(e *Emitter, n *ir.Node) {
	g, _ := convGeometry(n, n.Inputs[0].Shape)
	if e.sampleGrad[n] != nil {
		panic("emit: no kind defers its backward into a DepthwiseConv2D")
	}
	_, pre := e.gradPrologueF(n, g.OH*g.OW, n.Shape[2])
	e.depthwiseBack(n, "weight", e.GradName(n), pre)
}

// midName is the depthwise output of a SeparableConv2D, kept for backward.
func (e *Emitter) midName(n *ir.Node) string {
	g, _ := convGeometry(n, n.Inputs[0].Shape)
	name := n.Name + "_mid" + e.Suffix
	e.Use(name, e.Batch*g.OH*g.OW*layers.DepthwiseChannels(n), "depthwise output of layer "+n.Name)
	return name
}

func separableForward(e *Emitter, n *ir.Node) {
	g, _ := convGeometry(n, n.Inputs[0].Shape)
	cm, f, rows := layers.DepthwiseChannels(n), n.Int("filters"), e.Batch*g.OH*g.OW
	mid := e.midName(n)
	e.depthwise(n, "depthwise_weight", mid, nil)
	wp, _ := e.Param(n, "pointwise_weight")
	e.TopGEMM(GEMM{Layout: NT, M: rows, N: f, K: cm}, e.OutArr(n), e.Arr(mid), wp)
	outName := e.OutName(n)
	if body := e.biasActRows(n, g.OH*g.OW, f, outName); len(body) > 0 {
		e.batchLoop(body...)
	}
	if act := n.Str("activation"); Batched(act) {
		e.Activate(n, act)
	}
}

func separableBackward(e *Emitter, n *ir.Node) {
	g, _ := convGeometry(n, n.Inputs[0].Shape)
	cm, f, rows := layers.DepthwiseChannels(n), n.Int("filters"), e.Batch*g.OH*g.OW
	if e.sampleGrad[n] != nil {
		panic("emit: no kind defers its backward into a SeparableConv2D")
	}
	if _, pre := e.gradPrologueF(n, g.OH*g.OW, f); len(pre) > 0 {
		e.batchLoop(pre...)
	}
	mid := e.midName(n)
	dwp, _ := e.ParamGrad(n, "pointwise_weight")
	e.TopGEMM(GEMM{Layout: TN, M: f, N: cm, K: rows}, dwp, e.GradArr(n), e.Arr(mid))
	// The gradient of the depthwise output, then its backward.
	dmid := n.Name + "_dmid"
	e.Use(dmid, rows*cm, "gradient of the depthwise output of layer "+n.Name)
	wp, _ := e.Param(n, "pointwise_weight")
	e.TopGEMM(GEMM{Layout: NN, M: rows, N: cm, K: f}, e.Arr(dmid), e.GradArr(n), wp)
	e.depthwiseBack(n, "depthwise_weight", dmid, nil)
}
