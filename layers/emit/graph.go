package emit

import (
	"fmt"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// The kinds of models with several inputs: InputSlice copies one named
// input out of each sample of the model input; Dot is a per-sample dot
// product, or cosine similarity.

func init() {
	Register("InputSlice", &Kind{Forward: inputSliceForward})
	Register("Dot", &Kind{Forward: dotForward, Backward: dotBackward})
	// An Output's values are written by its input layer's code, which
	// also reads its gradient (see OutputNode).
	none := func(e *Emitter, n *ir.Node) {
		e.Add(Comment("(no code: layer " + n.Inputs[0].Name + " writes the values and reads the gradient)"))
	}
	Register("Output", &Kind{Forward: none, Backward: none})
}

// OutputNode returns the node that reads extra output name of n (an Output
// node), or nil when no layer reads it.
func OutputNode(n *ir.Node, name string) *ir.Node {
	for _, c := range n.Consumers {
		if c.Kind == "Output" && c.Inputs[0] == n && c.Str("output") == name {
			return c
		}
	}
	return nil
}

// inputSliceForward copies values offset to offset+size of each sample of
// the model input.
func inputSliceForward(e *Emitter, n *ir.Node) {
	size, total, off := n.Size(), n.Inputs[0].Size(), n.Int("offset")
	src := Id("x").Index(Id("r").Op("*").Lit(total).Op("+").Lit(off).Op(":")).Index(Op(":").Lit(size))
	if off == 0 {
		src = Id("x").Index(Id("r").Op("*").Lit(total).Op(":")).Index(Op(":").Lit(size))
	}
	e.Block(
		Id("x").Op(":=").Add(e.Out(n.Inputs[0])),
		Id("y").Op(":=").Add(e.Out(n)),
		For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(e.Batch), Id("r").Op("++")).Block(
			Copy(rowOf(Id("y"), size), src)))
}

// dotEps is the floor of a squared norm in Keras's l2_normalize.
const dotEps = 1e-12

// dotRows declares, in a loop over the samples r, a and c, sample r of the
// two inputs; with normalize, ra and rc, the inverse norms
// 1/√max(Σa², 1e-12), and for input back ("a" or "c", in backward) ka or
// kc, 1 when its norm is above the floor (the normalization's derivative
// is then not a constant).
func (e *Emitter) dotRows(n *ir.Node, back string, body func() []Code) Code {
	d := n.Inputs[0].Size()
	var stmts []Code
	for j, v := range []string{"a", "c"} {
		// The plain product's backward reads the other input only.
		if n.Bool("normalize") || back != v {
			stmts = append(stmts, Id(v).Op(":=").Add(rowOf(Id(fmt.Sprint("x", j)), d)))
		}
	}
	if n.Bool("normalize") {
		stmts = append(stmts,
			List(Id("sa"), Id("sc")).Op(":=").List(Id("Float").Call(Lit(0)), Id("Float").Call(Lit(0))),
			For(Id("i").Op(":=").Range().Id("a")).Block(
				Id("sa").Op("+=").Id("a").Index(Id("i")).Op("*").Id("a").Index(Id("i")),
				Id("sc").Op("+=").Id("c").Index(Id("i")).Op("*").Id("c").Index(Id("i"))),
		)
		for _, v := range []string{"a", "c"} {
			floor := Id("s" + v).Op("=").Lit(dotEps)
			if back == v {
				stmts = append(stmts, Id("k"+v).Op(":=").Add(e.Lit(1)))
				floor = List(Id("s"+v), Id("k"+v)).Op("=").List(Lit(dotEps), Lit(0))
			}
			stmts = append(stmts,
				If(Id("s"+v).Op("<=").Lit(dotEps)).Block(floor),
				Id("r"+v).Op(":=").Lit(1).Op("/").Id("Float").Call(Qual(mathPkg, "Sqrt").Call(Float64().Call(Id("s"+v)))))
		}
	}
	return For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(e.Batch), Id("r").Op("++")).Block(append(stmts, body()...)...)
}

