package emit

import (
	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

func init() {
	Register("Dense", &Kind{Forward: denseForward, Backward: denseBackward})
}

// denseDims returns the rows (batch × leading axes), inputs and units.
func (e *Emitter) denseDims(n *ir.Node) (rows, in, units int) {
	s := n.Inputs[0].Shape
	in = s[len(s)-1]
	units = n.Int("units")
	return e.Batch * n.Inputs[0].Size() / in, in, units
}

func denseForward(e *Emitter, n *ir.Node) {
	rows, in, units := e.denseDims(n)
	w, _ := e.Param(n, "weight")
	e.TopGEMM(GEMM{Layout: NT, M: rows, N: units, K: in}, e.OutArr(n), e.OutArr(n.Inputs[0]), w)
	if n.Bool("use_bias") {
		b, _ := e.Param(n, "bias")
		e.Block(
			Id("b").Op(":=").Add(b),
			Id("out").Op(":=").Add(e.Out(n)),
			For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(rows), Id("r").Op("++")).Block(
				Id("row").Op(":=").Add(rowOf(Id("out"), units)),
				e.For("j", units, func(j Code) []Code {
					return []Code{Id("row").Index(j).Op("+=").Id("b").Index(j)}
				}),
			),
		)
	}
	e.Activate(n, n.Str("activation"))
}

func denseBackward(e *Emitter, n *ir.Node) {
	rows, in, units := e.denseDims(n)
	e.ActBackward(n, n.Str("activation"))
	if n.Bool("use_bias") {
		db, _ := e.ParamGrad(n, "bias")
		e.Block(
			Id("db").Op(":=").Add(db),
			Id("d").Op(":=").Add(e.Grad(n)),
			Op("*").Id("db").Op("=").Index(Lit(units)).Id("Float").Values(),
			For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(rows), Id("r").Op("++")).Block(
				Id("row").Op(":=").Add(rowOf(Id("d"), units)),
				e.For("j", units, func(j Code) []Code {
					return []Code{Id("db").Index(j).Op("+=").Id("row").Index(j)}
				}),
			),
		)
	}
	dw, _ := e.ParamGrad(n, "weight")
	e.TopGEMM(GEMM{Layout: TN, M: units, N: in, K: rows}, dw, e.GradArr(n), e.OutArr(n.Inputs[0]))
	if dx, acc, ok := e.GradIn(n, 0); ok {
		w, _ := e.Param(n, "weight")
		e.TopGEMM(GEMM{Layout: NN, M: rows, N: in, K: units, Acc: acc}, dx, e.GradArr(n), w)
	}
}
