package asmgen

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/nngen/nngen/layers/emit"
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
	if k.g.Layout == emit.TN {
		return 1, k.g.M
	}
	return k.g.K, 1
}

// packMax is the largest packed panel of B, in bytes: the kernel's stack
// frame, half of L1d.
const packMax = 16 << 10

// packB reports whether the outer-product kernel copies each full column
// panel of B (K rows of two vectors) into a contiguous buffer on its stack
// before the row blocks of A pass over it. It does on AVX2 when the panel
// sweep would otherwise reread the panel from L2 while B streams through
// it: B's row stride maps more than four of the panel's rows to one L1 set
// (a stride of a multiple of 4 KiB maps them all to one), B takes at least
// half of L2 (a smaller B stays in L2, which serves the rereads well), and
// at least two row blocks read each panel. AVX-512 keeps the unpacked sweep.
func (k *kernel) packB() bool {
	g := k.g
	L := lanes[k.isa]
	if k.isa != AVX2 || g.Layout == emit.NT || g.N <= g.M || g.N < 2*L ||
		g.M < 2*k.outerRows() || g.K <= fullUnroll || g.K*2*L*4 > packMax ||
		g.K*g.N*4 < 256<<10 {
		return false
	}
	// L1d: 64 sets of 64-byte lines.
	var rows [64]int
	for kk := 0; kk < g.K; kk++ {
		s := kk * g.N * 4 / 64 % 64
		if rows[s]++; rows[s] > 4 {
			return true
		}
	}
	return false
}

// outerKC is the block of K of the outer-product kernel over a B that L2
// cannot hold (see kBlocked).
const outerKC = 192

// kBlocked reports whether the outer-product kernel cuts K in blocks of
// outerKC: on AVX2, for a TN product (the weight gradients of the recurrent
// layers, K = steps·batch) whose B exceeds half of L2 and whose K is at
// least two blocks. Unblocked, a sweep by row blocks of A streams all of B
// from L3 for each (and its K rows of A, a row stride apart, from L2), a
// sweep by column panels of B rereads panels of K rows from L2; blocked, a
// block of B stays in L2 and the block's rows of A and of a panel in L1
// while they pass over each other. C gathers the blocks' sums. (In TN the
// strides of A and B do not depend on K.)
func (k *kernel) kBlocked() bool {
	g := k.g
	return k.isa == AVX2 && g.Layout == emit.TN && g.K >= 2*outerKC && g.K*g.N*4 > 256<<10
}

// packPanel copies the panel of B at rPB (K rows of two vectors, B's row
// stride apart) to the buffer at rB (64 bytes a row), and prefetches the
// next panel's rows.
func (k *kernel) packPanel() {
	c, g := k.ctx, k.g
	L := lanes[k.isa]
	row := func(u int) {
		for v := 0; v < 2; v++ {
			c.VMOVUPS(mem(rTmp, u*g.N*4+v*L*4), k.vec(2*u+v))
		}
		c.PREFETCHT0(mem(rTmp, u*g.N*4+2*L*4))
		for v := 0; v < 2; v++ {
			c.VMOVUPS(k.vec(2*u+v), mem(rPA2, (u*2+v)*L*4))
		}
	}
	const unroll = 4
	c.MOVQ(rPB, rTmp)
	c.MOVQ(rB, rPA2)
	k.loop(g.K/unroll, rK, "pack", func() {
		for u := 0; u < unroll; u++ {
			row(u)
		}
		c.ADDQ(operand.U32(unroll*g.N*4), rTmp)
		c.ADDQ(operand.U32(unroll*2*L*4), rPA2)
	})
	for u := 0; u < g.K%unroll; u++ {
		row(u)
	}
}

