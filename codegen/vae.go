package codegen

import (
	"fmt"
	"strings"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
	"github.com/nngen/nngen/layers/emit"
)

// autoencoder emits the API of a model whose loss has named terms
// (EvaluateTerms) and, for a model with one Sampling layer, its encoder
// and decoder as functions of their own (Encode, Decode), which
// train.Autoencoder describes. infer is the emitter of the inference pass,
// whose buffers the sub-models share.
func (g *gen) autoencoder(f *File, infer *emit.Emitter) {
	m := g.m
	names := layers.TermNames(m)
	if names == nil {
		return
	}
	var lits []Code
	for _, n := range names {
		lits = append(lits, Lit(n))
	}
	f.Add(g.method("LossTermNames names the terms of the loss, in the order EvaluateTerms returns them.", "LossTermNames", nil, []Code{Index().String()},
		Return(Index().String().Values(lits...))))
	f.Add(g.method(fmt.Sprintf("EvaluateTerms is Evaluate for a loss of named terms: it returns the mean\nloss per sample (%s) and the mean of each term.", strings.Join(names, " + ")),
		"EvaluateTerms", []Code{Id("set").Op("*").Qual(dataPkg, "Set")}, []Code{Id("loss").Float64(), Id("terms").Index().Float64()},
		List(Id("loss"), Id("_")).Op("=").Add(m_("Evaluate").Call(Id("set"))),
		Id("terms").Op("=").Make(Index().Float64(), Lit(len(names))),
		For(Id("i").Op(":=").Range().Id("terms")).Block(
			Id("terms").Index(Id("i")).Op("=").Add(m_("loss_terms")).Index(Id("i")).Op("/").Float64().Call(Max(Id("set").Dot("N"), Lit(1)))),
		Return()))

	sampling, enc, dec := g.latent()
	if sampling == nil {
		return
	}
	mu, lv := sampling.Inputs[0], sampling.Inputs[1]
	latent := sampling.Size()
	out := m.Output
	f.Const().Defs(Comment("LatentSize is the number of values of one sample's latent code z.").Line().Id("LatentSize").Op("=").Lit(latent))
	f.Add(g.method("LatentSize is the number of values of one sample's latent code z.", "LatentSize", nil, []Code{Int()}, Return(Id("LatentSize"))))
	f.Add(g.method(fmt.Sprintf("forwardEncoder runs the encoder (input → %s, %s) on a batch at inference.", mu.Name, lv.Name), "forwardEncoder", nil, nil,
		g.forwardNodes(g.emitter(g.shardSize(), false, ""), enc, "forwardEncoder")...))
	f.Add(g.method(fmt.Sprintf("forwardDecoder runs the decoder (%s → %s) on a batch at inference.", sampling.Name, out.Name), "forwardDecoder", nil, nil,
		g.forwardNodes(g.emitter(g.shardSize(), false, ""), dec, "forwardDecoder")...))
	// chunks emits the loop over the batches of n samples: in is copied into
	// the model buffer dst (width values per sample), run is called, and
	// each (src, w, out) copies w values per sample from model buffer src.
	type copyOut struct {
		src string
		w   Code
		out string
	}
	chunks := func(in string, dst string, w Code, run string, outs ...copyOut) []Code {
		body := []Code{
			Id("k").Op(":=").Min(Id("ShardSize"), Id("n").Op("-").Id("i")),
			For(List(Id("j"), Id("v")).Op(":=").Range().Id(in).Index(Id("i").Op("*").Add(w).Op(":").Parens(Id("i").Op("+").Id("k")).Op("*").Add(w))).Block(
				m_(dst).Index(Id("j")).Op("=").Id("Float").Call(Id("v"))),
			m_(run).Call(),
		}
		for _, o := range outs {
			body = append(body, For(List(Id("j"), Id("v")).Op(":=").Range().Add(m_(o.src)).Index(Op(":").Id("k").Op("*").Add(o.w))).Block(
				Id(o.out).Index(Id("i").Op("*").Add(o.w).Op("+").Id("j")).Op("=").Float32().Call(Id("v"))))
		}
		return []Code{
			Id("n").Op(":=").Len(Id(in)).Op("/").Add(w),
			For(Id("i").Op(":=").Lit(0), Id("i").Op("<").Id("n"), Id("i").Op("+=").Id("ShardSize")).Block(body...),
		}
	}
	f.Add(g.method(fmt.Sprintf("Encode runs the encoder on n samples: x holds n*InputSize values, and mu and\nlogvar receive n*LatentSize values each, the mean (%s) and log-variance (%s)\nof q(z|x). It allocates nothing.", mu.Name, lv.Name), "Encode",
		[]Code{List(Id("x"), Id("mu"), Id("logvar")).Index().Float32()}, nil,
		chunks("x", "x", Id("InputSize"), "forwardEncoder",
			copyOut{infer.OutName(mu), Id("LatentSize"), "mu"}, copyOut{infer.OutName(lv), Id("LatentSize"), "logvar"})...))
	f.Add(g.method("Decode runs the decoder on n latent codes: z holds n*LatentSize values and out\nreceives n*OutputSize, the model's reconstruction of each. It allocates nothing.", "Decode",
		[]Code{List(Id("z"), Id("out")).Index().Float32()}, nil,
		chunks("z", infer.OutName(sampling), Id("LatentSize"), "forwardDecoder",
			copyOut{infer.OutName(out), Id("OutputSize"), "out"})...))
}

