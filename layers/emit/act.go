package emit

import (
	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// Activation is the code of an activation function of the layers
// registry: its forward and backward code for one element (s[i] holds the
// output, v its input; d[i] the gradient).
type Activation struct {
	// Fwd returns the statements that turn s[i] = v into s[i] = f(v).
	Fwd func(e *Emitter) []Code
	// Bwd returns the statements that turn d[i] = ∂L/∂f into ∂L/∂v given
	// the output s[i].
	Bwd func(e *Emitter) []Code
	// Slice, when set, is the runtime/fastmath function that applies the
	// activation in place to a whole slice (vectorized for float32), used
	// instead of Fwd.
	Slice string
}

var (
	s_i = func() *Statement { return Id("s").Index(Id("i")) }
	d_i = func() *Statement { return Id("d").Index(Id("i")) }
)

// LeakyAlpha is the negative slope of leaky_relu (Keras's activation default).
const LeakyAlpha = 0.2

func exp(x Code) *Statement {
	return Id("Float").Call(Qual(mathPkg, "Exp").Call(Id("float64").Call(x)))
}

var activations = map[string]*Activation{
	"linear": {},
	"relu": {
		// A select on the sign bit compiles to a conditional move; a
		// branch mispredicts and Go's max handles NaN and -0 at length.
		Fwd: func(e *Emitter) []Code {
			bits, from, signed := "Float32bits", "Float32frombits", "int32"
			if e.Model.DType == "float64" {
				bits, from, signed = "Float64bits", "Float64frombits", "int64"
			}
			return []Code{
				Id("u").Op(":=").Qual(mathPkg, bits).Call(Id("v")),
				If(Id(signed).Call(Id("u")).Op("<").Lit(0)).Block(Id("u").Op("=").Lit(0)),
				s_i().Op("=").Qual(mathPkg, from).Call(Id("u")),
			}
		},
		// The output is +0 exactly where the input was not positive, so
		// the derivative is a select on the output's bits, which compiles
		// to a conditional move: a branch here mispredicts on real data.
		Bwd: func(e *Emitter) []Code {
			bits, from := "Float32bits", "Float32frombits"
			if e.Model.DType == "float64" {
				bits, from = "Float64bits", "Float64frombits"
			}
			return []Code{
				Id("u").Op(":=").Qual(mathPkg, bits).Call(d_i()),
				If(Qual(mathPkg, bits).Call(s_i()).Op("==").Lit(0)).Block(Id("u").Op("=").Lit(0)),
				d_i().Op("=").Qual(mathPkg, from).Call(Id("u")),
			}
		},
	},
	"leaky_relu": {
		Fwd: func(e *Emitter) []Code {
			return []Code{If(Id("v").Op("<").Lit(0)).Block(s_i().Op("=").Id("v").Op("*").Add(e.Lit(LeakyAlpha)))}
		},
		Bwd: func(e *Emitter) []Code {
			return []Code{If(s_i().Op("<=").Lit(0)).Block(d_i().Op("*=").Add(e.Lit(LeakyAlpha)))}
		},
	},
	"sigmoid": {
		// e^x in float32 to within 2 ulp, vectorized: the relative error
		// stays small for tiny outputs, whose log a cross-entropy takes.
		Slice: "LogisticSlice",
		Bwd: func(e *Emitter) []Code {
			return []Code{d_i().Op("*=").Add(s_i()).Op("*").Parens(Lit(1).Op("-").Add(s_i()))}
		},
	},
	"tanh": {
		Fwd: func(e *Emitter) []Code {
			return []Code{s_i().Op("=").Id("Float").Call(Qual(mathPkg, "Tanh").Call(Id("float64").Call(Id("v"))))}
		},
		Bwd: func(e *Emitter) []Code {
			return []Code{d_i().Op("*=").Lit(1).Op("-").Add(s_i()).Op("*").Add(s_i())}
		},
	},
	"softmax": {}, // row-wise: emitted by softmax and softmaxBackward
	"elu": {
		Fwd: func(e *Emitter) []Code {
			return []Code{If(Id("v").Op("<").Lit(0)).Block(s_i().Op("=").Id("Float").Call(mathf("Expm1", f64(Id("v")))))}
		},
		// s < 0 exactly where the input is negative: f' = e^x = s + 1.
		Bwd: func(e *Emitter) []Code {
			return []Code{If(s_i().Op("<").Lit(0)).Block(d_i().Op("*=").Add(s_i()).Op("+").Lit(1))}
		},
	},
	"selu": {
		Fwd: func(e *Emitter) []Code {
			return []Code{If(Id("v").Op(">").Lit(0)).Block(s_i().Op("=").Id("v").Op("*").Add(e.Lit(layers.SeluScale))).Else().Block(
				s_i().Op("=").Id("Float").Call(Lit(layers.SeluScale * layers.SeluAlpha).Op("*").Add(mathf("Expm1", f64(Id("v"))))))}
		},
		// f' = λ for s > 0, else λ·α·e^x = s + λ·α.
		Bwd: func(e *Emitter) []Code {
			return []Code{If(s_i().Op(">").Lit(0)).Block(d_i().Op("*=").Add(e.Lit(layers.SeluScale))).Else().Block(
				d_i().Op("*=").Add(s_i()).Op("+").Add(e.Lit(layers.SeluScale * layers.SeluAlpha)))}
		},
	},
	"softplus": {
		// max(x, 0) + log(1 + e^−|x|), which overflows nowhere.
		Fwd: func(e *Emitter) []Code {
			return []Code{
				Id("x").Op(":=").Add(f64(Id("v"))),
				s_i().Op("=").Id("Float").Call(Id("max").Call(Id("x"), Lit(0.0)).Op("+").Add(mathf("Log1p", mathf("Exp", Op("-").Add(mathf("Abs", Id("x"))))))),
			}
		},
		// f' = sigmoid(x) = 1 − e^−s.
		Bwd: func(e *Emitter) []Code {
			return []Code{d_i().Op("*=").Id("Float").Call(Op("-").Add(mathf("Expm1", Op("-").Add(f64(s_i())))))}
		},
	},
	"softsign": {
		Fwd: func(e *Emitter) []Code {
			return []Code{s_i().Op("=").Id("v").Op("/").Parens(Lit(1).Op("+").Id("Float").Call(mathf("Abs", f64(Id("v")))))}
		},
		// f' = 1/(1 + |x|)² = (1 − |s|)².
		Bwd: func(e *Emitter) []Code {
			return []Code{
				Id("u").Op(":=").Lit(1).Op("-").Id("Float").Call(mathf("Abs", f64(s_i()))),
				d_i().Op("*=").Id("u").Op("*").Id("u"),
			}
		},
	},
	"hard_sigmoid": {
		Fwd: func(e *Emitter) []Code {
			return []Code{s_i().Op("=").Id("min").Call(Id("max").Call(Id("v").Op("/").Lit(6).Op("+").Add(e.Lit(0.5)), Lit(0)), Lit(1))}
		},
		// f' = 1/6 inside the ramp (0 < s < 1), else 0.
		Bwd: func(e *Emitter) []Code {
			return []Code{If(s_i().Op(">").Lit(0).Op("&&").Add(s_i()).Op("<").Lit(1)).Block(d_i().Op("/=").Lit(6)).Else().Block(d_i().Op("=").Lit(0))}
		},
	},
	"exponential": {
		Fwd: func(e *Emitter) []Code { return []Code{s_i().Op("=").Add(exp(Id("v")))} },
		Bwd: func(e *Emitter) []Code { return []Code{d_i().Op("*=").Add(s_i())} },
	},
	"gelu": {
		Fwd: func(e *Emitter) []Code {
			return []Code{
				Id("x").Op(":=").Add(f64(Id("v"))),
				s_i().Op("=").Id("Float").Call(Lit(0.5).Op("*").Id("x").Op("*").Parens(Lit(1).Op("+").Add(mathf("Erf", Id("x").Op("*").Lit(gsqrt1_2))))),
			}
		},
		// f' = Φ(x) + x·φ(x), from the kept input x.
		Bwd: func(e *Emitter) []Code {
			return []Code{
				Id("x").Op(":=").Add(f64(x_i())),
				d_i().Op("*=").Id("Float").Call(Lit(0.5).Op("*").Parens(Lit(1).Op("+").Add(mathf("Erf", Id("x").Op("*").Lit(gsqrt1_2)))).Op("+").
					Id("x").Op("*").Add(mathf("Exp", Lit(-0.5).Op("*").Id("x").Op("*").Id("x"))).Op("*").Lit(invSqrt2Pi)),
			}
		},
	},
	"gelu_tanh": {
		Fwd: func(e *Emitter) []Code {
			return []Code{
				Id("x").Op(":=").Add(f64(Id("v"))),
				s_i().Op("=").Id("Float").Call(Lit(0.5).Op("*").Id("x").Op("*").Parens(Lit(1).Op("+").Add(mathf("Tanh", Lit(sqrt2OverPi).Op("*").Parens(Id("x").Op("+").Lit(geluCubic).Op("*").Id("x").Op("*").Id("x").Op("*").Id("x")))))),
			}
		},
		// f' = (1 + t)/2 + x/2·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²), from
		// the kept input x, t the tanh of the forward pass.
		Bwd: func(e *Emitter) []Code {
			return []Code{
				Id("x").Op(":=").Add(f64(x_i())),
				Id("t").Op(":=").Add(mathf("Tanh", Lit(sqrt2OverPi).Op("*").Parens(Id("x").Op("+").Lit(geluCubic).Op("*").Id("x").Op("*").Id("x").Op("*").Id("x")))),
				d_i().Op("*=").Id("Float").Call(Lit(0.5).Op("*").Parens(Lit(1).Op("+").Id("t")).Op("+").
					Lit(0.5).Op("*").Id("x").Op("*").Parens(Lit(1).Op("-").Id("t").Op("*").Id("t")).Op("*").Lit(sqrt2OverPi).Op("*").Parens(Lit(1).Op("+").Lit(3 * geluCubic).Op("*").Id("x").Op("*").Id("x"))),
			}
		},
	},
	"swish": swish,
	"silu":  swish,
}

// The constants of gelu's tanh form: √(2/π) and the cubic term's factor.
const (
	sqrt2OverPi = 0.797884560802865355879892119868763737
	geluCubic   = 0.044715
)

// invSqrt2Pi is 1/√(2π), the standard normal density at 0.
const invSqrt2Pi = 0.398942280401432677939946059934

var swish = &Activation{
	Fwd: func(e *Emitter) []Code {
		return []Code{
			Id("x").Op(":=").Add(f64(Id("v"))),
			s_i().Op("=").Id("Float").Call(Id("x").Op("/").Parens(Lit(1).Op("+").Add(mathf("Exp", Op("-").Id("x"))))),
		}
	},
	// f' = σ(x)·(1 + x·(1 − σ(x))), from the kept input x.
	Bwd: func(e *Emitter) []Code {
		return []Code{
			Id("x").Op(":=").Add(f64(x_i())),
			Id("sg").Op(":=").Lit(1).Op("/").Parens(Lit(1).Op("+").Add(mathf("Exp", Op("-").Id("x")))),
			d_i().Op("*=").Id("Float").Call(Id("sg").Op("*").Parens(Lit(1).Op("+").Id("x").Op("*").Parens(Lit(1).Op("-").Id("sg")))),
		}
	},
}

// mathf calls function f of package math.
func mathf(f string, args ...Code) *Statement { return Qual(mathPkg, f).Call(args...) }

// x_i is the kept input of an activation that needs it (layers.PreAct).
func x_i() *Statement { return Id("xs").Index(Id("i")) }

// preName is the buffer that keeps the input of n's activation.
func preName(n *ir.Node) string { return n.Name + "_pre" }

// Activate emits the activation act applied in place to node n's output.
func (e *Emitter) Activate(n *ir.Node, act string) {
	if Rowwise(act) {
		e.softmax(n)
		return
	}
	if layers.PreAct(act) && e.Train {
		e.Use(preName(n), e.Batch*n.Size(), "input of the activation of layer "+n.Name)
		e.Add(Copy(field(preName(n)).Index(Op(":")), e.Out(n)))
	}
	e.Add(e.ActivateOn(act, e.Out(n)))
}

// ActBackward emits the activation's derivative applied in place to the
// gradient of n's output, unless the loss fused it.
func (e *Emitter) ActBackward(n *ir.Node, act string) {
	a := activations[act]
	if n.Fused.IntoLoss || a.Bwd == nil && !Rowwise(act) {
		return
	}
	if Rowwise(act) {
		e.softmaxBackward(n)
		return
	}
	s := []Code{
		Id("s").Op(":=").Add(e.Out(n)),
		Id("d").Op(":=").Add(e.Grad(n)).Index(Op(":").Len(Id("s"))),
	}
	if layers.PreAct(act) {
		s = append(s, Id("xs").Op(":=").Add(field(preName(n))).Index(Op(":").Len(Id("s"))))
	}
	e.Block(append(s, For(Id("i").Op(":=").Range().Id("s")).Block(a.Bwd(e)...))...)
}

// rows returns the number of rows and the row length of n's output for a
// row-wise operation over its last axis.
func (e *Emitter) rows(n *ir.Node) (int, int) {
	c := n.Shape[len(n.Shape)-1]
	return e.Batch * n.Size() / c, c
}

func rowOf(buf Code, c int) *Statement {
	return buf.(*Statement).Clone().Index(Id("r").Op("*").Lit(c).Op(":")).Index(Op(":").Lit(c))
}

func (e *Emitter) softmax(n *ir.Node) {
	rows, c := e.rows(n)
	e.Add(For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(rows), Id("r").Op("++")).Block(
		Id("row").Op(":=").Add(rowOf(e.Out(n), c)),
		Id("mx").Op(":=").Id("row").Index(Lit(0)),
		e.For("j", c, func(j Code) []Code {
			return []Code{If(Id("row").Index(j).Op(">").Id("mx")).Block(Id("mx").Op("=").Id("row").Index(j))}
		}),
		Var().Id("sum").Id("Float"),
		e.For("j", c, func(j Code) []Code {
			return []Code{
				Id("row").Index(j).Op("=").Add(exp(Id("row").Index(j).Op("-").Id("mx"))),
				Id("sum").Op("+=").Id("row").Index(j),
			}
		}),
		Id("inv").Op(":=").Lit(1).Op("/").Id("sum"),
		e.For("j", c, func(j Code) []Code {
			return []Code{Id("row").Index(j).Op("*=").Id("inv")}
		}),
	))
}

