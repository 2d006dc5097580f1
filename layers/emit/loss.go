package emit

import (
	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// Eps clips probabilities away from 0 and 1 in the cross-entropies, as
// Keras's backend epsilon does.
const Eps = 1e-7

// Loss is the code of a loss function of the layers registry. It runs once
// per row (sample) of the output: p is the output row, t the target row, d
// the gradient row (nil when only the value is wanted), and it adds the
// row's loss to sum.
type Loss struct {
	// Row emits the per-row code; scale multiplies the gradient (1/batch).
	Row func(e *Emitter, c int, fused bool, grad bool, scale float64) []Code
}

func p_j(j Code) *Statement { return Id("p").Index(j) }
func t_j(j Code) *Statement { return Id("t").Index(j) }
func d_j(j Code) *Statement { return Id("d").Index(j) }
func f64(x Code) *Statement { return Id("float64").Call(x) }

// clip is min(max(float64(x), Eps), 1-Eps).
func clip(x Code) *Statement {
	return Id("min").Call(Id("max").Call(f64(x), Lit(Eps)), Lit(1-Eps))
}

var losses = map[string]*Loss{
	"categorical_crossentropy": {
		Row: func(e *Emitter, c int, fused, grad bool, scale float64) []Code {
			return []Code{e.For("j", c, func(j Code) []Code {
				s := []Code{If(t_j(j).Op("!=").Lit(0)).Block(
					Id("sum").Op("-=").Add(f64(t_j(j))).Op("*").Qual(mathPkg, "Log").Call(clip(p_j(j))))}
				if grad && fused {
					s = append(s, d_j(j).Op("=").Parens(p_j(j).Op("-").Add(t_j(j))).Op("*").Add(e.Lit(scale)))
				} else if grad {
					s = append(s, d_j(j).Op("=").Op("-").Add(t_j(j)).Op("/").Id("Float").Call(clip(p_j(j))).Op("*").Add(e.Lit(scale)))
				}
				return s
			})}
		},
	},
	"binary_crossentropy": {
		Row: func(e *Emitter, c int, fused, grad bool, scale float64) []Code {
			scale /= float64(c)
			return []Code{e.For("j", c, func(j Code) []Code {
				s := []Code{
					Id("q").Op(":=").Add(clip(p_j(j))),
					Id("sum").Op("-=").Parens(f64(t_j(j)).Op("*").Qual(mathPkg, "Log").Call(Id("q")).Op("+").
						Parens(Lit(1).Op("-").Add(f64(t_j(j)))).Op("*").Qual(mathPkg, "Log").Call(Lit(1).Op("-").Id("q"))).Op("/").Lit(float64(c)),
				}
				if grad && fused {
					s = append(s, d_j(j).Op("=").Parens(p_j(j).Op("-").Add(t_j(j))).Op("*").Add(e.Lit(scale)))
				} else if grad {
					s = append(s, d_j(j).Op("=").Id("Float").Call(Parens(f64(p_j(j)).Op("-").Add(f64(t_j(j)))).Op("/").Parens(Id("q").Op("*").Parens(Lit(1).Op("-").Id("q")))).Op("*").Add(e.Lit(scale)))
				}
				return s
			})}
		},
	},
	"mse": {
		Row: func(e *Emitter, c int, fused, grad bool, scale float64) []Code {
			scale /= float64(c)
			return []Code{e.For("j", c, func(j Code) []Code {
				s := []Code{
					Id("diff").Op(":=").Add(p_j(j)).Op("-").Add(t_j(j)),
					Id("sum").Op("+=").Add(f64(Id("diff").Op("*").Id("diff"))).Op("/").Lit(float64(c)),
				}
				if grad {
					s = append(s, d_j(j).Op("=").Id("diff").Op("*").Add(e.Lit(2*scale)))
				}
				return s
			})}
		},
	},
}

// lookupLoss returns the code of the loss with the given name or alias.
func lookupLoss(name string) *Loss {
	if a, ok := layers.LossAliases[name]; ok {
		name = a
	}
	return losses[name]
}

// EmitLoss emits the body of the loss function over the first `rows` rows
// (an expression) of the output: it declares sum (float64) and correct
// (int), and with grad writes the gradient of the output scaled by 1/Batch.
func (e *Emitter) EmitLoss(rows Code, grad bool) {
	m := e.Model
	out := m.Output
	l := lookupLoss(m.Loss.Kind)
	c, perSample := layers.LossRows(m) // perSample > 1: sequences
	fused := grad && out.Fused.IntoLoss
	e.Add(
		Var().Id("sum").Float64(),
		Var().Id("correct").Int(),
		Id("out").Op(":=").Add(e.Out(out)),
		Id("y").Op(":=").Id("m").Dot("y"+e.Suffix).Index(Op(":")),
	)
	e.Use("y"+e.Suffix, e.Batch*out.Size(), "targets")
	if grad {
		e.Add(Id("g").Op(":=").Add(e.Grad(out)))
		e.MarkWritten(out)
	}
	body := []Code{
		Id("p").Op(":=").Add(rowOf(Id("out"), c)),
		Id("t").Op(":=").Add(rowOf(Id("y"), c)),
	}
	if grad {
		body = append(body, Id("d").Op(":=").Add(rowOf(Id("g"), c)))
	}
	weighted := grad && Weighted(m)
	if weighted {
		body = append(body, e.classOf(c)...)
	}
	// Keras's label_smoothing: the targets t·(1 − s) + s/c (s/2 binary).
	if ls := m.Loss.Float("label_smoothing"); ls != 0 {
		k := ls / float64(c)
		if m.Loss.Kind != "categorical_crossentropy" && m.Loss.Kind != "sparse_categorical_crossentropy" {
			k = ls / 2
		}
		body = append(body,
			Var().Id("ts").Index(Lit(c)).Id("Float"),
			For(Id("j").Op(":=").Range().Id("ts")).Block(Id("ts").Index(Id("j")).Op("=").Id("t").Index(Id("j")).Op("*").Add(e.Lit(1-ls)).Op("+").Add(e.Lit(k))),
			Id("t").Op("=").Id("ts").Index(Op(":")))
	}
	if m.Loss.Bool("from_logits") {
		switch l {
		case losses["categorical_crossentropy"]:
			l = &Loss{Row: cceLogits}
		case losses["binary_crossentropy"]:
			l = &Loss{Row: bceLogits}
		}
	}
	switch {
	case m.Loss.Terms != nil && l == losses["binary_crossentropy"]:
		body = append(body, e.bceRow(c, fused, grad, 1/float64(e.MeanBatch()))...)
	case m.Loss.Terms != nil: // summed over the sample: emitTerms multiplies by c
		body = append(body, l.Row(e, c, fused, grad, float64(c)/float64(e.MeanBatch()))...)
	default:
		row := l.Row(e, c, fused, grad, 1/float64(e.MeanBatch()*perSample))
		if weighted {
			row = e.weighRow(row)
		}
		body = append(body, row...)
		body = append(body, e.accuracy(c, m.Loss.Bool("from_logits"))...)
	}
	e.Add(For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Add(rows).Op("*").Lit(perSample), Id("r").Op("++")).Block(body...))
	if m.Loss.Terms != nil {
		e.emitTerms(rows, grad, c)
	}
}

