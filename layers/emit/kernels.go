package emit

import (
	"fmt"

	. "github.com/dave/jennifer/jen"
)

// strides returns the element strides of A(m,k) and B(n,k) for a layout.
func (g GEMM) strides() (ams, aks, bns, bks int) {
	switch g.Layout {
	case NT:
		return g.K, 1, g.K, 1
	case NN:
		return g.K, 1, 1, g.N
	case TN:
		return 1, g.M, 1, g.N
	}
	panic("layers: unknown layout " + string(g.Layout))
}

// Tile returns the register block of the pure-Go kernel: rows of C by
// columns of C. Each block keeps MR·NR accumulators in registers (8 of the
// 15 the Go compiler can use), loading MR values of A and NR of B per step.
// Products with fewer rows than the block (batch-1 inference) use one row
// and eight columns instead.
func (g GEMM) Tile() (mr, nr int) {
	mr, nr = 2, 4
	if g.Layout == NT {
		mr, nr = 2, 4
	}
	if g.M < mr {
		mr, nr = g.M, 8/g.M
	}
	return mr, nr
}

// Sizes returns the lengths of C, A and B.
func (g GEMM) Sizes() (c, a, b int) { return g.M * g.N, g.M * g.K, g.N * g.K }

// Doc is the kernel's doc comment: its definition as a loop.
func (g GEMM) Doc() string {
	op := "="
	if g.Acc {
		op = "+="
	}
	ams, aks, bns, bks := g.strides()
	return fmt.Sprintf("%sGo is C[m*%d+n] %s Σ_k A[m*%d+k*%d]·B[n*%d+k*%d] for m < %d, n < %d, k < %d:\nthe pure-Go twin of the kernel, and its reference.",
		g.Name(), g.N, op, ams, aks, bns, bks, g.M, g.N, g.K)
}

// EmitKernel returns the pure-Go kernel for g, named g.Name()+"Go":
// register-blocked, every bound a constant, the loop over K unrolled when K
// is at most unroll.
func EmitKernel(g GEMM, unroll int) Code {
	cs, as, bs := g.Sizes()
	arr := func(n int) Code { return Op("*").Index(Lit(n)).Id("Float") }
	mr, nr := g.Tile()
	var body []Code
	mFull, nFull := g.M/mr*mr, g.N/nr*nr
	row := func(tm int) []Code {
		var s []Code
		if nFull > 0 {
			s = append(s, For(Id("n").Op(":=").Lit(0), Id("n").Op("<").Lit(nFull), Id("n").Op("+=").Lit(nr)).Block(
				g.tile(tm, nr, unroll)...))
		}
		if rem := g.N - nFull; rem > 0 {
			s = append(s, Block(append([]Code{Id("n").Op(":=").Lit(nFull)}, g.tile(tm, rem, unroll)...)...))
		}
		return s
	}
	if mFull > 0 {
		body = append(body, For(Id("m").Op(":=").Lit(0), Id("m").Op("<").Lit(mFull), Id("m").Op("+=").Lit(mr)).Block(row(mr)...))
	}
	if rem := g.M - mFull; rem > 0 {
		body = append(body, Block(append([]Code{Id("m").Op(":=").Lit(mFull)}, row(rem)...)...))
	}
	return Comment(g.Doc()).Line().Func().Id(g.Name()+"Go").Params(Id("c").Add(arr(cs)), Id("a").Add(arr(as)), Id("b").Add(arr(bs))).Block(body...)
}