// outer emits C (+)= A·B for B contiguous along N: each step loads a row
// piece of B and broadcasts values of A.
func (k *kernel) outer() {
	c, g := k.ctx, k.g
	ams, _ := k.aStrides()
	mr := min(k.outerRows(), g.M)
	L := lanes[k.isa]
	// rows emits mr rows of C (+)= A·B over kLen values of K.
	rows := func(mr, kLen int, add bool) {
		c.MOVQ(rB, rPB)
		c.MOVQ(rPC, rPB2) // C pointer of the block
		k.loop(g.N/(2*L), rNi, "outn", func() {
			k.outerBlock(mr, 2, 0, rPB, g.N*4, kLen, add)
			c.ADDQ(operand.U32(2*L*4), rPB)
			c.ADDQ(operand.U32(2*L*4), rPB2)
		})
		rem := g.N % (2 * L)
		if rem >= L {
			k.outerBlock(mr, 1, 0, rPB, g.N*4, kLen, add)
			c.ADDQ(operand.U32(L*4), rPB)
			c.ADDQ(operand.U32(L*4), rPB2)
			rem -= L
		}
		if rem > 0 {
			k.outerBlock(mr, 1, rem, rPB, g.N*4, kLen, add)
		}
	}
	// B is the larger operand: sweep it once, column panel by column panel
	// (each panel stays in L1 while every row block of A passes over it).
	pack := k.packB() // never with kBlocked (its K is too long for the buffer): one sweep
	cols := func(nv, tail, kLen int, add, packed bool) {
		pb, bks := rPB, g.N*4
		if packed {
			k.packPanel()
			pb, bks = rB, nv*L*4
		}
		c.MOVQ(rA, rPA)
		c.MOVQ(rPC, rPB2)
		k.loop(g.M/mr, rMi, "outm", func() {
			k.outerBlock(mr, nv, tail, pb, bks, kLen, add)
			c.ADDQ(operand.U32(mr*ams*4), rPA)
			c.ADDQ(operand.U32(mr*g.N*4), rPB2)
		})
		if rem := g.M % mr; rem > 0 {
			k.outerBlock(rem, nv, tail, pb, bks, kLen, add)
		}
	}
	// sweep emits C (+)= A·B over kLen values of K from rA and rB.
	sweep := func(kLen int, add bool) {
		c.MOVQ(rA, rPA)
		c.MOVQ(rC, rPC)
		if g.N <= g.M {
			k.loop(g.M/mr, rMi, "outm", func() {
				rows(mr, kLen, add)
				c.ADDQ(operand.U32(mr*ams*4), rPA)
				c.ADDQ(operand.U32(mr*g.N*4), rPC)
			})
			if rem := g.M % mr; rem > 0 {
				rows(rem, kLen, add)
			}
			return
		}
		c.MOVQ(rB, rPB)
		if pack {
			// rB: the panel buffer, aligned to a cache line.
			c.LEAQ(c.AllocLocal(g.K*2*L*4+64), rB)
			c.ADDQ(operand.U32(63), rB)
			c.ANDQ(operand.I32(-64), rB)
		}
		k.loop(g.N/(2*L), rNi, "outn", func() {
			cols(2, 0, kLen, add, pack)
			c.ADDQ(operand.U32(2*L*4), rPB)
			c.ADDQ(operand.U32(2*L*4), rPC)
		})
		rem := g.N % (2 * L)
		if rem >= L {
			cols(1, 0, kLen, add, false)
			c.ADDQ(operand.U32(L*4), rPB)
			c.ADDQ(operand.U32(L*4), rPC)
			rem -= L
		}
		if rem > 0 {
			cols(1, rem, kLen, add, false)
		}
	}
	if !k.kBlocked() {
		sweep(g.K, g.Acc)
		return
	}
	// The first block of K sets C (or adds to it), the others add; the
	// count of the middle blocks lives in the frame.
	blocks, rem := g.K/outerKC, g.K%outerKC
	next := func() {
		c.ADDQ(operand.U32(outerKC*g.M*4), rA)
		c.ADDQ(operand.U32(outerKC*g.N*4), rB)
	}
	sweep(outerKC, g.Acc)
	next()
	count := c.AllocLocal(8)
	c.MOVQ(operand.U32(blocks-1), count)
	top := k.label("outkb")
	c.Label(top)
	sweep(outerKC, true)
	next()
	c.DECQ(count)
	c.JNE(operand.LabelRef(top))
	if rem > 0 {
		sweep(rem, true)
	}
}

// outerBlock emits an mr×(nv vectors) block of C (+)= A·B over kLen values
// of K (add: add to C) at rPA (A), pb (B, bks bytes from one k to the next)
// and rPB2 (C); tail > 0 makes it one vector of which only tail lanes exist.
func (k *kernel) outerBlock(mr, nv, tail int, pb reg.Register, bks, kLen int, add bool) {
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
		if pb != rPB {
			c.PREFETCHT0(mem(rPB2, r*g.N*4))
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
	if kLen <= fullUnroll {
		for kk := 0; kk < kLen; kk++ {
			step(rPA, pb, kk*aks*4, kk*bks)
		}
	} else {
		const unroll = 4
		c.MOVQ(rPA, rPA2)
		c.MOVQ(pb, rTmp)
		k.loop(kLen/unroll, rK, "outk", func() {
			for u := 0; u < unroll; u++ {
				step(rPA2, rTmp, u*aks*4, u*bks)
			}
			c.ADDQ(operand.U32(unroll*aks*4), rPA2)
			c.ADDQ(operand.U32(unroll*bks), rTmp)
		})
		for u := 0; u < kLen%unroll; u++ {
			step(rPA2, rTmp, u*aks*4, u*bks)
		}
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			dst := mem(rPB2, (r*g.N+v*L)*4)
			a := acc(r, v)
			switch {
			case tail == 0:
				if add {
					c.VADDPS(dst, a, a)
				}
				c.VMOVUPS(a, dst)
			case k.isa == AVX512:
				if add {
					c.VMOVUPS_Z(dst, maskK, bReg(0))
					c.VADDPS(bReg(0), a, a)
				}
				c.VMOVUPS(a, maskK, dst)
			default:
				if add {
					c.VMASKMOVPS(dst, maskY, bReg(0))
					c.VADDPS(bReg(0), a, a)
				}
				c.VMASKMOVPS(a, maskY, dst)
			}
		}
	}
}
