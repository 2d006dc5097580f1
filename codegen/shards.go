package codegen

import (
	"fmt"
	"slices"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
	"github.com/nngen/nngen/layers/emit"
)

// A train step splits its batch in shards of equal size, a number fixed at
// generation time: each shard runs forward, the loss and backward in a
// workspace of its own, on whichever worker is free, and the shards'
// gradients are added in shard order. The result is the same, bit for
// bit, for any number of workers; one worker runs the shards in turn.

// minShard is the smallest shard the default splitting makes, and
// minShardFlops the least work of a train step it splits: below them, the
// smaller products and the shards' extra gradient arrays cost one core more
// than a second core gains (the seed MLP, 6.6 MFLOP a step, trains a third
// slower on one core in two shards).
const (
	minShard      = 8
	minShardFlops = 20e6
)

// defaultShards is the number of shards of m's train step when the
// generator is not told: 2 when the batch splits in two shards of at least
// minShard samples, no layer couples the samples of a batch
// (BatchNormalization) and the kernels of a step do minShardFlops or more,
// else 1.
func defaultShards(m *ir.Model, opt Config) int {
	if m.Batch%2 != 0 || m.Batch/2 < minShard || layers.Batchwise(m) {
		return 1
	}
	opt.Shards = 1
	s, err := Summarize(m, opt)
	if err != nil {
		return 1
	}
	if f, b := s.Flops(); f+b < minShardFlops {
		return 1
	}
	return 2
}

// checkShards reports a shard count that m cannot use.
func checkShards(m *ir.Model, n int) error {
	switch {
	case n < 1:
		return fmt.Errorf("codegen: %d shards: want at least 1", n)
	case m.Batch%n != 0:
		return fmt.Errorf("codegen: %d shards do not divide the batch of %d samples", n, m.Batch)
	case n > 1 && layers.Batchwise(m):
		for _, nd := range m.Nodes {
			if k, _ := layers.Lookup(nd.Kind); k != nil && k.Batchwise {
				return fmt.Errorf("%s:%v: -shards %d: layer %s (%s) couples the samples of a batch in training, so the train step cannot be split", m.SpecPath, nd.Pos, n, nd.Name, nd.Kind)
			}
		}
	}
	return nil
}

// shardSize is the number of samples of one shard, the batch of every pass.
func (g *gen) shardSize() int { return g.m.Batch / g.shards }

// runShard is the body of Model.runShard.
func (g *gen) runShard() []Code {
	body := []Code{Id("ws").Op(":=").Op("&").Add(m_("workspace"))}
	if g.shards > 1 {
		body = append(body,
			If(Id("s").Op(">").Lit(0)).Block(Id("ws").Op("=").Op("&").Add(m_("spaces")).Index(Id("s").Op("-").Lit(1))),
			Copy(Id("ws").Dot("x").Index(Op(":")), m_("xb").Index(Id("s").Op("*").Id("ShardSize").Op("*").Id("InputSize").Op(":"))),
			Copy(Id("ws").Dot("y").Index(Op(":")), m_("yb").Index(Id("s").Op("*").Id("ShardSize").Op("*").Id("OutputSize").Op(":"))))
	}
	return append(body,
		Id("ws").Dot("forwardTrain").Call(),
		List(Id("ws").Dot("loss"), Id("ws").Dot("correct")).Op("=").Id("ws").Dot("lossGrad").Call(),
		Id("ws").Dot("backward").Call())
}

// computeGradients is the body of ComputeGradients: the shards on the
// workers, then their gradients and losses added in shard order.
func (g *gen) computeGradients(perSample int) []Code {
	rows := Lit(float64(g.m.Batch * perSample))
	if g.shards == 1 {
		var pool []Code
		if g.tiled() {
			pool = append(pool, If(m_("Workers").Call().Op(">").Lit(1)).Block(
				m_("ensurePool").Call(),
				m_("tilePool").Op("=").Add(m_("pool")),
			).Else().Block(m_("tilePool").Op("=").Nil()))
		}
		return append(pool, m_("runShard").Call(Lit(0), Lit(0)), Return(m_("loss").Op("/").Add(rows).Add(g.penalty(true)), m_("correct")))
	}
	return []Code{
		If(m_("Workers").Call().Op("==").Lit(1)).Block(
			For(Id("s").Op(":=").Range().Id("Shards")).Block(m_("shardFn").Call(Lit(0), Id("s"))),
			m_("reduceRange").Call(Lit(0), Lit(1)),
		).Else().Block(
			m_("ensurePool").Call(),
			m_("pool").Dot("For").Call(Id("Shards"), m_("shardFn")),
			m_("pool").Dot("Run").Call(m_("reduceFn")),
		),
		List(Id("loss"), Id("correct")).Op("=").List(m_("loss"), m_("correct")),
		For(Id("s").Op(":=").Range().Add(m_("spaces"))).Block(
			Id("loss").Op("+=").Add(m_("spaces")).Index(Id("s")).Dot("loss"),
			Id("correct").Op("+=").Add(m_("spaces")).Index(Id("s")).Dot("correct"),
		),
		Return(Id("loss").Op("/").Add(rows).Add(g.penalty(true)), Id("correct")),
	}
}

