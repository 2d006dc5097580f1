package asmgen

import (
	"fmt"
	"strings"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"

	"github.com/nngen/nngen/layers/emit"
)

// FuncName is the assembly function of kernel f in instruction set i.
func FuncName(f emit.Routine, i ISA) string { return f.Name() + i.String() }

// FuncSignature is the Go signature of every variant of kernel f.
func FuncSignature(f emit.Routine) string {
	var p []string
	for _, a := range f.Args() {
		p = append(p, fmt.Sprintf("%s *[%d]float32", a.Name, a.Size))
	}
	return "func(" + strings.Join(p, ", ") + ")"
}

// GenerateAll is Generate with the Func kernels funcs as well.
func GenerateAll(pkg, header string, gemms []emit.GEMM, funcs []emit.Routine) ([]byte, error) {
	ctx := build.NewContext()
	mask := false
	for _, g := range gemms {
		mask = mask || needsMask(g)
	}
	for _, f := range funcs {
		mask = mask || funcNeedsMask(f)
	}
	if mask {
		addMaskTable(ctx)
	}
	for _, g := range gemms {
		for _, isa := range ISAs {
			k := &kernel{ctx: ctx, g: g, isa: isa}
			ctx.Function(Name(g, isa))
			if !k.packB() && !k.packNT() && !k.kBlocked() {
				// A kernel that packs B needs a stack frame for the
				// panel, and so the stack check NOSPLIT leaves out.
				ctx.Attributes(attr.NOSPLIT)
			}
			ctx.SignatureExpr(Signature(g))
			ctx.Doc(fmt.Sprintf("%s is %s with %s.", Name(g, isa), g.Name(), isa))
			k.emit()
			ctx.VZEROUPPER()
			ctx.RET()
		}
	}
	for _, f := range funcs {
		for _, isa := range ISAs {
			ctx.Function(FuncName(f, isa))
			ctx.Attributes(attr.NOSPLIT)
			ctx.SignatureExpr(FuncSignature(f))
			ctx.Doc(fmt.Sprintf("%s is %s with %s.", FuncName(f, isa), f.Name(), isa))
			k := &kernel{ctx: ctx, isa: isa}
			switch f := f.(type) {
			case emit.ConvFwd:
				k.convFwd(f)
			case emit.BiasGrad:
				k.biasGrad(f)
			case emit.MaxPool:
				k.maxPool(f)
			case emit.ConvWGrad:
				k.convWGrad(f)
			case emit.Wino:
				k.wino(f)
			case emit.LSTMGrad:
				k.lstmGrad(f)
			default:
				panic(fmt.Sprintf("asmgen: no assembly for kernel %T", f))
			}
			ctx.VZEROUPPER()
			ctx.RET()
		}
	}
	return compile(ctx, pkg, header)
}

// funcNeedsMask reports whether an AVX2 kernel of f reads a partial vector.
func funcNeedsMask(f emit.Routine) bool {
	switch f := f.(type) {
	case emit.ConvFwd:
		return f.F%8 != 0
	case emit.BiasGrad:
		return f.F%8 != 0
	case emit.MaxPool:
		return f.C%8 != 0
	case emit.ConvWGrad:
		return f.F%8 != 0
	case emit.Wino:
		return f.C%8 != 0
	case emit.LSTMGrad:
		return f.H%8 != 0
	}
	return false
}

// vecLoad loads the vector at m into dst; tail > 0 loads only its first
// tail lanes (maskY: the AVX2 mask register, K1 on AVX-512) and zeroes the
// others.
func (k *kernel) vecLoad(m operand.Mem, dst reg.VecPhysical, tail int, maskY reg.VecPhysical) {
	c := k.ctx
	switch {
	case tail == 0:
		c.VMOVUPS(m, dst)
	case k.isa == AVX512:
		c.VMOVUPS_Z(m, maskK, dst)
	default:
		c.VMASKMOVPS(m, maskY, dst)
	}
}

