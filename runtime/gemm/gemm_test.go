package gemm

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/nngen/nngen/runtime/rng"
)

func random(n int, seed uint64) []float32 {
	r := rng.New(seed, 3)
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(2*r.Float64() - 1)
	}
	return v
}

// naive is the product of layout l in float64.
func naive(l Layout, m, n, k int, a, b []float32) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for p := 0; p < k; p++ {
				var x, y float32
				switch l {
				case NN:
					x, y = a[i*k+p], b[p*n+j]
				case NT:
					x, y = a[i*k+p], b[j*k+p]
				case TN:
					x, y = a[p*m+i], b[p*n+j]
				}
				s += float64(x) * float64(y)
			}
			c[i*n+j] = s
		}
	}
	return c
}

// testMul checks products of every layout against naive, on shapes around
// the register and cache blocks, set and accumulated, with guard values
// past C that must stay.
func testMul(t *testing.T, what string) {
	t.Helper()
	ws := NewWorkspace()
	shapes := [][3]int{{1, 1, 1}, {5, 7, 3}, {14, 32, 8}, {15, 33, 257}, {29, 65, 1}, {6, 16, 300}, {170, 40, 513}, {33, 1100, 20}, {0, 4, 4}, {3, 3, 0}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, l := range []Layout{NN, NT, TN} {
			a, b := random(m*k, uint64(m+k)), random(k*n, uint64(n*k+1))
			want := naive(l, m, n, k, a, b)
			const guard = 3
			c := random(m*n+guard, 9)
			c0 := append([]float32(nil), c...)
			Mul(ws, l, m, n, k, a, b, c[:m*n], true)
			for i, w := range want {
				w += float64(c0[i])
				if math.Abs(float64(c[i])-w) > 1e-5*float64(k+1) {
					t.Fatalf("%s %v %dx%dx%d acc: c[%d] = %v, want %v", what, l, m, n, k, i, c[i], w)
				}
			}
			Mul(ws, l, m, n, k, a, b, c[:m*n], false)
			for i, w := range want {
				if math.Abs(float64(c[i])-w) > 1e-5*float64(k+1) {
					t.Fatalf("%s %v %dx%dx%d: c[%d] = %v, want %v", what, l, m, n, k, i, c[i], w)
				}
			}
			for i := m * n; i < len(c); i++ {
				if c[i] != c0[i] {
					t.Fatalf("%s %v %dx%dx%d: guard c[%d] changed", what, l, m, n, k, i)
				}
			}
		}
	}
}

func TestMul(t *testing.T) { testMul(t, "default") }

func TestMulGoKernel(t *testing.T) {
	defer func(f func() kernel) { currentFn = f }(currentFn)
	currentFn = func() kernel { return goKernel }
	testMul(t, "go")
}

func TestMulRepeatable(t *testing.T) {
	ws := NewWorkspace()
	a, b := random(300*400, 1), random(400*200, 2)
	c1, c2 := make([]float32, 300*200), make([]float32, 300*200)
	Mul(ws, NN, 300, 200, 400, a, b, c1, false)
	Mul(NewWorkspace(), NN, 300, 200, 400, a, b, c2, false)
	for i := range c1 {
		if c1[i] != c2[i] {
			t.Fatalf("c[%d]: %v then %v", i, c1[i], c2[i])
		}
	}
}

func TestMulAllocs(t *testing.T) {
	ws := NewWorkspace()
	a, b, c := random(64*300, 1), random(300*70, 2), make([]float32, 64*70)
	if n := testing.AllocsPerRun(5, func() { Mul(ws, NT, 64, 70, 300, a, b, c, false) }); n != 0 {
		t.Fatalf("Mul allocates %v times", n)
	}
}

func TestMulBadOperands(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("short operands were accepted")
		}
	}()
	Mul(NewWorkspace(), NN, 4, 4, 4, make([]float32, 15), make([]float32, 16), make([]float32, 16), false)
}

// BenchmarkMul reports GFLOP/s on square products (go test -bench Mul
// -cpu 1 ./runtime/gemm).
func BenchmarkMul(b *testing.B) {
	for _, s := range []int{256, 512, 1024} {
		for _, l := range []Layout{NN, NT, TN} {
			b.Run(fmt.Sprintf("%v_%d", l, s), func(b *testing.B) {
				ws := NewWorkspace()
				x, y, c := random(s*s, 1), random(s*s, 2), make([]float32, s*s)
				b.ResetTimer()
				for range b.N {
					Mul(ws, l, s, s, s, x, y, c, false)
				}
				b.ReportMetric(2*float64(s*s*s)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkShapes measures the products NNGEN_GEMM_SHAPES lists, as
// "NT:1024x1024x1024,NN:64x784x400" (M×N×K), for side-by-side runs with
// a generated package's BenchmarkKernels.
func BenchmarkShapes(b *testing.B) {
	for _, s := range strings.Split(os.Getenv("NNGEN_GEMM_SHAPES"), ",") {
		var lay string
		var m, n, k int
		if _, err := fmt.Sscanf(strings.Replace(s, ":", " ", 1), "%s %dx%dx%d", &lay, &m, &n, &k); err != nil {
			continue
		}
		l := map[string]Layout{"NN": NN, "NT": NT, "TN": TN}[lay]
		b.Run(fmt.Sprintf("gemm%s_%dx%dx%d", lay, m, n, k), func(b *testing.B) {
			ws := NewWorkspace()
			x, y, c := random(m*k, 1), random(k*n, 2), make([]float32, m*n)
			b.ResetTimer()
			for range b.N {
				Mul(ws, l, m, n, k, x, y, c, false)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
