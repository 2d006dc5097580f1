package emit

import (
	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

func init() {
	// A Conv1D is a Conv2D of height 1 (layers.ConvGeometry).
	for _, name := range []string{"Conv2D", "Conv1D"} {
		Register(name, &Kind{
			Forward:  convForward,
			Backward: convBackward,
		})
	}
}

// col is the im2col scratch buffer of a Conv2D node: one sample's
// windows, [OH*OW, C*KH*KW], shared by every variant.
func (e *Emitter) col(n *ir.Node) (string, int) {
	g, _ := convGeometry(n, n.Inputs[0].Shape)
	return e.colBuf(n, g)
}

// colBuf is the im2col scratch buffer of node n for the windows of g.
func (e *Emitter) colBuf(n *ir.Node, g convGeom) (string, int) {
	size := g.OH * g.OW * g.C * g.KH * g.KW
	name := n.Name + "_col"
	e.Use(name, size, "im2col windows of one sample of layer "+n.Name)
	return name, size
}

// sample is the slice of buffer buf (a field name) holding sample b, as an
// array pointer of size values.
func sample(buf string, size int) *Statement {
	return Parens(Op("*").Index(Lit(size)).Id("Float")).Call(Id("m").Dot(buf).Index(Id("b").Op("*").Lit(size).Op(":").Parens(Id("b").Op("+").Lit(1)).Op("*").Lit(size)))
}

// windows emits the loops over every tap of every output position of one
// sample: body receives the position's column row index expression rowOff
// (into col), the tap index in the row (tap), and the input offset (in)
// of channel 0, and runs only for taps inside the input; outside receives
// the taps that fall in the padding (nil: nothing to do there).
func windows(g convGeom, body func(row, tap, in Code) []Code, outside func(row, tap Code) []Code) Code {
	return windowsIn(g, g.C, body, outside)
}

// windowsIn is windows over an input of cin channels a pixel, of which the
// windows take g.C (one group of a grouped convolution).
func windowsIn(g convGeom, cin int, body func(row, tap, in Code) []Code, outside func(row, tap Code) []Code) Code {
	kk := g.C * g.KH * g.KW
	inner := []Code{
		Id("iw").Op(":=").Id("ow").Op("*").Lit(g.SW).Op("-").Lit(g.PL).Op("+").Id("kw").Op("*").Lit(g.DW),
		Id("tap").Op(":=").Id("kh").Op("*").Lit(g.KW).Op("+").Id("kw"),
	}
	inside := body(Id("row"), Id("tap"), Parens(Id("ih").Op("*").Lit(g.W).Op("+").Id("iw")).Op("*").Lit(cin))
	cond := Id("ih").Op("<").Lit(0).Op("||").Id("ih").Op(">=").Lit(g.H).Op("||").Id("iw").Op("<").Lit(0).Op("||").Id("iw").Op(">=").Lit(g.W)
	if outside != nil {
		inner = append(inner, If(cond).Block(append(outside(Id("row"), Id("tap")), Continue())...))
	} else {
		inner = append(inner, If(cond).Block(Continue()))
	}
	inner = append(inner, inside...)
	return For(Id("oh").Op(":=").Lit(0), Id("oh").Op("<").Lit(g.OH), Id("oh").Op("++")).Block(
		For(Id("ow").Op(":=").Lit(0), Id("ow").Op("<").Lit(g.OW), Id("ow").Op("++")).Block(
			Id("row").Op(":=").Parens(Id("oh").Op("*").Lit(g.OW).Op("+").Id("ow")).Op("*").Lit(kk),
			For(Id("kh").Op(":=").Lit(0), Id("kh").Op("<").Lit(g.KH), Id("kh").Op("++")).Block(
				Id("ih").Op(":=").Id("oh").Op("*").Lit(g.SH).Op("-").Lit(g.PT).Op("+").Id("kh").Op("*").Lit(g.DH),
				For(Id("kw").Op(":=").Lit(0), Id("kw").Op("<").Lit(g.KW), Id("kw").Op("++")).Block(inner...),
			),
		),
	)
}

// im2col emits the copy of sample b of the input into the column buffer:
// col[row][tap*C + c] = x[ih][iw][c], zero in the padding. In this (kh, kw,
// c) order each tap is one contiguous run of C channels in both buffers.
func (e *Emitter) im2col(n *ir.Node, g convGeom, colName string) Code {
	return e.im2colFrom(e.OutName(n.Inputs[0]), g, colName)
}

// im2colFrom is im2col of sample b of buffer src, a batch of [H, W, C]
// images of g.
func (e *Emitter) im2colFrom(src string, g convGeom, colName string) Code {
	inSize := g.H * g.W * g.C
	run := func(buf string, off Code) *Statement {
		return Id(buf).Index(Add(off).Op(":")).Index(Op(":").Lit(g.C))
	}
	return Block(
		Id("x").Op(":=").Id("m").Dot(src).Index(Id("b").Op("*").Lit(inSize).Op(":").Parens(Id("b").Op("+").Lit(1)).Op("*").Lit(inSize)),
		Id("col").Op(":=").Id("m").Dot(colName).Index(Op(":")),
		windows(g, func(row, tap, in Code) []Code {
			if g.C == 1 { // a call to copy one value costs more than the value
				return []Code{Id("col").Index(Add(row).Op("+").Add(tap)).Op("=").Id("x").Index(in)}
			}
			return []Code{Copy(run("col", Add(row).Op("+").Add(tap).Op("*").Lit(g.C)), run("x", in))}
		}, func(row, tap Code) []Code {
			if g.C == 1 {
				return []Code{Id("col").Index(Add(row).Op("+").Add(tap)).Op("=").Lit(0)}
			}
			return []Code{Clear(run("col", Add(row).Op("+").Add(tap).Op("*").Lit(g.C)))}
		}),
	)
}

// Kernel orders: PyTorch's [F][C][KH][KW] (the parameters), the columns'
// [F][KH][KW][C] (the input gradient's product and the weight gradient),
// and its transpose [KH][KW][C][F] (the forward product, so that it runs as
// an outer product along the filters).
const (
	orderTaps  = iota // [F][KH][KW][C]
	orderTapsT        // [KH][KW][C][F]
	orderTapFC        // [KH][KW][F][C]
)

// permute emits the copy of a kernel from PyTorch's order in torch to the
// order of scratch, or back with back.
func permute(g convGeom, f int, torch, scratch Code, order int, back bool) Code {
	taps := g.KH * g.KW
	w := func() *Statement {
		return Id("w").Index(Parens(Id("i").Op("*").Lit(g.C).Op("+").Id("c")).Op("*").Lit(taps).Op("+").Id("k"))
	}
	t := func() *Statement {
		switch order {
		case orderTaps:
			return Id("wt").Index(Parens(Id("i").Op("*").Lit(taps).Op("+").Id("k")).Op("*").Lit(g.C).Op("+").Id("c"))
		case orderTapFC:
			return Id("wt").Index(Parens(Id("k").Op("*").Lit(f).Op("+").Id("i")).Op("*").Lit(g.C).Op("+").Id("c"))
		}
		return Id("wt").Index(Parens(Id("k").Op("*").Lit(g.C).Op("+").Id("c")).Op("*").Lit(f).Op("+").Id("i"))
	}
	assign := t().Op("=").Add(w())
	if back {
		assign = w().Op("=").Add(t())
	}
	return Block(
		Id("w").Op(":=").Add(torch),
		Id("wt").Op(":=").Add(scratch),
		For(Id("i").Op(":=").Lit(0), Id("i").Op("<").Lit(f), Id("i").Op("++")).Block(
			For(Id("c").Op(":=").Lit(0), Id("c").Op("<").Lit(g.C), Id("c").Op("++")).Block(
				For(Id("k").Op(":=").Lit(0), Id("k").Op("<").Lit(taps), Id("k").Op("++")).Block(assign))),
	)
}

// taps is a Conv2D node's kernel in the columns' order, [F][KH][KW][C].
func (e *Emitter) taps(n *ir.Node, what string) (string, int) {
	g, _ := convGeometry(n, n.Inputs[0].Shape)
	return e.tapsOf(n, what, n.Int("filters")*g.C*g.KH*g.KW)
}

// tapsOf is the kernel buffer what of node n, of size values.
func (e *Emitter) tapsOf(n *ir.Node, what string, size int) (string, int) {
	name := n.Name + "_" + what
	order := map[string]string{"wt": "[filters][kh][kw][channels]", "dwt": "[filters][kh][kw][channels]",
		"wtT": "[kh][kw][channels][filters]", "dwtT": "[kh][kw][channels][filters]", "wtFC": "[kh][kw][filters][channels]"}[what]
	e.Use(name, size, "kernel ("+what+") of layer "+n.Name+" in "+order+" order")
	return name, size
}

func (e *Emitter) batchLoop(body ...Code) {
	e.Add(For(Id("b").Op(":=").Lit(0), Id("b").Op("<").Lit(e.Batch), Id("b").Op("++")).Block(body...))
}

// shifted emits, for sample b, the loops over output rows and taps that
// call gemm on the tap's blocks: in is the input sample (a slice variable),
// out the output-side sample (a slice variable), kern the kernel buffer in
// tap-major order with per bytes per tap.
func shifted(g convGeom, call func(inBlock, outRow, tapKernel Code) Code) Code {
	return For(Id("oh").Op(":=").Lit(0), Id("oh").Op("<").Lit(g.OH), Id("oh").Op("++")).Block(
		For(Id("kh").Op(":=").Lit(0), Id("kh").Op("<").Lit(g.KH), Id("kh").Op("++")).Block(
			For(Id("kw").Op(":=").Lit(0), Id("kw").Op("<").Lit(g.KW), Id("kw").Op("++")).Block(
				call(Parens(Parens(Id("oh").Op("+").Id("kh")).Op("*").Lit(g.W).Op("+").Id("kw")).Op("*").Lit(g.C),
					Id("oh").Op("*").Lit(g.OW),
					Parens(Id("kh").Op("*").Lit(g.KW).Op("+").Id("kw"))),
			)))
}

// view is buf[off:] as an array pointer of n values.
func view(buf string, off Code, n int) *Statement {
	return Parens(Op("*").Index(Lit(n)).Id("Float")).Call(Id(buf).Index(Add(off).Op(":")))
}

func convForward(e *Emitter, n *ir.Node) {
	g, _ := convGeometry(n, n.Inputs[0].Shape)
	switch n.Method {
	case ir.Grouped:
		convForwardGrouped(e, n, g)
		return
	case ir.Winograd:
		convForwardWino(e, n, g)
		return
	case ir.ConvKernel:
		convForwardFused(e, n, g)
		return
	case ir.Direct:
		convForwardDirect(e, n, g)
		return
	}
	f := n.Int("filters")
	kk := g.C * g.KH * g.KW
	colName, _ := e.col(n)
	w, _ := e.Param(n, "weight")
	wtT, _ := e.taps(n, "wtT")
	e.Add(permute(g, f, w, e.Arr(wtT), orderTapsT, false))
	outName, outSize := e.OutName(n), n.Size()
	// Bias and activation run on each sample's output while it is in cache.
	body := append([]Code{
		e.im2col(n, g, colName),
		e.gemmCall(GEMM{Layout: NN, M: g.OH * g.OW, N: f, K: kk}, sample(outName, outSize), e.Arr(colName), e.Arr(wtT)),
	}, e.biasAct(n, g, outName)...)
	e.batchLoop(body...)
	if act := n.Str("activation"); Batched(act) {
		e.Activate(n, act)
	}
}

func convBackward(e *Emitter, n *ir.Node) {
	g, _ := convGeometry(n, n.Inputs[0].Shape)
	switch n.BackMethod {
	case ir.Grouped:
		convBackwardGrouped(e, n, g)
		return
	case ir.Winograd:
		convBackwardWino(e, n, g)
		return
	case ir.Direct:
		convBackwardDirect(e, n, g)
		return
	}
	f := n.Int("filters")
	kk := g.C * g.KH * g.KW
	ohw := g.OH * g.OW
	dy, body := e.gradPrologue(n, ohw)
	colName, _ := e.col(n)
	dw, _ := e.ParamGrad(n, "weight")
	wt, _ := e.taps(n, "wt")
	dwt, _ := e.taps(n, "dwt")
	e.Add(Op("*").Add(e.Arr(dwt)).Op("=").Index(Lit(f * kk)).Id("Float").Values())
	w, _ := e.Param(n, "weight")
	body = append(body,
		e.im2col(n, g, colName),
		e.gemmCall(GEMM{Layout: TN, M: f, N: kk, K: ohw, Acc: true}, e.Arr(dwt), dy, e.Arr(colName)),
	)
	if dx, acc, ok := e.GradIn(n, 0); ok {
		e.Add(permute(g, f, w, e.Arr(wt), orderTaps, false))
		inSize := n.Inputs[0].Size()
		if !acc {
			e.Add(Op("*").Add(dx).Op("=").Index(Lit(e.Batch * inSize)).Id("Float").Values())
		}
		// dcol = dy·W, then col2im adds each window back into dx.
		body = append(body,
			e.gemmCall(GEMM{Layout: NN, M: ohw, N: kk, K: f}, e.Arr(colName), dy, e.Arr(wt)),
			col2im(g, Parens(dx).Index(Id("b").Op("*").Lit(inSize).Op(":").Parens(Id("b").Op("+").Lit(1)).Op("*").Lit(inSize)), colName),
		)
	}
	e.batchLoop(body...)
	e.Add(permute(g, f, dw, e.Arr(dwt), orderTaps, true))
}

// col2im adds each window of the column buffer colName back into the
// [H, W, C] image dst (a slice expression of one sample).
func col2im(g convGeom, dst Code, colName string) Code {
	run := func(buf string, off Code) *Statement {
		return Id(buf).Index(Add(off).Op(":")).Index(Op(":").Lit(g.C))
	}
	return Block(
		Id("dx").Op(":=").Add(dst),
		Id("col").Op(":=").Id("m").Dot(colName).Index(Op(":")),
		windows(g, func(row, tap, in Code) []Code {
			return []Code{
				Id("px").Op(":=").Add(run("dx", in)),
				Id("pc").Op(":=").Add(run("col", Add(row).Op("+").Add(tap).Op("*").Lit(g.C))),
				For(Id("c").Op(":=").Range().Id("px")).Block(Id("px").Index(Id("c")).Op("+=").Id("pc").Index(Id("c"))),
			}
		}, nil),
	)
}

// biasAct returns the per-sample bias and activation of a Conv2D output.
func (e *Emitter) biasAct(n *ir.Node, g convGeom, outName string) []Code {
	return e.biasActRows(n, g.OH*g.OW, n.Int("filters"), outName)
}

// biasActRows returns the per-sample bias and activation of an output of
// rows positions of f channels.
func (e *Emitter) biasActRows(n *ir.Node, rows, f int, outName string) []Code {
	outSize := n.Size()
	var body []Code
	if n.Bool("use_bias") {
		bias, _ := e.Param(n, "bias")
		body = append(body, Block(
			Id("bias").Op(":=").Add(bias),
			Id("out").Op(":=").Add(sample(outName, outSize)),
			For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(rows), Id("r").Op("++")).Block(
				Id("row").Op(":=").Id("out").Index(Id("r").Op("*").Lit(f).Op(":")).Index(Op(":").Lit(f)),
				e.For("j", f, func(j Code) []Code { return []Code{Id("row").Index(j).Op("+=").Id("bias").Index(j)} }),
			),
		))
	}
	if act := n.Str("activation"); !Batched(act) {
		body = append(body, e.ActivateOn(act, sample(outName, outSize).Index(Op(":"))))
	}
	return body
}