func (e *Emitter) softmaxBackward(n *ir.Node) {
	rows, c := e.rows(n)
	e.Add(For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(rows), Id("r").Op("++")).Block(
		Id("s").Op(":=").Add(rowOf(e.Out(n), c)),
		Id("d").Op(":=").Add(rowOf(e.Grad(n), c)),
		Var().Id("dot").Id("Float"),
		e.For("j", c, func(j Code) []Code {
			return []Code{Id("dot").Op("+=").Id("s").Index(j).Op("*").Id("d").Index(j)}
		}),
		e.For("j", c, func(j Code) []Code {
			return []Code{Id("d").Index(j).Op("=").Id("s").Index(j).Op("*").Parens(Id("d").Index(j).Op("-").Id("dot"))}
		}),
	))
}

// ActivateOn returns the element-wise activation act applied in place to
// the slice expression s, or nil for linear; act must not be row-wise.
func (e *Emitter) ActivateOn(act string, s Code) Code {
	a := activations[act]
	switch {
	case a.Slice != "":
		return Qual(fastmathPkg, a.Slice).Call(s)
	case a.Fwd == nil:
		return Null()
	}
	return Block(
		Id("s").Op(":=").Add(s),
		For(List(Id("i"), Id("v")).Op(":=").Range().Id("s")).Block(a.Fwd(e)...),
	)
}

// ActBackwardOn returns the derivative of act applied in place to the
// gradient slice d, given the outputs s; act must not be row-wise.
func (e *Emitter) ActBackwardOn(act string, s, d Code) Code {
	a := activations[act]
	if a.Bwd == nil {
		return Null()
	}
	return Block(
		Id("s").Op(":=").Add(s),
		Id("d").Op(":=").Add(d).Index(Op(":").Len(Id("s"))),
		For(Id("i").Op(":=").Range().Id("s")).Block(a.Bwd(e)...),
	)
}

// gsqrt1_2 is 1/√2.
const gsqrt1_2 = 0.707106781186547524400844362104849
