package emit

import (
	"strconv"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// BatchNormalization follows Keras 3 (keras/src/layers/normalization/
// batch_normalization.py): training normalizes by the batch mean and biased
// variance and moves the moving statistics towards them,
// moving = moving·momentum + batch·(1 − momentum); inference normalizes by the
// moving statistics. Keras 2 stores the same biased variance: its fused path
// removes the Bessel correction of the fused kernel before the update.

func init() {
	Register("BatchNormalization", &Kind{
		Forward:  bnForward,
		Backward: bnBackward,
	})
}

// bnBufs records the scratch buffers of a BatchNormalization layer and
// returns their names: x̂ and 1/√(σ² + ε), which backward reads, float64
// per-channel sums, and per-channel Float coefficients.
func (e *Emitter) bnBufs(n *ir.Node, c int) (xhat, istd, sum, coef string) {
	xhat, istd, sum, coef = n.Name+"_xhat", n.Name+"_istd", n.Name+"_sum", n.Name+"_coef"
	if e.Train {
		e.Use(xhat, e.Batch*n.Size(), "x̂ of layer "+n.Name+": its input normalized by the batch statistics, kept for backward")
		e.Use(istd, c, "1/√(batch variance + ε) of layer "+n.Name+", kept for backward")
		e.UseTyped(sum, 2*c, "float64", "per-channel sums of layer "+n.Name+": Σx and Σ(x − μ)² forward, Σdy and Σdy·x̂ backward")
	}
	e.Use(coef, 2*c, "per-channel coefficients of layer "+n.Name+": the batch mean forward, scale and shift at inference, Σdy/N and Σdy·x̂/N backward")
	return
}

// bnView is (*[size]typ)(m.name[off:off+size]).
func bnView(name, typ string, off, size int) *Statement {
	return Parens(Op("*").Index(Lit(size)).Id(typ)).Call(field(name).Index(Lit(off).Op(":").Lit(off + size)))
}

// bnRows is `for r := 0; r < rows; r++ { body }`.
func bnRows(rows int, body ...Code) *Statement {
	return For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(rows), Id("r").Op("++")).Block(body...)
}

// bnShort is v with the rounding noise of its computation dropped
// (1 − 0.99 is 0.010000000000000009), so that literals read as the spec's.
func bnShort(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	return f
}

