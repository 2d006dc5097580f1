// Command gonum-gemm times gonum's blas32.Gemm (pure Go, float32) on one
// shape for bench/run.sh, with the layouts of bench/gemm/gemm.c:
//
//	gonum-gemm NT|NN|TN M N K [ITERS]
//
// C is M×N row-major, alpha=1, beta=0. NT: A M×K, B N×K, C = A·Bᵀ;
// NN: A M×K, B K×N, C = A·B; TN: A K×M, B K×N, C = Aᵀ·B. ITERS calls per
// timed batch (0 or absent: calibrated to ~0.2 s), best of 5 batches.
// Prints "gonum=<GFLOP/s>" after checking the result against a naive product.
// Run it with GOMAXPROCS=1 (gonum's Sgemm splits large products over goroutines).
package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: gonum-gemm NT|NN|TN M N K [ITERS]")
		os.Exit(2)
	}
	layout := os.Args[1]
	dim := func(s string) int {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			fmt.Fprintln(os.Stderr, "gonum-gemm: bad dimension", s)
			os.Exit(2)
		}
		return v
	}
	m, n, k := dim(os.Args[2]), dim(os.Args[3]), dim(os.Args[4])
	iters := 0
	if len(os.Args) > 5 {
		iters, _ = strconv.Atoi(os.Args[5])
	}

	mat := func(r, c int, f func(i int) float32) blas32.General {
		g := blas32.General{Rows: r, Cols: c, Stride: c, Data: make([]float32, r*c)}
		for i := range g.Data {
			g.Data[i] = f(i)
		}
		return g
	}
	fa := func(i int) float32 { return float32((i*7+3)%19)/19 - 0.5 }
	fb := func(i int) float32 { return float32((i*5+1)%23)/23 - 0.5 }
	var a, b blas32.General
	var ta, tb blas.Transpose
	switch layout {
	case "NT":
		a, b, ta, tb = mat(m, k, fa), mat(n, k, fb), blas.NoTrans, blas.Trans
	case "NN":
		a, b, ta, tb = mat(m, k, fa), mat(k, n, fb), blas.NoTrans, blas.NoTrans
	case "TN":
		a, b, ta, tb = mat(k, m, fa), mat(k, n, fb), blas.Trans, blas.NoTrans
	default:
		fmt.Fprintln(os.Stderr, "gonum-gemm: bad layout", layout)
		os.Exit(2)
	}
	c := mat(m, n, func(int) float32 { return float32(math.NaN()) })
	run := func() { blas32.Gemm(ta, tb, 1, a, b, 0, c) }

	// a(i,p) and b(p,j) of the logical product C = a·b.
	ea := func(i, p int) float32 {
		if ta == blas.Trans {
			return a.Data[p*m+i]
		}
		return a.Data[i*k+p]
	}
	eb := func(p, j int) float32 {
		if tb == blas.Trans {
			return b.Data[j*k+p]
		}
		return b.Data[p*n+j]
	}
	run()
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for p := 0; p < k; p++ {
				s += float64(ea(i, p)) * float64(eb(p, j))
			}
			if e := math.Abs(float64(c.Data[i*n+j])-s) / (1 + math.Abs(s)); !(e < 1e-4) {
				fmt.Fprintf(os.Stderr, "gonum-gemm: %s %dx%dx%d: wrong result at (%d,%d): rel err %g\n", layout, m, n, k, i, j, e)
				os.Exit(1)
			}
		}
	}

	for i := 0; i < 50; i++ {
		run()
	}
	if iters <= 0 {
		for iters = 1; ; iters *= 4 {
			t := time.Now()
			for i := 0; i < iters; i++ {
				run()
			}
			if d := time.Since(t).Seconds(); d >= 0.05 {
				iters = int(float64(iters)*0.2/d) + 1
				break
			}
		}
	}
	best := math.Inf(1)
	for r := 0; r < 5; r++ {
		t := time.Now()
		for i := 0; i < iters; i++ {
			run()
		}
		best = math.Min(best, time.Since(t).Seconds()/float64(iters))
	}
	fmt.Fprintf(os.Stderr, "gonum-gemm: %s %dx%dx%d: %d iters/batch, best %.3f us/call\n", layout, m, n, k, iters, best*1e6)
	fmt.Printf("gonum=%.2f\n", 2*float64(m)*float64(n)*float64(k)/best*1e-9)
}
