package par

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"
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

// spinWork is a step of iters iterations of integer work, split in parts.
type spinWork struct{ iters int }

var sinkWork atomic.Int64

func (w *spinWork) Do(i, n int) {
	lo, hi := Split(w.iters, n, i)
	x := i
	for range hi - lo {
		x = x*31 + 7
	}
	sinkWork.Add(int64(x))
}

// newSpinWork returns a step of about d of work on one core.
func newSpinWork(d time.Duration) *spinWork {
	w := &spinWork{iters: 1 << 22}
	best := time.Hour
	for range 5 {
		t := time.Now()
		w.Do(0, 1)
		best = min(best, time.Since(t))
	}
	w.iters = int(float64(w.iters) * float64(d) / float64(best))
	return w
}

// BenchmarkForkJoin splits 8 µs of work (a tenth of the seed MLP's train
// step) over the workers: with free synchronisation and idle cores, n
// workers take 8/n µs, and the rest is the cost of a fork and a join.
// stolen/op counts the parts per Run that another goroutine ran because
// their own had not started them (the machine was busy, or the goroutine
// asleep); median-ns is the median time of one Run, which other programs
// on the machine disturb less than the mean.
func BenchmarkForkJoin(b *testing.B) {
	w := newSpinWork(8 * time.Microsecond)
	for _, n := range []int{1, 2, 3} {
		for _, spin := range []time.Duration{DefaultSpin, 0} {
			b.Run(fmt.Sprintf("workers=%d/spin=%v", n, spin), func(b *testing.B) {
				p := New(n)
				defer p.Close()
				p.SetSpin(spin)
				p.s.stolen.Store(0)
				lat := make([]time.Duration, 0, 1<<20)
				for b.Loop() {
					t := time.Now()
					p.RunTask(w)
					if len(lat) < cap(lat) {
						lat = append(lat, time.Since(t))
					}
				}
				b.ReportMetric(float64(p.s.stolen.Load())/float64(b.N), "stolen/op")
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2]), "median-ns")
			})
		}
	}
}

// BenchmarkStep is a train step as generated code would run it: 10 Runs
// of 8 µs of work each (split over the workers), each followed by 10 µs of
// serial work on the caller (an optimizer update, a reduction). Workers
// that spin for less than the gap fall asleep before every Run.
func BenchmarkStep(b *testing.B) {
	w := newSpinWork(8 * time.Microsecond)
	gap := newSpinWork(10 * time.Microsecond)
	for _, spin := range []time.Duration{5 * time.Microsecond, DefaultSpin} {
		for _, n := range []int{1, 2} {
			b.Run(fmt.Sprintf("spin=%v/workers=%d", spin, n), func(b *testing.B) {
				p := New(n)
				defer p.Close()
				p.SetSpin(spin)
				p.s.stolen.Store(0)
				for b.Loop() {
					for range 10 {
						p.RunTask(w)
						gap.Do(0, 1)
					}
				}
				b.ReportMetric(float64(p.s.stolen.Load())/float64(10*b.N), "stolen/run")
			})
		}
	}
}

// BenchmarkRunBlocking is BenchmarkRun with workers that block at once
// (SetSpin(0)): each Run wakes them from the scheduler.
func BenchmarkRunBlocking(b *testing.B) {
	for _, n := range []int{2, 3} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			p := New(n)
			defer p.Close()
			p.SetSpin(0)
			var ran atomic.Int64
			f := func(i, n int) { ran.Add(1) }
			for b.Loop() {
				p.Run(f)
				for t := time.Now(); time.Since(t) < 20*time.Microsecond; {
				} // the caller's serial work, while the workers fall asleep
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

// chunk computes the i-th block of 16 rows of C, on any part.
func (g *gemm) chunk(w, i int) { g.rows(16*i, min(16*i+16, g.m)) }

// BenchmarkGemm is C = A·Bᵀ, 256×256×256 in float32, over row blocks of C:
// by Run, one block of rows per worker, or by For, 16 blocks of 16 rows
// taken in turn (3 workers on a 2-core machine share the cores). Each
// checks that C is bit-identical to one worker's.
func BenchmarkGemm(b *testing.B) {
	const size = 256
	g := newGemm(size, size, size)
	g.rows(0, size)
	want := append([]float32(nil), g.c...)
	chunk := g.chunk
	for _, mode := range []string{"run", "for"} {
		for _, n := range []int{1, 2, 3} {
			b.Run(fmt.Sprintf("%s/workers=%d", mode, n), func(b *testing.B) {
				p := New(n)
				defer p.Close()
				clear(g.c)
				for b.Loop() {
					if mode == "run" {
						p.RunTask(g)
					} else {
						p.For(size/16, chunk)
					}
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
}
