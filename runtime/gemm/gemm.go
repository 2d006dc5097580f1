// Package gemm is the cache-blocked matrix product for products too large
// for the shape-specialized kernels of a generated package: BLIS's five
// loops around a register-blocked micro-kernel. C's columns are cut in
// blocks of NC, the shared dimension in blocks of KC and C's rows in blocks
// of MC; each KC×NC block of B is packed once into slivers of NR columns
// (it stays in the L3 cache, a sliver in L1), each MC×KC block of A into
// slivers of MR rows (it stays in L2), and the micro-kernel computes one
// MR×NR block of C from a sliver of each. The layouts differ only in how
// they pack. The micro-kernel is assembly on AVX2 and AVX-512 (asmgen.Micro)
// and Go elsewhere; the path is chosen at start-up (package kernels).
//
// The sums run in a fixed order (over K in blocks of KC, each block's
// terms in order), so a product is the same bits on every call; paths
// differ by rounding only where Go does not fuse the multiply-adds.
package gemm

import (
	"fmt"
	"unsafe"
)

// Layout is the layout of the operands, as the generated kernels name
// them: NN is C = A·B with A m×k and B k×n, NT is C = A·Bᵀ with B n×k, and
// TN is C = Aᵀ·B with A k×m; every matrix is row-major and C is m×n.
type Layout int

// The layouts.
const (
	NN Layout = iota
	NT
	TN
)

func (l Layout) String() string { return [...]string{"NN", "NT", "TN"}[l] }

// The blocks: KC steps of the shared dimension per packed sliver (a KC×NR
// sliver of B is 32 KiB, in L1), MCSlivers slivers of A per block (in L2)
// and NC columns of B per packed block.
const (
	KC        = 256
	MCSlivers = 12
	NC        = 1024
)

// kernel is one path's micro-kernel and its register block.
type kernel struct {
	mr, nr int
	micro  func(k int, a, b, c *float32, ldc int, acc int)
}

// Workspace holds the packed panels of one caller; a caller that runs
// products concurrently needs one each.
type Workspace struct {
	a, b []float32
	tile []float32
}

// NewWorkspace returns the panels for the current path.
func NewWorkspace() *Workspace {
	k := currentFn()
	return &Workspace{
		a:    make([]float32, k.mr*MCSlivers*KC),
		b:    make([]float32, KC*NC),
		tile: make([]float32, k.mr*k.nr),
	}
}

// Mul sets C to the product of layout l of A and B, or adds it to C when
// acc is set. A, B and C must hold the matrices of m, n and k.
func Mul(ws *Workspace, l Layout, m, n, k int, a, b, c []float32, acc bool) {
	if len(a) < m*k || len(b) < k*n || len(c) < m*n || m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: %v %dx%dx%d with operands of %d, %d and %d values", l, m, n, k, len(a), len(b), len(c)))
	}
	mul(currentFn(), ws, l, m, n, k, a, b, c, acc)
}

func mul(kr kernel, ws *Workspace, l Layout, m, n, k int, a, b, c []float32, acc bool) {
	mr, nr := kr.mr, kr.nr
	mc := mr * MCSlivers
	if len(ws.a) < mc*KC || len(ws.tile) < mr*nr {
		panic("gemm: the workspace is for another path")
	}
	if k == 0 {
		if !acc {
			clear(c[:m*n])
		}
		return
	}
	for jc := 0; jc < n; jc += NC {
		nc := min(NC, n-jc)
		for pc := 0; pc < k; pc += KC {
			kc := min(KC, k-pc)
			packB(ws.b, l, b, n, k, pc, kc, jc, nc, nr)
			add := acc || pc > 0
			for ic := 0; ic < m; ic += mc {
				mcc := min(mc, m-ic)
				packA(ws.a, l, a, m, k, ic, mcc, pc, kc, mr)
				for jr := 0; jr < nc; jr += nr {
					bp := &ws.b[jr*kc]
					cols := min(nr, nc-jr)
					for ir := 0; ir < mcc; ir += mr {
						ap := &ws.a[ir*kc]
						rows := min(mr, mcc-ir)
						ci := (ic+ir)*n + jc + jr
						if rows == mr && cols == nr {
							kr.micro(kc, ap, bp, &c[ci], n, b2i(add))
							continue
						}
						t := ws.tile[:mr*nr]
						kr.micro(kc, ap, bp, &t[0], nr, 0)
						for r := 0; r < rows; r++ {
							dst, src := c[ci+r*n:][:cols], t[r*nr:][:cols]
							if add {
								for j, v := range src {
									dst[j] += v
								}
							} else {
								copy(dst, src)
							}
						}
					}
				}
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// packA packs rows [ic, ic+mc) and steps [pc, pc+kc) of A into slivers of
// mr rows, each kc groups of mr values, zero past the last row.
func packA(dst []float32, l Layout, a []float32, m, k, ic, mc, pc, kc, mr int) {
	for s := 0; s < mc; s += mr {
		p := dst[s*kc:][:kc*mr]
		rows := min(mr, mc-s)
		for kk := 0; kk < kc; kk++ {
			g := p[kk*mr:][:mr]
			if l == TN {
				src := a[(pc+kk)*m+ic+s:][:rows]
				copy(g, src)
			} else {
				for r := 0; r < rows; r++ {
					g[r] = a[(ic+s+r)*k+pc+kk]
				}
			}
			clear(g[rows:])
		}
	}
}

// packB packs steps [pc, pc+kc) and columns [jc, jc+nc) of B into slivers
// of nr columns, each kc groups of nr values, zero past the last column.
func packB(dst []float32, l Layout, b []float32, n, k, pc, kc, jc, nc, nr int) {
	for s := 0; s < nc; s += nr {
		p := dst[s*kc:][:kc*nr]
		cols := min(nr, nc-s)
		if l == NT {
			for kk := 0; kk < kc; kk++ {
				g := p[kk*nr:][:nr]
				for j := 0; j < cols; j++ {
					g[j] = b[(jc+s+j)*k+pc+kk]
				}
				clear(g[cols:])
			}
			continue
		}
		for kk := 0; kk < kc; kk++ {
			g := p[kk*nr:][:nr]
			copy(g, b[(pc+kk)*n+jc+s:][:cols])
			clear(g[cols:])
		}
	}
}

// microGo is the micro-kernel's pure-Go twin, for a register block of mr×nr.
func microGo(mr, nr int) func(k int, a, b, c *float32, ldc int, acc int) {
	return func(k int, a, b, c *float32, ldc int, acc int) {
		ap := unsafeSlice(a, k*mr)
		bp := unsafeSlice(b, k*nr)
		var buf [maxBlock]float32
		t := buf[:mr*nr]
		for kk := 0; kk < k; kk++ {
			av, bv := ap[kk*mr:][:mr], bp[kk*nr:][:nr]
			for r, x := range av {
				row := t[r*nr:][:nr]
				for j, y := range bv {
					row[j] += x * y
				}
			}
		}
		cp := unsafeSlice(c, (mr-1)*ldc+nr)
		for r := 0; r < mr; r++ {
			dst := cp[r*ldc:][:nr]
			for j, v := range t[r*nr:][:nr] {
				if acc != 0 {
					dst[j] += v
				} else {
					dst[j] = v
				}
			}
		}
	}
}

// maxBlock bounds mr·nr of every path.
const maxBlock = 14 * 32

func unsafeSlice(p *float32, n int) []float32 { return unsafe.Slice(p, n) }

// currentFn is current, replaced in tests.
var currentFn = current