// paramRanges emits paramRange, the part of the parameters a worker
// updates (and adds the shards' gradients of), updateRange, and with
// several shards reduceRange.
func (g *gen) paramRanges(f *File) {
	f.Comment("paramRange returns part i of n of the parameters, [lo, hi), in blocks of\n64 values so that the optimizer's vector loops meet the same elements as in\none update.")
	f.Func().Id("paramRange").Params(Id("i"), Id("n").Int()).Params(Id("lo"), Id("hi").Int()).Block(
		List(Id("lo"), Id("hi")).Op("=").Qual(parPkg, "Split").Call(Parens(Id("NumParams").Op("+").Lit(63)).Op("/").Lit(64), Id("n"), Id("i")),
		Return(Min(Id("lo").Op("*").Lit(64), Id("NumParams")), Min(Id("hi").Op("*").Lit(64), Id("NumParams"))))
	f.Add(g.method("updateRange applies the optimizer step to part i of n of the parameters.", "updateRange", []Code{Id("i"), Id("n").Int()}, nil,
		List(Id("lo"), Id("hi")).Op(":=").Id("paramRange").Call(Id("i"), Id("n")),
		m_("opt").Dot("UpdateRange").Call(m_("p").Index(Op(":")), m_("g").Index(Op(":")), m_("lr"), m_("step").Op("+").Lit(1), Id("lo"), Id("hi"))))
	if g.shards == 1 {
		return
	}
	doc := "reduceRange adds the gradients of shards 1 and up to shard 0's, in shard\norder, over part i of n of the parameters, one block at a time."
	body := []Code{
		Id("e").Op(":=").Min(Id("b").Op("+").Lit(reduceBlock), Id("hi")),
		For(Id("s").Op(":=").Range().Add(m_("gs"))).Block(
			Qual(vecPkg, "Add").Call(m_("g").Index(Id("b").Op(":").Id("e")), m_("gs").Index(Id("s")).Index(Id("b").Op(":").Id("e")))),
	}
	if g.reduceUpdates() {
		doc += " In\nTrainStep (stepUpdate) it applies the optimizer step to each block\nwhile its gradients are in cache."
		body = append(body, If(m_("stepUpdate")).Block(
			m_("opt").Dot("UpdateRange").Call(m_("p").Index(Op(":")), m_("g").Index(Op(":")), m_("lr"), m_("step").Op("+").Lit(1), Id("b"), Id("e"))))
	}
	f.Add(g.method(doc, "reduceRange", []Code{Id("i"), Id("n").Int()}, nil,
		List(Id("lo"), Id("hi")).Op(":=").Id("paramRange").Call(Id("i"), Id("n")),
		For(Id("b").Op(":=").Id("lo"), Id("b").Op("<").Id("hi"), Id("b").Op("+=").Lit(reduceBlock)).Block(body...)))
}

// defaultTiles is the number of tiles of a large product in a train step of
// one shard (see layers.Tiles): fixed at generation time like the shards.
const defaultTiles = 2

// tiled reports whether the train step has products split in tiles.
func (g *gen) tiled() bool { return g.tiles != nil && len(g.tiles.Bodies) > 0 }

// tileUpdates reports whether tiles of the train step's backward step
// parameters (see emit.Tiles.Update).
func (g *gen) tileUpdates() bool { return g.tiled() && len(g.tiles.Updated) > 0 }

// reduceUpdates reports whether a train step of several shards applies the
// optimizer step in the reduction of the shards' gradients (reduceRange):
// it can when the step needs nothing but each value's own gradient (no
// clipping) and that gradient is whole (no weight penalty added after),
// which saves a fork and a join of the workers and a second
// pass over the gradients.
func (g *gen) reduceUpdates() bool { return g.shards > 1 && !clips(g.m.Opt) && !g.regularized() }

