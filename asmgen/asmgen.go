// Package asmgen emits a model's matrix kernels as Go assembly with avo:
// register-blocked micro-kernels specialized to each product's exact M, N
// and K, in two instruction sets, AVX2 with FMA (Y0–Y15 only) and AVX-512F.
// Each kernel keeps the pure-Go twin that emit.EmitKernel writes, which is
// the reference in tests and the fallback on other CPUs. asmgen runs at
// generation time only: generated packages never import avo.
//
// Two kernel shapes cover the three layouts of a dense layer:
//
//   - NT (C = A·Bᵀ, both operands contiguous along K, the forward pass) is a
//     dot-product kernel: vectors run along K, an mr×nr block of C is held
//     as mr·nr vector accumulators and reduced to scalars at the end.
//   - NN and TN (B contiguous along N: the input and weight gradients) are
//     BLIS-style outer-product kernels: vectors run along N, each step loads
//     a row piece of B and broadcasts mr values of A.
//
// On AVX2, where large operands' rows alias in the caches (rows a multiple
// of 4 KiB apart map to one L1 set), two kernels copy B to their stack
// frame first, and so are not NOSPLIT: the outer-product kernel packs each
// column panel of B (packB), and a large NT product runs as the
// outer-product kernel over blocks of Bᵀ transposed (packNT).
package asmgen

import (
	"bytes"
	"fmt"
	"regexp"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
	"github.com/mmcloughlin/avo/reg"

	"github.com/nngen/nngen/layers/emit"
)

// ISA is an instruction set of the kernels.
type ISA int

// The instruction sets.
const (
	AVX2 ISA = iota
	AVX512
)

// ISAs lists the instruction sets, in the order of the stub suffixes.
var ISAs = []ISA{AVX2, AVX512}

func (i ISA) String() string { return [...]string{"AVX2", "AVX512"}[i] }

// Name is the assembly function of kernel g in instruction set i.
func Name(g emit.GEMM, i ISA) string { return g.Name() + i.String() }

// Signature is the Go signature of every variant of kernel g.
func Signature(g emit.GEMM) string {
	c, a, b := g.Sizes()
	return fmt.Sprintf("func(c *[%d]float32, a *[%d]float32, b *[%d]float32)", c, a, b)
}

// Generate returns the assembly file of package pkg with both variants of
// every kernel, and its header comment line.
func Generate(pkg, header string, gemms []emit.GEMM) ([]byte, error) {
	return GenerateAll(pkg, header, gemms, nil)
}

// compile runs avo's passes on the functions built in ctx and prints them
// as the assembly file of package pkg.
func compile(ctx *build.Context, pkg, header string) ([]byte, error) {
	f, err := ctx.Result()
	if err != nil {
		return nil, fmt.Errorf("asmgen: %v", err)
	}
	if err := pass.Compile.Execute(f); err != nil {
		return nil, fmt.Errorf("asmgen: %v", err)
	}
	src, err := printer.NewGoAsm(printer.Config{Name: "nngen", Pkg: pkg}).Print(f)
	if err != nil {
		return nil, fmt.Errorf("asmgen: %v", err)
	}
	return finish(src, header)
}

// finish puts nngen's header and the build constraint in place of avo's
// header and checks the AVX2 functions' registers.
func finish(src []byte, header string) ([]byte, error) {
	if i := bytes.Index(src, []byte("\n\n")); i >= 0 {
		src = append([]byte("// "+header+"\n\n//go:build amd64 && !purego"), src[i:]...)
	}
	if err := CheckAVX2(src); err != nil {
		return nil, err
	}
	return src, nil
}

var (
	textRE  = regexp.MustCompile(`(?m)^TEXT ·(\w+)\(SB\)`)
	wideRE  = regexp.MustCompile(`\b(Y(1[6-9]|2[0-9]|3[01])|Z\d+|X(1[6-9]|2[0-9]|3[01])|K[1-7])\b`)
	avx2Sfx = regexp.MustCompile(`AVX2$`)
)

// CheckAVX2 reports an error if an AVX2 function of the assembly src uses a
// register that only AVX-512 has (Y16–Y31, Z, K): such code faults on
// AVX2-only CPUs, and avo's allocator could pick one silently.
func CheckAVX2(src []byte) error {
	locs := textRE.FindAllSubmatchIndex(src, -1)
	for i, l := range locs {
		name := string(src[l[2]:l[3]])
		if !avx2Sfx.MatchString(name) {
			continue
		}
		end := len(src)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		if m := wideRE.Find(src[l[0]:end]); m != nil {
			return fmt.Errorf("asmgen: %s uses %s, which AVX2 CPUs do not have", name, m)
		}
	}
	return nil
}

