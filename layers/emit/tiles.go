package emit

import (
	"fmt"
	"strings"

	. "github.com/dave/jennifer/jen"
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
	var sub GEMM
	byCols, ok := false, false
	if e.Tiles != nil && e.Train {
		sub, byCols, ok = g.split(e.Tiles.N)
	}
	if !ok {
		e.GEMM(g, c, a, b)
		return
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
		body = []Code{
			Id("p").Op(":=").Add(field(pack)).Index(t.Clone().Op("*").Lit(mt).Op(":")).Index(Op(":").Lit(mt)),
			e.gemmCall(GEMM{Layout: NT, M: g.M, N: sub.N, K: g.K}, Parens(Op("*").Index(Lit(mt)).Id("Float")).Call(Id("p")), a, tilePart(b, t, sub.N*g.K)),
			Id("c").Op(":=").Add(sliceOf(c)).Index(t.Clone().Op("*").Lit(sub.N).Op(":")),
			For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(g.M), Id("r").Op("++")).Block(
				Id("cr").Op(":=").Id("c").Index(Id("r").Op("*").Lit(g.N).Op(":")).Index(Op(":").Lit(sub.N)),
				For(List(Id("j"), Id("v")).Op(":=").Range().Id("p").Index(Id("r").Op("*").Lit(sub.N).Op(":")).Index(Op(":").Lit(sub.N))).Block(
					Id("cr").Index(Id("j")).Op(op).Id("v"))),
		}
	case g.Layout == NT || g.Layout == NN:
		body = []Code{e.gemmCall(sub, tilePart(c, t, sub.M*sub.N), tilePart(a, t, sub.M*sub.K), b)}
	case g.Layout == TN:
		pack := fmt.Sprintf("tile%d_a", e.Tiles.Packed)
		e.Tiles.Packed++
		e.Use(pack, g.K*g.M, fmt.Sprintf("the columns of A of each tile of %s, packed", g.Name()))
		kt := g.K * sub.M
		body = []Code{
			Id("p").Op(":=").Add(field(pack)).Index(t.Clone().Op("*").Lit(kt).Op(":")).Index(Op(":").Lit(kt)),
			For(Id("k").Op(":=").Lit(0), Id("k").Op("<").Lit(g.K), Id("k").Op("++")).Block(
				Copy(Id("p").Index(Id("k").Op("*").Lit(sub.M).Op(":")).Index(Op(":").Lit(sub.M)),
					sliceOf(a).Index(Id("k").Op("*").Lit(g.M).Op("+").Add(t).Op("*").Lit(sub.M).Op(":")).Index(Op(":").Lit(sub.M)))),
			e.gemmCall(sub, tilePart(c, t, sub.M*sub.N), Parens(Op("*").Index(Lit(kt)).Id("Float")).Call(Id("p")), b),
		}
	default:
		panic("emit: unknown layout " + string(g.Layout))
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