// tile emits one mr×nr block of C at (m, n).
func (g GEMM) tile(mr, nr, unroll int) []Code {
	ams, aks, bns, bks := g.strides()
	var s []Code
	name := func(p string, i int) *Statement { return Id(fmt.Sprintf("%s%d", p, i)) }
	acc := func(r, j int) *Statement { return Id(fmt.Sprintf("c%d%d", r, j)) }
	// Operands contiguous along k are sliced once per block, row by row.
	if aks == 1 {
		for r := 0; r < mr; r++ {
			s = append(s, name("a", r).Op(":=").Id("a").Index(Parens(Id("m").Op("+").Lit(r)).Op("*").Lit(ams).Op(":")).Index(Op(":").Lit(g.K)))
		}
	}
	if bks == 1 {
		for j := 0; j < nr; j++ {
			s = append(s, name("b", j).Op(":=").Id("b").Index(Parens(Id("n").Op("+").Lit(j)).Op("*").Lit(bns).Op(":")).Index(Op(":").Lit(g.K)))
		}
	}
	var accs []Code
	for r := 0; r < mr; r++ {
		for j := 0; j < nr; j++ {
			accs = append(accs, acc(r, j))
		}
	}
	s = append(s, Var().List(accs...).Id("Float"))
	step := func(k Code) []Code {
		var st []Code
		aAt := func(r int) Code { return name("a", r).Index(k) }
		bAt := func(j int) Code { return name("b", j).Index(k) }
		if aks != 1 {
			st = append(st, Id("ak").Op(":=").Id("a").Index(Add(k).Op("*").Lit(aks).Op("+").Id("m").Op("*").Lit(ams).Op(":")).Index(Op(":").Lit((mr-1)*ams+1)))
			aAt = func(r int) Code { return Id("ak").Index(Lit(r * ams)) }
		}
		if bks != 1 {
			st = append(st, Id("bk").Op(":=").Id("b").Index(Add(k).Op("*").Lit(bks).Op("+").Id("n").Op("*").Lit(bns).Op(":")).Index(Op(":").Lit((nr-1)*bns+1)))
			bAt = func(j int) Code { return Id("bk").Index(Lit(j * bns)) }
		}
		for j := 0; j < nr; j++ {
			st = append(st, name("x", j).Op(":=").Add(bAt(j)))
		}
		for r := 0; r < mr; r++ {
			st = append(st, Id("y").Op(":=").Add(aAt(r)))
			if r > 0 {
				st[len(st)-1] = Id("y").Op("=").Add(aAt(r))
			}
			for j := 0; j < nr; j++ {
				st = append(st, acc(r, j).Op("+=").Id("y").Op("*").Add(name("x", j)))
			}
		}
		return st
	}
	if g.K <= unroll {
		for k := 0; k < g.K; k++ {
			s = append(s, Block(step(Lit(k))...))
		}
	} else {
		s = append(s, For(Id("k").Op(":=").Lit(0), Id("k").Op("<").Lit(g.K), Id("k").Op("++")).Block(step(Id("k"))...))
	}
	op := "="
	if g.Acc {
		op = "+="
	}
	for r := 0; r < mr; r++ {
		s = append(s, Id("cr").Op(func() string {
			if r == 0 {
				return ":="
			}
			return "="
		}()).Id("c").Index(Parens(Id("m").Op("+").Lit(r)).Op("*").Lit(g.N).Op("+").Id("n").Op(":")).Index(Op(":").Lit(nr)))
		for j := 0; j < nr; j++ {
			s = append(s, Id("cr").Index(Lit(j)).Op(op).Add(acc(r, j)))
		}
	}
	return s
}

// floatArr is the Go type *[n]Float.
func floatArr(n int) Code { return Op("*").Index(Lit(n)).Id("Float") }

// FuncParams returns the parameters of f's Go functions.
func FuncParams(f Routine) []Code {
	var p []Code
	for _, a := range f.Args() {
		p = append(p, Id(a.Name).Add(floatArr(a.Size)))
	}
	return p
}

// EmitFunc returns the pure-Go twin of f, named f.Name()+"Go".
func EmitFunc(f Routine) Code {
	return Comment(f.Name() + "Go " + f.Doc() + "\nIt is the pure-Go twin of the kernel, and its reference.").Line().
		Func().Id(f.Name() + "Go").Params(FuncParams(f)...).Block(f.Twin()...)
}

// loop emits `for v := 0; v < n; v++ { body }`.
func loop(v string, n int, body ...Code) Code {
	return For(Id(v).Op(":=").Lit(0), Id(v).Op("<").Lit(n), Id(v).Op("++")).Block(body...)
}

// ConvFwd is a whole convolution of one NHWC sample without padding:
// out[oh][ow][f] = act(bias[f] + Σ x[oh·SH+kh·DH][ow·SW+kw·DW][c]·w[kh][kw][c][f]),
// the accumulators of a block of outputs held in registers over every tap
// and channel, bias and activation applied before the one store.
type ConvFwd struct {
	H, W, C, KH, KW, SH, SW, DH, DW, OH, OW, F int
	Bias, Relu                                 bool
}

// Name is the kernel's Go name.
func (k ConvFwd) Name() string {
	s := fmt.Sprintf("conv_%dx%dx%d_%dx%dx%d_k%dx%d", k.H, k.W, k.C, k.OH, k.OW, k.F, k.KH, k.KW)
	if k.SH != 1 || k.SW != 1 {
		s += fmt.Sprintf("_s%dx%d", k.SH, k.SW)
	}
	if k.DH != 1 || k.DW != 1 {
		s += fmt.Sprintf("_d%dx%d", k.DH, k.DW)
	}
	if k.Bias {
		s += "_bias"
	}
	if k.Relu {
		s += "_relu"
	}
	return s
}