func bnForward(e *Emitter, n *ir.Node) {
	rows, c := e.rows(n)
	scale, center := n.Bool("scale"), n.Bool("center")
	eps := n.Float("epsilon")
	xhat, istd, sum, coef := e.bnBufs(n, c)
	decl := []Code{
		Id("x").Op(":=").Add(e.Out(n.Inputs[0])),
		Id("out").Op(":=").Add(e.Out(n)),
	}
	if scale {
		g, _ := e.Param(n, "weight")
		decl = append(decl, Id("gamma").Op(":=").Add(g))
	}
	if center {
		b, _ := e.Param(n, "bias")
		decl = append(decl, Id("beta").Op(":=").Add(b))
	}
	rm, _ := e.Param(n, "running_mean")
	rv, _ := e.Param(n, "running_var")
	decl = append(decl, Id("rmean").Op(":=").Add(rm), Id("rvar").Op(":=").Add(rv))
	// affine is γ·h + β as far as the layer has them.
	affine := func(j, h Code) *Statement {
		s := Add(h)
		if scale {
			s = Id("gamma").Index(j).Op("*").Add(h)
		}
		if center {
			s = s.Op("+").Id("beta").Index(j)
		}
		return s
	}
	if !e.Train {
		s := func(j Code) *Statement {
			s := Id("Float").Call(Lit(1).Op("/").Qual(mathPkg, "Sqrt").Call(Float64().Call(Id("rvar").Index(j)).Op("+").Lit(eps)))
			if scale {
				s = s.Op("*").Id("gamma").Index(j)
			}
			return s
		}
		shift := func(j Code) *Statement {
			if center {
				return Id("beta").Index(j).Op("-").Id("rmean").Index(j).Op("*").Id("s")
			}
			return Op("-").Id("rmean").Index(j).Op("*").Id("s")
		}
		e.Block(append(decl,
			Comment("Inference: the moving statistics, γ and β folded into a scale and a shift per channel."),
			Id("scale").Op(":=").Add(bnView(coef, "Float", 0, c)),
			Id("shift").Op(":=").Add(bnView(coef, "Float", c, c)),
			e.For("j", c, func(j Code) []Code {
				return []Code{
					Id("s").Op(":=").Add(s(j)),
					Id("scale").Index(j).Op("=").Id("s"),
					Id("shift").Index(j).Op("=").Add(shift(j)),
				}
			}),
			bnRows(rows,
				Id("xr").Op(":=").Add(rowOf(Id("x"), c)),
				Id("or").Op(":=").Add(rowOf(Id("out"), c)),
				e.For("j", c, func(j Code) []Code {
					return []Code{Id("or").Index(j).Op("=").Id("xr").Index(j).Op("*").Id("scale").Index(j).Op("+").Id("shift").Index(j)}
				}),
			),
		)...)
		return
	}
	mom := n.Float("momentum")
	e.Block(append(decl,
		Id("xhat").Op(":=").Add(field(xhat)).Index(Op(":")),
		Id("istd").Op(":=").Add(e.Arr(istd)),
		Id("mean").Op(":=").Add(bnView(coef, "Float", 0, c)),
		Id("s1").Op(":=").Add(bnView(sum, "float64", 0, c)),
		Id("s2").Op(":=").Add(bnView(sum, "float64", c, c)),
		Op("*").Id("s1").Op(",").Op("*").Id("s2").Op("=").Index(Lit(c)).Float64().Values().Op(",").Index(Lit(c)).Float64().Values(),
		Comment("The batch mean, then the biased batch variance around it."),
		bnRows(rows,
			Id("xr").Op(":=").Add(rowOf(Id("x"), c)),
			e.For("j", c, func(j Code) []Code {
				return []Code{Id("s1").Index(j).Op("+=").Float64().Call(Id("xr").Index(j))}
			}),
		),
		e.For("j", c, func(j Code) []Code {
			return []Code{Id("mean").Index(j).Op("=").Id("Float").Call(Id("s1").Index(j).Op("/").Lit(rows))}
		}),
		bnRows(rows,
			Id("xr").Op(":=").Add(rowOf(Id("x"), c)),
			e.For("j", c, func(j Code) []Code {
				return []Code{
					Id("d").Op(":=").Float64().Call(Id("xr").Index(j).Op("-").Id("mean").Index(j)),
					Id("s2").Index(j).Op("+=").Id("d").Op("*").Id("d"),
				}
			}),
		),
		Comment("Keras's update of the moving statistics: moving·momentum + batch·(1 − momentum)."),
		e.For("j", c, func(j Code) []Code {
			return []Code{
				Id("v").Op(":=").Id("s2").Index(j).Op("/").Lit(rows),
				Id("istd").Index(j).Op("=").Id("Float").Call(Lit(1).Op("/").Qual(mathPkg, "Sqrt").Call(Id("v").Op("+").Lit(eps))),
				Id("rmean").Index(j).Op("=").Id("rmean").Index(j).Op("*").Add(e.Lit(mom)).Op("+").Id("mean").Index(j).Op("*").Add(e.Lit(bnShort(1 - mom))),
				Id("rvar").Index(j).Op("=").Id("rvar").Index(j).Op("*").Add(e.Lit(mom)).Op("+").Id("Float").Call(Id("v")).Op("*").Add(e.Lit(bnShort(1 - mom))),
			}
		}),
		bnRows(rows,
			Id("xr").Op(":=").Add(rowOf(Id("x"), c)),
			Id("hr").Op(":=").Add(rowOf(Id("xhat"), c)),
			Id("or").Op(":=").Add(rowOf(Id("out"), c)),
			e.For("j", c, func(j Code) []Code {
				return []Code{
					Id("h").Op(":=").Parens(Id("xr").Index(j).Op("-").Id("mean").Index(j)).Op("*").Id("istd").Index(j),
					Id("hr").Index(j).Op("=").Id("h"),
					Id("or").Index(j).Op("=").Add(affine(j, Id("h"))),
				}
			}),
		),
	)...)
}

