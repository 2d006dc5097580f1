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
// a product of at least MinTileFlops whose rows divide in n.
func (g GEMM) split(n int) (GEMM, bool) {
	if n < 2 || 2*g.M*g.N*g.K < MinTileFlops || g.M%n != 0 {
		return g, false
	}
	g.M /= n
	return g, true
}

// TopGEMM is GEMM for a product at the top level of a pass (outside every
// loop, its operands whole buffers). In a train step with Tiles, a large
// one runs as Tiles.N products of a slice of C's rows each: on the workers
// when the step has a pool (m.tilePool), else one after another. A row
// slice of C needs the same rows of A (NT, NN: contiguous) and all of B;
// for TN, whose A is K×M, tile t first packs its columns of A into scratch.
func (e *Emitter) TopGEMM(g GEMM, c, a, b Code) {
	var sub GEMM
	ok := false
	if e.Tiles != nil && e.Train {
		sub, ok = g.split(e.Tiles.N)
	}
	if !ok {
		e.GEMM(g, c, a, b)
		return
	}
	n, t := e.Tiles.N, Id("t")
	var body []Code
	switch g.Layout {
	case NT, NN:
		body = []Code{e.gemmCall(sub, tilePart(c, t, sub.M*sub.N), tilePart(a, t, sub.M*sub.K), b)}
	case TN:
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
	e.Add(Commentf("%s in %d tiles of %d rows", g.Name(), n, sub.M),
		If(field("tilePool").Op("!=").Nil()).Block(field("runTiles").Call(Lit(op))).Else().Block(
			For(Id("t").Op(":=").Lit(0), Id("t").Op("<").Lit(n), Id("t").Op("++")).Block(body...)))
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
