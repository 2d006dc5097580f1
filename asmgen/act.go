package asmgen

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// The constants of the activation kernels, in the order of their constant
// block, each replicated across 16 lanes: the clamp of tanh's argument,
// the numerator coefficients a13..a1 and the denominator ones b6..b0 of
// fastmath.Tanh's rational function, and ½ for the sigmoid.
const (
	ActLo = iota
	ActHi
	ActA13
	ActA11
	ActA9
	ActA7
	ActA5
	ActA3
	ActA1
	ActB6
	ActB4
	ActB2
	ActB0
	ActHalf
	ActConsts
)

// ActSignature is the Go signature of the activation kernels: they apply
// the function in place to x, whose length is a multiple of the ISA's lanes
// (the caller handles the rest), with the constants in k.
const ActSignature = "func(x []float32, k *[224]float32)"

// Activations returns the assembly of package pkg with tanhAVX2,
// tanhAVX512, sigmoidAVX2 and sigmoidAVX512: fastmath.Tanh and
// fastmath.Sigmoid applied in place over whole vectors,
//
//	tanh:    c = min(max(x, lo), hi);  t = c·P(c²) / Q(c²)
//	sigmoid: ½ + ½·tanh(½·x)
func Activations(pkg, header string) ([]byte, error) {
	ctx := build.NewContext()
	for _, fn := range []string{"tanh", "sigmoid"} {
		for _, isa := range ISAs {
			ctx.Function(fn + isa.String())
			ctx.Attributes(attr.NOSPLIT)
			ctx.SignatureExpr(ActSignature)
			ctx.Doc(fmt.Sprintf("%s%s is fastmath's %s over vectors in %s assembly.", fn, isa, fn, isa))
			emitAct(ctx, isa, fn == "sigmoid")
			ctx.VZEROUPPER()
			ctx.RET()
		}
	}
	return compile(ctx, pkg, header)
}

func emitAct(c *build.Context, isa ISA, sigmoid bool) {
	px, pk, n := reg.RSI, reg.R10, reg.RCX
	c.Load(c.Param("x").Base(), px)
	c.Load(c.Param("k"), pk)
	c.Load(c.Param("x").Len(), n)
	c.SHRQ(operand.U8(map[ISA]int{AVX2: 3, AVX512: 4}[isa]), n)
	name := "tanh"
	if sigmoid {
		name = "sigmoid"
	}
	done := name + "_done_" + isa.String()
	top := name + "_loop_" + isa.String()
	c.TESTQ(n, n)
	c.JE(operand.LabelRef(done))
	k := func(i int) operand.Mem { return mem(pk, i*64) }
	v := func(i int) reg.VecPhysical {
		if isa == AVX2 {
			return ymm[i]
		}
		return zmm[i]
	}
	x, x2, p, q := v(0), v(1), v(2), v(3)
	c.Label(top)
	c.VMOVUPS(mem(px, 0), x)
	if sigmoid {
		c.VMULPS(k(ActHalf), x, x)
	}
	c.VMAXPS(k(ActLo), x, x)
	c.VMINPS(k(ActHi), x, x)
	c.VMULPS(x, x, x2)
	c.VMOVUPS(k(ActA13), p)
	for _, a := range []int{ActA11, ActA9, ActA7, ActA5, ActA3, ActA1} {
		c.VFMADD213PS(k(a), x2, p) // p = p·x² + a
	}
	c.VMOVUPS(k(ActB6), q)
	for _, b := range []int{ActB4, ActB2, ActB0} {
		c.VFMADD213PS(k(b), x2, q) // q = q·x² + b
	}
	c.VMULPS(x, p, p)
	c.VDIVPS(q, p, x) // x·p / q
	if sigmoid {
		c.VMOVUPS(k(ActHalf), p)
		c.VFMADD213PS(p, p, x) // ½·t + ½
	}
	c.VMOVUPS(x, mem(px, 0))
	c.ADDQ(operand.U32(vecBytes[isa]), px)
	c.DECQ(n)
	c.JNE(operand.LabelRef(top))
	c.Label(done)
}