// dotInputs declares x0 and x1, the inputs (only the other of input back
// in the plain product's backward), and with y the output.
func (e *Emitter) dotInputs(n *ir.Node, y bool, back string) []Code {
	var s []Code
	for j, v := range []string{"a", "c"} {
		if n.Bool("normalize") || back != v {
			s = append(s, Id(fmt.Sprint("x", j)).Op(":=").Add(e.Out(n.Inputs[j])))
		}
	}
	if y {
		s = append(s, Id("y").Op(":=").Add(e.Out(n)))
	}
	return s
}

// dotForward writes y = Σ aᵢcᵢ, times ra·rc with normalize.
func dotForward(e *Emitter, n *ir.Node) {
	e.Block(append(e.dotInputs(n, true, ""), e.dotRows(n, "", func() []Code {
		v := Id("s")
		if n.Bool("normalize") {
			v = Id("s").Op("*").Id("ra").Op("*").Id("rc")
		}
		return []Code{
			Id("s").Op(":=").Id("Float").Call(Lit(0)),
			For(Id("i").Op(":=").Range().Id("a")).Block(Id("s").Op("+=").Id("a").Index(Id("i")).Op("*").Id("c").Index(Id("i"))),
			Id("y").Index(Id("r")).Op("=").Add(v),
		}
	}))...)
}

// dotBackward writes the inputs' gradients: dy·c to a and dy·a to c; with
// normalize, dy·(cᵢ·ra·rc − y·aᵢ·ra²·ka) to a and symmetrically to c.
func dotBackward(e *Emitter, n *ir.Node) {
	for j := range 2 {
		dx, acc, ok := e.GradIn(n, j)
		if !ok {
			continue
		}
		op := "="
		if acc {
			op = "+="
		}
		own, other, r, k := "a", "c", "ra", "ka"
		if j == 1 {
			own, other, r, k = "c", "a", "rc", "kc"
		}
		d := n.Inputs[0].Size()
		e.Block(append(e.dotInputs(n, n.Bool("normalize"), own),
			Id("dy").Op(":=").Add(e.Grad(n)),
			Id("dx").Op(":=").Parens(dx).Index(Op(":")),
			e.dotRows(n, own, func() []Code {
				v := Id("dy").Index(Id("r")).Op("*").Id(other).Index(Id("i"))
				if n.Bool("normalize") {
					v = Id("dy").Index(Id("r")).Op("*").Parens(Id(other).Index(Id("i")).Op("*").Id("ra").Op("*").Id("rc").Op("-").
						Id("y").Index(Id("r")).Op("*").Id(own).Index(Id("i")).Op("*").Id(r).Op("*").Id(r).Op("*").Id(k))
				}
				return []Code{
					Id("g").Op(":=").Add(rowOf(Id("dx"), d)),
					For(Id("i").Op(":=").Range().Id("g")).Block(Id("g").Index(Id("i")).Op(op).Add(v)),
				}
			}))...)
	}
}

// OnlyOutputsRead reports whether the layers that read node n read only its
// extra outputs (an encoder's states), not its output proper, which then
// has no gradient.
func OnlyOutputsRead(m *ir.Model, n *ir.Node) bool {
	if m == nil || n == m.Output || len(n.Consumers) == 0 {
		return false
	}
	for _, c := range n.Consumers {
		if c.Kind != "Output" {
			return false
		}
	}
	return true
}

// addTo is dst = src, or dst += src when acc (slices of one length).
func addTo(dst, src Code, acc bool) Code {
	if !acc {
		return Copy(dst, src)
	}
	return Block(
		Id("d").Op(":=").Add(dst),
		For(List(Id("i"), Id("v")).Op(":=").Range().Add(src)).Block(Id("d").Index(Id("i")).Op("+=").Id("v")))
}
