package codegen

import (
	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/layers"
)

// tokenMethods adds Vocabulary to a token model, which the train command
// checks the ids of its data against, and to a language model the rest of
// train.TextModel: PredictOne, which runs the batch-1 buffers of Predict1
// on slices.
func (g *gen) tokenMethods(f *File) {
	v := layers.Vocabulary(g.m)
	if v == 0 {
		return
	}
	if !layers.LanguageModel(g.m) {
		f.Add(g.method("Vocabulary is the number of token ids the model reads: every input value is\nan integer id below it.", "Vocabulary", nil, []Code{Int()}, Return(Lit(v))))
		return
	}
	f.Add(g.method("Vocabulary is the number of token ids the model reads: its input is text,\none byte per id.", "Vocabulary", nil, []Code{Int()}, Return(Lit(v))))
	f.Add(g.method("PredictOne runs inference on one sample, x of InputSize values and out of\nOutputSize, with buffers of its own.", "PredictOne",
		[]Code{Id("x"), Id("out").Index().Float32()}, nil,
		For(List(Id("i"), Id("v")).Op(":=").Range().Id("x").Index(Op(":").Id("InputSize"))).Block(
			m_("x1").Index(Id("i")).Op("=").Id("Float").Call(Id("v"))),
		m_("forward1").Call(),
		For(List(Id("i"), Id("v")).Op(":=").Range().Add(m_(g.out1)).Index(Op(":"))).Block(
			Id("out").Index(Id("i")).Op("=").Float32().Call(Id("v")))))
}