// Args: out, x, w ([KH][KW][C][F]) and bias.
func (k ConvFwd) Args() []Arg {
	a := []Arg{{"out", k.OH * k.OW * k.F, true}, {"x", k.H * k.W * k.C, false}, {"w", k.KH * k.KW * k.C * k.F, false}}
	if k.Bias {
		a = append(a, Arg{"bias", k.F, false})
	}
	return a
}

// Doc says what the kernel computes.
func (k ConvFwd) Doc() string {
	act, b := "", ""
	if k.Relu {
		act = " and ReLU"
	}
	if k.Bias {
		b = " plus bias"
	}
	return fmt.Sprintf("is out[oh][ow][f] = Σ x[oh*%d+kh*%d][ow*%d+kw*%d][c]·w[kh][kw][c][f]%s%s:\na %dx%d convolution of one [%d][%d][%d] sample to [%d][%d][%d].",
		k.SH, k.DH, k.SW, k.DW, b, act, k.KH, k.KW, k.H, k.W, k.C, k.OH, k.OW, k.F)
}

// Flops of one call.
func (k ConvFwd) Flops() int { return 2 * k.OH * k.OW * k.F * k.KH * k.KW * k.C }

// Terms summed into one output.
func (k ConvFwd) Terms() int { return k.KH*k.KW*k.C + 1 }

// Twin returns the Go loops.
func (k ConvFwd) Twin() []Code {
	init := Clear(Id("o"))
	if k.Bias {
		init = Copy(Id("o"), Id("bias").Index(Op(":")))
	}
	body := []Code{
		Id("o").Op(":=").Id("out").Index(Parens(Id("oh").Op("*").Lit(k.OW).Op("+").Id("ow")).Op("*").Lit(k.F).Op(":")).Index(Op(":").Lit(k.F)),
		init,
		loop("kh", k.KH, loop("kw", k.KW,
			Id("xi").Op(":=").Id("x").Index(Parens(Parens(Id("oh").Op("*").Lit(k.SH).Op("+").Id("kh").Op("*").Lit(k.DH)).Op("*").Lit(k.W).
				Op("+").Id("ow").Op("*").Lit(k.SW).Op("+").Id("kw").Op("*").Lit(k.DW)).Op("*").Lit(k.C).Op(":")).Index(Op(":").Lit(k.C)),
			Id("wt").Op(":=").Id("w").Index(Parens(Id("kh").Op("*").Lit(k.KW).Op("+").Id("kw")).Op("*").Lit(k.C*k.F).Op(":")).Index(Op(":").Lit(k.C*k.F)),
			For(List(Id("c"), Id("v")).Op(":=").Range().Id("xi")).Block(
				For(List(Id("f"), Id("wv")).Op(":=").Range().Id("wt").Index(Id("c").Op("*").Lit(k.F).Op(":")).Index(Op(":").Lit(k.F))).Block(
					Id("o").Index(Id("f")).Op("+=").Id("v").Op("*").Id("wv"))),
		)),
	}
	if k.Relu {
		body = append(body, For(List(Id("f"), Id("v")).Op(":=").Range().Id("o")).Block(
			If(Op("!").Parens(Id("v").Op(">").Lit(0))).Block(Id("o").Index(Id("f")).Op("=").Lit(0))))
	}
	return []Code{loop("oh", k.OH, loop("ow", k.OW, body...))}
}

// BiasGrad is the start of a layer's backward pass over Rows rows of F
// values: with Relu, d[r][f] = 0 where s[r][f] (the ReLU's output) is not
// positive; then db[f] += Σ_r d[r][f].
type BiasGrad struct {
	Rows, F int
	Relu    bool
}

// Name is the kernel's Go name.
func (k BiasGrad) Name() string {
	s := fmt.Sprintf("biasGrad_%dx%d", k.Rows, k.F)
	if k.Relu {
		s += "_relu"
	}
	return s
}

// Args: d, db and, with Relu, s.
func (k BiasGrad) Args() []Arg {
	a := []Arg{{"d", k.Rows * k.F, true}, {"db", k.F, true}}
	if k.Relu {
		a = append(a, Arg{"s", k.Rows * k.F, false})
	}
	return a
}

// Doc says what the kernel computes.
func (k BiasGrad) Doc() string {
	if k.Relu {
		return fmt.Sprintf("zeroes d[i] where !(s[i] > 0) (ReLU's derivative), then adds\nthe columns of d, %d rows of %d, to db.", k.Rows, k.F)
	}
	return fmt.Sprintf("adds the columns of d, %d rows of %d, to db.", k.Rows, k.F)
}