// convForwardFused is the forward pass of a convolution without padding as
// one ConvFwd kernel call per sample: every output is summed in registers
// over all taps and channels and stored once, bias and ReLU included.
func convForwardFused(e *Emitter, n *ir.Node, g convGeom) {
	f, act := n.Int("filters"), n.Str("activation")
	w, _ := e.Param(n, "weight")
	wtT, _ := e.taps(n, "wtT")
	e.Add(permute(g, f, w, e.Arr(wtT), orderTapsT, false))
	k := ConvFwd{H: g.H, W: g.W, C: g.C, KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW, DH: g.DH, DW: g.DW, OH: g.OH, OW: g.OW, F: f,
		Bias: n.Bool("use_bias"), Relu: n.Fused.Epilogue == "relu"}
	outName, outSize, inSize := e.OutName(n), n.Size(), n.Inputs[0].Size()
	args := []Code{sample(outName, outSize), sample(e.OutName(n.Inputs[0]), inSize), e.Arr(wtT)}
	if k.Bias {
		bias, _ := e.Param(n, "bias")
		args = append(args, bias)
	}
	body := []Code{e.funcCall(k, args...)}
	if !k.Relu && !Batched(act) {
		body = append(body, e.ActivateOn(act, sample(outName, outSize).Index(Op(":"))))
	}
	e.batchLoop(body...)
	if Batched(act) {
		e.Activate(n, act)
	}
}

