package emit

import (
	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

func init() {
	Register("Embedding", &Kind{
		Forward:  embeddingForward,
		Backward: embeddingBackward,
	})
}

// embeddingRows emits, for every id r of the input, body with `id` (the
// table row, 0 for an id out of range) and `row`, the output (or gradient)
// row of buf.
func (e *Emitter) embeddingRows(n *ir.Node, buf Code, body ...Code) {
	v, d := n.Int("input_dim"), n.Int("output_dim")
	e.Block(
		Id("ids").Op(":=").Add(e.Out(n.Inputs[0])),
		Id("buf").Op(":=").Add(buf),
		For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(e.Batch*n.Inputs[0].Size()), Id("r").Op("++")).Block(
			append([]Code{
				Id("id").Op(":=").Int().Call(Id("ids").Index(Id("r"))),
				If(Id("id").Op("<").Lit(0).Op("||").Id("id").Op(">=").Lit(v)).Block(Id("id").Op("=").Lit(0)),
				Id("row").Op(":=").Add(rowOf(Id("buf"), d)),
			}, body...)...),
	)
}

func embeddingForward(e *Emitter, n *ir.Node) {
	w, _ := e.Param(n, "weight")
	d := n.Int("output_dim")
	e.embeddingRows(n, e.Out(n), Copy(Id("row"), Add(w).Index(Id("id").Op("*").Lit(d).Op(":")).Index(Op(":").Lit(d))))
}

func embeddingBackward(e *Emitter, n *ir.Node) {
	dw, size := e.ParamGrad(n, "weight")
	d := n.Int("output_dim")
	e.Add(Op("*").Add(dw).Op("=").Index(Lit(size)).Id("Float").Values())
	e.embeddingRows(n, e.Grad(n),
		Id("dw").Op(":=").Add(dw).Index(Id("id").Op("*").Lit(d).Op(":")).Index(Op(":").Lit(d)),
		For(List(Id("j"), Id("g")).Op(":=").Range().Id("row")).Block(Id("dw").Index(Id("j")).Op("+=").Id("g")),
	)
}
