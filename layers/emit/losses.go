package emit

import (
	. "github.com/dave/jennifer/jen"
)

// Keras's other losses. Most are a mean over the last axis of a function
// of each output p and target t: elementwise builds their row code from
// the statements that set l (the value) and g (∂l/∂p) in float64 from pv
// and tv.

// elementwise returns a Row of the mean (or with sum, the sum) over the
// row of l(pv, tv).
func elementwise(sum bool, f func(e *Emitter) []Code) *Loss {
	return &Loss{Row: func(e *Emitter, c int, fused, grad bool, scale float64) []Code {
		div := float64(c)
		if sum {
			div = 1
		}
		return []Code{e.For("j", c, func(j Code) []Code {
			s := append([]Code{
				Id("pv").Op(":=").Add(f64(p_j(j))),
				Id("tv").Op(":=").Add(f64(t_j(j))),
				Var().List(Id("l"), Id("g")).Float64(),
			}, f(e)...)
			s = append(s, Id("sum").Op("+=").Id("l").Op("/").Lit(div))
			if grad {
				s = append(s, d_j(j).Op("=").Id("Float").Call(Id("g").Op("*").Lit(scale/div)))
			} else {
				s = append(s, Id("_").Op("=").Id("g"))
			}
			return s
		})}
	}}
}

func set(l, g Code) []Code {
	return []Code{Id("l").Op("=").Add(l), Id("g").Op("=").Add(g)}
}

// sign is ±1 by the sign of float64 x.
func sign(x string) *Statement { return mathf("Copysign", Lit(1.0), Id(x)) }

