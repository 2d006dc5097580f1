package asmgen

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// dotTile is the register block of the dot-product kernel: mr rows of A by
// nr rows of B, mr·nr accumulators plus nr B vectors and one A vector (with
// mr = 1, B is read by the FMAs straight from memory).
func (k *kernel) dotTile() (mr, nr, nr1 int) {
	tail := k.g.K%lanes[k.isa] != 0
	switch {
	case k.isa == AVX512:
		// 16 accumulators + 4 B + 1 A of 32 registers; four columns per
		// row let the sums of a row be reduced together (reduce4).
		return 4, 4, 24
	case tail: // keep a register for the load mask
		return 3, 3, 12
	}
	return 4, 3, 13
}

// dotChunk is the K-block of the dot-product kernel when B is too large
// for L2 (see dot).
const dotChunk = 1024

// dot emits C (+)= A·Bᵀ: for each block of C, vector accumulators run along
// K and are summed across their lanes at the end. When B exceeds 512 KiB,
// K is cut in blocks of dotChunk: each block of B stays in L2 while every
// row of A passes over it, and C gathers the blocks' sums.
func (k *kernel) dot() {
	c, g := k.ctx, k.g
	if g.N*g.K*4 <= 512<<10 || g.K < 2*dotChunk {
		k.dotAll(g.K, g.Acc)
		return
	}
	k.chunked = true
	if !g.Acc {
		k.zeroC()
	}
	chunks, rem := g.K/dotChunk, g.K%dotChunk
	k.loop(chunks, rPA2, "dotc", func() {
		k.dotAll(dotChunk, true)
		c.ADDQ(operand.U32(dotChunk*4), rA)
		c.ADDQ(operand.U32(dotChunk*4), rB)
	})
	if rem > 0 {
		k.dotAll(rem, true)
	}
}

// zeroC emits C = 0 (with rPC and rNi).
func (k *kernel) zeroC() {
	c, g := k.ctx, k.g
	zero := k.vec(0)
	c.VXORPS(zero, zero, zero)
	c.MOVQ(rC, rPC)
	L := lanes[k.isa]
	n := g.M * g.N
	k.loop(n/L, rNi, "dotz", func() {
		c.VMOVUPS(zero, mem(rPC, 0))
		c.ADDQ(operand.U32(L*4), rPC)
	})
	for i := 0; i < n%L; i++ {
		c.VMOVSS(xmmOf[zero], mem(rPC, i*4))
	}
}

// dotAll emits C (+)= A·Bᵀ over kLen values of K from the current rA and
// rB (acc: add to C).
func (k *kernel) dotAll(kLen int, acc bool) {
	c, g := k.ctx, k.g
	mr, nr, nr1 := k.dotTile()
	if k.chunked && k.isa == AVX512 {
		// Blocks of B come from L2: six rows of A per block load fewer
		// vectors per multiply-add (24 accumulators, 4 B, 1 A).
		mr = 6
	}
	if g.M < mr {
		mr = g.M
	}
	c.MOVQ(rA, rPA)
	c.MOVQ(rC, rPC)
	rows := func(mr int) {
		n := nr
		if mr == 1 {
			n = nr1
		}
		c.MOVQ(rB, rPB)
		c.MOVQ(rPC, rPB2) // C pointer of the block
		k.loop(g.N/n, rNi, "dotn", func() {
			k.dotBlock(mr, n, kLen, acc)
			c.ADDQ(operand.U32(n*g.K*4), rPB)
			c.ADDQ(operand.U32(n*4), rPB2)
		})
		if rem := g.N % n; rem > 0 {
			k.dotBlock(mr, rem, kLen, acc)
		}
	}
	k.loop(g.M/mr, rMi, "dotm", func() {
		rows(mr)
		c.ADDQ(operand.U32(mr*g.K*4), rPA)
		c.ADDQ(operand.U32(mr*g.N*4), rPC)
	})
	if rem := g.M % mr; rem > 0 {
		rows(rem)
	}
}

