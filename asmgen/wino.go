package asmgen

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/nngen/nngen/layers/emit"
)

// wino emits a Wino tile transform dst = L·src·Lᵀ: tile by tile, vector
// by vector of channels, each output row i first combines the source rows
// (r[q] = Σ_k L[i][k]·src[k][q], from memory), then each output of the row
// combines those registers (Σ_q L[j][q]·r[q]); bias, the sum so far (the
// input gradient, whose tiles overlap) and ReLU come before the one store.
func (k *kernel) wino(f emit.Wino) {
	c := k.ctx
	c.Load(c.Param("x"), rX)
	c.Load(c.Param("v"), rW)
	if f.Bias {
		c.Load(c.Param("bias"), rBias)
	}
	zero := k.vec(6)
	c.VXORPS(zero, zero, zero)
	c.MOVQ(rW, rOt)
	c.MOVQ(rX, rXt)
	k.loop(f.TR, rRows, "winotr", func() {
		c.MOVQ(rXt, rXp)
		k.loop(f.TW, rTiles, "winotw", func() {
			for _, p := range k.panels(f.C, 1) {
				k.winoVec(f, p)
			}
			c.ADDQ(operand.U32(2*f.C*4), rXp)
			c.ADDQ(operand.U32(f.C*4), rOt)
		})
		c.ADDQ(operand.U32(2*f.W*f.C*4), rXt)
	})
}

// winoVec emits the transform of one vector of channels of the tile at
// rXp (image side) and rOt (transformed side).
func (k *kernel) winoVec(f emit.Wino, p panel) {
	c := k.ctx
	L := lanes[k.isa]
	l := f.Matrix()
	a, n := len(l), len(l[0])
	r := func(q int) reg.VecPhysical { return k.vec(q) }
	out, tmp, zero := k.vec(4), k.vec(5), k.vec(6)
	var maskY reg.VecPhysical
	if p.tail > 0 && k.isa == AVX2 {
		maskY = k.vec(7)
	}
	k.setTail(p.tail, maskY)
	img := func(i, j int) operand.Mem { return mem(rXp, ((i*f.W+j)*f.C+p.v0*L)*4) }
	tr := func(i, j int) operand.Mem { return mem(rOt, ((i*4+j)*f.Tiles()*f.C+p.v0*L)*4) }
	src, dst := tr, img
	if f.FromImage() {
		src, dst = img, tr
	}
	// addMem adds (sign > 0) or subtracts the vector at m to or from x.
	addMem := func(x reg.VecPhysical, m operand.Mem, sign int) {
		var o operand.Op = m
		if p.tail > 0 {
			k.vecLoad(m, tmp, p.tail, maskY)
			o = tmp
		}
		if sign > 0 {
			c.VADDPS(o, x, x)
		} else {
			c.VSUBPS(o, x, x)
		}
	}
	for i := 0; i < a; i++ {
		for q := 0; q < n; q++ {
			for t, kk := range emit.PositiveFirst(l[i]) {
				switch {
				case t > 0:
					addMem(r(q), src(kk, q), l[i][kk])
				case l[i][kk] > 0:
					k.vecLoad(src(kk, q), r(q), p.tail, maskY)
				default:
					c.VXORPS(r(q), r(q), r(q))
					addMem(r(q), src(kk, q), -1)
				}
			}
		}
		for j := 0; j < a; j++ {
			ix := emit.PositiveFirst(l[j])
			switch q0 := ix[0]; {
			case l[j][q0] < 0:
				c.VSUBPS(r(q0), zero, out)
			case len(ix) == 1:
				c.VMOVAPS(r(q0), out)
			case l[j][ix[1]] > 0:
				c.VADDPS(r(ix[1]), r(q0), out)
			default:
				c.VSUBPS(r(ix[1]), r(q0), out)
			}
			start := 2
			if l[j][ix[0]] < 0 || len(ix) == 1 {
				start = 1
			}
			for _, q := range ix[start:] {
				if l[j][q] > 0 {
					c.VADDPS(r(q), out, out)
				} else {
					c.VSUBPS(r(q), out, out)
				}
			}
			if f.Bias {
				addMem(out, mem(rBias, p.v0*L*4), 1)
			}
			if f.Op == emit.WinoInGrad {
				addMem(out, dst(i, j), 1)
			}
			if f.Relu {
				c.VMAXPS(zero, out, out)
			}
			k.vecStore(out, dst(i, j), p.tail, maskY)
		}
	}
}