func init() {
	losses["mae"] = elementwise(false, func(e *Emitter) []Code {
		return append([]Code{Id("x").Op(":=").Id("pv").Op("-").Id("tv")}, set(mathf("Abs", Id("x")), sign("x"))...)
	})
	losses["mape"] = elementwise(false, func(e *Emitter) []Code {
		return append([]Code{
			Id("x").Op(":=").Id("pv").Op("-").Id("tv"),
			Id("den").Op(":=").Id("max").Call(mathf("Abs", Id("tv")), Lit(Eps)),
		}, set(Lit(100).Op("*").Add(mathf("Abs", Id("x"))).Op("/").Id("den"), Lit(100).Op("*").Add(sign("x")).Op("/").Id("den"))...)
	})
	losses["msle"] = elementwise(false, func(e *Emitter) []Code {
		return []Code{
			Id("q").Op(":=").Id("max").Call(Id("pv"), Lit(Eps)),
			Id("x").Op(":=").Add(mathf("Log", Id("q").Op("+").Lit(1))).Op("-").Add(mathf("Log", Id("max").Call(Id("tv"), Lit(Eps)).Op("+").Lit(1))),
			Id("l").Op("=").Id("x").Op("*").Id("x"),
			If(Id("pv").Op(">").Lit(Eps)).Block(Id("g").Op("=").Lit(2).Op("*").Id("x").Op("/").Parens(Id("q").Op("+").Lit(1))),
		}
	})
	hingeT := []Code{If(Id("tv").Op("==").Lit(0)).Block(Id("tv").Op("=").Lit(-1)), Id("mg").Op(":=").Id("max").Call(Lit(1).Op("-").Id("tv").Op("*").Id("pv"), Lit(0.0))}
	losses["hinge"] = elementwise(false, func(e *Emitter) []Code {
		return append(hingeT, Id("l").Op("=").Id("mg"), If(Id("mg").Op(">").Lit(0)).Block(Id("g").Op("=").Op("-").Id("tv")))
	})
	losses["squared_hinge"] = elementwise(false, func(e *Emitter) []Code {
		return append(hingeT, set(Id("mg").Op("*").Id("mg"), Lit(-2).Op("*").Id("tv").Op("*").Id("mg"))...)
	})
	losses["poisson"] = elementwise(false, func(e *Emitter) []Code {
		return set(Id("pv").Op("-").Id("tv").Op("*").Add(mathf("Log", Id("pv").Op("+").Lit(Eps))), Lit(1).Op("-").Id("tv").Op("/").Parens(Id("pv").Op("+").Lit(Eps)))
	})
	// log cosh x = x + softplus(−2x) − log 2, which overflows nowhere.
	losses["log_cosh"] = elementwise(false, func(e *Emitter) []Code {
		return append([]Code{Id("x").Op(":=").Id("pv").Op("-").Id("tv")},
			set(Id("x").Op("+").Id("max").Call(Lit(-2).Op("*").Id("x"), Lit(0.0)).Op("+").Add(mathf("Log1p", mathf("Exp", Lit(-2).Op("*").Add(mathf("Abs", Id("x")))))).Op("-").Qual(mathPkg, "Ln2"),
				mathf("Tanh", Id("x")))...)
	})
	losses["huber"] = &Loss{Row: func(e *Emitter, c int, fused, grad bool, scale float64) []Code {
		delta := e.Model.Loss.Float("delta")
		return elementwise(false, func(e *Emitter) []Code {
			return []Code{
				Id("x").Op(":=").Id("pv").Op("-").Id("tv"),
				If(mathf("Abs", Id("x")).Op("<=").Lit(delta)).Block(set(Lit(0.5).Op("*").Id("x").Op("*").Id("x"), Id("x"))...).
					Else().Block(set(Lit(delta).Op("*").Add(mathf("Abs", Id("x"))).Op("-").Lit(0.5*delta*delta), Lit(delta).Op("*").Add(sign("x")))...),
			}
		}).Row(e, c, fused, grad, scale)
	}}
	losses["kl_divergence"] = elementwise(true, func(e *Emitter) []Code {
		return []Code{
			Id("tc").Op(":=").Id("min").Call(Id("max").Call(Id("tv"), Lit(Eps)), Lit(1.0)),
			Id("pc").Op(":=").Id("min").Call(Id("max").Call(Id("pv"), Lit(Eps)), Lit(1.0)),
			Id("l").Op("=").Id("tc").Op("*").Add(mathf("Log", Id("tc").Op("/").Id("pc"))),
			If(Id("pv").Op(">").Lit(Eps).Op("&&").Id("pv").Op("<").Lit(1)).Block(Id("g").Op("=").Op("-").Id("tc").Op("/").Id("pc")),
		}
	})
	losses["binary_focal_crossentropy"] = &Loss{Row: focalRow}
	losses["categorical_hinge"] = &Loss{Row: func(e *Emitter, c int, fused, grad bool, scale float64) []Code {
		s := []Code{
			Var().Id("pos").Float64(),
			Id("neg").Op(":=").Qual(mathPkg, "Inf").Call(Lit(-1)),
			Id("k").Op(":=").Lit(0),
			e.For("j", c, func(j Code) []Code {
				return []Code{
					Id("pos").Op("+=").Add(f64(t_j(j).Op("*").Add(p_j(j)))),
					If(Id("v").Op(":=").Add(f64(Parens(Lit(1).Op("-").Add(t_j(j))).Op("*").Add(p_j(j)))), Id("v").Op(">").Id("neg")).Block(
						List(Id("neg"), Id("k")).Op("=").List(Id("v"), j)),
				}
			}),
			Id("l").Op(":=").Id("max").Call(Id("neg").Op("-").Id("pos").Op("+").Lit(1), Lit(0.0)),
			Id("sum").Op("+=").Id("l"),
		}
		if grad {
			s = append(s,
				e.For("j", c, func(j Code) []Code {
					return []Code{d_j(j).Op("=").Lit(0)}
				}),
				If(Id("l").Op(">").Lit(0)).Block(
					e.For("j", c, func(j Code) []Code {
						return []Code{d_j(j).Op("=").Op("-").Add(t_j(j)).Op("*").Add(e.Lit(scale))}
					}),
					d_j(Id("k")).Op("+=").Parens(Lit(1).Op("-").Add(t_j(Id("k")))).Op("*").Add(e.Lit(scale)),
				))
		} else {
			s = append(s, Id("_").Op("=").Id("k"))
		}
		return s
	}}
	// −t̂·p/|p| with t̂ = t/|t|, the norms at least 1e-6.
	losses["cosine_similarity"] = &Loss{Row: func(e *Emitter, c int, fused, grad bool, scale float64) []Code {
		s := []Code{
			Var().List(Id("sp"), Id("st"), Id("dot")).Float64(),
			e.For("j", c, func(j Code) []Code {
				return []Code{
					Id("sp").Op("+=").Add(f64(p_j(j))).Op("*").Add(f64(p_j(j))),
					Id("st").Op("+=").Add(f64(t_j(j))).Op("*").Add(f64(t_j(j))),
					Id("dot").Op("+=").Add(f64(p_j(j))).Op("*").Add(f64(t_j(j))),
				}
			}),
			Id("np").Op(":=").Qual(mathPkg, "Sqrt").Call(Id("max").Call(Id("sp"), Lit(1e-12))),
			Id("nt").Op(":=").Qual(mathPkg, "Sqrt").Call(Id("max").Call(Id("st"), Lit(1e-12))),
			Id("sum").Op("-=").Id("dot").Op("/").Parens(Id("np").Op("*").Id("nt")),
		}
		if grad {
			// ∂/∂p_j = −(t_j/nt)/np + dot/nt·p_j/np³ where |p|² > 1e-12.
			s = append(s,
				Id("k").Op(":=").Lit(0.0),
				If(Id("sp").Op(">").Lit(1e-12)).Block(Id("k").Op("=").Id("dot").Op("/").Parens(Id("nt").Op("*").Id("np").Op("*").Id("np").Op("*").Id("np"))),
				e.For("j", c, func(j Code) []Code {
					return []Code{d_j(j).Op("=").Id("Float").Call(Parens(Op("-").Add(f64(t_j(j))).Op("/").Parens(Id("nt").Op("*").Id("np")).Op("+").Id("k").Op("*").Add(f64(p_j(j)))).Op("*").Lit(scale))}
				}))
		}
		return s
	}}
}

