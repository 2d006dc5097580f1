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

// The constants of the logistic kernels, in the order of their own
// constant block (same layout): the clamp of e^x's argument, log₂e, ln 2 in
// two parts, the polynomial p0..p5 of fastmath.Logistic, 1, and the
// exponent bias 127 as an int32.
const (
	LogLo = iota
	LogHi
	LogLog2e
	LogLn2Hi
	LogLn2Lo
	LogP0
	LogP1
	LogP2
	LogP3
	LogP4
	LogP5
	LogOne
	LogBias
	LogConsts
)

// ActSignature is the Go signature of the activation kernels: they apply
// the function in place to x, whose length is a multiple of the ISA's lanes
// (the caller handles the rest), with the constants in k.
const ActSignature = "func(x []float32, k *[224]float32)"

// Activations returns the assembly of package pkg with tanhAVX2,
// tanhAVX512, sigmoidAVX2, sigmoidAVX512, logisticAVX2 and
// logisticAVX512: fastmath.Tanh, fastmath.Sigmoid and fastmath.Logistic
// applied in place over whole vectors,
//
//	tanh:     c = min(max(x, lo), hi);  t = c·P(c²) / Q(c²)
//	sigmoid:  ½ + ½·tanh(½·x)
//	logistic: t = min(max(−x, lo), hi);  n = round(t·log₂e);
//	          r = t − n·ln2hi − n·ln2lo;  1 / (1 + (P(r)·r² + r + 1)·2ⁿ)
func Activations(pkg, header string) ([]byte, error) {
	ctx := build.NewContext()
	for _, fn := range []string{"tanh", "sigmoid", "logistic"} {
		for _, isa := range ISAs {
			ctx.Function(fn + isa.String())
			ctx.Attributes(attr.NOSPLIT)
			ctx.SignatureExpr(ActSignature)
			ctx.Doc(fmt.Sprintf("%s%s is fastmath's %s over vectors in %s assembly.", fn, isa, fn, isa))
			if fn == "logistic" {
				emitLogistic(ctx, isa)
			} else {
				emitAct(ctx, isa, fn == "sigmoid")
			}
			ctx.VZEROUPPER()
			ctx.RET()
		}
	}
	return compile(ctx, pkg, header)
}

// actLoop emits the loop of an activation kernel named name: over the
// whole vectors of x in place, body computes the vector loaded into v(0)
// and leaves the result there, with k(i) the constant i of the block and
// v(i) vector register i; setup runs once before the loop.
func actLoop(c *build.Context, isa ISA, name string, setup func(v func(int) reg.VecPhysical), body func(k func(int) operand.Mem, v func(int) reg.VecPhysical)) {
	px, pk, n := reg.RSI, reg.R10, reg.RCX
	c.Load(c.Param("x").Base(), px)
	c.Load(c.Param("k"), pk)
	c.Load(c.Param("x").Len(), n)
	c.SHRQ(operand.U8(map[ISA]int{AVX2: 3, AVX512: 4}[isa]), n)
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
	if setup != nil {
		setup(v)
	}
	c.Label(top)
	c.VMOVUPS(mem(px, 0), v(0))
	body(k, v)
	c.VMOVUPS(v(0), mem(px, 0))
	c.ADDQ(operand.U32(vecBytes[isa]), px)
	c.DECQ(n)
	c.JNE(operand.LabelRef(top))
	c.Label(done)
}

func emitLogistic(c *build.Context, isa ISA) {
	actLoop(c, isa, "logistic", func(v func(int) reg.VecPhysical) {
		c.VXORPS(v(7), v(7), v(7))
	}, func(k func(int) operand.Mem, v func(int) reg.VecPhysical) {
		t, nn, r, p, z, ni, zero := v(0), v(2), v(3), v(4), v(5), v(6), v(7)
		c.VSUBPS(t, zero, t) // −x
		c.VMAXPS(k(LogLo), t, t)
		c.VMINPS(k(LogHi), t, t)
		c.VMULPS(k(LogLog2e), t, nn)
		if isa == AVX2 {
			c.VROUNDPS(operand.U8(0), nn, nn) // to nearest, even
		} else {
			c.VRNDSCALEPS(operand.U8(0), nn, nn)
		}
		c.VMOVUPS(t, r)
		c.VFNMADD231PS(k(LogLn2Hi), nn, r) // r −= n·ln2hi
		c.VFNMADD231PS(k(LogLn2Lo), nn, r) // r −= n·ln2lo
		c.VMOVUPS(k(LogP0), p)
		for _, a := range []int{LogP1, LogP2, LogP3, LogP4, LogP5} {
			c.VFMADD213PS(k(a), r, p) // p = p·r + a
		}
		c.VMULPS(r, r, z)
		c.VFMADD213PS(r, z, p) // p·r² + r
		c.VADDPS(k(LogOne), p, p)
		c.VCVTPS2DQ(nn, ni) // 2ⁿ: n + 127 in the exponent field
		c.VPADDD(k(LogBias), ni, ni)
		c.VPSLLD(operand.U8(23), ni, ni)
		c.VMULPS(ni, p, p)
		c.VADDPS(k(LogOne), p, p)
		c.VMOVUPS(k(LogOne), t)
		c.VDIVPS(p, t, t) // 1 / (1 + e^−x)
	})
}

func emitAct(c *build.Context, isa ISA, sigmoid bool) {
	name := "tanh"
	if sigmoid {
		name = "sigmoid"
	}
	actLoop(c, isa, name, nil, func(k func(int) operand.Mem, v func(int) reg.VecPhysical) {
		x, x2, p, q := v(0), v(1), v(2), v(3)
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
	})
}
