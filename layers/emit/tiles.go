package emit

import (
	"fmt"
	"strings"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// Tiles collects the products of a train step that run split in tiles on
// the workers. A train step that is not split in shards (a small batch, or
// a layer that couples the samples of a batch) would otherwise run on one
// core: its large products are cut instead, along the rows of C, into N
// tiles fixed at generation time, each tile one kernel call on its own
// rows. Every value of C is then summed by the same code in the same order
// whatever the number of workers, and one worker runs the tiles in turn.
type Tiles struct {
	N int // tiles of a split product
	// Bodies holds each split product's code for tile t (the variable t).
	Bodies [][]Code
	// Packed counts the scratch buffers of packed operands.
	Packed int
	// Update, set by the generator when the optimizer step needs nothing
	// but each value's own gradient (no clipping over a tensor or all of
	// them), lets the tile that writes the last rows of a parameter's
	// gradient in a train step step those rows too (m.tileUpdate), while
	// they are in its cache: a second pass over the parameters, their
	// gradients and the optimizer state costs a 2-core step more than its
	// own time once the pool has to fork and join again for it. Updated
	// lists the spans of the parameters stepped so; the train step's update
	// steps the rest.
	Update  bool
	Updated []Span
}

// Span is the values [Lo, Hi) of the parameters.
type Span struct{ Lo, Hi int }

// updateAlign is the alignment of a span that a tile steps: the
// optimizer's vector loops meet the same values as in one update of all
// parameters (see optim.UpdateRange), so the bits do not change.
const updateAlign = 64

// Epilogue is what a forward product's tiles apply to their rows of C
// after the product: a bias per column (nil: none) and an element-wise
// activation ("" or "linear": none).
type Epilogue struct {
	Bias Code
	Act  string
}

// Prologue is what a weight gradient's tiles apply first to their rows of
// the output gradient (A of the TN product), which they pack anyway: the
// backward of an element-wise activation from the layer's output Out, and
// the bias gradient Sums (nil: none) summed over the batch.
type Prologue struct {
	Act  string
	Out  Code
	Sums Code
}

// MinTileFlops is the least work of a product split in tiles: a fork and a
// join of the workers cost about a microsecond, a few percent of a product
// of this size on one core.
const MinTileFlops = 1 << 20

// split returns the product of one of n tiles of g, and whether g is split:
// a product of at least MinTileFlops whose rows (byCols: columns) divide
// in n. An NT product whose B (the weights of a Dense layer) is larger than
// its A is cut along its columns, so that each tile reads its own rows of
// B and not all of it: a train step's optimizer update pushes the weights
// out of L2 between steps, and two tiles reading all of them from L3 cost
// more than the tiles save. The others are cut along their rows.
func (g GEMM) split(n int) (sub GEMM, byCols, ok bool) {
	if n < 2 || 2*g.M*g.N*g.K < MinTileFlops {
		return g, false, false
	}
	if g.Layout == NT && g.N > g.M && g.N%n == 0 {
		g.N /= n
		return g, true, true
	}
	if g.M%n != 0 {
		return g, false, false
	}
	g.M /= n
	return g, false, true
}

// TopGEMM is GEMM for a product at the top level of a pass (outside every
// loop, its operands whole buffers). In a train step with Tiles, a large
// one runs on the workers, when the step has a pool (m.tilePool), as
// Tiles.N products of a slice of C's rows or columns each, and on one
// worker as the same tiles in turn: a kernel may block k differently for
// another shape (the AVX-512 TN kernel cuts a large B in blocks of k), so
// only the same tiles give the same bits. A row
// slice of C needs the same rows of A (NT, NN: contiguous) and all of B;
// for TN, whose A is K×M, tile t first packs its columns of A into scratch.
func (e *Emitter) TopGEMM(g GEMM, c, a, b Code) {
	e.topGEMM(g, c, a, b, nil, Epilogue{}, Prologue{})
}

// TopGEMMThen is TopGEMM followed by ep on C: in the tiles, while their
// rows are in cache, when the product is split and ep's activation is
// element-wise; it reports false, having emitted nothing, when it is not
// split, so that the caller emits ep itself.
func (e *Emitter) TopGEMMThen(g GEMM, c, a, b Code, ep Epilogue) bool {
	if _, _, ok := e.splits(g); !ok || g.Acc || !tileAct(ep.Act) {
		return false
	}
	return e.topGEMM(g, c, a, b, nil, ep, Prologue{})
}

// GradGEMM is TopGEMM for the product that writes the whole gradient of
// parameter name of n (C, not accumulated): a tile of it may also step
// its rows of the parameter (see Tiles.Update).
func (e *Emitter) GradGEMM(g GEMM, n *ir.Node, name string, a, b Code) {
	e.topGEMM(g, e.paramGrad(n, name), a, b, paramOf(n, name), Epilogue{}, Prologue{})
}

// GradGEMMAfter is GradGEMM of a TN product whose A is the gradient of
// n's output, with pro applied first to the columns of A each tile packs:
// it reports false, having emitted nothing, when the product is not split
// or pro's activation is not element-wise, so that the caller emits pro
// itself and then GradGEMM.
func (e *Emitter) GradGEMMAfter(g GEMM, n *ir.Node, name string, a, b Code, pro Prologue) bool {
	if _, _, ok := e.splits(g); !ok || g.Layout != TN || !tileAct(pro.Act) {
		return false
	}
	return e.topGEMM(g, e.paramGrad(n, name), a, b, paramOf(n, name), Epilogue{}, pro)
}

// tileAct reports whether act applies to each value on its own, with
// no saved input (an epilogue or prologue of a tile can run it).
func tileAct(act string) bool {
	if act == "" {
		return true
	}
	_, ok := activations[act]
	return ok && !Rowwise(act) && !layers.PreAct(act)
}

// splits returns the tile product of g, whether it is cut along its
// columns, and whether it is split at all.
func (e *Emitter) splits(g GEMM) (GEMM, bool, bool) {
	if e.Tiles == nil || !e.Train {
		return g, false, false
	}
	return g.split(e.Tiles.N)
}

func (e *Emitter) paramGrad(n *ir.Node, name string) Code {
	c, _ := e.ParamGrad(n, name)
	return c
}

func paramOf(n *ir.Node, name string) *ir.Param {
	if n.Shares != nil {
		n = n.Shares
	}
	for i := range n.Params {
		if n.Params[i].Name == name {
			return &n.Params[i]
		}
	}
	panic("emit: node " + n.Name + " has no parameter " + name)
}

func (e *Emitter) topGEMM(g GEMM, c, a, b Code, grad *ir.Param, ep Epilogue, pro Prologue) bool {
	sub, byCols, ok := e.splits(g)
	if !ok {
		e.GEMM(g, c, a, b)
		return true
	}
	n, t := e.Tiles.N, Id("t")
	var body []Code
	switch {
	case byCols:
		// Tile t writes its columns of C packed in scratch, then into C.
		pack := fmt.Sprintf("tile%d_c", e.Tiles.Packed)
		e.Tiles.Packed++
		e.Use(pack, g.M*g.N, fmt.Sprintf("the columns of C of each tile of %s, packed", g.Name()))
		mt := g.M * sub.N
		op := "="
		if g.Acc {
			op = "+="
		}
		set := Id("cr").Index(Id("j")).Op(op).Id("v")
		if ep.Bias != nil {
			set = Id("cr").Index(Id("j")).Op("=").Id("v").Op("+").Id("bt").Index(Id("j"))
		}
		row := []Code{
			Id("cr").Op(":=").Id("c").Index(Id("r").Op("*").Lit(g.N).Op(":")).Index(Op(":").Lit(sub.N)),
			For(List(Id("j"), Id("v")).Op(":=").Range().Id("p").Index(Id("r").Op("*").Lit(sub.N).Op(":")).Index(Op(":").Lit(sub.N))).Block(set),
		}
		if ep.Act != "" {
			row = append(row, e.ActivateOn(ep.Act, Id("cr")))
		}
		body = []Code{
			Id("p").Op(":=").Add(field(pack)).Index(t.Clone().Op("*").Lit(mt).Op(":")).Index(Op(":").Lit(mt)),
			e.gemmCall(GEMM{Layout: NT, M: g.M, N: sub.N, K: g.K}, Parens(Op("*").Index(Lit(mt)).Id("Float")).Call(Id("p")), a, tilePart(b, t, sub.N*g.K)),
			Id("c").Op(":=").Add(sliceOf(c)).Index(t.Clone().Op("*").Lit(sub.N).Op(":")),
		}
		if ep.Bias != nil {
			body = append(body, Id("bt").Op(":=").Add(sliceOf(ep.Bias)).Index(t.Clone().Op("*").Lit(sub.N).Op(":")).Index(Op(":").Lit(sub.N)))
		}
		body = append(body, For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(g.M), Id("r").Op("++")).Block(row...))
	case g.Layout == NT || g.Layout == NN:
		body = []Code{e.gemmCall(sub, tilePart(c, t, sub.M*sub.N), tilePart(a, t, sub.M*sub.K), b)}
		if ep.Bias != nil || ep.Act != "" {
			body = append(body, Id("c").Op(":=").Add(sliceOf(c)).Index(t.Clone().Op("*").Lit(sub.M*sub.N).Op(":")).Index(Op(":").Lit(sub.M*sub.N)))
		}
		if ep.Bias != nil {
			body = append(body,
				Id("b").Op(":=").Add(ep.Bias),
				For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(sub.M), Id("r").Op("++")).Block(
					Id("row").Op(":=").Add(rowOf(Id("c"), sub.N)),
					For(Id("j").Op(":=").Range().Id("row")).Block(Id("row").Index(Id("j")).Op("+=").Id("b").Index(Id("j")))))
		}
		if ep.Act != "" {
			body = append(body, e.ActivateOn(ep.Act, Id("c")))
		}
	case g.Layout == TN:
		pack := fmt.Sprintf("tile%d_a", e.Tiles.Packed)
		e.Tiles.Packed++
		e.Use(pack, g.K*g.M, fmt.Sprintf("the columns of A of each tile of %s, packed", g.Name()))
		kt := g.K * sub.M
		col := func(x Code) *Statement {
			return sliceOf(x).Index(Id("k").Op("*").Lit(g.M).Op("+").Add(t).Op("*").Lit(sub.M).Op(":")).Index(Op(":").Lit(sub.M))
		}
		var pre, sums []Code
		if pro.Act != "" {
			pre = append(pre, e.ActBackwardOn(pro.Act, col(pro.Out), col(a)))
		}
		if pro.Sums != nil {
			sums = append(sums, Id("sum").Op(":=").Add(sliceOf(pro.Sums)).Index(t.Clone().Op("*").Lit(sub.M).Op(":")).Index(Op(":").Lit(sub.M)), Clear(Id("sum")))
			pre = append(pre, For(List(Id("j"), Id("v")).Op(":=").Range().Add(col(a))).Block(Id("sum").Index(Id("j")).Op("+=").Id("v")))
		}
		body = append([]Code{Id("p").Op(":=").Add(field(pack)).Index(t.Clone().Op("*").Lit(kt).Op(":")).Index(Op(":").Lit(kt))}, sums...)
		body = append(body,
			For(Id("k").Op(":=").Lit(0), Id("k").Op("<").Lit(g.K), Id("k").Op("++")).Block(
				append(pre, Copy(Id("p").Index(Id("k").Op("*").Lit(sub.M).Op(":")).Index(Op(":").Lit(sub.M)), col(a)))...),
			e.gemmCall(sub, tilePart(c, t, sub.M*sub.N), Parens(Op("*").Index(Lit(kt)).Id("Float")).Call(Id("p")), b),
		)
	default:
		panic("emit: unknown layout " + string(g.Layout))
	}
	// The tile that writes its rows of a parameter's whole gradient steps
	// them, when they are whole blocks of updateAlign values and no other
	// node adds to that gradient (a shared layer's later uses do, after),
	// nor a weight penalty (added after backward, see codegen's regularize).
	if span := sub.M * sub.N; grad != nil && !grad.Shared && grad.Reg.IsZero() && !byCols && !g.Acc && e.Tiles.Update && grad.Offset%updateAlign == 0 && span%updateAlign == 0 {
		lo := Lit(grad.Offset).Op("+").Add(t).Op("*").Lit(span)
		if grad.Offset == 0 {
			lo = t.Clone().Op("*").Lit(span)
		}
		body = append(body, If(field("tileUpdate")).Block(
			Id("lo").Op(":=").Add(lo),
			field("opt").Dot("UpdateRange").Call(field("p").Index(Op(":")), field("g").Index(Op(":")), field("lr"), field("step").Op("+").Lit(1), Id("lo"), Id("lo").Op("+").Lit(span))))
		e.Tiles.Updated = append(e.Tiles.Updated, Span{grad.Offset, grad.Offset + g.M*g.N})
	}
	op := len(e.Tiles.Bodies)
	e.Tiles.Bodies = append(e.Tiles.Bodies, body)
	what := fmt.Sprintf("%d rows", sub.M)
	if byCols {
		what = fmt.Sprintf("%d columns", sub.N)
	}
	e.Add(Commentf("%s in %d tiles of %s, on the workers or in turn", g.Name(), n, what),
		If(field("tilePool").Op("!=").Nil()).Block(field("runTiles").Call(Lit(op))).Else().Block(
			For(Id("t").Op(":=").Lit(0), Id("t").Op("<").Lit(n), Id("t").Op("++")).Block(body...)))
	return true
}

// Len is the number of split products so far.
func (t *Tiles) Len() int {
	if t == nil {
		return 0
	}
	return len(t.Bodies)
}

// Since returns the code of the tiles of the products from the k-th on, each
// as the loop that would run them in turn: what the memory plan must see of
// a step, whose code runs them through runTiles.
func (t *Tiles) Since(k int) []Code {
	if t == nil {
		return nil
	}
	var code []Code
	for _, body := range t.Bodies[min(k, t.Len()):] {
		code = append(code, For(Id("t").Op(":=").Lit(0), Id("t").Op("<").Lit(t.N), Id("t").Op("++")).Block(body...))
	}
	return code
}

// sliceOf returns array pointer x in a form that can be sliced.
func sliceOf(x Code) *Statement {
	if strings.HasPrefix(fmt.Sprintf("%#v", x), "&") {
		return Parens(x)
	}
	return Add(x)
}

// tilePart is the array pointer to values [t·n, (t+1)·n) of array pointer x.
func tilePart(x Code, t *Statement, n int) Code {
	return Parens(Op("*").Index(Lit(n)).Id("Float")).Call(sliceOf(x).Index(t.Clone().Op("*").Lit(n).Op(":")))
}