// Flops of one call.
func (k BiasGrad) Flops() int { return k.Rows * k.F }

// Terms summed into one output.
func (k BiasGrad) Terms() int { return k.Rows + 1 }

// Twin returns the Go loops.
func (k BiasGrad) Twin() []Code {
	body := []Code{Id("dr").Op(":=").Id("d").Index(Id("r").Op("*").Lit(k.F).Op(":")).Index(Op(":").Lit(k.F))}
	var inner []Code
	if k.Relu {
		body = append(body, Id("sr").Op(":=").Id("s").Index(Id("r").Op("*").Lit(k.F).Op(":")).Index(Op(":").Lit(k.F)))
		inner = append(inner, If(Op("!").Parens(Id("sr").Index(Id("f")).Op(">").Lit(0))).Block(Id("dr").Index(Id("f")).Op("=").Lit(0)))
	}
	inner = append(inner, Id("db").Index(Id("f")).Op("+=").Id("dr").Index(Id("f")))
	body = append(body, For(Id("f").Op(":=").Range().Id("dr")).Block(inner...))
	return []Code{loop("r", k.Rows, body...)}
}

// MaxPool is a max pooling of one NHWC sample over KH×KW windows that tile
// it exactly (strides equal to the window, H and W multiples of it). Grad
// is its backward pass, which finds each maximum again: the first cell of
// a window equal to the window's output gets the gradient (as the first
// maximum wins forward), every other cell zero.
type MaxPool struct {
	H, W, C, KH, KW int
	Grad            bool
}

// Name is the kernel's Go name.
func (k MaxPool) Name() string {
	s := fmt.Sprintf("maxPool_%dx%dx%d_k%dx%d", k.H, k.W, k.C, k.KH, k.KW)
	if k.Grad {
		s += "_grad"
	}
	return s
}

func (k MaxPool) out() int { return k.H / k.KH * k.W / k.KW * k.C }

// Args: out and in; for Grad dx, d, in and out.
func (k MaxPool) Args() []Arg {
	in := k.H * k.W * k.C
	if k.Grad {
		return []Arg{{"dx", in, true}, {"d", k.out(), false}, {"in", in, false}, {"out", k.out(), false}}
	}
	return []Arg{{"out", k.out(), true}, {"in", in, false}}
}

// Doc says what the kernel computes.
func (k MaxPool) Doc() string {
	if k.Grad {
		return fmt.Sprintf("sends each d[oh][ow][c] to the first cell of its %dx%d window of in\nequal to out[oh][ow][c]; every other cell of dx ([%d][%d][%d]) is zero.", k.KH, k.KW, k.H, k.W, k.C)
	}
	return fmt.Sprintf("is out[oh][ow][c] = max over the %dx%d window of in[oh*%d+i][ow*%d+j][c]\n([%d][%d][%d]), a later cell replacing the maximum only if greater.", k.KH, k.KW, k.KH, k.KW, k.H, k.W, k.C)
}

// Flops of one call (comparisons).
func (k MaxPool) Flops() int { return k.H * k.W * k.C }

// Terms: none are summed.
func (k MaxPool) Terms() int { return 1 }

// Twin returns the Go loops.
func (k MaxPool) Twin() []Code {
	oh, ow := k.H/k.KH, k.W/k.KW
	cell := func(i, j string) *Statement {
		return Parens(Parens(Id("oh").Op("*").Lit(k.KH).Op("+").Id(i)).Op("*").Lit(k.W).Op("+").Id("ow").Op("*").Lit(k.KW).Op("+").Id(j)).Op("*").Lit(k.C)
	}
	o := Parens(Id("oh").Op("*").Lit(ow).Op("+").Id("ow")).Op("*").Lit(k.C)
	if !k.Grad {
		return []Code{loop("oh", oh, loop("ow", ow,
			Id("o").Op(":=").Id("out").Index(Add(o).Op(":")).Index(Op(":").Lit(k.C)),
			Copy(Id("o"), Id("in").Index(Add(cell("0", "0")).Op(":"))),
			loop("i", k.KH, loop("j", k.KW,
				For(List(Id("c"), Id("v")).Op(":=").Range().Id("in").Index(Add(cell("i", "j")).Op(":")).Index(Op(":").Lit(k.C))).Block(
					If(Id("v").Op(">").Id("o").Index(Id("c"))).Block(Id("o").Index(Id("c")).Op("=").Id("v")))),
			)))}
	}
	return []Code{
		Clear(Id("dx").Index(Op(":"))),
		loop("oh", oh, loop("ow", ow,
			Id("o").Op(":=").Add(o),
			loop("c", k.C,
				Id("mx").Op(":=").Id("out").Index(Id("o").Op("+").Id("c")),
				Id("cells").Op(":"),
				loop("i", k.KH, loop("j", k.KW,
					Id("x").Op(":=").Add(cell("i", "j")).Op("+").Id("c"),
					If(Id("in").Index(Id("x")).Op("==").Id("mx")).Block(
						Id("dx").Index(Id("x")).Op("=").Id("d").Index(Id("o").Op("+").Id("c")),
						Break().Id("cells"),
					),
				)),
			),
		)),
	}
}

