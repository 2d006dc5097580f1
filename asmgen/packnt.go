package asmgen

import (
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/nngen/nngen/layers/emit"
)

// ntKC is the block of K of the transposing NT kernel.
const ntKC = 128

// ntMax is the largest transposed block of B, in bytes: the NT kernel's
// stack frame.
const ntMax = 64 << 10

// packNT reports whether an NT kernel runs as the outer-product kernel over
// a transposed copy of B, block of K by block of K: on AVX2, for a B too
// large for L2 (where the dot-product kernel cuts K in blocks) whose rows
// come in panels of 16, whose block of ntKC values of K fits in ntMax, and
// whose K is whole blocks, with at least two row blocks of A. The
// dot-product kernel's blocks of B (rows 36 KiB apart in the shipped CNN)
// crowd L1's and L2's sets and cost a reduction per tile and block; the
// transposed block is contiguous.
func (k *kernel) packNT() bool {
	g := k.g
	L := lanes[k.isa]
	return k.isa == AVX2 && g.Layout == emit.NT && g.N*g.K*4 > 512<<10 && g.K >= 2*dotChunk &&
		g.N%(2*L) == 0 && g.N*ntKC*4 <= ntMax && g.K%ntKC == 0 && g.M >= 2*k.outerRows()
}

// outerNT emits C (+)= A·Bᵀ as blocks of ntKC values of K: each block of B
// is transposed into a buffer on the stack, panels of 16 columns of Bᵀ one
// after the other (ntKC rows of 16 each), then every row block of A (ntKC
// values of mr rows, in L1) passes over every panel with the
// outer-product block, adding to C. Registers: rC holds the buffer and rPC
// C's address; the count of K blocks lives in the frame.
func (k *kernel) outerNT() {
	c, g := k.ctx, k.g
	L := lanes[k.isa]
	mr := k.outerRows()
	pw := ntKC * 2 * L * 4 // bytes of a panel of Bᵀ
	if !g.Acc {
		k.zeroC()
	}
	count := c.AllocLocal(8)
	buf := c.AllocLocal(g.N/(2*L)*pw + 64)
	c.MOVQ(rC, rPC)
	c.LEAQ(buf, rC)
	c.ADDQ(operand.U32(63), rC)
	c.ANDQ(operand.I32(-64), rC)
	c.MOVQ(operand.U32(g.K/ntKC), count)
	top := k.label("ntkb")
	c.Label(top)
	c.MOVQ(rB, rPB)
	c.MOVQ(rC, rPB2)
	k.loop(g.N/(2*L), rNi, "ntt", func() {
		k.transposePanel(rPB2)
		c.ADDQ(operand.U32(2*L*g.K*4), rPB)
		c.ADDQ(operand.U32(pw), rPB2)
	})
	c.MOVQ(rA, rPA)
	c.MOVQ(rPC, rPB2)
	rows := func(mr int) {
		c.MOVQ(rC, rPB)
		k.loop(g.N/(2*L), rNi, "ntn", func() {
			k.outerBlock(mr, 2, 0, rPB, 2*L*4, ntKC, true)
			c.ADDQ(operand.U32(pw), rPB)
			c.ADDQ(operand.U32(2*L*4), rPB2)
		})
	}
	k.loop(g.M/mr, rMi, "ntm", func() {
		rows(mr)
		c.ADDQ(operand.U32(mr*g.K*4), rPA)
		c.ADDQ(operand.U32((mr-1)*g.N*4), rPB2)
	})
	if rem := g.M % mr; rem > 0 {
		rows(rem)
	}
	c.ADDQ(operand.U32(ntKC*4), rA)
	c.ADDQ(operand.U32(ntKC*4), rB)
	c.DECQ(count)
	c.JNE(operand.LabelRef(top))
}

// transposePanel copies the ntKC values of K of the 16 rows of B at rPB,
// transposed, to dst: row kk of the copy holds B[0..15][kk].
// Each 8×8 piece is two unpacks, two shuffles and a 128-bit permute per
// output row.
func (k *kernel) transposePanel(dst reg.Register) {
	c, g := k.ctx, k.g
	y := func(i int) reg.VecPhysical { return k.vec(i) }
	c.MOVQ(rPB, rTmp)
	c.MOVQ(dst, rPA2)
	k.loop(ntKC/8, rK, "nttk", func() {
		for jb := 0; jb < 16; jb += 8 {
			for i := 0; i < 8; i++ {
				c.VMOVUPS(mem(rTmp, (jb+i)*g.K*4), y(i))
			}
			for i := 0; i < 8; i += 2 {
				c.VUNPCKLPS(y(i+1), y(i), y(8+i))   // r0₀ r1₀ r0₁ r1₁ | r0₄ r1₄ r0₅ r1₅
				c.VUNPCKHPS(y(i+1), y(i), y(8+i+1)) // r0₂ r1₂ r0₃ r1₃ | r0₆ r1₆ r0₇ r1₇
			}
			for h := 0; h < 8; h += 4 { // rows 0–3, then 4–7
				t := 8 + h
				c.VSHUFPS(operand.U8(0x44), y(t+2), y(t), y(h))     // column 0 | 4
				c.VSHUFPS(operand.U8(0xee), y(t+2), y(t), y(h+1))   // column 1 | 5
				c.VSHUFPS(operand.U8(0x44), y(t+3), y(t+1), y(h+2)) // column 2 | 6
				c.VSHUFPS(operand.U8(0xee), y(t+3), y(t+1), y(h+3)) // column 3 | 7
			}
			for i := 0; i < 4; i++ {
				c.VPERM2F128(operand.U8(0x20), y(4+i), y(i), y(8+i))  // column i
				c.VPERM2F128(operand.U8(0x31), y(4+i), y(i), y(12+i)) // column 4+i
			}
			for i := 0; i < 8; i++ {
				c.VMOVUPS(y(8+i), mem(rPA2, i*16*4+jb*4))
			}
		}
		c.ADDQ(operand.U32(8*4), rTmp)
		c.ADDQ(operand.U32(8*16*4), rPA2)
	})
}
