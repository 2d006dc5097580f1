package layers

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