// convForwardDirect is the forward pass as shifted products:
// out[oh] (OW×F) += x[oh+kh][kw:kw+OW] (OW×C) · W[kh][kw] (C×F).
func convForwardDirect(e *Emitter, n *ir.Node, g convGeom) {
	f := n.Int("filters")
	w, _ := e.Param(n, "weight")
	wtT, _ := e.taps(n, "wtT")
	e.Add(permute(g, f, w, e.Arr(wtT), orderTapsT, false))
	outName, outSize, inSize := e.OutName(n), n.Size(), n.Inputs[0].Size()
	k := GEMM{Layout: NN, M: g.OW, N: f, K: g.C, Acc: true}
	body := []Code{
		Id("x").Op(":=").Id("m").Dot(e.OutName(n.Inputs[0])).Index(Id("b").Op("*").Lit(inSize).Op(":").Parens(Id("b").Op("+").Lit(1)).Op("*").Lit(inSize)),
		Id("out").Op(":=").Id("m").Dot(outName).Index(Id("b").Op("*").Lit(outSize).Op(":").Parens(Id("b").Op("+").Lit(1)).Op("*").Lit(outSize)),
		Clear(Id("out")),
		shifted(g, func(in, row, tap Code) Code {
			return e.gemmCall(k, view("out", Add(row).Op("*").Lit(f), g.OW*f), view("x", in, g.OW*g.C),
				view("m."+wtT, Add(tap).Op("*").Lit(g.C*f), g.C*f))
		}),
	}
	e.batchLoop(append(body, e.biasAct(n, g, outName)...)...)
	if act := n.Str("activation"); Batched(act) {
		e.Activate(n, act)
	}
}

