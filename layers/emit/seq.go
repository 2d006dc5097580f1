package emit

import (
	"fmt"
	"math"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// The small layers of package layers' seq.go: copies of runs of each
// sample (padding, cropping, up-sampling, permutation), SpatialDropout1D's
// masks and UnitNormalization's scaling.

func init() {
	for _, pad := range []bool{true, false} {
		name := map[bool]string{true: "ZeroPadding1D", false: "Cropping1D"}[pad]
		Register(name, &Kind{
			Forward:  func(e *Emitter, n *ir.Node) { runForward(e, n, pad) },
			Backward: func(e *Emitter, n *ir.Node) { runBackward(e, n, pad) },
		})
	}
	Register("UpSampling1D", &Kind{Forward: upsampleForward, Backward: upsampleBackward})
	Register("SpatialDropout1D", &Kind{Forward: spatialDropoutForward, Backward: dropoutBackward})
	Register("SpatialDropout2D", &Kind{Forward: spatialDropoutForward, Backward: dropoutBackward})
	Register("Permute", &Kind{Forward: permuteForward, Backward: permuteBackward})
	Register("UnitNormalization", &Kind{Forward: unitNormForward, Backward: unitNormBackward})
}

// sampleOf is sample b of buffer expression buf (a slice or array pointer
// of the batch), size values.
func sampleOf(buf Code, size int) *Statement {
	return Add(buf).Index(Id("b").Op("*").Lit(size).Op(":")).Index(Op(":").Lit(size))
}

// fwdSamples declares x and y, sample b of n's input and output.
func (e *Emitter) fwdSamples(n *ir.Node) []Code {
	return []Code{
		Id("x").Op(":=").Add(sampleOf(e.Out(n.Inputs[0]), n.Inputs[0].Size())),
		Id("y").Op(":=").Add(sampleOf(e.Out(n), n.Size())),
	}
}

// bwdSamples declares d and dx, sample b of the gradients of n's output
// and input; ok is false when the input needs none.
func (e *Emitter) bwdSamples(n *ir.Node) (decl []Code, acc, ok bool) {
	dx, acc, ok := e.GradIn(n, 0)
	if !ok {
		return nil, false, false
	}
	return []Code{
		Id("d").Op(":=").Add(sampleOf(e.Grad(n), n.Size())),
		Id("dx").Op(":=").Add(sampleOf(Parens(dx), n.Inputs[0].Size())),
	}, acc, true
}

// addRun is `for i := range dst { dst[i] += src[i] }` over slice
// expressions of equal length, or copy(dst, src) when !acc.
func addRun(dst, src Code, acc bool) Code {
	if !acc {
		return Copy(dst, src)
	}
	return Block(
		Id("dr").Op(":=").Add(dst),
		Id("sr").Op(":=").Add(src).Index(Op(":").Len(Id("dr"))),
		For(Id("i").Op(":=").Range().Id("dr")).Block(Id("dr").Index(Id("i")).Op("+=").Id("sr").Index(Id("i"))),
	)
}

// run returns where the values of a ZeroPadding1D's input sit in its
// output (pad), or a Cropping1D's output in its input: the offsets into
// the input and the output sample and the length of the run.
func run(n *ir.Node, pad bool) (inOff, outOff, length int) {
	c := n.Shape[1]
	a, _ := layers.Ends(n)
	if pad {
		return 0, a * c, n.Inputs[0].Size()
	}
	return a * c, 0, n.Size()
}

// runForward: y = zeros with y[outOff:][:length] = x[inOff:][:length].
func runForward(e *Emitter, n *ir.Node, pad bool) {
	inOff, outOff, length := run(n, pad)
	body := e.fwdSamples(n)
	if length < n.Size() {
		body = append(body, Clear(Id("y")))
	}
	e.batchLoop(append(body, Copy(Id("y").Index(Lit(outOff).Op(":")).Index(Op(":").Lit(length)), Id("x").Index(Lit(inOff).Op(":")).Index(Op(":").Lit(length))))...)
}

// runBackward: dx[inOff:][:length] (+)= d[outOff:][:length], zero elsewhere.
func runBackward(e *Emitter, n *ir.Node, pad bool) {
	body, acc, ok := e.bwdSamples(n)
	if !ok {
		return
	}
	inOff, outOff, length := run(n, pad)
	if !acc && length < n.Inputs[0].Size() {
		body = append(body, Clear(Id("dx")))
	}
	body = append(body, addRun(Id("dx").Index(Lit(inOff).Op(":")).Index(Op(":").Lit(length)), Id("d").Index(Lit(outOff).Op(":")).Index(Op(":").Lit(length)), acc))
	e.batchLoop(body...)
}

// upsampleForward: y[t·size + j] = x[t] for every step t and j < size.
func upsampleForward(e *Emitter, n *ir.Node) {
	steps, c, size := n.Inputs[0].Shape[0], n.Shape[1], n.Int("size")
	e.batchLoop(append(e.fwdSamples(n),
		For(Id("t").Op(":=").Lit(0), Id("t").Op("<").Lit(steps), Id("t").Op("++")).Block(
			Id("row").Op(":=").Id("x").Index(Id("t").Op("*").Lit(c).Op(":")).Index(Op(":").Lit(c)),
			For(Id("j").Op(":=").Lit(0), Id("j").Op("<").Lit(size), Id("j").Op("++")).Block(
				Copy(Id("y").Index(Parens(Id("t").Op("*").Lit(size).Op("+").Id("j")).Op("*").Lit(c).Op(":")).Index(Op(":").Lit(c)), Id("row")),
			),
		))...)
}

// upsampleBackward: dx[t] (+)= Σ_j d[t·size + j].
func upsampleBackward(e *Emitter, n *ir.Node) {
	body, acc, ok := e.bwdSamples(n)
	if !ok {
		return
	}
	steps, c, size := n.Inputs[0].Shape[0], n.Shape[1], n.Int("size")
	src := func(j Code) *Statement {
		return Id("d").Index(Parens(Id("t").Op("*").Lit(size).Op("+").Add(j)).Op("*").Lit(c).Op(":")).Index(Op(":").Lit(c))
	}
	loop := []Code{Id("dr").Op(":=").Id("dx").Index(Id("t").Op("*").Lit(c).Op(":")).Index(Op(":").Lit(c))}
	first := 0
	if !acc {
		loop, first = append(loop, Copy(Id("dr"), src(Lit(0)))), 1
	}
	if first < size {
		loop = append(loop, For(Id("j").Op(":=").Lit(first), Id("j").Op("<").Lit(size), Id("j").Op("++")).Block(
			Id("sr").Op(":=").Add(src(Id("j"))),
			For(Id("i").Op(":=").Range().Id("dr")).Block(Id("dr").Index(Id("i")).Op("+=").Id("sr").Index(Id("i"))),
		))
	}
	e.batchLoop(append(body, For(Id("t").Op(":=").Lit(0), Id("t").Op("<").Lit(steps), Id("t").Op("++")).Block(loop...))...)
}

// spatialDropoutForward draws one keep-or-drop per feature of each sample
// (two a 64-bit draw, as Dropout's) and applies it at every step; the mask
// holds it for every value, so that backward is Dropout's.
func spatialDropoutForward(e *Emitter, n *ir.Node) {
	// The channels are the last axis; every position before them (a step,
	// a pixel) gets the same mask value.
	rate, c := n.Float("rate"), n.Shape[len(n.Shape)-1]
	steps := n.Size() / c
	mask := n.Name + "_mask"
	e.Use(mask, e.Batch*n.Size(), "dropout mask of layer "+n.Name+" (one value a channel of a sample, at every position)")
	bits, from, ut := "Float32bits", "Float32frombits", "uint32"
	if e.Model.DType == "float64" {
		bits, from, ut = "Float64bits", "Float64frombits", "uint64"
	}
	at := Parens(Id("b").Op("*").Lit(steps).Op("+").Id("t")).Op("*").Lit(c).Op("+").Id("f")
	e.Block(
		Id("r").Op(":=").Qual(rngPkg, "New").Call(Id("m").Dot("seed"), e.Stream(n)),
		Id("mask").Op(":=").Id("m").Dot(mask).Index(Op(":")),
		Id("in").Op(":=").Add(e.Out(n.Inputs[0])).Index(Op(":").Len(Id("mask"))),
		Id("out").Op(":=").Add(e.Out(n)).Index(Op(":").Len(Id("mask"))),
		Id("scale").Op(":=").Qual(mathPkg, bits).Call(e.Lit(1/(1-rate))),
		Var().Id("u").Uint64(),
		For(Id("b").Op(":=").Lit(0), Id("b").Op("<").Lit(e.Batch), Id("b").Op("++")).Block(
			For(Id("f").Op(":=").Lit(0), Id("f").Op("<").Lit(c), Id("f").Op("++")).Block(
				If(Parens(Id("b").Op("*").Lit(c).Op("+").Id("f")).Op("&").Lit(1).Op("==").Lit(0)).Block(Id("u").Op("=").Id("r").Dot("Uint64").Call()).Else().Block(Id("u").Op(">>=").Lit(32)),
				Id("keep").Op(":=").Lit(1).Op("-").Parens(Parens(Id("u").Op("&").Lit(0xffffffff).Op("-").Lit(uint64(math.Round(rate*(1<<32))))).Op(">>").Lit(63)),
				Id("k").Op(":=").Qual(mathPkg, from).Call(Id("scale").Op("&").Op("-").Id(ut).Call(Id("keep"))),
				For(Id("t").Op(":=").Lit(0), Id("t").Op("<").Lit(steps), Id("t").Op("++")).Block(
					Id("mask").Index(at).Op("=").Id("k"),
					Id("out").Index(at.Clone()).Op("=").Id("in").Index(at.Clone()).Op("*").Id("k"),
				),
			),
		),
	)
}

// permuteIndex returns the loops over every output index of a Permute of
// input shape in by dims, body receiving the output and input offsets.
func permuteIndex(in, dims []int, body func(out, src Code) Code) Code {
	stride := make([]int, len(in))
	for i, s := len(in)-1, 1; i >= 0; i-- {
		stride[i], s = s, s*in[i]
	}
	var out, src *Statement
	for i, d := range dims {
		o, term := Id(fmt.Sprint("o", i)), Id(fmt.Sprint("o", i)).Op("*").Lit(stride[d-1])
		if i == 0 {
			out, src = o, term
			continue
		}
		out = Parens(out).Op("*").Lit(in[d-1]).Op("+").Add(o)
		src = src.Op("+").Add(term)
	}
	loop := body(out, src)
	for i := len(dims) - 1; i >= 0; i-- {
		o := fmt.Sprint("o", i)
		loop = For(Id(o).Op(":=").Lit(0), Id(o).Op("<").Lit(in[dims[i]-1]), Id(o).Op("++")).Block(loop)
	}
	return loop
}

func permuteForward(e *Emitter, n *ir.Node) {
	dims := n.Attrs["dims"].([]int)
	e.batchLoop(append(e.fwdSamples(n), permuteIndex(n.Inputs[0].Shape, dims, func(out, src Code) Code {
		return Id("y").Index(out).Op("=").Id("x").Index(src)
	}))...)
}

// permuteBackward: each input value has one output value, so dx[src] (+)=
// d[out] writes every value of dx.
func permuteBackward(e *Emitter, n *ir.Node) {
	body, acc, ok := e.bwdSamples(n)
	if !ok {
		return
	}
	op := "="
	if acc {
		op = "+="
	}
	dims := n.Attrs["dims"].([]int)
	e.batchLoop(append(body, permuteIndex(n.Inputs[0].Shape, dims, func(out, src Code) Code {
		return Id("dx").Index(src).Op(op).Id("d").Index(out)
	}))...)
}

// unitGeom views a UnitNormalization's batch as [outer][length][inner],
// normalized along length.
func (e *Emitter) unitGeom(n *ir.Node) (outer, length, inner int) {
	a, s := layers.UnitAxis(n), n.Shape
	return e.Batch * ir.Prod(s[:a]), s[a], ir.Prod(s[a+1:])
}

// unitLoops emits the loops over every vector of a UnitNormalization, body
// running with base, the offset of its first value (its values are
// inner apart), and v, its index in the sums buffer.
func unitLoops(outer, length, inner int, body ...Code) Code {
	return For(Id("o").Op(":=").Lit(0), Id("o").Op("<").Lit(outer), Id("o").Op("++")).Block(
		For(Id("j").Op(":=").Lit(0), Id("j").Op("<").Lit(inner), Id("j").Op("++")).Block(append([]Code{
			Id("base").Op(":=").Id("o").Op("*").Lit(length * inner).Op("+").Id("j"),
			Id("v").Op(":=").Id("o").Op("*").Lit(inner).Op("+").Id("j"),
		}, body...)...))
}

// at is index base + l·inner.
func unitAt(inner int) *Statement { return Id("base").Op("+").Id("l").Op("*").Lit(inner) }

// unitEps is Keras's floor of the squared norm.
const unitEps = 1e-12

// unitNormForward: y = x / √max(Σ x², 1e-12) along the axis, the sums kept
// for backward.
func unitNormForward(e *Emitter, n *ir.Node) {
	outer, length, inner := e.unitGeom(n)
	sums := n.Name + "_sumsq" + e.Suffix
	e.Use(sums, outer*inner, "sum of squares of each vector of layer "+n.Name)
	lLoop := func(body ...Code) Code {
		return For(Id("l").Op(":=").Lit(0), Id("l").Op("<").Lit(length), Id("l").Op("++")).Block(body...)
	}
	e.Block(
		Id("x").Op(":=").Add(e.Out(n.Inputs[0])),
		Id("y").Op(":=").Add(e.Out(n)),
		Id("ss").Op(":=").Id("m").Dot(sums).Index(Op(":")),
		unitLoops(outer, length, inner,
			Var().Id("s").Id("Float"),
			lLoop(Id("xv").Op(":=").Id("x").Index(unitAt(inner)), Id("s").Op("+=").Id("xv").Op("*").Id("xv")),
			Id("ss").Index(Id("v")).Op("=").Id("s"),
			Id("inv").Op(":=").Id("Float").Call(Lit(1).Op("/").Qual(mathPkg, "Sqrt").Call(Id("max").Call(Id("float64").Call(Id("s")), Lit(unitEps)))),
			lLoop(Id("y").Index(unitAt(inner)).Op("=").Id("x").Index(unitAt(inner)).Op("*").Id("inv")),
		),
	)
}

// unitNormBackward: dx = (d − y·Σ d·y)/‖x‖ where the norm is not floored,
// else d/1e-6.
func unitNormBackward(e *Emitter, n *ir.Node) {
	dx, acc, ok := e.GradIn(n, 0)
	if !ok {
		return
	}
	op := "="
	if acc {
		op = "+="
	}
	outer, length, inner := e.unitGeom(n)
	lLoop := func(body ...Code) Code {
		return For(Id("l").Op(":=").Lit(0), Id("l").Op("<").Lit(length), Id("l").Op("++")).Block(body...)
	}
	e.Block(
		Id("y").Op(":=").Add(e.Out(n)),
		Id("d").Op(":=").Add(e.Grad(n)),
		Id("dx").Op(":=").Parens(dx).Index(Op(":")),
		Id("ss").Op(":=").Id("m").Dot(n.Name+"_sumsq"+e.Suffix).Index(Op(":")),
		unitLoops(outer, length, inner,
			Id("s").Op(":=").Id("max").Call(Id("float64").Call(Id("ss").Index(Id("v"))), Lit(unitEps)),
			Id("inv").Op(":=").Id("Float").Call(Lit(1).Op("/").Qual(mathPkg, "Sqrt").Call(Id("s"))),
			Var().Id("dot").Id("Float"),
			If(Id("s").Op(">").Lit(unitEps)).Block(
				lLoop(Id("dot").Op("+=").Id("d").Index(unitAt(inner)).Op("*").Id("y").Index(unitAt(inner))),
			),
			lLoop(Id("dx").Index(unitAt(inner)).Op(op).Parens(Id("d").Index(unitAt(inner)).Op("-").Id("y").Index(unitAt(inner)).Op("*").Id("dot")).Op("*").Id("inv")),
		),
	)
}
