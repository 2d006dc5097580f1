package codegen

import (
	. "github.com/dave/jennifer/jen"
)

// testFile emits the generated package's own tests: zero allocations per
// step, determinism, learning on a fixed batch, and benchmarks.
func (g *gen) testFile() *File {
	f := g.newFile(g.m.Name)
	t := Id("t").Op("*").Qual("testing", "T")
	fill := Func().Id("fillBatch").Params(Id("m").Op("*").Id("Model")).Block(
		Id("r").Op(":=").Qual(rngPkg, "New").Call(Lit(99), Lit(0)),
		For(Id("i").Op(":=").Range().Id("m").Dot("x")).Block(Id("m").Dot("x").Index(Id("i")).Op("=").Id("Float").Call(Id("r").Dot("Float64").Call())),
		Comment("One-hot targets, which every loss accepts."),
		For(Id("i").Op(":=").Lit(0), Id("i").Op("<").Id("BatchSize").Op("*").Id("rowsPerSample"), Id("i").Op("++")).Block(
			Id("row").Op(":=").Id("m").Dot("y").Index(Id("i").Op("*").Id("OutputSize").Op("/").Id("rowsPerSample").Op(":")).Index(Op(":").Id("OutputSize").Op("/").Id("rowsPerSample")),
			Id("row").Index(Id("r").Dot("Intn").Call(Len(Id("row")))).Op("=").Lit(1),
		),
	)
	f.Add(fill)
	f.Func().Id("TestZeroAllocs").Params(t).Block(
		Id("m").Op(":=").Id("New").Call(Lit(1)),
		Id("fillBatch").Call(Id("m")),
		If(Id("a").Op(":=").Qual("testing", "AllocsPerRun").Call(Lit(5), Func().Params().Block(Id("m").Dot("TrainStep").Call())), Id("a").Op("!=").Lit(0)).Block(
			Id("t").Dot("Errorf").Call(Lit("TrainStep allocates %v times per call"), Id("a"))),
		Var().Id("x").Index(Id("InputSize")).Id("Float"),
		Var().Id("out").Index(Id("OutputSize")).Id("Float"),
		If(Id("a").Op(":=").Qual("testing", "AllocsPerRun").Call(Lit(5), Func().Params().Block(Id("m").Dot("Predict1").Call(Op("&").Id("x"), Op("&").Id("out")))), Id("a").Op("!=").Lit(0)).Block(
			Id("t").Dot("Errorf").Call(Lit("Predict1 allocates %v times per call"), Id("a"))),
	)
	f.Func().Id("TestDeterministic").Params(t).Block(
		List(Id("a"), Id("b")).Op(":=").List(Id("New").Call(Lit(7)), Id("New").Call(Lit(7))),
		Id("fillBatch").Call(Id("a")),
		Id("fillBatch").Call(Id("b")),
		For(Id("i").Op(":=").Lit(0), Id("i").Op("<").Lit(3), Id("i").Op("++")).Block(
			Id("a").Dot("TrainStep").Call(), Id("b").Dot("TrainStep").Call()),
		If(Id("a").Dot("p").Op("!=").Id("b").Dot("p")).Block(Id("t").Dot("Fatal").Call(Lit("same seed, same data, different weights"))),
		If(Id("New").Call(Lit(8)).Dot("p").Op("==").Id("a").Dot("p")).Block(Id("t").Dot("Fatal").Call(Lit("different seeds, same weights"))),
	)
	f.Func().Id("TestLearnsFixedBatch").Params(t).Block(
		Id("m").Op(":=").Id("New").Call(Lit(1)),
		Id("fillBatch").Call(Id("m")),
		List(Id("first"), Id("_")).Op(":=").Id("m").Dot("TrainStep").Call(),
		Var().Id("last").Float64(),
		For(Id("i").Op(":=").Lit(0), Id("i").Op("<").Lit(300), Id("i").Op("++")).Block(
			List(Id("last"), Id("_")).Op("=").Id("m").Dot("TrainStep").Call()),
		If(Op("!").Parens(Id("last").Op("<").Id("first").Op("*").Lit(0.95))).Block(
			Id("t").Dot("Errorf").Call(Lit("loss went from %v to %v in 300 steps on one batch"), Id("first"), Id("last"))),
	)
	f.Func().Id("TestPredictMatchesForward").Params(t).Block(
		Id("m").Op(":=").Id("New").Call(Lit(1)),
		Id("fillBatch").Call(Id("m")),
		Var().Id("out").Index(Id("BatchSize").Op("*").Id("OutputSize")).Id("Float"),
		Id("x").Op(":=").Id("m").Dot("x"),
		Id("m").Dot("Forward").Call(Op("&").Id("x"), Op("&").Id("out")),
		Var().Id("x1").Index(Id("InputSize")).Id("Float"),
		Var().Id("o1").Index(Id("OutputSize")).Id("Float"),
		For(Id("s").Op(":=").Lit(0), Id("s").Op("<").Id("BatchSize"), Id("s").Op("++")).Block(
			Copy(Id("x1").Index(Op(":")), Id("x").Index(Id("s").Op("*").Id("InputSize").Op(":"))),
			Id("m").Dot("Predict1").Call(Op("&").Id("x1"), Op("&").Id("o1")),
			For(List(Id("j"), Id("v")).Op(":=").Range().Id("o1")).Block(
				If(Id("d").Op(":=").Id("v").Op("-").Id("out").Index(Id("s").Op("*").Id("OutputSize").Op("+").Id("j")), Id("d").Op(">").Lit(1e-5).Op("||").Id("d").Op("<").Lit(-1e-5)).Block(
					Id("t").Dot("Fatalf").Call(Lit("sample %d output %d: Predict1 %v, Forward %v"), Id("s"), Id("j"), Id("v"), Id("out").Index(Id("s").Op("*").Id("OutputSize").Op("+").Id("j"))))),
		),
	)
	f.Func().Id("BenchmarkTrainStep").Params(Id("b").Op("*").Qual("testing", "B")).Block(
		Id("m").Op(":=").Id("New").Call(Lit(1)),
		Id("fillBatch").Call(Id("m")),
		For(Range().Id("b").Dot("N")).Block(Id("m").Dot("TrainStep").Call()),
		Id("b").Dot("ReportMetric").Call(Float64().Call(Id("b").Dot("N").Op("*").Id("BatchSize")).Op("/").Id("b").Dot("Elapsed").Call().Dot("Seconds").Call(), Lit("samples/s")),
	)
	f.Func().Id("BenchmarkPredict1").Params(Id("b").Op("*").Qual("testing", "B")).Block(
		Id("m").Op(":=").Id("New").Call(Lit(1)),
		Var().Id("x").Index(Id("InputSize")).Id("Float"),
		Var().Id("out").Index(Id("OutputSize")).Id("Float"),
		For(Range().Id("b").Dot("N")).Block(Id("m").Dot("Predict1").Call(Op("&").Id("x"), Op("&").Id("out"))),
	)
	return f
}