// accuracy emits the per-row accuracy count: argmax agreement, or for a
// single output, agreement of the 0.5 thresholds (0 for a logit).
func (e *Emitter) accuracy(c int, logits bool) []Code {
	if c == 1 {
		th := 0.5
		if logits {
			th = 0
		}
		return []Code{If(Parens(p_j(Lit(0)).Op(">=").Lit(th)).Op("==").Parens(t_j(Lit(0)).Op(">=").Lit(0.5))).Block(Id("correct").Op("++"))}
	}
	return []Code{
		List(Id("pi"), Id("ti")).Op(":=").List(Lit(0), Lit(0)),
		e.For("j", c, func(j Code) []Code {
			return []Code{
				If(p_j(j).Op(">").Add(p_j(Id("pi")))).Block(Id("pi").Op("=").Add(j)),
				If(t_j(j).Op(">").Add(t_j(Id("ti")))).Block(Id("ti").Op("=").Add(j)),
			}
		}),
		If(Id("pi").Op("==").Id("ti")).Block(Id("correct").Op("++")),
	}
}

// Weighted reports whether the training loss of m weighs each sample by
// the weight of its class, m.classWeight (Keras's class_weight, from the
// spec or set at run time): m is a classifier of one label per sample.
func Weighted(m *ir.Model) bool {
	classes, rows := layers.Classes(m)
	return classes > 0 && rows == 1
}

// classOf declares cls, the class of the row's target t (its largest
// value; for one output, whether it is at least ½), and clsW, its weight.
func (e *Emitter) classOf(c int) []Code {
	s := []Code{Id("cls").Op(":=").Lit(0)}
	if c == 1 {
		s = append(s, If(t_j(Lit(0)).Op(">=").Lit(0.5)).Block(Id("cls").Op("=").Lit(1)))
	} else {
		s = append(s, e.For("j", c, func(j Code) []Code {
			return []Code{If(t_j(j).Op(">").Add(t_j(Id("cls")))).Block(Id("cls").Op("=").Add(j))}
		}))
	}
	return append(s, Id("clsW").Op(":=").Id("m").Dot("classWeight").Index(Id("cls")))
}

// weighRow multiplies the loss and the gradient that the row's code adds
// and writes by clsW: Keras's class_weight, the batch's loss the sum of
// the weighted losses over the batch size. A weight of 1 changes no bit.
func (e *Emitter) weighRow(row []Code) []Code {
	return append(append([]Code{Id("sum0").Op(":=").Id("sum")}, row...),
		If(Id("clsW").Op("!=").Lit(1)).Block(
			Id("sum").Op("=").Id("sum0").Op("+").Parens(Id("sum").Op("-").Id("sum0")).Op("*").Id("clsW"),
			For(Id("j").Op(":=").Range().Id("d")).Block(Id("d").Index(Id("j")).Op("*=").Id("Float").Call(Id("clsW")))))
}
