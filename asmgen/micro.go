package asmgen

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// MicroMR and MicroNR are the register block of the packed-panel
// micro-kernels of runtime/gemm, per instruction set: MR rows of C by NR
// columns, held in MR·NR/lanes accumulators (AVX-512: 14×32 in 28 of the
// 32 registers; AVX2: 6×16 in 12 of 16).
var (
	MicroMR = map[ISA]int{AVX2: 6, AVX512: 14}
	MicroNR = map[ISA]int{AVX2: 16, AVX512: 32}
)

// MicroSignature is the Go signature of the micro-kernels: over k steps,
// a points to a packed sliver of A (k groups of MR values) and b to one of
// B (k groups of NR values); the MR×NR block of C at c, whose rows are ldc
// values apart, is set to their product, or has it added when acc is not 0.
const MicroSignature = "func(k int, a, b, c *float32, ldc int, acc int)"

// Micro returns the assembly of package pkg with microAVX2 and
// microAVX512, BLIS's micro-kernel: each step loads NR values of B and, for
// each of the MR rows, multiplies them by one broadcast value of A into
// the row's accumulators.
func Micro(pkg, header string) ([]byte, error) {
	ctx := build.NewContext()
	for _, isa := range ISAs {
		ctx.Function("micro" + isa.String())
		ctx.Attributes(attr.NOSPLIT)
		ctx.SignatureExpr(MicroSignature)
		ctx.Doc(fmt.Sprintf("micro%s is the %d×%d micro-kernel of runtime/gemm in %s assembly.", isa, MicroMR[isa], MicroNR[isa], isa))
		emitMicro(ctx, isa)
		ctx.VZEROUPPER()
		ctx.RET()
	}
	for _, isa := range ISAs {
		ctx.Function("peak" + isa.String())
		ctx.Attributes(attr.NOSPLIT)
		ctx.SignatureExpr("func(n int)")
		ctx.Doc(fmt.Sprintf("peak%s runs n turns of %d independent %s multiply-adds, the most the FMA units can start: the peak that benchmarks quote fractions of.", isa, PeakChains, isa))
		emitPeak(ctx, isa)
		ctx.VZEROUPPER()
		ctx.RET()
	}
	return compile(ctx, pkg, header)
}

// PeakChains is the number of independent multiply-add chains of the peak
// loop: more than two FMA ports times a latency of four.
const PeakChains = 12

func emitPeak(c *build.Context, isa ISA) {
	n := reg.RCX
	c.Load(c.Param("n"), n)
	v := func(i int) reg.VecPhysical {
		if isa == AVX2 {
			return ymm[i]
		}
		return zmm[i]
	}
	for i := 0; i < PeakChains+2; i++ {
		c.VXORPS(v(i), v(i), v(i))
	}
	sfx := isa.String()
	c.TESTQ(n, n)
	c.JE(operand.LabelRef("peak_done_" + sfx))
	c.Label("peak_loop_" + sfx)
	for i := 0; i < PeakChains; i++ {
		c.VFMADD231PS(v(PeakChains), v(PeakChains+1), v(i))
	}
	c.DECQ(n)
	c.JNE(operand.LabelRef("peak_loop_" + sfx))
	c.Label("peak_done_" + sfx)
}

func emitMicro(c *build.Context, isa ISA) {
	mr, W := MicroMR[isa], vecBytes[isa]
	nv := MicroNR[isa] / lanes[isa] // vectors per row
	pa, pb, pc, ld, n, acc := reg.RSI, reg.RDI, reg.RDX, reg.R8, reg.RCX, reg.R9
	c.Load(c.Param("k"), n)
	c.Load(c.Param("a"), pa)
	c.Load(c.Param("b"), pb)
	c.Load(c.Param("c"), pc)
	c.Load(c.Param("ldc"), ld)
	c.Load(c.Param("acc"), acc)
	c.SHLQ(operand.U8(2), ld) // bytes
	v := func(i int) reg.VecPhysical {
		if isa == AVX2 {
			return ymm[i]
		}
		return zmm[i]
	}
	accum := func(r, j int) reg.VecPhysical { return v(r*nv + j) }
	bv := func(j int) reg.VecPhysical { return v(mr*nv + j) }
	bc := v(mr*nv + nv)
	for r := 0; r < mr; r++ {
		for j := 0; j < nv; j++ {
			c.VXORPS(accum(r, j), accum(r, j), accum(r, j))
		}
	}
	sfx := isa.String()
	top, store, add, done := "micro_loop_"+sfx, "micro_store_"+sfx, "micro_add_"+sfx, "micro_done_"+sfx
	c.TESTQ(n, n)
	c.JE(operand.LabelRef(store))
	c.Label(top)
	for j := 0; j < nv; j++ {
		c.VMOVUPS(mem(pb, j*W), bv(j))
	}
	for r := 0; r < mr; r++ {
		c.VBROADCASTSS(mem(pa, 4*r), bc)
		for j := 0; j < nv; j++ {
			c.VFMADD231PS(bv(j), bc, accum(r, j))
		}
	}
	c.ADDQ(operand.U32(4*mr), pa)
	c.ADDQ(operand.U32(nv*W), pb)
	c.DECQ(n)
	c.JNE(operand.LabelRef(top))
	c.Label(store)
	c.TESTQ(acc, acc)
	c.JNE(operand.LabelRef(add))
	for r := 0; r < mr; r++ {
		for j := 0; j < nv; j++ {
			c.VMOVUPS(accum(r, j), mem(pc, j*W))
		}
		if r < mr-1 {
			c.ADDQ(ld, pc)
		}
	}
	c.JMP(operand.LabelRef(done))
	c.Label(add)
	for r := 0; r < mr; r++ {
		for j := 0; j < nv; j++ {
			c.VADDPS(mem(pc, j*W), accum(r, j), accum(r, j))
			c.VMOVUPS(accum(r, j), mem(pc, j*W))
		}
		if r < mr-1 {
			c.ADDQ(ld, pc)
		}
	}
	c.Label(done)
}
