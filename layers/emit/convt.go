package emit

import (
	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// Conv2DTranspose is the adjoint of the Conv2D of geometry g
// (layers.TransposeGeometry), whose filters are the node's input channels
// and whose channels its filters: its forward pass is that Conv2D's input
// gradient (a product with the kernel, then col2im), and its input
// gradient that Conv2D's forward pass (im2col, then a product). The kernel
// [channels, filters, kh, kw] is that Conv2D's [filters, channels, kh, kw].

func init() {
	// A Conv1DTranspose is a Conv2DTranspose of height 1
	// (layers.TransposeGeometry).
	for _, name := range []string{"Conv2DTranspose", "Conv1DTranspose"} {
		Register(name, &Kind{Forward: convTForward, Backward: convTBackward})
	}
}

// channels is the last axis of n's output: the channels of an image or a
// sequence.
func channels(n *ir.Node) int { return n.Shape[len(n.Shape)-1] }

// samplePart is sample b of the slice expression or array pointer buf of
// size values a sample.
func samplePart(buf Code, size int) *Statement {
	return Parens(buf).Index(Id("b").Op("*").Lit(size).Op(":").Parens(Id("b").Op("+").Lit(1)).Op("*").Lit(size))
}

func convTForward(e *Emitter, n *ir.Node) {
	g, _ := layers.TransposeGeometry(n, n.Inputs[0].Shape)
	cin := channels(n.Inputs[0])
	kk, ohw, outSize := g.C*g.KH*g.KW, g.OH*g.OW, n.Size()
	colName, _ := e.colBuf(n, g)
	w, _ := e.Param(n, "weight")
	wt, _ := e.tapsOf(n, "wt", cin*kk)
	e.Add(permute(g, cin, w, e.Arr(wt), orderTaps, false))
	outName := e.OutName(n)
	out := samplePart(e.Out(n), outSize)
	body := append([]Code{
		// col = x·W, [in positions, taps·filters]; col2im sums each
		// window into the cleared output.
		e.gemmCall(GEMM{Layout: NN, M: ohw, N: kk, K: cin}, e.Arr(colName), sample(e.OutName(n.Inputs[0]), n.Inputs[0].Size()), e.Arr(wt)),
		Clear(out),
		col2im(g, out, colName),
	}, e.biasActRows(n, g.H*g.W, g.C, outName)...)
	e.batchLoop(body...)
	if act := n.Str("activation"); Batched(act) {
		e.Activate(n, act)
	}
}

func convTBackward(e *Emitter, n *ir.Node) {
	g, _ := layers.TransposeGeometry(n, n.Inputs[0].Shape)
	cin, inSize := channels(n.Inputs[0]), n.Inputs[0].Size()
	kk, ohw := g.C*g.KH*g.KW, g.OH*g.OW
	_, body := e.gradPrologueF(n, g.H*g.W, g.C)
	colName, _ := e.colBuf(n, g)
	dw, _ := e.ParamGrad(n, "weight")
	dwt, _ := e.tapsOf(n, "dwt", cin*kk)
	e.Add(Op("*").Add(e.Arr(dwt)).Op("=").Index(Lit(cin * kk)).Id("Float").Values())
	// The windows of the output gradient; dW += xᵀ·col.
	grad := e.GradName(n)
	if e.sampleGrad[n] != nil {
		panic("emit: no kind defers its backward into a Conv2DTranspose")
	}
	body = append(body,
		e.im2colFrom(grad, g, colName),
		e.gemmCall(GEMM{Layout: TN, M: cin, N: kk, K: ohw, Acc: true}, e.Arr(dwt), sample(e.OutName(n.Inputs[0]), inSize), e.Arr(colName)),
	)
	if dx, acc, ok := e.GradIn(n, 0); ok {
		w, _ := e.Param(n, "weight")
		wtT, _ := e.tapsOf(n, "wtT", cin*kk)
		e.Add(permute(g, cin, w, e.Arr(wtT), orderTapsT, false))
		// dx = col·Wᵀ, the forward pass of the Conv2D.
		body = append(body, e.gemmCall(GEMM{Layout: NN, M: ohw, N: cin, K: kk, Acc: acc}, Parens(Op("*").Index(Lit(inSize)).Id("Float")).Call(samplePart(dx, inSize)), e.Arr(colName), e.Arr(wtT)))
	}
	e.batchLoop(body...)
	e.Add(permute(g, cin, dw, e.Arr(dwt), orderTaps, true))
}