// ConvWGrad is the kernel gradient of a ConvFwd over one sample, added to
// dw: dw[kh][kw][c][f] += Σ_{oh,ow} x[oh·SH+kh·DH][ow·SW+kw·DW][c]·dy[oh][ow][f],
// the accumulators of a block of dw held in registers over every output.
type ConvWGrad struct {
	H, W, C, KH, KW, SH, SW, DH, DW, OH, OW, F int
}

// Name is the kernel's Go name.
func (k ConvWGrad) Name() string {
	s := fmt.Sprintf("convWGrad_%dx%dx%d_%dx%dx%d_k%dx%d", k.H, k.W, k.C, k.OH, k.OW, k.F, k.KH, k.KW)
	if k.SH != 1 || k.SW != 1 {
		s += fmt.Sprintf("_s%dx%d", k.SH, k.SW)
	}
	if k.DH != 1 || k.DW != 1 {
		s += fmt.Sprintf("_d%dx%d", k.DH, k.DW)
	}
	return s
}

// Args: dw ([KH][KW][C][F]), x and dy.
func (k ConvWGrad) Args() []Arg {
	return []Arg{{"dw", k.KH * k.KW * k.C * k.F, true}, {"x", k.H * k.W * k.C, false}, {"dy", k.OH * k.OW * k.F, false}}
}

// Doc says what the kernel computes.
func (k ConvWGrad) Doc() string {
	return fmt.Sprintf("is dw[kh][kw][c][f] += Σ x[oh*%d+kh*%d][ow*%d+kw*%d][c]·dy[oh][ow][f]:\nthe kernel gradient of a %dx%d convolution of one [%d][%d][%d] sample to [%d][%d][%d].",
		k.SH, k.DH, k.SW, k.DW, k.KH, k.KW, k.H, k.W, k.C, k.OH, k.OW, k.F)
}

// Flops of one call.
func (k ConvWGrad) Flops() int { return 2 * k.OH * k.OW * k.F * k.KH * k.KW * k.C }

// Terms summed into one output.
func (k ConvWGrad) Terms() int { return k.OH*k.OW + 1 }

// Twin returns the Go loops.
func (k ConvWGrad) Twin() []Code {
	return []Code{loop("kh", k.KH, loop("kw", k.KW,
		Id("wt").Op(":=").Id("dw").Index(Parens(Id("kh").Op("*").Lit(k.KW).Op("+").Id("kw")).Op("*").Lit(k.C*k.F).Op(":")).Index(Op(":").Lit(k.C*k.F)),
		loop("oh", k.OH, loop("ow", k.OW,
			Id("xi").Op(":=").Id("x").Index(Parens(Parens(Id("oh").Op("*").Lit(k.SH).Op("+").Id("kh").Op("*").Lit(k.DH)).Op("*").Lit(k.W).
				Op("+").Id("ow").Op("*").Lit(k.SW).Op("+").Id("kw").Op("*").Lit(k.DW)).Op("*").Lit(k.C).Op(":")).Index(Op(":").Lit(k.C)),
			Id("g").Op(":=").Id("dy").Index(Parens(Id("oh").Op("*").Lit(k.OW).Op("+").Id("ow")).Op("*").Lit(k.F).Op(":")).Index(Op(":").Lit(k.F)),
			For(List(Id("c"), Id("v")).Op(":=").Range().Id("xi")).Block(
				Id("row").Op(":=").Id("wt").Index(Id("c").Op("*").Lit(k.F).Op(":")).Index(Op(":").Lit(k.F)),
				For(List(Id("f"), Id("gv")).Op(":=").Range().Id("g")).Block(Id("row").Index(Id("f")).Op("+=").Id("v").Op("*").Id("gv")),
			),
		)),
	))}
}
