package par

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkRun measures one fork and join of empty parts: the cost a Run
// adds to a train step.
func BenchmarkRun(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			p := New(n)
			defer p.Close()
			f := func(i, n int) {}
			b.ReportAllocs()
			for b.Loop() {
				p.Run(f)
			}
		})
	}
}

// BenchmarkFor measures a For of 16 empty chunks.
func BenchmarkFor(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			p := New(n)
			defer p.Close()
			f := func(w, i int) {}
			b.ReportAllocs()
			for b.Loop() {
				p.For(16, f)
			}
		})
	}
}

// gemm is C = A·Bᵀ for A m×k, B n×k and C m×n, row-major, over an
// interval of C's rows. Each element is one dot product summed in order of
// k, so the rows a worker gets do not change a bit of C.
type gemm struct {
	a, b, c []float32
	m, n, k int
}

// rows computes rows [lo, hi) of C, four columns at a time.
func (g *gemm) rows(lo, hi int) {
	n, k := g.n, g.k
	for i := lo; i < hi; i++ {
		a := g.a[i*k : i*k+k]
		c := g.c[i*n : i*n+n]
		j := 0
		for ; j+4 <= n; j += 4 {
			b0, b1, b2, b3 := g.b[j*k:j*k+k], g.b[(j+1)*k:(j+1)*k+k], g.b[(j+2)*k:(j+2)*k+k], g.b[(j+3)*k:(j+3)*k+k]
			var s0, s1, s2, s3 float32
			for p, x := range a {
				s0 += x * b0[p]
				s1 += x * b1[p]
				s2 += x * b2[p]
				s3 += x * b3[p]
			}
			c[j], c[j+1], c[j+2], c[j+3] = s0, s1, s2, s3
		}
		for ; j < n; j++ {
			bj := g.b[j*k : j*k+k]
			var s float32
			for p, x := range a {
				s += x * bj[p]
			}
			c[j] = s
		}
	}
}

// Do computes part i of n: the i-th range of rows.
func (g *gemm) Do(i, n int) { g.rows(Split(g.m, n, i)) }

func newGemm(m, n, k int) *gemm {
	r := rand.New(rand.NewPCG(7, 8))
	g := &gemm{a: make([]float32, m*k), b: make([]float32, n*k), c: make([]float32, m*n), m: m, n: n, k: k}
	for i := range g.a {
		g.a[i] = float32(r.NormFloat64())
	}
	for i := range g.b {
		g.b[i] = float32(r.NormFloat64())
	}
	return g
}

// TestGemmBitIdentical checks the demonstration product: C over 1, 2, 3
// and 5 workers equals C on the caller alone, bit for bit.
func TestGemmBitIdentical(t *testing.T) {
	g := newGemm(67, 45, 129)
	g.rows(0, g.m)
	want := append([]float32(nil), g.c...)
	for _, n := range []int{1, 2, 3, 5} {
		p := New(n)
		clear(g.c)
		p.RunTask(g)
		p.Close()
		for i := range want {
			if math.Float32bits(g.c[i]) != math.Float32bits(want[i]) {
				t.Fatalf("workers=%d: C[%d] = %v, want %v", n, i, g.c[i], want[i])
			}
		}
	}
}

// BenchmarkGemm is C = A·Bᵀ, 256×256×256 in float32, over row blocks of C
// (3 workers on a 2-core machine share the cores). Each run checks that C
// is bit-identical to one worker's.
func BenchmarkGemm(b *testing.B) {
	const size = 256
	g := newGemm(size, size, size)
	g.rows(0, size)
	want := append([]float32(nil), g.c...)
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			p := New(n)
			defer p.Close()
			b.SetBytes(0)
			for b.Loop() {
				p.RunTask(g)
			}
			b.ReportMetric(2*size*size*size*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			for i := range want {
				if math.Float32bits(g.c[i]) != math.Float32bits(want[i]) {
					b.Fatalf("C[%d] = %v, want %v (one worker's)", i, g.c[i], want[i])
				}
			}
		})
	}
}
