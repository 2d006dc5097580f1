package codegen

import (
	. "github.com/dave/jennifer/jen"
)

// loadDoc is the doc comment of Load.
func (g *gen) loadDoc() string {
	doc := "Load reads a checkpoint written by Save (or by the train command): the\nparameters, the optimizer state, the step and the seed, which the draws of\nlater train steps come from."
	if g.drawer() != nil {
		doc += " It restarts the count of inference batches,\nas New does, so that inference after Load draws as on a new model."
	}
	return doc
}

// load is the body of Load: the tensors, then the metadata the model's
// state depends on (the step and, if the checkpoint has one, the seed),
// each checked before any is set.
func (g *gen) load() []Code {
	bad := func(what, key string) Code {
		return Return(Qual("fmt", "Errorf").Call(Lit("%s: bad "+what+" %q in checkpoint"), Id("path"), Id("meta").Index(Lit(key))))
	}
	code := []Code{
		List(Id("meta"), Err()).Op(":=").Qual(ckptPkg, "Load").Call(Id("path"), m_("Tensors").Call(True())),
		If(Err().Op("!=").Nil()).Block(Return(Err())),
		If(Id("meta").Index(Lit("spec_hash")).Op("!=").Id("SpecHash")).Block(
			Return(Qual("fmt", "Errorf").Call(Lit("%s: checkpoint of spec %q, not of this model's spec %s"), Id("path"), Id("meta").Index(Lit("spec_hash")), Id("SpecHash")))),
		List(Id("step"), Err()).Op(":=").Qual("strconv", "Atoi").Call(Id("meta").Index(Lit("step"))),
		If(Err().Op("!=").Nil().Op("||").Id("step").Op("<").Lit(0)).Block(bad("step", "step")),
		Id("seed").Op(":=").Add(m_("seed")),
		If(List(Id("s"), Id("ok")).Op(":=").Id("meta").Index(Lit("seed")), Id("ok")).Block(
			If(List(Id("seed"), Err()).Op("=").Qual("strconv", "ParseUint").Call(Id("s"), Lit(10), Lit(64)), Err().Op("!=").Nil()).Block(bad("seed", "seed"))),
		List(m_("step"), m_("seed")).Op("=").List(Id("step"), Id("seed")),
	}
	if g.drawer() != nil {
		code = append(code, m_("draws").Index(Lit(0)).Op("=").Lit(0))
	}
	return append(code, Return(Nil()))
}

// loadTest emits TestLoad: a model loaded from another's checkpoint,
// whatever seed it was made with, has that model's seed and step and takes
// the same next train step, bit for bit.
func (g *gen) loadTest(f *File) {
	a, b := Id("a"), Id("b")
	f.Comment("TestLoad checks that Load restores what the next train step depends on.")
	f.Func().Id("TestLoad").Params(Id("t").Op("*").Qual("testing", "T")).Block(
		Id("a").Op(":=").Id("New").Call(Lit(3)),
		Id("fillBatch").Call(a),
		a.Clone().Dot("TrainStep").Call(),
		Id("path").Op(":=").Qual("path/filepath", "Join").Call(Id("t").Dot("TempDir").Call(), Lit("a.safetensors")),
		If(Err().Op(":=").Add(a).Dot("Save").Call(Id("path")), Err().Op("!=").Nil()).Block(Id("t").Dot("Fatal").Call(Err())),
		Id("b").Op(":=").Id("New").Call(Lit(4)),
		If(Err().Op(":=").Add(b).Dot("Load").Call(Id("path")), Err().Op("!=").Nil()).Block(Id("t").Dot("Fatal").Call(Err())),
		If(b.Clone().Dot("Seed").Call().Op("!=").Add(a).Dot("Seed").Call().Op("||").Add(b).Dot("Step").Call().Op("!=").Add(a).Dot("Step").Call()).Block(
			Id("t").Dot("Fatalf").Call(Lit("after Load: seed %d, step %d; the checkpoint's model has seed %d, step %d"),
				b.Clone().Dot("Seed").Call(), b.Clone().Dot("Step").Call(), a.Clone().Dot("Seed").Call(), a.Clone().Dot("Step").Call())),
		Id("fillBatch").Call(b),
		a.Clone().Dot("TrainStep").Call(),
		b.Clone().Dot("TrainStep").Call(),
		If(b.Clone().Dot("p").Op("!=").Add(a).Dot("p")).Block(
			Id("t").Dot("Fatal").Call(Lit("the train step after Load differs from the saved model's next step"))),
	)
}
