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
	g := GEMM{Layout: NT, M: rows, N: units, K: in}
	ep := Epilogue{Act: elementAct(n.Str("activation"))}
	if n.Bool("use_bias") {
		ep.Bias, _ = e.Param(n, "bias")
	}
	if e.TopGEMMThen(g, e.OutArr(n), e.OutArr(n.Inputs[0]), w, ep) {
		return
	}
	e.TopGEMM(g, e.OutArr(n), e.OutArr(n.Inputs[0]), w)
	if n.Bool("use_bias") {
		e.Block(
			Id("b").Op(":=").Add(ep.Bias),
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

// elementAct is act, "" for linear.
func elementAct(act string) string {
	if act == "linear" {
		return ""
	}
	return act
}

// denseBackward writes the input's gradient before the weights' (which
// their tiles may step, see Tiles.Update); with no input gradient, the
// tiles of the weights' gradient apply the activation's backward and sum
// the bias gradient on their columns of the output gradient.
func denseBackward(e *Emitter, n *ir.Node) {
	rows, in, units := e.denseDims(n)
	dwg := GEMM{Layout: TN, M: units, N: in, K: rows}
	dx, acc, hasDx := e.GradIn(n, 0)
	if !hasDx {
		pro := Prologue{Out: e.OutArr(n)}
		if !n.Fused.IntoLoss {
			pro.Act = elementAct(n.Str("activation"))
		}
		if n.Bool("use_bias") {
			pro.Sums, _ = e.ParamGrad(n, "bias")
		}
		if e.GradGEMMAfter(dwg, n, "weight", e.GradArr(n), e.OutArr(n.Inputs[0]), pro) {
			return
		}
	}
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
	if hasDx {
		w, _ := e.Param(n, "weight")
		e.TopGEMM(GEMM{Layout: NN, M: rows, N: in, K: units, Acc: acc}, dx, e.GradArr(n), w)
	}
	e.GradGEMM(dwg, n, "weight", e.GradArr(n), e.OutArr(n.Inputs[0]))
}