// dotBlock emits one mr×nr block of C at rPA (rows of A), rPB (rows of B)
// and rPB2 (C).
func (k *kernel) dotBlock(mr, nr, kLen int, acc bool) {
	c, g := k.ctx, k.g
	L, W := lanes[k.isa], vecBytes[k.isa]
	accR := func(r, j int) reg.VecPhysical { return k.vec(r*nr + j) }
	bReg := func(j int) reg.VecPhysical { return k.vec(mr*nr + j) }
	aReg := k.vec(mr * nr)
	if mr > 1 {
		aReg = k.vec(mr*nr + nr)
	}
	var maskY reg.VecPhysical
	for r := 0; r < mr; r++ {
		for j := 0; j < nr; j++ {
			c.VXORPS(accR(r, j), accR(r, j), accR(r, j))
		}
	}
	at := func(base reg.Register, row, disp int) operand.Mem {
		return operand.Mem{Base: base, Index: rK, Scale: 1, Disp: row*g.K*4 + disp}
	}
	// step emits one vector step along K at byte offset rK+disp; masked
	// steps read only the first lanes (the tail of K).
	step := func(disp int, masked bool) {
		load := func(m operand.Mem, dst reg.VecPhysical) {
			switch {
			case !masked:
				c.VMOVUPS(m, dst)
			case k.isa == AVX512:
				c.VMOVUPS_Z(m, maskK, dst)
			default:
				c.VMASKMOVPS(m, maskY, dst)
			}
		}
		if mr == 1 {
			load(at(rPA, 0, disp), aReg)
			for j := 0; j < nr; j++ {
				if masked {
					tmp := k.vec(nr + 1) // the register past aReg
					load(at(rPB, j, disp), tmp)
					c.VFMADD231PS(tmp, aReg, accR(0, j))
				} else {
					c.VFMADD231PS(at(rPB, j, disp), aReg, accR(0, j))
				}
			}
			return
		}
		for j := 0; j < nr; j++ {
			load(at(rPB, j, disp), bReg(j))
		}
		for r := 0; r < mr; r++ {
			load(at(rPA, r, disp), aReg)
			for j := 0; j < nr; j++ {
				c.VFMADD231PS(bReg(j), aReg, accR(r, j))
			}
		}
	}
	steps, tail := kLen/L, kLen%L
	const unroll = 2
	c.XORQ(rK, rK)
	k.loop(steps/unroll, rTmp, "dotk", func() {
		for u := 0; u < unroll; u++ {
			step(u*W, false)
		}
		c.ADDQ(operand.U32(unroll*W), rK)
	})
	for u := 0; u < steps%unroll; u++ {
		step(u*W, false)
	}
	if tail > 0 {
		if k.isa == AVX512 {
			c.MOVL(operand.U32(1<<tail-1), maskGP.As32())
			c.KMOVW(maskGP.As32(), maskK)
		} else {
			maskY = k.vec(15)
			c.VMOVUPS(k.maskMem(tail), maskY)
		}
		step((steps%unroll)*W, true)
	}
	// Sum the accumulators' lanes: four columns of a row at once where
	// there are four, one by one otherwise.
	tmp := [3]reg.VecPhysical{k.vec(mr * nr), k.vec(mr*nr + 1), k.vec(mr*nr + 2)}
	for r := 0; r < mr; r++ {
		j := 0
		for ; j+4 <= nr; j += 4 {
			k.reduce4([4]reg.VecPhysical{accR(r, j), accR(r, j+1), accR(r, j+2), accR(r, j+3)}, tmp, mem(rPB2, (r*g.N+j)*4), acc)
		}
		for ; j < nr; j++ {
			k.reduce1(accR(r, j), tmp[0], mem(rPB2, (r*g.N+j)*4), acc)
		}
	}
}

// reduce1 stores (or adds) the sum of a's lanes to dst.
func (k *kernel) reduce1(a, tmp reg.VecPhysical, dst operand.Mem, acc bool) {
	c := k.ctx
	x, t := xmmOf[a], xmmOf[tmp]
	if k.isa == AVX512 {
		// EVEX forms only: registers 16–31 have no VEX encoding.
		c.VEXTRACTF32X8(operand.U8(1), a, ymmOf[tmp])
		c.VADDPS(ymmOf[tmp], ymmOf[a], ymmOf[a])
		c.VEXTRACTF32X4(operand.U8(1), ymmOf[a], t)
		c.VADDPS(t, x, x)
		c.VPERMILPS(operand.U8(0x4e), x, t)
		c.VADDPS(t, x, x)
		c.VPERMILPS(operand.U8(0xb1), x, t)
		c.VADDPS(t, x, x)
	} else {
		c.VEXTRACTF128(operand.U8(1), ymmOf[a], t)
		c.VADDPS(t, x, x)
		c.VHADDPS(x, x, x)
		c.VHADDPS(x, x, x)
	}
	if acc {
		c.VADDSS(dst, x, x)
	}
	c.VMOVSS(x, dst)
}

// reduce4 stores (or adds) the lane sums of a[0..3] to the four floats at
// dst. Within each 128-bit lane, two unpacks and two shuffles transpose and
// add the four vectors into [Σa0, Σa1, Σa2, Σa3]; the 128-bit lanes are then
// added together.
func (k *kernel) reduce4(a [4]reg.VecPhysical, t [3]reg.VecPhysical, dst operand.Mem, acc bool) {
	c := k.ctx
	c.VUNPCKLPS(a[1], a[0], t[0])
	c.VUNPCKHPS(a[1], a[0], t[1])
	c.VADDPS(t[1], t[0], t[0]) // [a0₀+a0₂, a1₀+a1₂, a0₁+a0₃, a1₁+a1₃]
	c.VUNPCKLPS(a[3], a[2], t[1])
	c.VUNPCKHPS(a[3], a[2], t[2])
	c.VADDPS(t[2], t[1], t[1]) // the same for a2, a3
	c.VSHUFPS(operand.U8(0x44), t[1], t[0], t[2])
	c.VSHUFPS(operand.U8(0xee), t[1], t[0], t[0])
	c.VADDPS(t[2], t[0], t[0]) // each 128-bit lane: [Σa0, Σa1, Σa2, Σa3]
	if k.isa == AVX512 {
		c.VSHUFF32X4(operand.U8(0x4e), t[0], t[0], t[1])
		c.VADDPS(t[1], t[0], t[0])
		c.VSHUFF32X4(operand.U8(0xb1), t[0], t[0], t[1])
		c.VADDPS(t[1], t[0], t[0])
	} else {
		c.VEXTRACTF128(operand.U8(1), t[0], xmmOf[t[1]])
		c.VADDPS(xmmOf[t[1]], xmmOf[t[0]], xmmOf[t[0]])
	}
	x := xmmOf[t[0]]
	if acc {
		c.VADDPS(dst, x, x)
	}
	c.VMOVUPS(x, dst)
}