// focalRow is Keras's binary focal cross-entropy, element by element: bce
// (clipped, or from logits) times (1 − p_t)^γ, p_t = t·p + (1 − t)·(1 − p),
// and with class balancing t·α + (1 − t)·(1 − α).
func focalRow(e *Emitter, c int, fused, grad bool, scale float64) []Code {
	o := e.Model.Loss
	gamma, alpha := o.Float("gamma"), o.Float("alpha")
	logits, balance := o.Bool("from_logits"), o.Bool("apply_class_balancing")
	return elementwise(false, func(e *Emitter) []Code {
		var s []Code
		if logits {
			// z = pv; p = σ(z); bce = max(z, 0) − z·t + log(1 + e^−|z|);
			// ∂bce/∂z = p − t; ∂p/∂z = p·(1 − p).
			s = append(s,
				Id("z").Op(":=").Id("pv"),
				Id("q").Op(":=").Lit(1).Op("/").Parens(Lit(1).Op("+").Add(mathf("Exp", Op("-").Id("z")))),
				Id("bce").Op(":=").Id("max").Call(Id("z"), Lit(0.0)).Op("-").Id("z").Op("*").Id("tv").Op("+").Add(mathf("Log1p", mathf("Exp", Op("-").Add(mathf("Abs", Id("z")))))),
				Id("dbce").Op(":=").Id("q").Op("-").Id("tv"),
				Id("dq").Op(":=").Id("q").Op("*").Parens(Lit(1).Op("-").Id("q")),
			)
		} else {
			s = append(s,
				Id("q").Op(":=").Id("pv"),
				Id("qc").Op(":=").Add(clip(Id("pv"))),
				Id("bce").Op(":=").Op("-").Parens(Id("tv").Op("*").Add(mathf("Log", Id("qc"))).Op("+").Parens(Lit(1).Op("-").Id("tv")).Op("*").Add(mathf("Log", Lit(1).Op("-").Id("qc")))),
				Id("dbce").Op(":=").Lit(0.0),
				If(Id("pv").Op(">").Lit(Eps).Op("&&").Id("pv").Op("<").Lit(1-Eps)).Block(
					Id("dbce").Op("=").Parens(Id("qc").Op("-").Id("tv")).Op("/").Parens(Id("qc").Op("*").Parens(Lit(1).Op("-").Id("qc")))),
				Id("dq").Op(":=").Lit(1.0),
			)
		}
		// w = (1 − p_t)^γ, ∂w/∂p = −γ·(1 − p_t)^(γ−1)·(2t − 1).
		s = append(s,
			Id("u").Op(":=").Lit(1).Op("-").Parens(Id("tv").Op("*").Id("q").Op("+").Parens(Lit(1).Op("-").Id("tv")).Op("*").Parens(Lit(1).Op("-").Id("q"))),
			Id("w").Op(":=").Qual(mathPkg, "Pow").Call(Id("u"), Lit(gamma)),
			Id("dw").Op(":=").Lit(0.0),
			If(Id("u").Op(">").Lit(0)).Block(Id("dw").Op("=").Op("-").Lit(gamma).Op("*").Qual(mathPkg, "Pow").Call(Id("u"), Lit(gamma-1)).Op("*").Parens(Lit(2).Op("*").Id("tv").Op("-").Lit(1))),
			Id("l").Op("=").Id("w").Op("*").Id("bce"),
			Id("g").Op("=").Id("dw").Op("*").Id("dq").Op("*").Id("bce").Op("+").Id("w").Op("*").Id("dbce"),
		)
		if balance {
			s = append(s,
				Id("cw").Op(":=").Id("tv").Op("*").Lit(alpha).Op("+").Parens(Lit(1).Op("-").Id("tv")).Op("*").Lit(1-alpha),
				Id("l").Op("*=").Id("cw"),
				Id("g").Op("*=").Id("cw"),
			)
		}
		return s
	}).Row(e, c, fused, grad, scale)
}

