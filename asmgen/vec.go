package asmgen

import (
	"fmt"
	"math/bits"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// AddUnroll is how many vectors the Add kernels add per iteration: the
// caller passes a length that is a multiple of AddUnroll vectors and adds
// the rest itself.
const AddUnroll = 4

// Add returns the assembly of package pkg with the element-wise sums of
// vec.Add, dst[i] += src[i]: addF32 and addF64 in AVX2 and AVX-512. Each
// element is one rounded addition, as in the Go loop, so the results are
// the same bits on every path.
func Add(pkg, header string) ([]byte, error) {
	ctx := build.NewContext()
	for _, t := range []struct {
		name string
		size int
	}{{"F32", 4}, {"F64", 8}} {
		for _, isa := range ISAs {
			ctx.Function("add" + t.name + isa.String())
			ctx.Attributes(attr.NOSPLIT)
			elem := map[int]string{4: "float32", 8: "float64"}[t.size]
			ctx.SignatureExpr(fmt.Sprintf("func(dst, src []%s)", elem))
			ctx.Doc(fmt.Sprintf("add%s%s adds src to dst in %s assembly; len(dst) is a multiple of %d vectors.", t.name, isa, isa, AddUnroll))
			emitAdd(ctx, isa, t.size)
			ctx.VZEROUPPER()
			ctx.RET()
		}
	}
	return compile(ctx, pkg, header)
}

func emitAdd(c *build.Context, isa ISA, size int) {
	W := vecBytes[isa]
	pd, ps, n := reg.RSI, reg.RDI, reg.RCX
	c.Load(c.Param("dst").Base(), pd)
	c.Load(c.Param("src").Base(), ps)
	c.Load(c.Param("dst").Len(), n)
	// Iterations: len / (W/size · AddUnroll), a power of two.
	c.SHRQ(operand.U8(bits.TrailingZeros(uint(W/size*AddUnroll))), n)
	sfx := fmt.Sprintf("%d_%s", size, isa)
	done, top := "add_done_"+sfx, "add_loop_"+sfx
	c.TESTQ(n, n)
	c.JE(operand.LabelRef(done))
	v := func(i int) reg.VecPhysical {
		if isa == AVX2 {
			return ymm[i]
		}
		return zmm[i]
	}
	load, add := c.VMOVUPS, c.VADDPS
	if size == 8 {
		load, add = c.VMOVUPD, c.VADDPD
	}
	c.Label(top)
	for u := 0; u < AddUnroll; u++ {
		load(mem(pd, u*W), v(u))
	}
	for u := 0; u < AddUnroll; u++ {
		add(mem(ps, u*W), v(u), v(u))
	}
	for u := 0; u < AddUnroll; u++ {
		load(v(u), mem(pd, u*W))
	}
	c.ADDQ(operand.U32(AddUnroll*W), pd)
	c.ADDQ(operand.U32(AddUnroll*W), ps)
	c.DECQ(n)
	c.JNE(operand.LabelRef(top))
	c.Label(done)
}
