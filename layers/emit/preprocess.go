package emit

import (
	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// scaleGrad emits dx (+)= d·f or d/f, f(j) the factor of feature j of c:
// the backward pass of a per-feature affine map.
func (e *Emitter) scaleGrad(n *ir.Node, pre []Code, f func(j Code) Code, div bool) {
	dx, acc, ok := e.GradIn(n, 0)
	if !ok {
		return
	}
	rows, c := e.rows(n)
	op, mul := "=", "*"
	if acc {
		op = "+="
	}
	if div {
		mul = "/"
	}
	e.Block(append(pre,
		Id("d").Op(":=").Add(e.Grad(n)),
		Id("dx").Op(":=").Parens(dx).Index(Op(":")),
		For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(rows), Id("r").Op("++")).Block(
			Id("dr").Op(":=").Add(rowOf(Id("d"), c)),
			Id("xr").Op(":=").Add(rowOf(Id("dx"), c)),
			For(Id("j").Op(":=").Range().Id("xr")).Block(Id("xr").Index(Id("j")).Op(op).Id("dr").Index(Id("j")).Op(mul).Add(f(Id("j"))))))...)
}

func init() {
	Register("Rescaling", &Kind{
		Forward: func(e *Emitter, n *ir.Node) {
			e.Block(
				Id("in").Op(":=").Add(e.Out(n.Inputs[0])),
				Id("out").Op(":=").Add(e.Out(n)).Index(Op(":").Len(Id("in"))),
				For(List(Id("i"), Id("v")).Op(":=").Range().Id("in")).Block(
					Id("out").Index(Id("i")).Op("=").Id("v").Op("*").Add(e.Lit(n.Float("scale"))).Op("+").Add(e.Lit(n.Float("offset")))))
		},
		Backward: func(e *Emitter, n *ir.Node) {
			e.scaleGrad(n, nil, func(Code) Code { return e.Lit(n.Float("scale")) }, false)
		},
	})
	Register("Normalization", &Kind{
		// Forward divides by the standard deviations, which it keeps for
		// backward in <name>_std.
		Forward: func(e *Emitter, n *ir.Node) {
			rows, c := e.rows(n)
			mean, _ := e.Param(n, "mean")
			variance, _ := e.Param(n, "variance")
			std := n.Name + "_std"
			e.Use(std, c, "max(√variance, ε) of layer "+n.Name)
			y := Parens(Id("x").Index(Id("j")).Op("-").Id("mean").Index(Id("j"))).Op("/").Id("std").Index(Id("j"))
			if n.Bool("invert") {
				y = Id("x").Index(Id("j")).Op("*").Id("std").Index(Id("j")).Op("+").Id("mean").Index(Id("j"))
			}
			e.Block(
				Id("mean").Op(":=").Add(mean),
				Id("variance").Op(":=").Add(variance),
				Id("std").Op(":=").Add(field(std)).Index(Op(":")),
				For(Id("j").Op(":=").Range().Id("std")).Block(
					Id("std").Index(Id("j")).Op("=").Max(Id("Float").Call(Qual(mathPkg, "Sqrt").Call(Float64().Call(Id("variance").Index(Id("j"))))), Lit(layers.NormEpsilon))),
				Id("in").Op(":=").Add(e.Out(n.Inputs[0])),
				Id("out").Op(":=").Add(e.Out(n)),
				For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(rows), Id("r").Op("++")).Block(
					Id("x").Op(":=").Add(rowOf(Id("in"), c)),
					Id("y").Op(":=").Add(rowOf(Id("out"), c)),
					For(Id("j").Op(":=").Range().Id("y")).Block(Id("y").Index(Id("j")).Op("=").Add(y))))
		},
		Backward: func(e *Emitter, n *ir.Node) {
			pre := []Code{Id("std").Op(":=").Add(field(n.Name + "_std")).Index(Op(":"))}
			e.scaleGrad(n, pre, func(j Code) Code { return Id("std").Index(j) }, !n.Bool("invert"))
		},
		// Adapt sets mean and variance from the n samples of inputs x:
		// their mean and biased variance per feature, summed in float64
		// in sample order.
		Adapt: func(e *Emitter, n *ir.Node) {
			c := n.Shape[len(n.Shape)-1]
			per := n.Size() / c // rows of c features per sample
			mean, _ := e.Param(n, "mean")
			variance, _ := e.Param(n, "variance")
			rows := Id("rows")
			each := func(body ...Code) Code {
				return For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Add(rows), Id("r").Op("++")).Block(
					For(List(Id("j"), Id("v")).Op(":=").Range().Id("x").Index(Id("r").Op("*").Lit(c).Op(":")).Index(Op(":").Lit(c))).Block(body...))
			}
			e.Block(
				Id("rows").Op(":=").Id("n").Op("*").Lit(per),
				If(Id("rows").Op("==").Lit(0)).Block(Return()),
				Var().List(Id("mu"), Id("sq")).Index(Lit(c)).Float64(),
				each(Id("mu").Index(Id("j")).Op("+=").Float64().Call(Id("v"))),
				For(Id("j").Op(":=").Range().Id("mu")).Block(Id("mu").Index(Id("j")).Op("/=").Float64().Call(rows)),
				each(Id("dv").Op(":=").Float64().Call(Id("v")).Op("-").Id("mu").Index(Id("j")), Id("sq").Index(Id("j")).Op("+=").Id("dv").Op("*").Id("dv")),
				List(Id("mean"), Id("variance")).Op(":=").List(mean, variance),
				For(Id("j").Op(":=").Range().Id("mu")).Block(
					Id("mean").Index(Id("j")).Op("=").Id("Float").Call(Id("mu").Index(Id("j"))),
					Id("variance").Index(Id("j")).Op("=").Id("Float").Call(Id("sq").Index(Id("j")).Op("/").Float64().Call(rows))))
		},
	})
}