// vecStore stores src to m, only its first tail lanes if tail > 0.
func (k *kernel) vecStore(src reg.VecPhysical, m operand.Mem, tail int, maskY reg.VecPhysical) {
	c := k.ctx
	switch {
	case tail == 0:
		c.VMOVUPS(src, m)
	case k.isa == AVX512:
		c.VMOVUPS(src, maskK, m)
	default:
		c.VMASKMOVPS(src, maskY, m)
	}
}

// setTail prepares the lane mask of a partial vector of tail lanes: K1 on
// AVX-512, else the YMM register maskY.
func (k *kernel) setTail(tail int, maskY reg.VecPhysical) {
	c := k.ctx
	if tail == 0 {
		return
	}
	if k.isa == AVX512 {
		c.MOVL(operand.U32(1<<tail-1), maskGP.As32())
		c.KMOVW(maskGP.As32(), maskK)
	} else {
		c.VMOVUPS(k.maskMem(tail), maskY)
	}
}

// panel is a run of nv vectors of an output row, starting at vector v0;
// its last vector has tail lanes when tail > 0.
type panel struct{ v0, nv, tail int }

// panels splits n floats into panels of at most maxNV vectors.
func (k *kernel) panels(n, maxNV int) []panel {
	L := lanes[k.isa]
	nvec := (n + L - 1) / L
	var ps []panel
	for v0 := 0; v0 < nvec; v0 += maxNV {
		p := panel{v0: v0, nv: min(maxNV, nvec-v0)}
		if v0+p.nv == nvec {
			p.tail = n % L
		}
		ps = append(ps, p)
	}
	return ps
}

// Registers of the Func kernels.
var (
	rOut, rX, rW, rBias = reg.R8, reg.R9, reg.R10, reg.R11
	rRows, rTiles, rCh  = reg.R12, reg.R13, reg.RAX
	rXp, rWp            = reg.RSI, reg.RDI
	rXt, rOt            = reg.RBX, reg.RDX
)

// convFwd emits a ConvFwd: for each output row, for each panel of
// filters, for each tile of mr output columns, mr×nv accumulators run over
// every tap and channel (broadcast x, vectors of w along the filters),
// then bias, ReLU and one store.
func (k *kernel) convFwd(f emit.ConvFwd) {
	c := k.ctx
	L := lanes[k.isa]
	c.Load(c.Param("out"), rOut)
	c.Load(c.Param("x"), rX)
	c.Load(c.Param("w"), rW)
	if f.Bias {
		c.Load(c.Param("bias"), rBias)
	}
	// Two vectors of filters per panel: the panel's weights over every tap
	// and channel then stay in L1 while the tiles of a row pass over them.
	maxNV := 2
	u := 1
	if f.C%2 == 0 {
		u = 2
	}
	k.loop(f.OH, rRows, "convoh", func() {
		for _, p := range k.panels(f.F, maxNV) {
			regs := numVecRegs[k.isa] - p.nv - 1
			if p.tail > 0 && k.isa == AVX2 {
				regs--
			}
			mrMax := min(regs/p.nv, 14)
			tiles := (f.OW + mrMax - 1) / mrMax
			mr := (f.OW + tiles - 1) / tiles
			full, rem := f.OW/mr, f.OW%mr
			c.MOVQ(rX, rXt)
			c.MOVQ(rOut, rOt)
			k.loop(full, rTiles, "convow", func() {
				k.convBlock(f, p, mr, u)
				c.ADDQ(operand.U32(mr*f.SW*f.C*4), rXt)
				c.ADDQ(operand.U32(mr*f.F*4), rOt)
			})
			if rem > 0 {
				k.convBlock(f, p, rem, u)
			}
		}
		c.ADDQ(operand.U32(f.SH*f.W*f.C*4), rX)
		c.ADDQ(operand.U32(f.OW*f.F*4), rOut)
	})
	_ = L
}

