package emit

import (
	"math"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// rectifier emits the forward pass out = f(in) of a piecewise function of
// the input; f returns the statements that set y from v (feature j),
// after the declarations pre.
func (e *Emitter) rectifier(n *ir.Node, pre []Code, f func(j Code) []Code) {
	rows, c := e.rows(n)
	e.Block(append(pre,
		Id("in").Op(":=").Add(e.Out(n.Inputs[0])),
		Id("out").Op(":=").Add(e.Out(n)),
		For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(rows), Id("r").Op("++")).Block(
			Id("x").Op(":=").Add(rowOf(Id("in"), c)),
			Id("o").Op(":=").Add(rowOf(Id("out"), c)),
			For(List(Id("j"), Id("v")).Op(":=").Range().Id("x")).Block(append(f(Id("j")), Id("o").Index(Id("j")).Op("=").Id("y"))...)))...)
}

// rectifierBack emits dx (+)= d·f'(x) (g holds d, f turns it into d·f'
// from v, the input), with pre declared first, and per element extra (the
// slopes' gradient) after f.
func (e *Emitter) rectifierBack(n *ir.Node, pre []Code, f func(j Code) []Code, extra func(j Code) []Code) {
	dx, acc, ok := e.GradIn(n, 0)
	if !ok && extra == nil {
		return
	}
	rows, c := e.rows(n)
	body := []Code{
		Id("x").Op(":=").Add(rowOf(Id("in"), c)),
		Id("dr").Op(":=").Add(rowOf(Id("d"), c)),
	}
	if ok {
		body = append(body, Id("xr").Op(":=").Add(rowOf(Id("dx"), c)))
	}
	var inner []Code
	if extra != nil {
		inner = append(inner, extra(Id("j"))...)
	}
	if ok {
		op := "="
		if acc {
			op = "+="
		}
		inner = append(inner, Id("g").Op(":=").Id("dr").Index(Id("j")))
		inner = append(inner, f(Id("j"))...)
		inner = append(inner, Id("xr").Index(Id("j")).Op(op).Id("g"))
	}
	body = append(body, For(List(Id("j"), Id("v")).Op(":=").Range().Id("x")).Block(inner...))
	s := append(pre,
		Id("in").Op(":=").Add(e.Out(n.Inputs[0])),
		Id("d").Op(":=").Add(e.Grad(n)))
	if ok {
		s = append(s, Id("dx").Op(":=").Parens(dx).Index(Op(":")))
	}
	e.Block(append(s, For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(rows), Id("r").Op("++")).Block(body...))...)
}

func init() {
	Register("LeakyReLU", &Kind{
		Forward: func(e *Emitter, n *ir.Node) {
			a := n.Float("negative_slope")
			e.rectifier(n, nil, func(Code) []Code {
				return []Code{Id("y").Op(":=").Id("v"), If(Id("v").Op("<").Lit(0)).Block(Id("y").Op("*=").Add(e.Lit(a)))}
			})
		},
		Backward: func(e *Emitter, n *ir.Node) {
			a := n.Float("negative_slope")
			e.rectifierBack(n, nil, func(Code) []Code {
				return []Code{If(Id("v").Op("<").Lit(0)).Block(Id("g").Op("*=").Add(e.Lit(a)))}
			}, nil)
		},
	})
	Register("ReLU", &Kind{
		// f(x) = max_value for x ≥ max_value, x for threshold ≤ x, else
		// negative_slope·(x − threshold).
		Forward: func(e *Emitter, n *ir.Node) {
			mx, a, th := n.Float("max_value"), n.Float("negative_slope"), n.Float("threshold")
			e.rectifier(n, nil, func(Code) []Code {
				s := []Code{
					Id("y").Op(":=").Id("v"),
					If(Id("v").Op("<").Add(e.Lit(th))).Block(Id("y").Op("=").Parens(Id("v").Op("-").Add(e.Lit(th))).Op("*").Add(e.Lit(a))),
				}
				if !math.IsInf(mx, 1) {
					s = append(s, If(Id("v").Op(">=").Add(e.Lit(mx))).Block(Id("y").Op("=").Add(e.Lit(mx))))
				}
				return s
			})
		},
		Backward: func(e *Emitter, n *ir.Node) {
			mx, a, th := n.Float("max_value"), n.Float("negative_slope"), n.Float("threshold")
			e.rectifierBack(n, nil, func(Code) []Code {
				s := []Code{If(Id("v").Op("<").Add(e.Lit(th))).Block(Id("g").Op("*=").Add(e.Lit(a)))}
				if !math.IsInf(mx, 1) {
					s = append(s, If(Id("v").Op(">=").Add(e.Lit(mx))).Block(Id("g").Op("=").Lit(0)))
				}
				return s
			}, nil)
		},
	})
	Register("PReLU", &Kind{
		Forward: func(e *Emitter, n *ir.Node) {
			w, _ := e.Param(n, "weight")
			e.rectifier(n, []Code{Id("alpha").Op(":=").Add(w)}, func(j Code) []Code {
				return []Code{Id("y").Op(":=").Id("v"), If(Id("v").Op("<").Lit(0)).Block(Id("y").Op("*=").Id("alpha").Index(j))}
			})
		},
		// dα_j = Σ d·x over the rows where x < 0.
		Backward: func(e *Emitter, n *ir.Node) {
			w, _ := e.Param(n, "weight")
			dw, _ := e.ParamGrad(n, "weight")
			c := n.Shape[len(n.Shape)-1]
			pre := []Code{
				Id("da").Op(":=").Add(dw),
				Op("*").Id("da").Op("=").Index(Lit(c)).Id("Float").Values(),
			}
			if NeedsGrad(n.Inputs[0]) {
				pre = append(pre, Id("alpha").Op(":=").Add(w))
			}
			e.rectifierBack(n, pre, func(j Code) []Code {
				return []Code{If(Id("v").Op("<").Lit(0)).Block(Id("g").Op("*=").Id("alpha").Index(j))}
			}, func(j Code) []Code {
				return []Code{If(Id("v").Op("<").Lit(0)).Block(Id("da").Index(j).Op("+=").Id("dr").Index(j).Op("*").Id("v"))}
			})
		},
	})
}