// convBackwardDirect is the backward pass as shifted products:
// dW[kh][kw] (C×F) += x[oh+kh][kw:kw+OW]ᵀ · dy[oh], and
// dx[oh+kh][kw:kw+OW] (OW×C) += dy[oh] (OW×F) · W[kh][kw]ᵀ (F×C).
func convBackwardDirect(e *Emitter, n *ir.Node, g convGeom) {
	f := n.Int("filters")
	ohw := g.OH * g.OW
	inSize := n.Inputs[0].Size()
	dy, body := e.gradPrologue(n, ohw)
	dw, _ := e.ParamGrad(n, "weight")
	w, _ := e.Param(n, "weight")
	dwtT, _ := e.taps(n, "dwtT")
	e.Add(Op("*").Add(e.Arr(dwtT)).Op("=").Index(Lit(f * g.C * g.KH * g.KW)).Id("Float").Values())
	// The kernel gradient: one kernel per sample, every block of dW summed
	// in registers over all outputs.
	kw := ConvWGrad{H: g.H, W: g.W, C: g.C, KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW, DH: g.DH, DW: g.DW, OH: g.OH, OW: g.OW, F: f}
	body = append(body, e.funcCall(kw, e.Arr(dwtT), sample(e.OutName(n.Inputs[0]), inSize), dy))
	if dx, acc, ok := e.GradIn(n, 0); ok {
		wtFC, _ := e.taps(n, "wtFC")
		e.Add(permute(g, f, w, e.Arr(wtFC), orderTapFC, false))
		body = append(body, Id("dx").Op(":=").Parens(dx).Index(Id("b").Op("*").Lit(inSize).Op(":").Parens(Id("b").Op("+").Lit(1)).Op("*").Lit(inSize)))
		if !acc { // cleared sample by sample, while in cache
			body = append(body, Clear(Id("dx")))
		}
		kx := GEMM{Layout: NN, M: g.OW, N: g.C, K: f, Acc: true}
		body = append(body, Id("dy").Op(":=").Parens(dy).Index(Op(":")), shifted(g, func(in, row, tap Code) Code {
			return e.gemmCall(kx, view("dx", in, g.OW*g.C), view("dy", Add(row).Op("*").Lit(f), g.OW*f), view("m."+wtFC, Add(tap).Op("*").Lit(f*g.C), f*g.C))
		}))
	}
	e.batchLoop(body...)
	e.Add(permute(g, f, dw, e.Arr(dwtT), orderTapsT, true))
}

