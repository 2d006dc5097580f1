package emit

import (
	"strings"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// The sequence layers. RepeatVector copies rows. The wrappers run their
// inner kind's own code on nodes outside the model (layers.Step,
// layers.Directions): TimeDistributed's inner layer sees batch·T samples of
// one step, bound to the buffers of the wrapper's input and output (Bind);
// Bidirectional's two directions have buffers of their own, the backward
// one reading a reversed copy of the input, and the wrapper merges their
// outputs.

func init() {
	Register("RepeatVector", &Kind{Forward: repeatForward, Backward: repeatBackward})
	Register("TimeDistributed", &Kind{
		Forward:  func(e *Emitter, n *ir.Node) { e.timeDistributed(n, false) },
		Backward: func(e *Emitter, n *ir.Node) { e.timeDistributed(n, true) },
	})
	Register("Bidirectional", &Kind{Forward: bidiForward, Backward: bidiBackward})
}

// rowBT is buf[(b·T + t)·n:][:n], t an expression (buf[b·n:][:n] for T = 1).
func rowBT(buf Code, T int, t Code, n int) *Statement {
	if T == 1 {
		return buf.(*Statement).Clone().Index(Id("b").Op("*").Lit(n).Op(":")).Index(Op(":").Lit(n))
	}
	return buf.(*Statement).Clone().Index(Parens(Id("b").Op("*").Lit(T).Op("+").Add(t)).Op("*").Lit(n).Op(":")).Index(Op(":").Lit(n))
}

// btLoop is for b < B { for t < T { body } } (no t loop for T = 1).
func (e *Emitter) btLoop(T int, body ...Code) Code {
	if T == 1 {
		return loop("b", e.Batch, body...)
	}
	return loop("b", e.Batch, loop("t", T, body...))
}

func repeatForward(e *Emitter, n *ir.Node) {
	T, F := n.Shape[0], n.Shape[1]
	e.Block(
		Id("x").Op(":=").Add(e.Out(n.Inputs[0])),
		Id("y").Op(":=").Add(e.Out(n)),
		e.btLoop(T, Copy(rowBT(Id("y"), T, Id("t"), F), rowBT(Id("x"), 1, Lit(0), F))),
	)
}

func repeatBackward(e *Emitter, n *ir.Node) {
	T, F := n.Shape[0], n.Shape[1]
	dx, acc, ok := e.GradIn(n, 0)
	if !ok {
		return
	}
	pro := []Code{Id("d").Op(":=").Add(rowBT(Parens(dx), 1, nil, F))}
	if !acc {
		pro = append(pro, Clear(Id("d")))
	}
	e.Block(
		Id("g").Op(":=").Add(e.Grad(n)),
		loop("b", e.Batch, append(pro, loop("t", T,
			For(List(Id("j"), Id("v")).Op(":=").Range().Add(rowBT(Id("g"), T, Id("t"), F))).Block(
				Id("d").Index(Id("j")).Op("+=").Id("v"))))...),
	)
}

// timeDistributed emits the inner layer's forward (or backward) code over
// batch·T samples of one step.
func (e *Emitter) timeDistributed(n *ir.Node, back bool) {
	step, inner, _, _ := layers.Step(n)
	inner.Params = n.Params
	e.Bind(step, n.Inputs[0])
	e.Bind(inner, n)
	k, _ := Lookup(inner.Kind)
	T := n.Shape[0]
	e.Batch *= T
	defer func() { e.Batch /= T }()
	if back {
		k.Backward(e, inner)
	} else {
		k.Forward(e, inner)
	}
}

// bidi holds the nodes and sizes of a Bidirectional.
type bidi struct {
	fw, bw, rev *ir.Node
	k           *Kind
	T, U, W     int  // steps, units of a direction, of the output
	seq         bool // the directions return sequences
}

// bidiOf returns n's directions; the backward one draws its dropout masks
// from a substream of n's.
func (e *Emitter) bidiOf(n *ir.Node) *bidi {
	fw, bw, rev, _, _ := layers.Directions(n)
	e.Substream(bw, 1)
	// return_state: each direction writes its final states into n's
	// outputs forward_h, …, backward_c.
	for dir, v := range map[string]*ir.Node{"forward": fw, "backward": bw} {
		for _, s := range layers.States(fw.Kind) {
			if o := OutputNode(n, dir+strings.TrimPrefix(s, "state")); o != nil {
				e.BindOutput(v, s, o)
			}
		}
	}
	k, _ := Lookup(fw.Kind)
	d := &bidi{fw: fw, bw: bw, rev: rev, k: k, T: n.Inputs[0].Shape[0], U: fw.Shape[len(fw.Shape)-1], W: n.Shape[len(n.Shape)-1], seq: len(n.Shape) == 2}
	return d
}

// pair is a loop over the rows of the output with o (the output's row, as
// given), f (the forward direction's) and g (the backward direction's row
// of the same step) declared from the slices of these names.
func (e *Emitter) pair(d *bidi, o, f, g string, body ...Code) Code {
	T := d.rows()
	return e.btLoop(T, append([]Code{
		Id("o").Op(":=").Add(rowBT(Id(o), T, d.t(), d.W)),
		Id("f").Op(":=").Add(rowBT(Id(f), T, d.t(), d.U)),
		Id("g").Op(":=").Add(rowBT(Id(g), T, d.tr(), d.U)),
	}, body...)...)
}

func bidiForward(e *Emitter, n *ir.Node) {
	d := e.bidiOf(n)
	x := n.Inputs[0]
	F := x.Shape[1]
	e.Add(Comment("the input reversed in time, for the backward direction"))
	e.Block(
		Id("x").Op(":=").Add(e.Out(x)),
		Id("xr").Op(":=").Add(e.Out(d.rev)),
		e.btLoop(d.T, Copy(rowBT(Id("xr"), d.T, Lit(d.T-1).Op("-").Id("t"), F), rowBT(Id("x"), d.T, Id("t"), F))),
	)
	e.Add(Comment("forward direction"))
	d.k.Forward(e, d.fw)
	e.Add(Comment("backward direction"))
	d.k.Forward(e, d.bw)
	var body []Code
	v := func(op string) Code { return Id("f").Index(Id("j")).Op(op).Id("g").Index(Id("j")) }
	switch n.Str("merge_mode") {
	case "concat":
		body = []Code{Copy(Id("o"), Id("f")), Copy(Id("o").Index(Lit(d.U).Op(":")), Id("g"))}
	case "sum":
		body = []Code{jLoop(d.U, Id("o").Index(Id("j")).Op("=").Add(v("+")))}
	case "mul":
		body = []Code{jLoop(d.U, Id("o").Index(Id("j")).Op("=").Add(v("*")))}
	case "ave":
		body = []Code{jLoop(d.U, Id("o").Index(Id("j")).Op("=").Parens(v("+")).Op("*").Add(e.Lit(0.5)))}
	}
	e.Add(Comment("merge (" + n.Str("merge_mode") + ")"))
	e.Block(
		Id("y").Op(":=").Add(e.Out(n)),
		Id("yf").Op(":=").Add(e.Out(d.fw)),
		Id("yb").Op(":=").Add(e.Out(d.bw)),
		e.pair(d, "y", "yf", "yb", body...),
	)
}

func bidiBackward(e *Emitter, n *ir.Node) {
	d := e.bidiOf(n)
	x := n.Inputs[0]
	F := x.Shape[1]
	pro := []Code{
		Id("dy").Op(":=").Add(e.Grad(n)),
		Id("df").Op(":=").Add(e.Grad(d.fw)),
		Id("db").Op(":=").Add(e.Grad(d.bw)),
	}
	var body []Code
	switch n.Str("merge_mode") {
	case "concat":
		body = []Code{Copy(Id("f"), Id("o")), Copy(Id("g"), Id("o").Index(Lit(d.U).Op(":")))}
	case "sum":
		body = []Code{Copy(Id("f"), Id("o")), Copy(Id("g"), Id("o"))}
	case "ave":
		body = []Code{jLoop(d.U, Id("v").Op(":=").Id("o").Index(Id("j")).Op("*").Add(e.Lit(0.5)), Id("f").Index(Id("j")).Op("=").Id("v"), Id("g").Index(Id("j")).Op("=").Id("v"))}
	case "mul":
		// The gradient of one direction is the other's output times dy.
		pro = append(pro, Id("yf").Op(":=").Add(e.Out(d.fw)), Id("yb").Op(":=").Add(e.Out(d.bw)))
		body = []Code{
			Id("a").Op(":=").Add(rowBT(Id("yf"), d.rows(), d.t(), d.U)),
			Id("c").Op(":=").Add(rowBT(Id("yb"), d.rows(), d.tr(), d.U)),
			jLoop(d.U, Id("f").Index(Id("j")).Op("=").Id("o").Index(Id("j")).Op("*").Id("c").Index(Id("j")),
				Id("g").Index(Id("j")).Op("=").Id("o").Index(Id("j")).Op("*").Id("a").Index(Id("j"))),
		}
	}
	e.Add(Comment("the merge's gradient into the two directions (" + n.Str("merge_mode") + ")"))
	e.Block(append(pro, e.pair(d, "dy", "df", "db", body...))...)
	e.Add(Comment("forward direction"))
	d.k.Backward(e, d.fw)
	e.Add(Comment("backward direction"))
	d.k.Backward(e, d.bw)
	if dx, acc, ok := e.GradIn(n, 0); ok {
		e.Add(Comment("the backward direction's input gradient, reversed back in time"))
		op := "="
		if acc {
			op = "+="
		}
		e.Block(
			Id("dx").Op(":=").Add(Parens(dx).Index(Op(":"))),
			Id("dr").Op(":=").Add(e.Grad(d.rev)),
			e.btLoop(d.T,
				Id("o").Op(":=").Add(rowBT(Id("dx"), d.T, Id("t"), F)),
				Id("s").Op(":=").Add(rowBT(Id("dr"), d.T, Lit(d.T-1).Op("-").Id("t"), F)),
				For(Id("j").Op(":=").Range().Id("o")).Block(Id("o").Index(Id("j")).Op(op).Id("s").Index(Id("j")))),
		)
	}
}

// rows is the steps of a direction's output, t and tr the step of the
// forward direction's row and the backward direction's row in a pair loop.
func (d *bidi) rows() int {
	if d.seq {
		return d.T
	}
	return 1
}

func (d *bidi) t() Code {
	if d.seq {
		return Id("t")
	}
	return Lit(0)
}

func (d *bidi) tr() Code {
	if d.seq {
		return Lit(d.T - 1).Op("-").Id("t")
	}
	return Lit(0)
}
