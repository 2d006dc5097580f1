package asmgen

import (
	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/nngen/nngen/layers/emit"
)

// maskName is the read-only table the AVX2 kernels load lane masks from:
// eight all-ones words, then eight zero words. The eight words at
// 4·(8−t) select the first t lanes.
const maskName = "nngenMask"

// needsMask reports whether an AVX2 kernel of g reads a partial vector.
func needsMask(g emit.GEMM) bool {
	if g.Layout == emit.NT {
		return g.K%8 != 0
	}
	return g.N%8 != 0
}

// addMaskTable adds the mask table to the file.
func addMaskTable(ctx *build.Context) {
	ctx.StaticGlobal(maskName)
	ctx.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		ctx.AppendDatum(operand.U32(v))
	}
}

// maskMem returns the address of the mask selecting the first t lanes of a
// YMM register.
func (k *kernel) maskMem(t int) operand.Mem {
	return operand.Mem{Symbol: operand.NewStaticSymbol(maskName), Base: reg.StaticBase, Disp: 4 * (8 - t)}
}
