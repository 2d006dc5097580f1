package asmgen

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// Adam's constants, in the order of the constant block the kernels read:
// each is replicated across 16 lanes so that every instruction can take it
// as a memory operand.
const (
	AdamB1 = iota
	AdamC1
	AdamB2
	AdamC2
	AdamEps
	AdamWD
	AdamDec
	AdamRate
	AdamInvSqBc2
	AdamFlush
	AdamConsts
)

// AdamSignature is the Go signature of the Adam kernels: p, g, m and v have
// the same length, a multiple of the ISA's lanes (the caller handles the
// rest), and k holds the constants, 16 lanes each.
const AdamSignature = "func(p, g, m, v []float32, k *[160]float32)"

// Adam returns the assembly of package pkg with adamAVX2 and adamAVX512:
// the float32 Adam update of optim.adam32, vectorized.
//
//	d = g + wd·p;  m = (b1·m + c1·d + F) − F;  v = (b2·v + c2·d² + F) − F
//	p = p·dec − rate · m / (√v · invSqBc2 + eps)
func Adam(pkg, header string) ([]byte, error) {
	ctx := build.NewContext()
	for _, isa := range ISAs {
		ctx.Function("adam" + isa.String())
		ctx.Attributes(attr.NOSPLIT)
		ctx.SignatureExpr(AdamSignature)
		ctx.Doc(fmt.Sprintf("adam%s is the Adam update of optim.adam32 in %s assembly.", isa, isa))
		emitAdam(ctx, isa)
		ctx.VZEROUPPER()
		ctx.RET()
	}
	return compile(ctx, pkg, header)
}

func emitAdam(c *build.Context, isa ISA) {
	W := vecBytes[isa]
	pp, pg, pm, pv, pk, n := reg.RSI, reg.RDI, reg.R8, reg.R9, reg.R10, reg.RCX
	c.Load(c.Param("p").Base(), pp)
	c.Load(c.Param("g").Base(), pg)
	c.Load(c.Param("m").Base(), pm)
	c.Load(c.Param("v").Base(), pv)
	c.Load(c.Param("k"), pk)
	c.Load(c.Param("p").Len(), n)
	c.SHRQ(operand.U8(map[ISA]int{AVX2: 3, AVX512: 4}[isa]), n)
	done := "adam_done_" + isa.String()
	top := "adam_loop_" + isa.String()
	c.TESTQ(n, n)
	c.JE(operand.LabelRef(done))
	k := func(i int) operand.Mem { return mem(pk, i*64) }
	v := func(i int) reg.VecPhysical {
		if isa == AVX2 {
			return ymm[i]
		}
		return zmm[i]
	}
	x, g, m, vv, t, s := v(0), v(1), v(2), v(3), v(4), v(5)
	c.Label(top)
	c.VMOVUPS(mem(pp, 0), x)
	c.VMOVUPS(mem(pg, 0), g)
	c.VMOVUPS(mem(pm, 0), m)
	c.VMOVUPS(mem(pv, 0), vv)
	c.VFMADD231PS(k(AdamWD), x, g) // d = g + wd·p
	c.VMULPS(k(AdamB1), m, m)
	c.VFMADD231PS(k(AdamC1), g, m) // m = b1·m + c1·d
	c.VADDPS(k(AdamFlush), m, m)
	c.VSUBPS(k(AdamFlush), m, m)
	c.VMULPS(g, g, t)
	c.VMULPS(k(AdamB2), vv, vv)
	c.VFMADD231PS(k(AdamC2), t, vv) // v = b2·v + c2·d²
	c.VADDPS(k(AdamFlush), vv, vv)
	c.VSUBPS(k(AdamFlush), vv, vv)
	c.VMOVUPS(m, mem(pm, 0))
	c.VMOVUPS(vv, mem(pv, 0))
	c.VSQRTPS(vv, s)
	c.VMULPS(k(AdamInvSqBc2), s, s)
	c.VADDPS(k(AdamEps), s, s)
	c.VDIVPS(s, m, t) // m / (√v·invSqBc2 + eps)
	c.VMULPS(k(AdamDec), x, x)
	c.VFNMADD231PS(k(AdamRate), t, x) // p = p·dec − rate·t
	c.VMOVUPS(x, mem(pp, 0))
	for _, r := range []reg.Register{pp, pg, pm, pv} {
		c.ADDQ(operand.U32(W), r)
	}
	c.DECQ(n)
	c.JNE(operand.LabelRef(top))
	c.Label(done)
}