// kernel emits one function.
type kernel struct {
	ctx     *build.Context
	g       emit.GEMM
	isa     ISA
	lbl     int
	chunked bool // the dot-product kernel cuts K in blocks
}

// Registers: the operand pointers and loop state live in general registers
// that ABI0 functions may clobber (R14 and R15 are left alone).
var (
	rC, rA, rB    = reg.R8, reg.R9, reg.R10
	rMi, rNi, rK  = reg.R11, reg.R12, reg.R13
	rPA, rPB, rPC = reg.RSI, reg.RDI, reg.RDX
	rPA2, rPB2    = reg.RAX, reg.RBX
	rTmp          = reg.RCX
	lanes         = map[ISA]int{AVX2: 8, AVX512: 16}
	vecBytes      = map[ISA]int{AVX2: 32, AVX512: 64}
	numVecRegs    = map[ISA]int{AVX2: 16, AVX512: 32}
	maskGP        = reg.RCX
	maskK         = reg.K1
	ymm           = []reg.VecPhysical{reg.Y0, reg.Y1, reg.Y2, reg.Y3, reg.Y4, reg.Y5, reg.Y6, reg.Y7, reg.Y8, reg.Y9, reg.Y10, reg.Y11, reg.Y12, reg.Y13, reg.Y14, reg.Y15}
	zmm           = []reg.VecPhysical{reg.Z0, reg.Z1, reg.Z2, reg.Z3, reg.Z4, reg.Z5, reg.Z6, reg.Z7, reg.Z8, reg.Z9, reg.Z10, reg.Z11, reg.Z12, reg.Z13, reg.Z14, reg.Z15, reg.Z16, reg.Z17, reg.Z18, reg.Z19, reg.Z20, reg.Z21, reg.Z22, reg.Z23, reg.Z24, reg.Z25, reg.Z26, reg.Z27, reg.Z28, reg.Z29, reg.Z30, reg.Z31}
	ymmOf, xmmOf  = map[reg.VecPhysical]reg.VecPhysical{}, map[reg.VecPhysical]reg.VecPhysical{}
	xmm           = []reg.VecPhysical{reg.X0, reg.X1, reg.X2, reg.X3, reg.X4, reg.X5, reg.X6, reg.X7, reg.X8, reg.X9, reg.X10, reg.X11, reg.X12, reg.X13, reg.X14, reg.X15}
	ymmHi         = []reg.VecPhysical{reg.Y16, reg.Y17, reg.Y18, reg.Y19, reg.Y20, reg.Y21, reg.Y22, reg.Y23, reg.Y24, reg.Y25, reg.Y26, reg.Y27, reg.Y28, reg.Y29, reg.Y30, reg.Y31}
	xmmHi         = []reg.VecPhysical{reg.X16, reg.X17, reg.X18, reg.X19, reg.X20, reg.X21, reg.X22, reg.X23, reg.X24, reg.X25, reg.X26, reg.X27, reg.X28, reg.X29, reg.X30, reg.X31}
)

func init() {
	for i := range ymm {
		ymmOf[zmm[i]], xmmOf[zmm[i]], xmmOf[ymm[i]] = ymm[i], xmm[i], xmm[i]
		ymmOf[ymm[i]] = ymm[i]
		ymmOf[zmm[16+i]], xmmOf[zmm[16+i]], xmmOf[ymmHi[i]] = ymmHi[i], xmmHi[i], xmmHi[i]
	}
}

// vec returns vector register i of the kernel's width.
func (k *kernel) vec(i int) reg.VecPhysical {
	if k.isa == AVX2 {
		return ymm[i]
	}
	return zmm[i]
}

func (k *kernel) label(s string) string {
	k.lbl++
	return fmt.Sprintf("%s_%d", s, k.lbl)
}

func mem(base reg.Register, disp int) operand.Mem { return operand.Mem{Base: base, Disp: disp} }

func (k *kernel) emit() {
	c := k.ctx
	c.Load(c.Param("c"), rC)
	c.Load(c.Param("a"), rA)
	c.Load(c.Param("b"), rB)
	switch {
	case k.packNT():
		k.outerNT()
	case k.g.Layout == emit.NT:
		k.dot()
	default:
		k.outer()
	}
}

// loop emits a counted loop of n iterations around body, or body alone for
// one iteration; counter is the register it counts down in.
func (k *kernel) loop(n int, counter reg.Register, name string, body func()) {
	switch {
	case n <= 0:
		return
	case n == 1:
		body()
		return
	}
	c := k.ctx
	top := k.label(name)
	c.MOVQ(operand.U32(n), counter)
	c.Label(top)
	body()
	c.DECQ(counter)
	c.JNE(operand.LabelRef(top))
}