// gradPrologue returns the gradient of sample b of a Conv2D's output (an
// array pointer) and the per-sample start of its backward pass: the
// gradient itself where a consumer deferred its backward here (into a
// one-sample scratch buffer, which stays in cache), the activation's
// derivative and the bias gradient (a row-wise activation runs on the
// whole batch first, and the bias gradient is cleared first).
func (e *Emitter) gradPrologue(n *ir.Node, ohw int) (Code, []Code) {
	return e.gradPrologueF(n, ohw, n.Int("filters"))
}

// gradPrologueF is gradPrologue for an output of ohw positions of f
// channels.
func (e *Emitter) gradPrologueF(n *ir.Node, ohw, f int) (Code, []Code) {
	act, gradName := n.Str("activation"), e.GradName(n)
	var body []Code
	dy := Code(sample(gradName, ohw*f))
	if write := e.sampleGrad[n]; write != nil {
		scratch := n.Name + "_dy"
		e.Use(scratch, ohw*f, "gradient of one sample's output of layer "+n.Name)
		dy = e.Arr(scratch)
		body = append(body, write(dy))
	}
	relu := n.Fused.Epilogue == "relu" && !n.Fused.IntoLoss
	if Batched(act) {
		e.ActBackward(n, act)
	} else if !n.Fused.IntoLoss && !(relu && n.Bool("use_bias")) {
		body = append(body, e.ActBackwardOn(act, sample(e.OutName(n), n.Size()).Index(Op(":")), Parens(dy).Index(Op(":"))))
	}
	if n.Bool("use_bias") {
		db, _ := e.ParamGrad(n, "bias")
		e.Add(Op("*").Add(db).Op("=").Index(Lit(f)).Id("Float").Values())
		// One kernel masks the gradient by ReLU's derivative and sums it
		// into the bias gradient.
		k := BiasGrad{Rows: ohw, F: f, Relu: relu}
		args := []Code{dy, db}
		if relu {
			args = append(args, sample(e.OutName(n), n.Size()))
		}
		body = append(body, e.funcCall(k, args...))
	}
	return dy, body
}
