package par

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomParts returns s partial results of n elements of mixed magnitudes,
// so that the order of additions shows in the rounding.
func randomParts(r *rand.Rand, s, n int) [][]float32 {
	parts := make([][]float32, s)
	for i := range parts {
		parts[i] = make([]float32, n)
		for j := range parts[i] {
			parts[i][j] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(7)-3)))
		}
	}
	return parts
}

func clone(parts [][]float32) [][]float32 {
	c := make([][]float32, len(parts))
	for i := range parts {
		c[i] = slices.Clone(parts[i])
	}
	return c
}

// tree is Sum's tree for one element, written recursively.
func tree(x []float32) float32 {
	if len(x) == 1 {
		return x[0]
	}
	h := 1
	for 2*h < len(x) {
		h *= 2
	}
	return tree(x[:h]) + tree(x[h:])
}

func TestSumTree(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for s := 1; s <= 17; s++ {
		const n = 1100 // more than two blocks
		parts := randomParts(r, s, n)
		want := make([]float32, n)
		col := make([]float32, s)
		for j := range want {
			for i := range parts {
				col[i] = parts[i][j]
			}
			want[j] = tree(col)
		}
		// One range, and the ranges of 1, 2, 3 and 7 workers in parallel.
		for _, workers := range []int{1, 2, 3, 7} {
			p := New(workers)
			ps := clone(parts)
			got := make([]float32, n)
			p.Run(func(i, w int) {
				lo, hi := Split(n, w, i)
				Sum(got, ps, lo, hi)
			})
			p.Close()
			for j := range got {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Fatalf("%d parts, %d workers: element %d = %v, want %v", s, workers, j, got[j], want[j])
				}
			}
		}
		ps := clone(parts)
		Sum(ps[0], ps, 0, n) // dst may be parts[0]
		if !slices.Equal(ps[0], want) {
			t.Errorf("%d parts into parts[0]: differs", s)
		}
	}
	dst := []float64{1, 2, 3}
	Sum(dst, nil, 1, 3)
	if !slices.Equal(dst, []float64{1, 0, 0}) {
		t.Errorf("Sum of no parts over [1, 3) = %v", dst)
	}
}

func TestSumAllocs(t *testing.T) {
	parts := randomParts(rand.New(rand.NewPCG(5, 6)), 8, 1000)
	dst := make([]float32, 1000)
	if a := testing.AllocsPerRun(100, func() { Sum(dst, parts, 0, len(dst)) }); a != 0 {
		t.Errorf("Sum allocates %v times", a)
	}
}
