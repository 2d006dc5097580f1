package layers

import (
	"fmt"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

func init() {
	Register(&Kind{
		Name: "Embedding",
		Doc: "Looks up a learned vector for each token id of the model input: [T] ids (given as numbers) become [T, output_dim]. " +
			"The table is stored as PyTorch's nn.Embedding.weight, [input_dim, output_dim]. An id outside [0, input_dim) reads row 0; the data loaders reject such ids. " +
			"A model whose input an Embedding reads is a token model: its binary trains on a text file with --text and has a sample command.",
		Fields: []Field{
			{Name: "input_dim", Type: IntField, Doc: "Vocabulary size: ids are below it (text is read as bytes, so 128 covers ASCII).", Check: positive},
			{Name: "output_dim", Type: IntField, Doc: "Size of each vector.", Check: positive},
			{Name: "embeddings_initializer", Type: StringField, Default: "random_uniform", Doc: "Initializer of the table (Keras's uniform in ±0.05).", Enum: Initializers},
		},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			if n.Inputs[0].Kind != "Input" {
				return nil, fmt.Errorf("must take the model input (token ids), not layer %s", n.Inputs[0].Name)
			}
			return append(append([]int(nil), in[0]...), n.Int("output_dim")), nil
		},
		Params: func(n *ir.Node) []ir.Param {
			v, d := n.Int("input_dim"), n.Int("output_dim")
			return []ir.Param{{Name: "weight", Shape: []int{v, d}, Init: n.Str("embeddings_initializer"), FanIn: v, FanOut: d}}
		},
		Tokens: func(n *ir.Node) int { return n.Int("input_dim") },
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("Embedding %d ids → %d", n.Int("input_dim"), n.Int("output_dim"))
		},
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

// Vocabulary returns the vocabulary of a token model (one whose input a
// kind with Tokens reads), or 0 for other models.
func Vocabulary(m *ir.Model) int {
	for _, n := range m.Nodes {
		if k, ok := Lookup(n.Kind); ok && k.Tokens != nil && n.Inputs[0] == m.Nodes[0] {
			return k.Tokens(n)
		}
	}
	return 0
}
