package emit

import (
	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// SamplingStream is the stream bit of the draws of a Sampling layer at
// inference (with inference: sample), so that they never repeat a train
// step's draws.
const SamplingStream = 1 << 62

func init() {
	Register("Sampling", &Kind{
		Forward:  samplingForward,
		Backward: samplingBackward,
	})
}

// samplingDraws reports whether the variant draws ε.
func (e *Emitter) samplingDraws(n *ir.Node) bool {
	return e.Train || n.Str("inference") == "sample"
}

func samplingForward(e *Emitter, n *ir.Node) {
	size := e.Batch * n.Size()
	mu, lv := e.Out(n.Inputs[0]), e.Out(n.Inputs[1])
	if !e.samplingDraws(n) {
		e.Add(Copy(e.Out(n), mu))
		return
	}
	stream := e.Stream(n)
	if !e.Train {
		stream = Lit(SamplingStream).Op("|").Id("m").Dot("draws").Index(Lit(0)).Op("<<").Lit(8).Op("|").Lit(n.Index)
		e.UseState("draws", 1, "uint64", "number of inference batches that drew from a Sampling layer")
	}
	eps := n.Name + "_eps" + e.Suffix
	e.Use(eps, size, "ε of the last draw of layer "+n.Name)
	stmts := []Code{
		Id("r").Op(":=").Qual(rngPkg, "New").Call(Id("m").Dot("seed"), stream),
		Id("eps").Op(":=").Id("m").Dot(eps).Index(Op(":")),
		Id("mu").Op(":=").Add(mu).Index(Op(":").Len(Id("eps"))),
		Id("lv").Op(":=").Add(lv).Index(Op(":").Len(Id("eps"))),
		Id("z").Op(":=").Add(e.Out(n)).Index(Op(":").Len(Id("eps"))),
		For(Id("i").Op(":=").Range().Id("eps")).Block(
			Id("eps").Index(Id("i")).Op("=").Id("Float").Call(Id("r").Dot("Norm").Call()),
			Id("z").Index(Id("i")).Op("=").Id("mu").Index(Id("i")).Op("+").Add(exp(Lit(0.5).Op("*").Id("lv").Index(Id("i")))).Op("*").Id("eps").Index(Id("i")),
		),
	}
	if !e.Train {
		stmts = append(stmts, Id("m").Dot("draws").Index(Lit(0)).Op("++"))
	}
	e.Block(stmts...)
}

// samplingBackward: ∂z/∂μ = 1 and ∂z/∂logvar = ½·exp(½·logvar)·ε.
func samplingBackward(e *Emitter, n *ir.Node) {
	eps := n.Name + "_eps" + e.Suffix
	for i := range 2 {
		dx, acc, ok := e.GradIn(n, i)
		if !ok {
			continue
		}
		op := "="
		if acc {
			op = "+="
		}
		g := Id("d").Index(Id("i"))
		if i == 1 {
			g = Id("d").Index(Id("i")).Op("*").Lit(0.5).Op("*").Add(exp(Lit(0.5).Op("*").Id("lv").Index(Id("i")))).Op("*").Id("eps").Index(Id("i"))
		}
		stmts := []Code{
			Id("eps").Op(":=").Id("m").Dot(eps).Index(Op(":")),
			Id("d").Op(":=").Add(e.Grad(n)).Index(Op(":").Len(Id("eps"))),
			Id("dx").Op(":=").Parens(dx).Index(Op(":").Len(Id("eps"))),
		}
		if i == 1 {
			stmts = append(stmts, Id("lv").Op(":=").Add(e.Out(n.Inputs[1])).Index(Op(":").Len(Id("eps"))))
		}
		e.Block(append(stmts, For(Id("i").Op(":=").Range().Id("eps")).Block(Id("dx").Index(Id("i")).Op(op).Add(g)))...)
	}
}
