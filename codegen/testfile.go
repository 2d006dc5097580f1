package codegen

import (
	"fmt"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/layers"
)

// learnSteps is how many steps the generated learning test takes: 300, or
// fewer for a model whose step is expensive, so that the test stays within
// seconds (about 2e10 floating-point operations in all, at least 20 steps).
func (g *gen) learnSteps() int {
	flops := 0
	for _, k := range g.kernels.List() {
		flops += 2 * k.M * k.N * k.K
	}
	for _, r := range g.kernels.Routines() {
		flops += r.Flops()
	}
	return min(300, max(20, int(2e10)/max(flops, 1)))
}

// testFile emits the generated package's own tests: zero allocations per
// step, determinism, learning on a fixed batch, and benchmarks.
func (g *gen) testFile() *File {
	f := g.newFile(g.m.Name)
	t := Id("t").Op("*").Qual("testing", "T")
	fill := Func().Id("fillBatch").Params(Id("m").Op("*").Id("Model")).Block(
		Id("r").Op(":=").Qual(rngPkg, "New").Call(Lit(99), Lit(0)),
		For(Id("i").Op(":=").Range().Id("m").Dot("Input").Call()).Block(Id("m").Dot("Input").Call().Index(Id("i")).Op("=").Id("Float").Call(Id("r").Dot("Float64").Call())),
		Comment("One-hot targets, which every loss accepts."),
		For(Id("i").Op(":=").Lit(0), Id("i").Op("<").Id("BatchSize").Op("*").Id("rowsPerSample"), Id("i").Op("++")).Block(
			Id("row").Op(":=").Id("m").Dot("Target").Call().Index(Id("i").Op("*").Id("OutputSize").Op("/").Id("rowsPerSample").Op(":")).Index(Op(":").Id("OutputSize").Op("/").Id("rowsPerSample")),
			Id("row").Index(Id("r").Dot("Intn").Call(Len(Id("row")))).Op("=").Lit(1),
		),
	)
	if v := layers.Vocabulary(g.m); v > 0 {
		// A token model reads ids and learns a function of each.
		fill = Func().Id("fillBatch").Params(Id("m").Op("*").Id("Model")).Block(
			Id("r").Op(":=").Qual(rngPkg, "New").Call(Lit(99), Lit(0)),
			For(Id("i").Op(":=").Range().Id("m").Dot("Input").Call()).Block(Id("m").Dot("Input").Call().Index(Id("i")).Op("=").Id("Float").Call(Id("r").Dot("Intn").Call(Lit(v)))),
			Comment("Each step's target is its own id modulo 4."),
			For(Id("i").Op(":=").Lit(0), Id("i").Op("<").Id("BatchSize").Op("*").Id("rowsPerSample"), Id("i").Op("++")).Block(
				Id("row").Op(":=").Id("m").Dot("Target").Call().Index(Id("i").Op("*").Id("OutputSize").Op("/").Id("rowsPerSample").Op(":")).Index(Op(":").Id("OutputSize").Op("/").Id("rowsPerSample")),
				Id("row").Index(Int().Call(Id("m").Dot("Input").Call().Index(Id("i"))).Op("%").Min(Lit(4), Len(Id("row")))).Op("=").Lit(1),
			),
		)
	}
	f.Add(fill)
	f.Func().Id("TestZeroAllocs").Params(t).Block(
		Id("m").Op(":=").Id("New").Call(Lit(1)),
		Id("fillBatch").Call(Id("m")),
		For(List(Id("_"), Id("w")).Op(":=").Range().Index().Int().Values(Lit(1), Lit(2), Lit(3))).Block(
			Id("m").Dot("SetWorkers").Call(Id("w")),
			If(Id("a").Op(":=").Qual("testing", "AllocsPerRun").Call(Lit(5), Func().Params().Block(Id("m").Dot("TrainStep").Call())), Id("a").Op("!=").Lit(0)).Block(
				Id("t").Dot("Errorf").Call(Lit("TrainStep on %d workers allocates %v times per call"), Id("w"), Id("a")))),
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
		For(Id("i").Op(":=").Lit(0), Id("i").Op("<").Lit(g.learnSteps()), Id("i").Op("++")).Block(
			List(Id("last"), Id("_")).Op("=").Id("m").Dot("TrainStep").Call()),
		If(Op("!").Parens(Id("last").Op("<").Id("first").Op("*").Lit(0.95))).Block(
			Id("t").Dot("Errorf").Call(Lit(fmt.Sprintf("loss went from %%v to %%v in %d steps on one batch", g.learnSteps())), Id("first"), Id("last"))),
	)
	f.Func().Id("TestPredictMatchesForward").Params(t).Block(
		g.skipIfDraws(),
		Id("m").Op(":=").Id("New").Call(Lit(1)),
		Id("fillBatch").Call(Id("m")),
		Var().Id("out").Index(Id("BatchSize").Op("*").Id("OutputSize")).Id("Float"),
		Id("x").Op(":=").Op("*").Id("m").Dot("Input").Call(),
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
	g.workersTest(f)
	g.loadTest(f)
	g.poisonTest(f)
	g.kernelTests(f)
	g.autoencoderTests(f)
	f.Func().Id("BenchmarkTrainStep").Params(Id("b").Op("*").Qual("testing", "B")).Block(
		Id("m").Op(":=").Id("New").Call(Lit(1)),
		Id("fillBatch").Call(Id("m")),
		For(Range().Id("b").Dot("N")).Block(Id("m").Dot("TrainStep").Call()),
		Id("b").Dot("ReportMetric").Call(Float64().Call(Id("b").Dot("N").Op("*").Id("BatchSize")).Op("/").Id("b").Dot("Elapsed").Call().Dot("Seconds").Call(), Lit("samples/s")),
	)
	g.predictBenchmark(f)
	f.Func().Id("BenchmarkPredict1").Params(Id("b").Op("*").Qual("testing", "B")).Block(
		Id("m").Op(":=").Id("New").Call(Lit(1)),
		Var().Id("x").Index(Id("InputSize")).Id("Float"),
		Var().Id("out").Index(Id("OutputSize")).Id("Float"),
		For(Range().Id("b").Dot("N")).Block(Id("m").Dot("Predict1").Call(Op("&").Id("x"), Op("&").Id("out"))),
	)
	return f
}

// kernelTests emits the kernel suite of the package: every kernel on every
// path the CPU supports against its pure-Go twin, with guard regions around
// each operand; every path training the whole model alike; and a benchmark
// of each kernel on each path.
func (g *gen) kernelTests(f *File) {
	var cases []Code
	conv := func(n int, i int) *Statement {
		return Parens(Op("*").Index(Lit(n)).Id("Float")).Call(Id("o").Index(Lit(i)))
	}
	add := func(name string, k, flops int, sizes []int, outs int, run, ref string) {
		var sz, args []Code
		for i, n := range sizes {
			sz = append(sz, Lit(n))
			args = append(args, conv(n, i))
		}
		cases = append(cases, Values(Dict{
			Id("name"): Lit(name), Id("k"): Lit(k), Id("flops"): Lit(flops), Id("outs"): Lit(outs),
			Id("sizes"): Index().Int().Values(sz...),
			Id("run"):   Func().Params(Id("o").Index().Index().Id("Float")).Block(Id(run).Call(args...)),
			Id("ref"):   Func().Params(Id("o").Index().Index().Id("Float")).Block(Id(ref).Call(args...)),
		}))
	}
	for _, k := range g.kernels.List() {
		cs, as, bs := k.Sizes()
		add(k.Name(), k.K, 2*k.M*k.N*k.K, []int{cs, as, bs}, 1, k.Name(), k.Name()+"Go")
	}
	for _, r := range g.kernels.Routines() {
		var sizes []int
		outs := 0
		for _, a := range r.Args() {
			sizes = append(sizes, a.Size)
			if a.Out {
				outs++
			}
		}
		add(r.Name(), r.Terms(), r.Flops(), sizes, outs, r.Name(), r.Name()+"Go")
	}
	f.Comment("kernelCases lists the package's kernels for the suite below: the")
	f.Comment("first outs operands are written, the others only read.")
	f.Var().Id("kernelCases").Op("=").Index().Struct(
		Id("name").String(),
		List(Id("k"), Id("flops"), Id("outs")).Int(),
		Id("sizes").Index().Int(),
		List(Id("run"), Id("ref")).Func().Params(Id("o").Index().Index().Id("Float")),
	).Values(cases...)
	// The suite is written as Go text; these name its imports for jennifer.
	f.Var().Defs(Id("_").Op("=").Qual(kernelsPkg, "Go"), Id("_").Op("=").Qual("math", "Abs"), Id("_").Op("=").Qual("fmt", "Sprint"))
	f.Add(Id(kernelSuite))
}

// kernelSuite is the generated kernel suite; it is the same for every model.
const kernelSuite = `
// guard is the sentinel around every operand of a kernel under test.
const guard = 64

// guarded returns a buffer of n values with guard sentinels on both sides,
// and the slice of its n values.
func guarded(n int, r *rng.RNG) (buf, v []Float) {
	buf = make([]Float, n+2*guard)
	for i := range buf {
		buf[i] = -12345
	}
	v = buf[guard : guard+n]
	for i := range v {
		v[i] = Float(2*r.Float64() - 1)
	}
	return buf, v
}

func checkGuards(t *testing.T, what string, buf []Float) {
	t.Helper()
	n := len(buf) - 2*guard
	for i, x := range buf {
		if (i < guard || i >= guard+n) && x != -12345 {
			t.Fatalf("%s: guard value %d changed to %v (out-of-bounds write)", what, i, x)
		}
	}
}

// TestKernels runs every kernel on every path this CPU supports and
// compares it with its pure-Go twin.
func TestKernels(t *testing.T) {
	defer SetKernels(kernelPath)
	for _, p := range kernels.Paths {
		if SetKernels(p) != nil {
			t.Logf("path %s: not supported here", p)
			continue
		}
		for _, kc := range kernelCases {
			r := rng.New(uint64(kc.flops), 1)
			what := kc.name + "/" + p.String()
			var bufs, ops, want [][]Float
			for _, n := range kc.sizes {
				buf, v := guarded(n, &r)
				bufs, ops, want = append(bufs, buf), append(ops, v), append(want, append([]Float(nil), v...))
			}
			kc.ref(want)
			kc.run(ops)
			for i, buf := range bufs {
				checkGuards(t, fmt.Sprintf("%s operand %d", what, i), buf)
			}
			tol := 1e-6 * float64(kc.k)
			for i, v := range ops {
				for j := range v {
					if i >= kc.outs && v[j] != want[i][j] {
						t.Fatalf("%s wrote its input operand %d at %d", what, i, j)
					}
					if d := float64(v[j] - want[i][j]); d > tol*(1+math.Abs(float64(want[i][j]))) || -d > tol*(1+math.Abs(float64(want[i][j]))) {
						t.Fatalf("%s: operand %d [%d] = %v, want %v", what, i, j, v[j], want[i][j])
					}
				}
			}
		}
	}
}

// TestPathsAgree computes the gradients of one batch on every path and
// compares them with the pure-Go path's, relative to the largest gradient
// (element by element, a gradient near zero differs by rounding alone).
func TestPathsAgree(t *testing.T) {
	defer SetKernels(kernelPath)
	grads := func(p kernels.Path) []Float {
		if SetKernels(p) != nil {
			return nil
		}
		m := New(1)
		fillBatch(m)
		m.ComputeGradients()
		return m.g[:]
	}
	ref := grads(kernels.Go)
	scale := 0.0
	for _, v := range ref {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for _, p := range kernels.Paths[1:] {
		g := grads(p)
		if g == nil {
			continue
		}
		for i := range g {
			if d := math.Abs(float64(g[i] - ref[i])); d > 1e-4*scale {
				t.Fatalf("path %s: gradient %d is %v, Go path %v (largest gradient %v)", p, i, g[i], ref[i], scale)
			}
		}
	}
}

// BenchmarkKernels measures every kernel on every path this CPU supports.
func BenchmarkKernels(b *testing.B) {
	defer SetKernels(kernelPath)
	for _, kc := range kernelCases {
		for _, p := range kernels.Paths {
			if SetKernels(p) != nil {
				continue
			}
			b.Run(kc.name+"/"+p.String(), func(b *testing.B) {
				r := rng.New(1, 1)
				var ops [][]Float
				for _, n := range kc.sizes {
					_, v := guarded(n, &r)
					ops = append(ops, v)
				}
				for range b.N {
					kc.run(ops)
				}
				b.ReportMetric(float64(kc.flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
`

// workersTest emits TestWorkers: Predict gives the same outputs, bit for
// bit, on 1, 2 and 3 workers, over several batches and a partial one; and
// TestTrainWorkers: three train steps give the same weights, bit for bit.
func (g *gen) workersTest(f *File) {
	if g.tileUpdates() || g.reduceUpdates() {
		f.Comment("TestTileUpdate checks that the optimizer step inside TrainStep (in the tiles\nthat write a weight's gradient, or in the reduction of the shards') gives\nthe weights of ComputeGradients followed by one update of all of them.")
		f.Func().Id("TestTileUpdate").Params(Id("t").Op("*").Qual("testing", "T")).Block(
			List(Id("a"), Id("b")).Op(":=").List(Id("New").Call(Lit(3)), Id("New").Call(Lit(3))),
			Id("a").Dot("SetWorkers").Call(Lit(1)),
			Id("b").Dot("SetWorkers").Call(Lit(1)),
			Id("fillBatch").Call(Id("a")),
			Id("fillBatch").Call(Id("b")),
			For(Id("s").Op(":=").Lit(0), Id("s").Op("<").Lit(3), Id("s").Op("++")).Block(
				Id("a").Dot("TrainStep").Call(),
				Id("b").Dot("ComputeGradients").Call(),
				Id("b").Dot("update").Call(),
				Id("b").Dot("step").Op("++"),
				For(Id("i").Op(":=").Range().Id("a").Dot("p")).Block(
					If(Id("a").Dot("p").Index(Id("i")).Op("!=").Id("b").Dot("p").Index(Id("i"))).Block(
						Id("t").Dot("Fatalf").Call(Lit("step %d: weight %d is %v, one update of all weights gives %v"), Id("s"), Id("i"), Id("a").Dot("p").Index(Id("i")), Id("b").Dot("p").Index(Id("i")))))),
		)
	}
	f.Func().Id("TestTrainWorkers").Params(Id("t").Op("*").Qual("testing", "T")).Block(
		Var().Id("want").Index(Id("NumParams")).Id("Float"),
		For(Id("w").Op(":=").Lit(1), Id("w").Op("<=").Lit(3), Id("w").Op("++")).Block(
			Id("m").Op(":=").Id("New").Call(Lit(3)),
			Id("m").Dot("SetWorkers").Call(Id("w")),
			Id("fillBatch").Call(Id("m")),
			For(Id("i").Op(":=").Lit(0), Id("i").Op("<").Lit(3), Id("i").Op("++")).Block(Id("m").Dot("TrainStep").Call()),
			If(Id("w").Op("==").Lit(1)).Block(Id("want").Op("=").Id("m").Dot("p"), Continue()),
			For(Id("i").Op(":=").Range().Id("want")).Block(
				If(Id("m").Dot("p").Index(Id("i")).Op("!=").Id("want").Index(Id("i"))).Block(
					Id("t").Dot("Fatalf").Call(Lit("%d workers, %d shards: weight %d is %v after 3 steps, one worker gives %v"), Id("w"), Id("Shards"), Id("i"), Id("m").Dot("p").Index(Id("i")), Id("want").Index(Id("i"))))),
		),
	)
	x := Id("x").Index(Id("i")).Op("=").Float32().Call(Id("r").Dot("Float64").Call())
	if v := layers.Vocabulary(g.m); v > 0 {
		x = Id("x").Index(Id("i")).Op("=").Float32().Call(Id("r").Dot("Intn").Call(Lit(v)))
	}
	// Two calls of Predict (a model that draws at inference draws anew in
	// the second) and one of Evaluate, each on a fresh model per count.
	check := func(got, want Code, what string, args ...Code) Code {
		args = append(append([]Code{Lit("%d workers: " + what + " is %v, one worker gives %v"), Id("w")}, args...), got, want)
		return If(Qual("math", "Float64bits").Call(Float64().Call(got)).Op("!=").Qual("math", "Float64bits").Call(Float64().Call(want))).Block(
			Id("t").Dot("Fatalf").Call(args...))
	}
	compare := []Code{
		For(Id("i").Op(":=").Range().Id("out")).Block(check(Id("out").Index(Id("i")), Id("want").Dot("out").Index(Id("i")), "output %d of two Predicts", Id("i"))),
		check(Id("loss"), Id("want").Dot("loss"), "Evaluate's loss"),
		check(Id("acc"), Id("want").Dot("acc"), "Evaluate's accuracy"),
	}
	terms := Null()
	if names := layers.TermNames(g.m); names != nil {
		terms = Id("terms").Op(":=").Add(Id("m").Dot("loss_terms"))
		compare = append(compare, For(Id("i").Op(":=").Range().Lit(len(names))).Block(
			check(Id("terms").Index(Id("i")), Id("want").Dot("terms").Index(Id("i")), "the sum of loss term %d", Id("i"))))
	} else {
		terms = Id("terms").Op(":=").Index(Lit(0)).Float64().Values()
	}
	// A model that draws at inference or sums loss terms runs at least 32
	// batches, so that the workers take some of them however small they are.
	n := Lit(3).Op("*").Id("BatchSize").Op("+").Lit(1)
	if g.drawer() != nil || layers.TermNames(g.m) != nil {
		n = Max(Lit(3).Op("*").Id("BatchSize"), Lit(32).Op("*").Id("ShardSize")).Op("+").Lit(1)
	}
	f.Comment("TestWorkers checks that Predict, twice, and Evaluate give the same bits\non 1, 2 and 3 workers.")
	f.Func().Id("TestWorkers").Params(Id("t").Op("*").Qual("testing", "T")).Block(
		Id("n").Op(":=").Add(n),
		Id("r").Op(":=").Qual(rngPkg, "New").Call(Lit(5), Lit(0)),
		Id("x").Op(":=").Make(Index().Float32(), Id("n").Op("*").Id("InputSize")),
		For(Id("i").Op(":=").Range().Id("x")).Block(x),
		Id("y").Op(":=").Make(Index().Float32(), Id("n").Op("*").Id("OutputSize")),
		For(Id("i").Op(":=").Range().Id("y")).Block(Id("y").Index(Id("i")).Op("=").Float32().Call(Id("r").Dot("Float64").Call())),
		Id("set").Op(":=").Op("&").Qual(dataPkg, "Set").Values(Dict{
			Id("N"): Id("n"), Id("Shape"): Id("inputShape"), Id("X"): Id("x"), Id("Y"): Id("y"), Id("Width"): Id("OutputSize")}),
		Type().Id("result").Struct(
			Id("out").Index().Float32(),
			List(Id("loss"), Id("acc")).Float64(),
			Id("terms").Index().Float64(),
		),
		Var().Id("want").Id("result"),
		For(Id("w").Op(":=").Lit(1), Id("w").Op("<=").Lit(3), Id("w").Op("++")).Block(append([]Code{
			Id("m").Op(":=").Id("New").Call(Lit(1)),
			Id("m").Dot("SetWorkers").Call(Id("w")),
			Id("out").Op(":=").Make(Index().Float32(), Lit(2).Op("*").Id("n").Op("*").Id("OutputSize")),
			Id("m").Dot("Predict").Call(Id("x"), Id("out").Index(Op(":").Id("n").Op("*").Id("OutputSize"))),
			Id("m").Dot("Predict").Call(Id("x"), Id("out").Index(Id("n").Op("*").Id("OutputSize").Op(":"))),
			List(Id("loss"), Id("acc")).Op(":=").Id("m").Dot("Evaluate").Call(Id("set")),
			terms,
			If(Id("w").Op("==").Lit(1)).Block(
				Id("want").Op("=").Id("result").Values(Id("out"), Id("loss"), Id("acc"), Id("terms").Index(Op(":"))),
				Continue()),
		}, compare...)...),
	)
}

// predictBenchmark emits BenchmarkPredict: batch inference over 8 batches on
// 1 and 2 workers, in samples per second.
func (g *gen) predictBenchmark(f *File) {
	x := Id("x").Index(Id("i")).Op("=").Float32().Call(Id("r").Dot("Float64").Call())
	if v := layers.Vocabulary(g.m); v > 0 {
		x = Id("x").Index(Id("i")).Op("=").Float32().Call(Id("r").Dot("Intn").Call(Lit(v)))
	}
	f.Func().Id("BenchmarkPredict").Params(Id("b").Op("*").Qual("testing", "B")).Block(
		Id("n").Op(":=").Lit(8).Op("*").Id("BatchSize"),
		Id("r").Op(":=").Qual(rngPkg, "New").Call(Lit(5), Lit(0)),
		Id("x").Op(":=").Make(Index().Float32(), Id("n").Op("*").Id("InputSize")),
		For(Id("i").Op(":=").Range().Id("x")).Block(x),
		Id("out").Op(":=").Make(Index().Float32(), Id("n").Op("*").Id("OutputSize")),
		For(Id("_").Op(",").Id("w").Op(":=").Range().Index().Int().Values(Lit(1), Lit(2))).Block(
			Id("b").Dot("Run").Call(Qual("fmt", "Sprintf").Call(Lit("workers=%d"), Id("w")), Func().Params(Id("b").Op("*").Qual("testing", "B")).Block(
				Id("m").Op(":=").Id("New").Call(Lit(1)),
				Id("m").Dot("SetWorkers").Call(Id("w")),
				Id("m").Dot("Predict").Call(Id("x"), Id("out")),
				Id("b").Dot("ResetTimer").Call(),
				For(Range().Id("b").Dot("N")).Block(Id("m").Dot("Predict").Call(Id("x"), Id("out"))),
				Id("b").Dot("ReportMetric").Call(Float64().Call(Id("b").Dot("N").Op("*").Id("n")).Op("/").Id("b").Dot("Elapsed").Call().Dot("Seconds").Call(), Lit("samples/s")),
			)),
		),
	)
}