// cceLogits is the categorical cross-entropy of logits z: −Σ t·log_softmax(z),
// whose gradient is softmax(z)·Σt − t.
func cceLogits(e *Emitter, c int, fused, grad bool, scale float64) []Code {
	s := []Code{
		Id("mx").Op(":=").Add(f64(p_j(Lit(0)))),
		e.For("j", c, func(j Code) []Code { return []Code{Id("mx").Op("=").Id("max").Call(Id("mx"), f64(p_j(j)))} }),
		Var().List(Id("se"), Id("st")).Float64(),
		e.For("j", c, func(j Code) []Code {
			return []Code{Id("se").Op("+=").Add(mathf("Exp", f64(p_j(j)).Op("-").Id("mx"))), Id("st").Op("+=").Add(f64(t_j(j)))}
		}),
		Id("lse").Op(":=").Id("mx").Op("+").Add(mathf("Log", Id("se"))),
		e.For("j", c, func(j Code) []Code {
			s := []Code{Id("sum").Op("-=").Add(f64(t_j(j))).Op("*").Parens(f64(p_j(j)).Op("-").Id("lse"))}
			if grad {
				s = append(s, d_j(j).Op("=").Id("Float").Call(Parens(mathf("Exp", f64(p_j(j)).Op("-").Id("lse")).Op("*").Id("st").Op("-").Add(f64(t_j(j)))).Op("*").Lit(scale)))
			}
			return s
		}),
	}
	return s
}

// bceLogits is the binary cross-entropy of logits z: max(z, 0) − z·t +
// log(1 + e^−|z|), whose gradient is σ(z) − t.
func bceLogits(e *Emitter, c int, fused, grad bool, scale float64) []Code {
	return elementwise(false, func(e *Emitter) []Code {
		return set(Id("max").Call(Id("pv"), Lit(0.0)).Op("-").Id("pv").Op("*").Id("tv").Op("+").Add(mathf("Log1p", mathf("Exp", Op("-").Add(mathf("Abs", Id("pv")))))),
			Lit(1).Op("/").Parens(Lit(1).Op("+").Add(mathf("Exp", Op("-").Id("pv")))).Op("-").Id("tv"))
	}).Row(e, c, fused, grad, scale)
}