// convBlock emits one tile: mr output columns at rXt (input) and rOt
// (output) by panel p of the filters.
func (k *kernel) convBlock(f emit.ConvFwd, p panel, mr, u int) {
	c := k.ctx
	L := lanes[k.isa]
	nv := p.nv
	acc := func(r, v int) reg.VecPhysical { return k.vec(r*nv + v) }
	bReg := func(v int) reg.VecPhysical { return k.vec(mr*nv + v) }
	bc := k.vec(mr*nv + nv)
	var maskY reg.VecPhysical
	if p.tail > 0 && k.isa == AVX2 {
		maskY = k.vec(mr*nv + nv + 1)
	}
	k.setTail(p.tail, maskY)
	tailOf := func(v int) int {
		if v == nv-1 {
			return p.tail
		}
		return 0
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			c.VXORPS(acc(r, v), acc(r, v), acc(r, v))
		}
	}
	c.MOVQ(rXt, rXp)
	if p.v0 > 0 {
		c.LEAQ(mem(rW, p.v0*L*4), rWp)
	} else {
		c.MOVQ(rW, rWp)
	}
	// step emits channel uu of the current chunk at tap (kh, kw).
	step := func(kh, kw, uu int) {
		tap := kh*f.KW + kw
		for v := 0; v < nv; v++ {
			k.vecLoad(mem(rWp, ((tap*f.C+uu)*f.F+v*L)*4), bReg(v), tailOf(v), maskY)
		}
		xoff := ((kh*f.DH*f.W+kw*f.DW)*f.C + uu) * 4
		for r := 0; r < mr; r++ {
			c.VBROADCASTSS(mem(rXp, xoff+r*f.SW*f.C*4), bc)
			for v := 0; v < nv; v++ {
				c.VFMADD231PS(bReg(v), bc, acc(r, v))
			}
		}
	}
	k.loop(f.C/u, rCh, "convc", func() {
		for kh := 0; kh < f.KH; kh++ {
			for kw := 0; kw < f.KW; kw++ {
				for uu := 0; uu < u; uu++ {
					step(kh, kw, uu)
				}
			}
		}
		if f.C/u > 1 {
			c.ADDQ(operand.U32(u*4), rXp)
			c.ADDQ(operand.U32(u*f.F*4), rWp)
		}
	})
	// Epilogue: bias, ReLU (max with zero: a negative, -0 or NaN sum
	// becomes +0), one store.
	if f.Relu {
		c.VXORPS(bc, bc, bc)
	}
	for v := 0; v < nv; v++ {
		if f.Bias {
			k.vecLoad(mem(rBias, (p.v0+v)*L*4), bReg(v), tailOf(v), maskY)
		}
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			a := acc(r, v)
			if f.Bias {
				c.VADDPS(bReg(v), a, a)
			}
			if f.Relu {
				c.VMAXPS(bc, a, a)
			}
			k.vecStore(a, mem(rOt, (r*f.F+(p.v0+v)*L)*4), tailOf(v), maskY)
		}
	}
}

// biasGrad emits a BiasGrad: panel by panel of the columns, accumulators
// run down the rows; with Relu each row of d is masked by s > 0 first.
func (k *kernel) biasGrad(f emit.BiasGrad) {
	c := k.ctx
	L := lanes[k.isa]
	c.Load(c.Param("d"), rOut)
	c.Load(c.Param("db"), rBias)
	if f.Relu {
		c.Load(c.Param("s"), rX)
	}
	maxNV := 4
	if k.isa == AVX512 {
		maxNV = 8
	}
	for _, p := range k.panels(f.F, maxNV) {
		nv := p.nv
		acc := func(v int) reg.VecPhysical { return k.vec(v) }
		zero, sv, dv, mv := k.vec(nv), k.vec(nv+1), k.vec(nv+2), k.vec(nv+3)
		var maskY reg.VecPhysical
		if p.tail > 0 && k.isa == AVX2 {
			maskY = k.vec(nv + 4)
		}
		k.setTail(p.tail, maskY)
		tailOf := func(v int) int {
			if v == nv-1 {
				return p.tail
			}
			return 0
		}
		for v := 0; v < nv; v++ {
			c.VXORPS(acc(v), acc(v), acc(v))
		}
		c.VXORPS(zero, zero, zero)
		c.MOVQ(rOut, rWp)
		c.MOVQ(rX, rXp)
		k.loop(f.Rows, rRows, "bgrow", func() {
			for v := 0; v < nv; v++ {
				off := (p.v0 + v) * L * 4
				t := tailOf(v)
				k.vecLoad(mem(rWp, off), dv, t, maskY)
				if f.Relu {
					k.vecLoad(mem(rXp, off), sv, t, maskY)
					if k.isa == AVX512 {
						c.VCMPPS(operand.U8(0x1e), zero, sv, reg.K2) // s > 0
						c.VMOVAPS_Z(dv, reg.K2, dv)
					} else {
						c.VCMPPS(operand.U8(0x1e), zero, sv, mv)
						c.VANDPS(mv, dv, dv)
					}
					k.vecStore(dv, mem(rWp, off), t, maskY)
				}
				c.VADDPS(dv, acc(v), acc(v))
			}
			c.ADDQ(operand.U32(f.F*4), rWp)
			if f.Relu {
				c.ADDQ(operand.U32(f.F*4), rXp)
			}
		})
		for v := 0; v < nv; v++ {
			m := mem(rBias, (p.v0+v)*L*4)
			k.vecLoad(m, dv, tailOf(v), maskY)
			c.VADDPS(dv, acc(v), acc(v))
			k.vecStore(acc(v), m, tailOf(v), maskY)
		}
	}
}

