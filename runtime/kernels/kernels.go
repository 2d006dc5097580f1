// Package kernels chooses which implementation of its matrix kernels a
// generated model runs: AVX-512, AVX2 with FMA, or the pure-Go reference.
// The CPU is checked once, at start-up, never assumed; the environment
// variable NNGEN_KERNELS (go, avx2 or avx512) forces a path, and tests switch
// paths with a model's SetKernels.
package kernels

import (
	"fmt"
	"os"

	"golang.org/x/sys/cpu"
)

// Path is an implementation of the kernels.
type Path int

// The paths, slowest first.
const (
	Go Path = iota
	AVX2
	AVX512
)

// Paths lists every path.
var Paths = []Path{Go, AVX2, AVX512}

func (p Path) String() string {
	switch p {
	case Go:
		return "go"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	}
	return fmt.Sprintf("Path(%d)", int(p))
}

// Parse returns the path named s ("go", "avx2" or "avx512").
func Parse(s string) (Path, error) {
	for _, p := range Paths {
		if p.String() == s {
			return p, nil
		}
	}
	return Go, fmt.Errorf("kernels: unknown path %q (go, avx2 or avx512)", s)
}

// Supported reports whether this CPU (and this build) can run path p. The
// assembly paths exist only on amd64 builds without the purego tag.
func Supported(p Path) bool {
	switch p {
	case Go:
		return true
	case AVX2:
		return asm && cpu.X86.HasAVX2 && cpu.X86.HasFMA
	case AVX512:
		// The kernels zero and combine ZMM registers with VXORPS and
		// friends, which are AVX512DQ instructions.
		return asm && cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX2 && cpu.X86.HasFMA
	}
	return false
}

// Best is the fastest path this CPU supports.
func Best() Path {
	for i := len(Paths) - 1; i > 0; i-- {
		if Supported(Paths[i]) {
			return Paths[i]
		}
	}
	return Go
}

// Select returns the path named by NNGEN_KERNELS if it is set, else Best.
// A path the CPU cannot run, or an unknown name, falls back to Best with a
// warning on standard error: a forced path must never crash the program.
func Select() Path {
	s := os.Getenv("NNGEN_KERNELS")
	if s == "" {
		return Best()
	}
	p, err := Parse(s)
	if err == nil && !Supported(p) {
		err = fmt.Errorf("kernels: this CPU or build cannot run %s", p)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "NNGEN_KERNELS: %v; using %s\n", err, Best())
		return Best()
	}
	return p
}

// Check returns an error unless this CPU can run p.
func Check(p Path) error {
	if !Supported(p) {
		return fmt.Errorf("kernels: this CPU or build cannot run %s", p)
	}
	return nil
}