func bnBackward(e *Emitter, n *ir.Node) {
	rows, c := e.rows(n)
	scale, center := n.Bool("scale"), n.Bool("center")
	xhat, istd, sum, coef := e.bnBufs(n, c)
	code := []Code{
		Id("d").Op(":=").Add(e.Grad(n)),
		Id("xhat").Op(":=").Add(field(xhat)).Index(Op(":")),
		Id("s1").Op(":=").Add(bnView(sum, "float64", 0, c)),
		Id("s2").Op(":=").Add(bnView(sum, "float64", c, c)),
		Op("*").Id("s1").Op(",").Op("*").Id("s2").Op("=").Index(Lit(c)).Float64().Values().Op(",").Index(Lit(c)).Float64().Values(),
		bnRows(rows,
			Id("dr").Op(":=").Add(rowOf(Id("d"), c)),
			Id("hr").Op(":=").Add(rowOf(Id("xhat"), c)),
			e.For("j", c, func(j Code) []Code {
				return []Code{
					Id("s1").Index(j).Op("+=").Float64().Call(Id("dr").Index(j)),
					Id("s2").Index(j).Op("+=").Float64().Call(Id("dr").Index(j).Op("*").Id("hr").Index(j)),
				}
			}),
		),
	}
	if scale {
		dg, _ := e.ParamGrad(n, "weight")
		code = append(code, Comment("dγ = Σdy·x̂"), Block(
			Id("dg").Op(":=").Add(dg),
			e.For("j", c, func(j Code) []Code {
				return []Code{Id("dg").Index(j).Op("=").Id("Float").Call(Id("s2").Index(j))}
			}),
		))
	}
	if center {
		db, _ := e.ParamGrad(n, "bias")
		code = append(code, Comment("dβ = Σdy"), Block(
			Id("db").Op(":=").Add(db),
			e.For("j", c, func(j Code) []Code {
				return []Code{Id("db").Index(j).Op("=").Id("Float").Call(Id("s1").Index(j))}
			}),
		))
	}
	if dx, acc, ok := e.GradIn(n, 0); ok {
		op := "="
		if acc {
			op = "+="
		}
		code = append(code, Comment("dx = γ·istd·(dy − Σdy/N − x̂·Σdy·x̂/N)"))
		k := func(j Code) *Statement { return Id("istd").Index(j) }
		if scale {
			g, _ := e.Param(n, "weight")
			code = append(code, Id("gamma").Op(":=").Add(g))
			k = func(j Code) *Statement { return Id("gamma").Index(j).Op("*").Id("istd").Index(j) }
		}
		code = append(code,
			Id("istd").Op(":=").Add(e.Arr(istd)),
			Id("a").Op(":=").Add(bnView(coef, "Float", 0, c)),
			Id("b").Op(":=").Add(bnView(coef, "Float", c, c)),
			e.For("j", c, func(j Code) []Code {
				return []Code{
					Id("a").Index(j).Op("=").Id("Float").Call(Id("s1").Index(j).Op("/").Lit(rows)),
					Id("b").Index(j).Op("=").Id("Float").Call(Id("s2").Index(j).Op("/").Lit(rows)),
				}
			}),
			Id("dx").Op(":=").Parens(dx).Index(Op(":")),
			bnRows(rows,
				Id("dr").Op(":=").Add(rowOf(Id("d"), c)),
				Id("hr").Op(":=").Add(rowOf(Id("xhat"), c)),
				Id("gr").Op(":=").Add(rowOf(Id("dx"), c)),
				e.For("j", c, func(j Code) []Code {
					return []Code{Id("gr").Index(j).Op(op).Add(k(j)).Op("*").Parens(
						Id("dr").Index(j).Op("-").Id("a").Index(j).Op("-").Id("hr").Index(j).Op("*").Id("b").Index(j))}
				}),
			),
		)
	}
	e.Block(code...)
}