// maxPool emits a MaxPool or its gradient: window by window, the channels
// in vectors.
func (k *kernel) maxPool(f emit.MaxPool) {
	c := k.ctx
	L := lanes[k.isa]
	oh, ow := f.H/f.KH, f.W/f.KW
	if f.Grad {
		c.Load(c.Param("dx"), rW)
		c.Load(c.Param("d"), rBias)
		c.Load(c.Param("in"), rX)
		c.Load(c.Param("out"), rOut)
	} else {
		c.Load(c.Param("out"), rOut)
		c.Load(c.Param("in"), rX)
	}
	maxNV := 4
	ps := k.panels(f.C, maxNV)
	k.loop(oh, rRows, "poolh", func() {
		c.MOVQ(rX, rXt)
		if f.Grad {
			c.MOVQ(rW, rWp)
		}
		k.loop(ow, rTiles, "poolw", func() {
			for _, p := range ps {
				var maskY reg.VecPhysical
				if p.tail > 0 && k.isa == AVX2 {
					maskY = k.vec(15)
				}
				k.setTail(p.tail, maskY)
				for v := 0; v < p.nv; v++ {
					t := 0
					if v == p.nv-1 {
						t = p.tail
					}
					off := (p.v0 + v) * L * 4
					cell := func(i, j int) int { return (i*f.W+j)*f.C*4 + off }
					if !f.Grad {
						m, x := k.vec(2*v), k.vec(2*v+1)
						k.vecLoad(mem(rXt, cell(0, 0)), m, t, maskY)
						for i := 0; i < f.KH; i++ {
							for j := 0; j < f.KW; j++ {
								if i+j == 0 {
									continue
								}
								k.vecLoad(mem(rXt, cell(i, j)), x, t, maskY)
								c.VMAXPS(m, x, m) // x > m ? x : m
							}
						}
						k.vecStore(m, mem(rOut, off), t, maskY)
						continue
					}
					// Gradient: left marks the lanes still looking for their
					// maximum (AVX-512: K3; AVX2: all ones in a register).
					mx, dv, x, eq, left := k.vec(0), k.vec(1), k.vec(2), k.vec(3), k.vec(4)
					k.vecLoad(mem(rOut, off), mx, t, maskY)
					k.vecLoad(mem(rBias, off), dv, t, maskY)
					if k.isa == AVX512 {
						c.KXNORW(reg.K3, reg.K3, reg.K3)
					} else {
						c.VPCMPEQD(left, left, left)
					}
					for i := 0; i < f.KH; i++ {
						for j := 0; j < f.KW; j++ {
							k.vecLoad(mem(rXt, cell(i, j)), x, t, maskY)
							if k.isa == AVX512 {
								c.VCMPPS(operand.U8(0), mx, x, reg.K3, reg.K2) // == and left
								c.VMOVAPS_Z(dv, reg.K2, eq)
								c.KANDNW(reg.K3, reg.K2, reg.K3)
							} else {
								c.VCMPPS(operand.U8(0), mx, x, eq)
								c.VANDPS(left, eq, eq)
								c.VANDNPS(left, eq, left) // left &^= eq
								c.VANDPS(dv, eq, eq)
							}
							k.vecStore(eq, mem(rWp, cell(i, j)), t, maskY)
						}
					}
				}
			}
			c.ADDQ(operand.U32(f.KW*f.C*4), rXt)
			if f.Grad {
				c.ADDQ(operand.U32(f.KW*f.C*4), rWp)
				c.ADDQ(operand.U32(f.C*4), rBias)
			}
			c.ADDQ(operand.U32(f.C*4), rOut)
		})
		c.ADDQ(operand.U32(f.KH*f.W*f.C*4), rX)
		if f.Grad {
			c.ADDQ(operand.U32(f.KH*f.W*f.C*4), rW)
		}
	})
}

