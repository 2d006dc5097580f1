package asmgen

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/nngen/nngen/layers"
)

// outerRows is the rows of C per block of the outer-product kernel: with two
// vectors of B per step, AVX2 holds 6×2 accumulators (plus 2 B vectors and
// a broadcast: 15 of 16 registers), AVX-512 holds 12×2 (its FMAs broadcast
// A from memory).
func (k *kernel) outerRows() int {
	if k.isa == AVX512 {
		return 12
	}
	return 6
}

// fullUnroll is the largest K whose loop the outer-product kernel unrolls
// completely, with constant displacements.
const fullUnroll = 32

// aStrides returns A's element strides along m and k.
func (k *kernel) aStrides() (ams, aks int) {
	if k.g.Layout == layers.TN {
		return 1, k.g.M
	}
	return k.g.K, 1
}

// outer emits C (+)= A·B for B contiguous along N: each step loads a row
// piece of B and broadcasts values of A.
func (k *kernel) outer() {
	c, g := k.ctx, k.g
	ams, _ := k.aStrides()
	mr := min(k.outerRows(), g.M)
	L := lanes[k.isa]
	c.MOVQ(rA, rPA)
	c.MOVQ(rC, rPC)
	rows := func(mr int) {
		c.MOVQ(rB, rPB)
		c.MOVQ(rPC, rPB2) // C pointer of the block
		k.loop(g.N/(2*L), rNi, "outn", func() {
			k.outerBlock(mr, 2, 0)
			c.ADDQ(operand.U32(2*L*4), rPB)
			c.ADDQ(operand.U32(2*L*4), rPB2)
		})
		rem := g.N % (2 * L)
		if rem >= L {
			k.outerBlock(mr, 1, 0)
			c.ADDQ(operand.U32(L*4), rPB)
			c.ADDQ(operand.U32(L*4), rPB2)
			rem -= L
		}
		if rem > 0 {
			k.outerBlock(mr, 1, rem)
		}
	}
	if g.N <= g.M {
		k.loop(g.M/mr, rMi, "outm", func() {
			rows(mr)
			c.ADDQ(operand.U32(mr*ams*4), rPA)
			c.ADDQ(operand.U32(mr*g.N*4), rPC)
		})
		if rem := g.M % mr; rem > 0 {
			rows(rem)
		}
		return
	}
	// B is the larger operand: sweep it once, column panel by column panel
	// (each panel stays in L1 while every row block of A passes over it).
	c.MOVQ(rB, rPB)
	cols := func(nv, tail int) {
		c.MOVQ(rA, rPA)
		c.MOVQ(rPC, rPB2)
		k.loop(g.M/mr, rMi, "outm", func() {
			k.outerBlock(mr, nv, tail)
			c.ADDQ(operand.U32(mr*ams*4), rPA)
			c.ADDQ(operand.U32(mr*g.N*4), rPB2)
		})
		if rem := g.M % mr; rem > 0 {
			k.outerBlock(rem, nv, tail)
		}
	}
	k.loop(g.N/(2*L), rNi, "outn", func() {
		cols(2, 0)
		c.ADDQ(operand.U32(2*L*4), rPB)
		c.ADDQ(operand.U32(2*L*4), rPC)
	})
	rem := g.N % (2 * L)
	if rem >= L {
		cols(1, 0)
		c.ADDQ(operand.U32(L*4), rPB)
		c.ADDQ(operand.U32(L*4), rPC)
		rem -= L
	}
	if rem > 0 {
		cols(1, rem)
	}
}

// outerBlock emits an mr×(nv vectors) block of C at rPA (A), rPB (B) and
// rPB2 (C); tail > 0 makes it one vector of which only tail lanes exist.
func (k *kernel) outerBlock(mr, nv, tail int) {
	c, g := k.ctx, k.g
	ams, aks := k.aStrides()
	L := lanes[k.isa]
	acc := func(r, v int) reg.VecPhysical { return k.vec(r*nv + v) }
	bReg := func(v int) reg.VecPhysical { return k.vec(mr*nv + v) }
	bc := k.vec(mr*nv + nv)
	var maskY reg.VecPhysical
	if tail > 0 {
		if k.isa == AVX512 {
			c.MOVL(operand.U32(1<<tail-1), maskGP.As32())
			c.KMOVW(maskGP.As32(), maskK)
		} else {
			maskY = k.vec(mr*nv + nv + 1)
			c.VMOVUPS(k.maskMem(tail), maskY)
		}
	}
	load := func(m operand.Mem, dst reg.VecPhysical) {
		switch {
		case tail == 0:
			c.VMOVUPS(m, dst)
		case k.isa == AVX512:
			c.VMOVUPS_Z(m, maskK, dst)
		default:
			c.VMASKMOVPS(m, maskY, dst)
		}
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			c.VXORPS(acc(r, v), acc(r, v), acc(r, v))
		}
	}
	// step emits one k: B's row at pb+bDisp, A's column at pa+aDisp.
	step := func(pa, pb reg.Register, aDisp, bDisp int) {
		for v := 0; v < nv; v++ {
			load(mem(pb, bDisp+v*L*4), bReg(v))
		}
		for r := 0; r < mr; r++ {
			a := mem(pa, aDisp+r*ams*4)
			if k.isa == AVX512 {
				for v := 0; v < nv; v++ {
					c.VFMADD231PS_BCST(a, bReg(v), acc(r, v))
				}
				continue
			}
			c.VBROADCASTSS(a, bc)
			for v := 0; v < nv; v++ {
				c.VFMADD231PS(bReg(v), bc, acc(r, v))
			}
		}
	}
	if g.K <= fullUnroll {
		for kk := 0; kk < g.K; kk++ {
			step(rPA, rPB, kk*aks*4, kk*g.N*4)
		}
	} else {
		const unroll = 4
		c.MOVQ(rPA, rPA2)
		c.MOVQ(rPB, rTmp)
		k.loop(g.K/unroll, rK, "outk", func() {
			for u := 0; u < unroll; u++ {
				step(rPA2, rTmp, u*aks*4, u*g.N*4)
			}
			c.ADDQ(operand.U32(unroll*aks*4), rPA2)
			c.ADDQ(operand.U32(unroll*g.N*4), rTmp)
		})
		for u := 0; u < g.K%unroll; u++ {
			step(rPA2, rTmp, u*aks*4, u*g.N*4)
		}
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			dst := mem(rPB2, (r*g.N+v*L)*4)
			a := acc(r, v)
			switch {
			case tail == 0:
				if g.Acc {
					c.VADDPS(dst, a, a)
				}
				c.VMOVUPS(a, dst)
			case k.isa == AVX512:
				if g.Acc {
					c.VMOVUPS_Z(dst, maskK, bReg(0))
					c.VADDPS(bReg(0), a, a)
				}
				c.VMOVUPS(a, maskK, dst)
			default:
				if g.Acc {
					c.VMASKMOVPS(dst, maskY, bReg(0))
					c.VADDPS(bReg(0), a, a)
				}
				c.VMASKMOVPS(a, maskY, dst)
			}
		}
	}
}
