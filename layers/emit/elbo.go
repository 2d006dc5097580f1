package emit

import (
	"strings"

	. "github.com/dave/jennifer/jen"
	"github.com/nngen/nngen/layers"
)

// termsBuf is the buffer of the sums of the terms of the samples evaluated
// since the last reset.
const termsBuf = "loss_terms"

// emitTerms ends the loss of named terms: the reconstruction, which the row
// loop summed divided by c (but for bceRow's), becomes a sum over each
// sample's values, and the
// KL term −½·Σ(1 + logvar − μ² − exp(logvar)) over the first rows samples is
// added with weight β, writing its gradients β·μ and β·½·(exp(logvar) − 1)
// (times 1/Batch) into the gradients of μ and logvar. Evaluation adds each
// term to the model's loss_terms.
func (e *Emitter) emitTerms(rows Code, grad bool, c int) {
	t := e.Model.Loss.Terms
	if lookupLoss(e.Model.Loss.Kind) != losses["binary_crossentropy"] {
		e.Add(Id("sum").Op("*=").Lit(float64(c)))
	}
	names := layers.TermNames(e.Model)
	if !grad {
		e.UseTyped(termsBuf, len(names), "float64", "sums of the loss terms ("+strings.Join(names, ", ")+") over the samples evaluated")
		e.Add(Id("m").Dot(termsBuf).Index(Lit(0)).Op("+=").Id("sum"))
	}
	if t.KLMu == nil {
		return
	}
	scale := t.Beta / float64(e.MeanBatch())
	body := []Code{
		Id("mu").Op(":=").Float64().Call(Id("mus").Index(Id("i"))),
		Id("lv").Op(":=").Float64().Call(Id("lvs").Index(Id("i"))),
		Id("ev").Op(":=").Qual(mathPkg, "Exp").Call(Id("lv")),
		Id("kl").Op("-=").Lit(0.5).Op("*").Parens(Lit(1.0).Op("+").Id("lv").Op("-").Id("mu").Op("*").Id("mu").Op("-").Id("ev")),
	}
	if grad {
		body = append(body,
			Id("dmu").Index(Id("i")).Op("=").Id("Float").Call(Lit(scale).Op("*").Id("mu")),
			Id("dlv").Index(Id("i")).Op("=").Id("Float").Call(Lit(0.5*scale).Op("*").Parens(Id("ev").Op("-").Lit(1.0))),
		)
	}
	l := t.KLMu.Size()
	stmts := []Code{
		Var().Id("kl").Float64(),
		Id("mus").Op(":=").Add(e.Out(t.KLMu)).Index(Op(":").Add(rows).Op("*").Lit(l)),
		Id("lvs").Op(":=").Add(e.Out(t.KLLogVar)).Index(Op(":").Len(Id("mus"))),
	}
	if grad {
		stmts = append(stmts,
			Id("dmu").Op(":=").Add(e.Grad(t.KLMu)).Index(Op(":").Len(Id("mus"))),
			Id("dlv").Op(":=").Add(e.Grad(t.KLLogVar)).Index(Op(":").Len(Id("mus"))),
		)
		e.MarkWritten(t.KLMu)
		e.MarkWritten(t.KLLogVar)
	}
	stmts = append(stmts, For(Id("i").Op(":=").Range().Id("mus")).Block(body...))
	if !grad {
		stmts = append(stmts, Id("m").Dot(termsBuf).Index(Lit(1)).Op("+=").Id("kl"))
	}
	stmts = append(stmts, Id("sum").Op("+=").Lit(t.Beta).Op("*").Id("kl"))
	e.Block(stmts...)
}

// bceChunk is how many values of a row share one logarithm in bceRow.
const bceChunk = 16

// bceRow emits the binary cross-entropy of one row for a loss of named
// terms: with q = clip(p), −Σ t·log q + (1−t)·log(1−q) is written as
// −Σ log(1−q) − Σ t·log(q/(1−q)); the first sum takes one logarithm of a
// product per bceChunk values (each factor is at least Eps, so a product of
// bceChunk factors stays far from float64's underflow), the second one per
// nonzero target. Targets are mostly 0 for images, so this takes about an
// eighth of the logarithms of the plain formula and gives the same value up
// to rounding. The gradient is the loss's (scale is the per-value factor).
func (e *Emitter) bceRow(c int, fused, grad bool, scale float64) []Code {
	inner := []Code{
		Id("q").Op(":=").Add(clip(p_j(Id("j")))),
		Id("prod").Op("*=").Lit(1).Op("-").Id("q"),
		If(t_j(Id("j")).Op("!=").Lit(0)).Block(
			Id("sum").Op("-=").Add(f64(t_j(Id("j")))).Op("*").Qual(mathPkg, "Log").Call(Id("q").Op("/").Parens(Lit(1).Op("-").Id("q")))),
	}
	if grad && fused {
		inner = append(inner, d_j(Id("j")).Op("=").Parens(p_j(Id("j")).Op("-").Add(t_j(Id("j")))).Op("*").Add(e.Lit(scale)))
	} else if grad {
		inner = append(inner, d_j(Id("j")).Op("=").Id("Float").Call(Parens(f64(p_j(Id("j"))).Op("-").Add(f64(t_j(Id("j"))))).Op("/").Parens(Id("q").Op("*").Parens(Lit(1).Op("-").Id("q")))).Op("*").Add(e.Lit(scale)))
	}
	return []Code{For(Id("j0").Op(":=").Lit(0), Id("j0").Op("<").Lit(c), Id("j0").Op("+=").Lit(bceChunk)).Block(
		Id("prod").Op(":=").Lit(1.0),
		For(Id("j").Op(":=").Id("j0"), Id("j").Op("<").Min(Id("j0").Op("+").Lit(bceChunk), Lit(c)), Id("j").Op("++")).Block(inner...),
		Id("sum").Op("-=").Qual(mathPkg, "Log").Call(Id("prod")),
	)}
}