// clips reports whether the optimizer clips gradients, over a tensor or
// all of them: its step then needs more than each value's own gradient, so
// it cannot run on parts of the parameters as their gradients are ready.
func clips(o ir.Optimizer) bool { return o.GlobalClipNorm > 0 || o.ClipValue > 0 || o.ClipNorm > 0 }

// reduceBlock is the number of values reduceRange adds up and steps at a
// time: a multiple of 64 (see paramRange), whose gradients, parameters and
// optimizer state stay in L1 and L2.
const reduceBlock = 2048

// restSpans are the spans of the parameters that no tile steps, in order.
func (g *gen) restSpans() []emit.Span {
	spans := slices.Clone(g.tiles.Updated)
	slices.SortFunc(spans, func(a, b emit.Span) int { return a.Lo - b.Lo })
	var rest []emit.Span
	lo := 0
	for _, s := range spans {
		if s.Lo > lo {
			rest = append(rest, emit.Span{Lo: lo, Hi: s.Lo})
		}
		lo = max(lo, s.Hi)
	}
	if np := g.m.NumParams(); lo < np {
		rest = append(rest, emit.Span{Lo: lo, Hi: np})
	}
	return rest
}

// trainStep is the body of TrainStep. When tiles step parameters, they do
// so in ComputeGradients at the learning rate set first, and the update
// steps the rest, on one worker: every span a tile steps is whole blocks
// of 64 values, so the bits are those of one update of all parameters.
func (g *gen) trainStep() []Code {
	if g.reduceUpdates() {
		return []Code{
			m_("lr").Op("=").Add(g.scheduledLR()),
			m_("stepUpdate").Op("=").True(),
			List(Id("loss"), Id("correct")).Op("=").Add(m_("ComputeGradients").Call()),
			m_("stepUpdate").Op("=").False(),
			m_("step").Op("++"),
			Return(),
		}
	}
	if !g.tileUpdates() {
		return []Code{List(Id("loss"), Id("correct")).Op("=").Add(m_("ComputeGradients").Call()), m_("update").Call(), m_("step").Op("++"), Return()}
	}
	body := []Code{
		m_("lr").Op("=").Add(g.scheduledLR()),
		m_("tileUpdate").Op("=").True(),
		List(Id("loss"), Id("correct")).Op("=").Add(m_("ComputeGradients").Call()),
		m_("tileUpdate").Op("=").False(),
	}
	for _, s := range g.restSpans() {
		body = append(body, m_("opt").Dot("UpdateRange").Call(m_("p").Index(Op(":")), m_("g").Index(Op(":")), m_("lr"), m_("step").Op("+").Lit(1), Lit(s.Lo), Lit(s.Hi)))
	}
	return append(body, m_("step").Op("++"), Return())
}

// tileMethods emits runTiles, tilePart and tile: the tiles of the products
// that a train step splits, by product number.
func (g *gen) tileMethods(f *File) {
	if !g.tiled() {
		return
	}
	f.Add(g.pass("runTiles runs the tiles of split product op on the workers of tilePool.", "runTiles", []Code{Id("op").Int()}, nil,
		m_("tileOp").Op("=").Id("op"),
		m_("tilePool").Dot("Run").Call(m_("tileFn"))))
	f.Add(g.pass("tilePart runs part i of n of the tiles of product tileOp: the same tiles\nfor the same part in every product, so that a worker finds its rows of a\nlayer's weights in its cache from the forward pass to the backward's.", "tilePart", []Code{Id("i"), Id("n").Int()}, nil,
		List(Id("lo"), Id("hi")).Op(":=").Qual(parPkg, "Split").Call(Id("Tiles"), Id("n"), Id("i")),
		For(Id("t").Op(":=").Id("lo"), Id("t").Op("<").Id("hi"), Id("t").Op("++")).Block(
			m_("tile").Call(m_("tileOp"), Id("t")))))
	var cases []Code
	for op, body := range g.tiles.Bodies {
		cases = append(cases, Case(Lit(op)).Block(body...))
	}
	f.Add(g.pass("tile runs tile t of split product op: the same code that runs the tiles in\nturn when the train step has one worker.", "tile", []Code{Id("op"), Id("t").Int()}, nil,
		Switch(Id("op")).Block(cases...)))
}
