package codegen

import (
	"fmt"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/layers"
	"github.com/nngen/nngen/layers/emit"
)

// inputMethods emits InputNames and InputShapes for a model of several
// named inputs: a sample's input is theirs side by side, in this order.
func (g *gen) inputMethods(f *File) {
	if g.m.Inputs == nil {
		return
	}
	var names, shapes []Code
	for _, n := range g.m.Inputs {
		names = append(names, Lit(n.Name))
		shapes = append(shapes, ints(n.Shape))
	}
	f.Var().Defs(
		Id("inputNames").Op("=").Index().String().Values(names...),
		Id("inputShapes").Op("=").Index().Index().Int().Values(shapes...),
	)
	f.Add(g.method("InputNames are the model's named inputs, in the order of the spec's inputs:\neach sample of the input buffers (Input, Predict's x, a data.Set's X)\nholds their values side by side, the first input's first.", "InputNames", nil, []Code{Index().String()}, Return(Id("inputNames"))))
	f.Add(g.method("InputShapes are the per-sample shapes of the named inputs, as InputNames.", "InputShapes", nil, []Code{Index().Index().Int()}, Return(Id("inputShapes"))))
}

// classWeightMethod emits SetClassWeight for a classifier of one label per
// sample (see emit.Weighted).
func (g *gen) classWeightMethod(f *File) {
	m := g.m
	if !emit.Weighted(m) {
		return
	}
	classes, _ := layers.Classes(m)
	var spec []Code
	for _, w := range m.ClassWeight {
		spec = append(spec, Lit(w))
	}
	doc := fmt.Sprintf("SetClassWeight sets the weight of each class's samples in the training loss,\nas Keras's class_weight: each sample's loss and gradient are multiplied by\nthe weight of its target's class, and a batch's loss is the sum of the\nweighted losses over the batch size (Evaluate weighs nothing). w holds the\nweights of classes 0 to len(w)−1 (at most %d), the others weigh 1; nil\nrestores the spec's class_weight (1 for every class without one).", classes)
	f.Add(g.method(doc, "SetClassWeight", []Code{Id("w").Index().Float64()}, []Code{Error()},
		If(Len(Id("w")).Op(">").Lit(classes)).Block(
			Return(Qual("fmt", "Errorf").Call(Lit(fmt.Sprintf("class weights of %%d classes; the model has %d", classes)), Len(Id("w"))))),
		If(Id("w").Op("==").Nil()).Block(Id("w").Op("=").Index().Float64().Values(spec...)),
		For(List(Id("c"), Id("v")).Op(":=").Range().Id("w")).Block(
			If(Id("v").Op("<").Lit(0).Op("||").Qual("math", "IsNaN").Call(Id("v")).Op("||").Qual("math", "IsInf").Call(Id("v"), Lit(0))).Block(
				Return(Qual("fmt", "Errorf").Call(Lit("class %d: weight %v is not a finite number of 0 or more"), Id("c"), Id("v"))))),
		For(Id("c").Op(":=").Range().Add(m_("classWeight"))).Block(
			m_("classWeight").Index(Id("c")).Op("=").Lit(1.0),
			If(Id("c").Op("<").Len(Id("w"))).Block(m_("classWeight").Index(Id("c")).Op("=").Id("w").Index(Id("c")))),
		Return(Nil())))
}