// convWGrad emits a ConvWGrad: for each tap, each tile of mr channels and
// each panel of filters, mr×nv accumulators run over every output (a
// broadcast of x, vectors of dy), then are added to dw.
func (k *kernel) convWGrad(f emit.ConvWGrad) {
	c := k.ctx
	L := lanes[k.isa]
	c.Load(c.Param("dw"), rW)
	c.Load(c.Param("x"), rX)
	c.Load(c.Param("dy"), rOut)
	for kh := 0; kh < f.KH; kh++ {
		for kw := 0; kw < f.KW; kw++ {
			tap := kh*f.KW + kw
			for _, p := range k.panels(f.F, 2) {
				regs := numVecRegs[k.isa] - p.nv - 1
				if p.tail > 0 && k.isa == AVX2 {
					regs--
				}
				mrMax := min(regs/p.nv, 14)
				tiles := (f.C + mrMax - 1) / mrMax
				mr := (f.C + tiles - 1) / tiles
				for c0 := 0; c0 < f.C; c0 += mr {
					k.convWBlock(f, p, min(mr, f.C-c0), c0, ((kh*f.DH*f.W+kw*f.DW)*f.C+c0)*4, ((tap*f.C+c0)*f.F)*4)
				}
			}
		}
	}
	_ = L
}

// convWBlock emits one block of dw: mr channels from c0 by panel p, the
// input tap at byte offset xoff of x, the block at byte offset woff of dw.
func (k *kernel) convWBlock(f emit.ConvWGrad, p panel, mr, c0, xoff, woff int) {
	c := k.ctx
	L := lanes[k.isa]
	nv := p.nv
	acc := func(r, v int) reg.VecPhysical { return k.vec(r*nv + v) }
	gReg := func(v int) reg.VecPhysical { return k.vec(mr*nv + v) }
	bc := k.vec(mr*nv + nv)
	var maskY reg.VecPhysical
	if p.tail > 0 && k.isa == AVX2 {
		maskY = k.vec(mr*nv + nv + 1)
	}
	k.setTail(p.tail, maskY)
	tailOf := func(v int) int {
		if v == nv-1 {
			return p.tail
		}
		return 0
	}
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			c.VXORPS(acc(r, v), acc(r, v), acc(r, v))
		}
	}
	c.LEAQ(mem(rX, xoff), rXp)
	c.LEAQ(mem(rOut, p.v0*L*4), rWp)
	step := func(u int) {
		for v := 0; v < nv; v++ {
			k.vecLoad(mem(rWp, (u*f.F+v*L)*4), gReg(v), tailOf(v), maskY)
		}
		for r := 0; r < mr; r++ {
			c.VBROADCASTSS(mem(rXp, (u*f.SW*f.C+r)*4), bc)
			for v := 0; v < nv; v++ {
				c.VFMADD231PS(gReg(v), bc, acc(r, v))
			}
		}
	}
	const unroll = 2
	k.loop(f.OH, rRows, "cwoh", func() {
		k.loop(f.OW/unroll, rTiles, "cwow", func() {
			for u := 0; u < unroll; u++ {
				step(u)
			}
			c.ADDQ(operand.U32(unroll*f.SW*f.C*4), rXp)
			c.ADDQ(operand.U32(unroll*f.F*4), rWp)
		})
		if f.OW%unroll != 0 {
			step(0)
			c.ADDQ(operand.U32(f.SW*f.C*4), rXp)
			c.ADDQ(operand.U32(f.F*4), rWp)
		}
		c.ADDQ(operand.U32((f.SH*f.W-f.OW*f.SW)*f.C*4), rXp)
	})
	for r := 0; r < mr; r++ {
		for v := 0; v < nv; v++ {
			m := mem(rW, woff+(r*f.F+(p.v0+v)*L)*4)
			k.vecLoad(m, gReg(v), tailOf(v), maskY)
			c.VADDPS(gReg(v), acc(r, v), acc(r, v))
			k.vecStore(acc(r, v), m, tailOf(v), maskY)
		}
	}
}

