package codegen

import (
	"strings"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/layers"
)

// Batch inference runs its batches on the workers, and nothing a batch
// computes depends on which worker ran it: batch b of a call of Evaluate
// or Predict draws from a stream of its own (the model's count of
// inference batches before the call, plus b), and Evaluate keeps each
// batch's loss, correct count and loss terms apart and adds them in batch
// order. One worker running every batch in turn reaches the same bits.

// evaluateDoc is the doc comment of Evaluate.
func (g *gen) evaluateDoc() string {
	doc := "Evaluate runs inference over every sample of set, the last partial batch\nincluded, and returns the mean loss and the accuracy. Its batches run on\nthe workers (see SetWorkers); the result is the same for any number."
	if names := layers.TermNames(g.m); names != nil {
		doc += "\nIt leaves the sums over set of the loss terms (" + strings.Join(names, ", ") + ") in\nloss_terms, each batch's added in batch order."
	}
	return doc
}

// evaluate is the body of Evaluate; gatherTargets copies the targets of
// the samples idx into workspace w.
func (g *gen) evaluate(gatherTargets Code) []Code {
	terms := layers.TermNames(g.m) != nil
	body := []Code{
		Id("i").Op(":=").Id("b").Op("*").Id("ShardSize"),
		Id("idx").Op(":=").Id("w").Dot("idx").Index(Op(":").Min(Id("ShardSize"), Id("set").Dot("N").Op("-").Id("i"))),
		For(Id("j").Op(":=").Range().Id("idx")).Block(Id("idx").Index(Id("j")).Op("=").Id("i").Op("+").Id("j")),
		Qual(dataPkg, "GatherRows").Call(Id("w").Dot("x").Index(Op(":")), Id("set").Dot("X"), Id("idx"), Id("InputSize")),
		gatherTargets,
		Id("w").Dot("forwardInfer").Call(),
	}
	if terms {
		body = append(body, Clear(Id("w").Dot("loss_terms").Index(Op(":"))))
	}
	body = append(body, List(Id("sums").Index(Id("b")), Id("counts").Index(Id("b"))).Op("=").Id("w").Dot("lossEval").Call(Len(Id("idx"))))
	if terms {
		body = append(body, Copy(Id("terms").Index(Id("b")).Index(Op(":")), Id("w").Dot("loss_terms").Index(Op(":"))))
	}
	code := []Code{
		If(Id("set").Dot("N").Op("==").Lit(0)).Block(Return(Lit(0), Lit(0))),
		Id("nb").Op(":=").Parens(Id("set").Dot("N").Op("+").Id("ShardSize").Op("-").Lit(1)).Op("/").Id("ShardSize"),
		Id("sums").Op(":=").Make(Index().Float64(), Id("nb")),
		Id("counts").Op(":=").Make(Index().Int(), Id("nb")),
	}
	sum := []Code{
		Id("sum").Op("+=").Id("sums").Index(Id("b")),
		Id("correct").Op("+=").Id("counts").Index(Id("b")),
	}
	reset := Null()
	if terms {
		n := len(layers.TermNames(g.m))
		code = append(code, Id("terms").Op(":=").Make(Index().Index(Lit(n)).Float64(), Id("nb")))
		sum = append(sum, For(List(Id("i"), Id("v")).Op(":=").Range().Id("terms").Index(Id("b"))).Block(
			m_("loss_terms").Index(Id("i")).Op("+=").Id("v")))
		reset = Clear(m_("loss_terms").Index(Op(":")))
	}
	return append(code,
		m_("forBatches").Call(Id("nb"), Func().Params(Id("w").Op("*").Id("workspace"), Id("b").Int()).Block(body...)),
		Comment("Summed in batch order, whichever worker ran each batch."),
		Var().Id("sum").Float64(),
		Id("correct").Op(":=").Lit(0),
		reset,
		For(Id("b").Op(":=").Range().Id("sums")).Block(sum...),
		Id("rows").Op(":=").Float64().Call(Id("set").Dot("N").Op("*").Id("rowsPerSample")),
		Return(Id("sum").Op("/").Id("rows").Add(g.penalty(false)), Float64().Call(Id("correct")).Op("/").Id("rows")))
}

// forBatchesDoc is the doc comment of forBatches.
func (g *gen) forBatchesDoc() string {
	doc := "forBatches calls f(w, b) for every batch b in [0, n), w the workspace of\nthe worker that runs it. The result of batch b must depend on b only."
	if n := g.drawer(); n != nil {
		doc += "\nLayer " + n.Name + " draws at inference: batch b draws from stream number\ndraws+b, draws the count of inference batches before the call, which\nthe call advances by n."
	}
	return doc
}

// forBatches is the body of forBatches.
func (g *gen) forBatches() []Code {
	draws := g.drawer() != nil
	run := func(ws Code) []Code {
		if !draws {
			return []Code{Id("f").Call(ws, Id("b"))}
		}
		return []Code{
			Id("ws").Op(":=").Add(ws),
			Id("ws").Dot("draws").Index(Lit(0)).Op("=").Id("base").Op("+").Uint64().Call(Id("b")),
			Id("f").Call(Id("ws"), Id("b")),
		}
	}
	start, end := Null(), Null()
	if draws {
		start = Id("base").Op(":=").Add(m_("draws")).Index(Lit(0))
		end = m_("draws").Index(Lit(0)).Op("=").Id("base").Op("+").Uint64().Call(Id("n"))
	}
	return []Code{
		start,
		If(m_("Workers").Call().Op("==").Lit(1).Op("||").Id("n").Op("<=").Lit(1)).Block(
			For(Id("b").Op(":=").Range().Id("n")).Block(run(Op("&").Add(m_("workspace")))...),
			end,
			Return()),
		For(Id("w").Op(":=").Range().Add(m_("Workers").Call())).Block(m_("space").Call(Id("w"))),
		m_("ensurePool").Call(),
		m_("pool").Dot("For").Call(Id("n"), Func().Params(Id("w"), Id("b").Int()).Block(run(m_("space").Call(Id("w")))...)),
		end,
	}
}
