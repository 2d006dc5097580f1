package codegen

import (
	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// regularized reports whether a parameter of the model has a weight
// regularizer (Keras's kernel_regularizer and the like).
func (g *gen) regularized() bool {
	for _, n := range g.m.Nodes {
		for _, p := range n.Params {
			if !p.Reg.IsZero() {
				return true
			}
		}
	}
	return false
}

// regularizeMethod emits regularize, the one place weight penalties are
// computed: the penalty that the training and evaluation losses add, and
// with grad its gradient added to the parameters' (after backward and
// the shards' reduction, before any optimizer step), in parameter order on
// one worker so that the bits are the same for any number of workers.
func (g *gen) regularizeMethod(f *File) {
	if !g.regularized() {
		return
	}
	var body []Code
	for _, n := range g.m.Nodes {
		for _, p := range n.Params {
			r := p.Reg
			if r.IsZero() {
				continue
			}
			var pen, grad []Code
			if r.L1 != 0 {
				pen = append(pen, Id("pen").Op("+=").Lit(r.L1).Op("*").Qual("math", "Abs").Call(Id("w")))
				grad = append(grad, If(Id("w").Op(">").Lit(0)).Block(Id("d").Op("=").Lit(r.L1)).Else().If(Id("w").Op("<").Lit(0)).Block(Id("d").Op("=").Lit(-r.L1)))
			}
			if r.L2 != 0 {
				pen = append(pen, Id("pen").Op("+=").Lit(r.L2).Op("*").Id("w").Op("*").Id("w"))
				grad = append(grad, Id("d").Op("+=").Lit(2*r.L2).Op("*").Id("w"))
			}
			lo, hi := p.Offset, p.Offset+ir.Prod(p.Shape)
			body = append(body, Commentf("layer %s: %s of %s", n.Name, r, p.Name),
				For(Id("i").Op(":=").Lit(lo), Id("i").Op("<").Lit(hi), Id("i").Op("++")).Block(append(append([]Code{
					Id("w").Op(":=").Float64().Call(m_("p").Index(Id("i")))}, pen...),
					If(Id("grad")).Block(append([]Code{Var().Id("d").Float64()}, append(grad, m_("g").Index(Id("i")).Op("+=").Id("Float").Call(Id("d")))...)...))...))
		}
	}
	doc := "regularize returns the weight penalty the loss adds (Keras's regularization\nlosses) and, with grad, adds its gradient to the parameters' gradients."
	f.Add(g.method(doc, "regularize", []Code{Id("grad").Bool()}, []Code{Float64()}, append(append([]Code{Var().Id("pen").Float64()}, body...), Return(Id("pen")))...))
}

// penalty is the weight penalty added to a loss: nothing for a model
// without regularizers.
func (g *gen) penalty(grad bool) Code {
	if !g.regularized() {
		return Null()
	}
	return Op("+").Add(m_("regularize").Call(Lit(grad)))
}