// lstmGrad emits an LSTMGrad: row by row, vector by vector of the units.
func (k *kernel) lstmGrad(f emit.LSTMGrad) {
	c := k.ctx
	L, H := lanes[k.isa], f.H
	rDG, rDC, rDH, rG, rCP, rTC := rOut, rX, rW, rBias, rXp, rWp
	for i, name := range []string{"dg", "dc", "dh", "gt", "cp", "tc"} {
		c.Load(c.Param(name), []reg.Register{rDG, rDC, rDH, rG, rCP, rTC}[i])
	}
	v := k.vec
	one, maskY := v(15), v(14)
	c.MOVL(operand.U32(0x3f800000), rTiles.As32()) // 1.0
	c.VMOVD(rTiles.As32(), xmmOf[one])
	c.VBROADCASTSS(xmmOf[one], one)
	k.setTail(H%L, maskY)
	d, og, tv, dt, s, dcv, gg, i, fg, cp, di, df, dgg, dog := v(0), v(1), v(2), v(3), v(4), v(5), v(6), v(7), v(8), v(9), v(10), v(11), v(12), v(13)
	nvec := (H + L - 1) / L
	k.loop(f.B, rRows, "lstmb", func() {
		for vi := 0; vi < nvec; vi++ {
			tail := 0
			if vi == nvec-1 {
				tail = H % L
			}
			e := vi * L * 4
			ld := func(base reg.Register, off int, dst reg.VecPhysical) { k.vecLoad(mem(base, off), dst, tail, maskY) }
			st := func(src reg.VecPhysical, base reg.Register, off int) { k.vecStore(src, mem(base, off), tail, maskY) }
			ld(rDH, e, d)
			ld(rG, 3*H*4+e, og)
			ld(rTC, e, tv)
			c.VMULPS(og, d, dt)
			c.VMOVAPS(one, s)
			c.VFNMADD231PS(tv, tv, s) // 1 − t²
			c.VMULPS(s, dt, dt)
			ld(rDC, e, dcv)
			c.VADDPS(dt, dcv, dcv)
			ld(rG, 2*H*4+e, gg)
			ld(rG, e, i)
			c.VMULPS(gg, dcv, di)
			c.VSUBPS(i, one, s)
			c.VMULPS(i, s, s)
			c.VMULPS(s, di, di)
			ld(rG, H*4+e, fg)
			ld(rCP, e, cp)
			c.VMULPS(cp, dcv, df)
			c.VSUBPS(fg, one, s)
			c.VMULPS(fg, s, s)
			c.VMULPS(s, df, df)
			c.VMULPS(i, dcv, dgg)
			c.VMOVAPS(one, s)
			c.VFNMADD231PS(gg, gg, s) // 1 − g²
			c.VMULPS(s, dgg, dgg)
			c.VMULPS(tv, d, dog)
			c.VSUBPS(og, one, s)
			c.VMULPS(og, s, s)
			c.VMULPS(s, dog, dog)
			st(di, rDG, e)
			st(df, rDG, H*4+e)
			st(dgg, rDG, 2*H*4+e)
			st(dog, rDG, 3*H*4+e)
			c.VMULPS(fg, dcv, dcv)
			st(dcv, rDC, e)
		}
		for _, r := range []reg.Register{rDG, rG} {
			c.ADDQ(operand.U32(4*H*4), r)
		}
		for _, r := range []reg.Register{rDC, rDH, rCP, rTC} {
			c.ADDQ(operand.U32(H*4), r)
		}
	})
}
