package vec

import (
	"fmt"
	"math"
	"testing"

	"github.com/nngen/nngen/runtime/rng"
)

// testAdd checks Add against its twin on lengths around the assembly's
// turns, with guard values past dst that must stay as they were.
func testAdd[T float32 | float64](t *testing.T, what string) {
	t.Helper()
	r := rng.New(7, 0)
	for _, n := range []int{0, 1, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 100, 1000, 2048} {
		const guard = 5
		dst, src := make([]T, n+guard), make([]T, n+guard)
		for i := range dst {
			// Mixed magnitudes, so that a wrong pairing shows in the bits.
			dst[i] = T(r.Norm() * math.Pow(10, float64(i%7-3)))
			src[i] = T(r.Norm() * math.Pow(10, float64(i%5-2)))
		}
		want := append([]T(nil), dst...)
		addGo(want[:n], src)
		Add(dst[:n], src)
		for i := range dst {
			if dst[i] != want[i] {
				t.Fatalf("%s %T n=%d: element %d = %v, twin %v", what, dst[i], n, i, dst[i], want[i])
			}
		}
	}
}

func TestAdd(t *testing.T) {
	testAdd[float32](t, "default")
	testAdd[float64](t, "default")
}

// TestAddTwinAdds makes sure the comparison above can fail: the twin must
// change dst.
func TestAddTwinAdds(t *testing.T) {
	d, s := []float32{1, 2}, []float32{3, 4}
	addGo(d, s)
	if d[0] != 4 || d[1] != 6 {
		t.Fatalf("addGo gave %v", d)
	}
}

func TestAddAllocs(t *testing.T) {
	d, s := make([]float32, 1000), make([]float32, 1000)
	if a := testing.AllocsPerRun(10, func() { Add(d, s) }); a != 0 {
		t.Fatalf("Add allocates %v times", a)
	}
}

func BenchmarkAdd(b *testing.B) {
	for _, n := range []int{2048, 1 << 20} {
		d, s := make([]float32, n), make([]float32, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(12 * n))
			for range b.N {
				Add(d, s)
			}
		})
		b.Run(fmt.Sprint("go", n), func(b *testing.B) {
			b.SetBytes(int64(12 * n))
			for range b.N {
				addGo(d, s)
			}
		})
	}
}