// split returns the encoder (the layers the Sampling layer s depends on)
// and the decoder (the layers that depend on s), each in topological
// order, and whether the decoder depends on nothing but s.
func split(m *ir.Model, s *ir.Node) (enc, dec []*ir.Node, ok bool) {
	below := map[*ir.Node]bool{}
	var mark func(n *ir.Node)
	mark = func(n *ir.Node) {
		if !below[n] {
			below[n] = true
			for _, in := range n.Inputs {
				mark(in)
			}
		}
	}
	for _, in := range s.Inputs {
		mark(in)
	}
	above := map[*ir.Node]bool{s: true}
	for _, n := range m.Nodes[1:] {
		if below[n] {
			enc = append(enc, n)
			continue
		}
		for _, in := range n.Inputs {
			above[n] = above[n] || above[in]
		}
		if n != s && above[n] {
			for _, in := range n.Inputs {
				if !above[in] {
					return nil, nil, false
				}
			}
			dec = append(dec, n)
		}
	}
	return enc, dec, above[m.Output]
}

// latent returns the Sampling layer of an autoencoder with its encoder and
// decoder (see split), or nil when the model has no loss of named terms, no
// Sampling layer or several, or a decoder that needs more than z.
func (g *gen) latent() (s *ir.Node, enc, dec []*ir.Node) {
	if layers.TermNames(g.m) == nil {
		return nil, nil, nil
	}
	for _, n := range g.m.Nodes {
		if layers.IsLatent(n) {
			if s != nil {
				return nil, nil, nil // which one is the latent space is not clear
			}
			s = n
		}
	}
	if s == nil {
		return nil, nil, nil
	}
	if enc, dec, ok := split(g.m, s); ok {
		return s, enc, dec
	}
	return nil, nil, nil
}

// skipIfDraws returns a t.Skip for the tests that compare two inference
// passes when a Sampling layer draws at inference (inference: sample), and
// nothing otherwise.
func (g *gen) skipIfDraws() Code {
	if n := g.drawer(); n != nil {
		return Id("t").Dot("Skip").Call(Lit("layer " + n.Name + " draws at inference: two passes differ"))
	}
	return Null()
}

// autoencoderTests emits the tests of Encode, Decode and the sample
// command: they allocate nothing, Encode then Decode agrees with Forward
// when Sampling outputs the mean, and one seed gives one set of samples.
func (g *gen) autoencoderTests(f *File) {
	s, _, _ := g.latent()
	if s == nil {
		return
	}
	f.Add(Id(autoencoderSuite))
	f.Var().Defs(Id("_").Op("=").Qual(trainPkg, "Main"), Id("_").Op("=").Qual("bytes", "Equal"), Id("_").Op("=").Qual("io", "Discard"),
		Id("_").Op("=").Qual("os", "ReadFile"), Id("_").Op("=").Qual("path/filepath", "Join"), Id("_").Op("=").Qual(dataPkg, "ImageShape"))
	f.Comment("samplingMean reports whether Sampling outputs the mean at inference.")
	f.Const().Id("samplingMean").Op("=").Lit(s.Str("inference") == "mean")
}

// autoencoderSuite is the generated test suite of an autoencoder.
const autoencoderSuite = `
func TestEncodeDecode(t *testing.T) {
	m := New(1)
	fillBatch(m)
	x := make([]float32, BatchSize*InputSize)
	for i, v := range m.x {
		x[i] = float32(v)
	}
	mu := make([]float32, BatchSize*LatentSize)
	lv := make([]float32, len(mu))
	out := make([]float32, BatchSize*OutputSize)
	if a := testing.AllocsPerRun(3, func() { m.Encode(x, mu, lv); m.Decode(mu, out) }); a != 0 {
		t.Errorf("Encode and Decode allocate %v times per call", a)
	}
	if !samplingMean {
		return
	}
	want := make([]float32, len(out))
	m.Predict(x, want)
	for i := range want {
		if d := want[i] - out[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("output %d: Decode(Encode(x)) %v, Predict %v", i, out[i], want[i])
		}
	}
}

func TestSampleDeterministic(t *testing.T) {
	if _, _, err := data.ImageShape(outputShape); err != nil {
		t.Skip("the outputs are no images:", err)
	}
	dir := t.TempDir()
	sample := func(name, seed string) []byte {
		path := filepath.Join(dir, name)
		if code := train.Main(func(s uint64) train.Model { return New(s) }, DefaultSeed,
			[]string{"sample", "--n", "9", "--seed", seed, "--out", path}, io.Discard, io.Discard); code != 0 {
			t.Fatalf("sample exited %d", code)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := sample("a.png", "3"), sample("b.png", "3"), sample("c.png", "4")
	if !bytes.Equal(a, b) {
		t.Error("the same seed gave different samples")
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds gave the same samples")
	}
}
`
