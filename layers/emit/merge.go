package emit

import (
	"fmt"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// The merge layers: element-wise loops over the batch's values of all the
// inputs, and Concatenate's copies of each input's runs.

func init() {
	for _, name := range []string{"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"} {
		Register(name, &Kind{
			Forward:  mergeForward,
			Backward: mergeBackward,
		})
	}
	Register("Concatenate", &Kind{
		Forward:  concatForward,
		Backward: concatBackward,
	})
}

// mergeInputs declares y, the node's output, and x0, x1, … its inputs,
// over the batch's values.
func (e *Emitter) mergeInputs(n *ir.Node) []Code {
	size := e.Batch * n.Size()
	stmts := []Code{Id("y").Op(":=").Add(e.Out(n)).Index(Op(":").Lit(size))}
	for j, in := range n.Inputs {
		stmts = append(stmts, Id(fmt.Sprint("x", j)).Op(":=").Add(e.Out(in)).Index(Op(":").Len(Id("y"))))
	}
	return stmts
}

func x(j int) *Statement { return Id(fmt.Sprint("x", j)).Index(Id("i")) }

func mergeForward(e *Emitter, n *ir.Node) {
	var body []Code
	switch n.Kind {
	case "Add", "Subtract", "Multiply", "Average":
		op := map[string]string{"Add": "+", "Subtract": "-", "Multiply": "*", "Average": "+"}[n.Kind]
		v := x(0)
		for j := 1; j < len(n.Inputs); j++ {
			v = v.Op(op).Add(x(j))
		}
		if n.Kind == "Average" {
			v = Parens(v).Op("*").Add(e.Lit(1 / float64(len(n.Inputs))))
		}
		body = []Code{Id("y").Index(Id("i")).Op("=").Add(v)}
	case "Maximum", "Minimum":
		cmp := map[string]string{"Maximum": ">", "Minimum": "<"}[n.Kind]
		body = []Code{Id("v").Op(":=").Add(x(0))}
		for j := 1; j < len(n.Inputs); j++ {
			body = append(body, If(x(j).Op(cmp).Id("v")).Block(Id("v").Op("=").Add(x(j))))
		}
		body = append(body, Id("y").Index(Id("i")).Op("=").Id("v"))
	}
	e.Block(append(e.mergeInputs(n), For(Id("i").Op(":=").Range().Id("y")).Block(body...))...)
}

// mergeBackward writes each input's gradient: dy for Add, ±dy for
// Subtract, dy times the other inputs for Multiply, dy/n for Average, and
// for Maximum and Minimum dy to the first input equal to the output, zero
// to the others.
func mergeBackward(e *Emitter, n *ir.Node) {
	for j := range n.Inputs {
		dx, acc, ok := e.GradIn(n, j)
		if !ok {
			continue
		}
		op := "="
		if acc {
			op = "+="
		}
		d := Id("d").Index(Id("i"))
		var body Code
		switch n.Kind {
		case "Add":
			body = Id("dx").Index(Id("i")).Op(op).Add(d)
		case "Subtract":
			if j == 1 {
				d = Op("-").Add(d)
			}
			body = Id("dx").Index(Id("i")).Op(op).Add(d)
		case "Multiply":
			for k := range n.Inputs {
				if k != j {
					d = d.Op("*").Add(x(k))
				}
			}
			body = Id("dx").Index(Id("i")).Op(op).Add(d)
		case "Average":
			body = Id("dx").Index(Id("i")).Op(op).Add(d).Op("*").Add(e.Lit(1 / float64(len(n.Inputs))))
		case "Maximum", "Minimum":
			win := x(j).Op("==").Id("y").Index(Id("i"))
			for k := j - 1; k >= 0; k-- {
				win = x(k).Op("!=").Id("y").Index(Id("i")).Op("&&").Add(win)
			}
			s := If(win).Block(Id("dx").Index(Id("i")).Op(op).Add(d))
			if !acc {
				s = s.Else().Block(Id("dx").Index(Id("i")).Op("=").Lit(0))
			}
			body = s
		}
		size := e.Batch * n.Size()
		stmts := []Code{
			Id("d").Op(":=").Add(e.Grad(n)).Index(Op(":").Lit(size)),
			Id("dx").Op(":=").Parens(dx).Index(Op(":").Len(Id("d"))),
		}
		switch n.Kind {
		case "Multiply", "Maximum", "Minimum":
			if n.Kind != "Multiply" {
				stmts = append(stmts, Id("y").Op(":=").Add(e.Out(n)).Index(Op(":").Len(Id("d"))))
			}
			for k, in := range n.Inputs {
				if n.Kind == "Multiply" && k != j || n.Kind != "Multiply" && k <= j {
					stmts = append(stmts, Id(fmt.Sprint("x", k)).Op(":=").Add(e.Out(in)).Index(Op(":").Len(Id("d"))))
				}
			}
		}
		e.Block(append(stmts, For(Id("i").Op(":=").Range().Id("d")).Block(body))...)
	}
}

// concatRuns returns the number of runs of Concatenate node n over the
// batch (the product of the axes before its axis), the values of a run of
// the output, and those of each input's run.
func concatRuns(e *Emitter, n *ir.Node) (runs, out int, in []int) {
	a, err := layers.ConcatAxis(n, len(n.Shape))
	if err != nil {
		panic(err) // the shape pass has checked it
	}
	inner := ir.Prod(n.Shape[a+1:])
	for _, inp := range n.Inputs {
		in = append(in, inp.Shape[a]*inner)
	}
	return e.Batch * ir.Prod(n.Shape[:a]), n.Shape[a] * inner, in
}

func concatForward(e *Emitter, n *ir.Node) {
	runs, c, in := concatRuns(e, n)
	stmts := []Code{Id("y").Op(":=").Add(e.Out(n))}
	off := 0
	for j, inp := range n.Inputs {
		src := poolChannels("x", Id("r").Op("*").Lit(in[j]), in[j])
		dst := poolChannels("y", Id("r").Op("*").Lit(c).Op("+").Lit(off), in[j])
		if off == 0 {
			dst = poolChannels("y", Id("r").Op("*").Lit(c), in[j])
		}
		stmts = append(stmts, Block(
			Id("x").Op(":=").Add(e.Out(inp)),
			For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(runs), Id("r").Op("++")).Block(Copy(dst, src)),
		))
		off += in[j]
	}
	e.Block(stmts...)
}

// concatBackward hands each input its runs of the output's gradient.
func concatBackward(e *Emitter, n *ir.Node) {
	runs, c, in := concatRuns(e, n)
	off := 0
	for j := range n.Inputs {
		o := off
		off += in[j]
		dx, acc, ok := e.GradIn(n, j)
		if !ok {
			continue
		}
		src := poolChannels("d", Id("r").Op("*").Lit(c).Op("+").Lit(o), in[j])
		if o == 0 {
			src = poolChannels("d", Id("r").Op("*").Lit(c), in[j])
		}
		dst := poolChannels("dx", Id("r").Op("*").Lit(in[j]), in[j])
		var body Code = Copy(dst, src)
		if acc {
			body = Block(
				Id("g").Op(":=").Add(dst),
				For(List(Id("i"), Id("v")).Op(":=").Range().Add(src)).Block(Id("g").Index(Id("i")).Op("+=").Id("v")),
			)
		}
		e.Block(
			Id("d").Op(":=").Add(e.Grad(n)),
			Id("dx").Op(":=").Parens(dx).Index(Op(":")),
			For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(runs), Id("r").Op("++")).Block(body),
		)
	}
}
