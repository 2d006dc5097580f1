package initializer

import (
	"math"
	"testing"

	"github.com/nngen/nngen/runtime/rng"
)

func stats(v []float64) (mean, std, maxAbs float64) {
	for _, x := range v {
		mean += x
		maxAbs = math.Max(maxAbs, math.Abs(x))
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v))), maxAbs
}

func TestFill(t *testing.T) {
	const fanIn, fanOut = 400, 200
	for _, c := range []struct {
		name        string
		std, maxAbs float64
	}{
		{"glorot_uniform", math.Sqrt(2.0 / (fanIn + fanOut)), math.Sqrt(6.0 / (fanIn + fanOut))},
		{"glorot_normal", math.Sqrt(2.0 / (fanIn + fanOut)), 2 * math.Sqrt(2.0/(fanIn+fanOut)) / .8796},
		{"he_normal", math.Sqrt(2.0 / fanIn), 2 * math.Sqrt(2.0/fanIn) / .8796},
		{"he_uniform", math.Sqrt(2.0 / fanIn), math.Sqrt(6.0 / fanIn)},
		{"lecun_normal", math.Sqrt(1.0 / fanIn), 2 * math.Sqrt(1.0/fanIn) / .8796},
		{"lecun_uniform", math.Sqrt(1.0 / fanIn), math.Sqrt(3.0 / fanIn)},
		{"random_uniform", 0.05 / math.Sqrt(3), 0.05},
		{"variance_scaling", math.Sqrt(1.0 / fanIn), 2 * math.Sqrt(1.0/fanIn) / .8796},
		// The standard deviation of a normal truncated at ±2σ is .8796σ.
		{"truncated_normal", 0.05 * .87962566103423978, 0.1},
	} {
		v := make([]float64, fanIn*fanOut)
		if err := Fill(v, c.name, fanIn, fanOut, rng.New(1, 0)); err != nil {
			t.Fatal(err)
		}
		mean, std, maxAbs := stats(v)
		if math.Abs(mean) > 0.05*c.std || math.Abs(std-c.std) > 0.02*c.std || maxAbs > c.maxAbs*1.0001 {
			t.Errorf("%s: mean %g std %g max %g, want std %g max %g", c.name, mean, std, maxAbs, c.std, c.maxAbs)
		}
	}
	z := []float32{1, 2}
	if Fill(z, "zeros", 1, 1, rng.New(1, 0)); z[0] != 0 || z[1] != 0 {
		t.Errorf("zeros gave %v", z)
	}
	if err := Fill(z, "glorot", 1, 1, rng.New(1, 0)); err == nil {
		t.Error("unknown initializer accepted")
	}
}

func TestOrthogonal(t *testing.T) {
	for _, c := range []struct{ rows, cols int }{{12, 3}, {3, 12}, {5, 5}} {
		v := make([]float64, c.rows*c.cols)
		if err := Fill(v, "orthogonal", c.cols, c.rows, rng.New(1, 0)); err != nil {
			t.Fatal(err)
		}
		// The shorter side's vectors are orthonormal.
		k, n := c.cols, c.rows
		at := func(i, x int) float64 { return v[x*c.cols+i] } // column i
		if c.rows < c.cols {
			k, n = c.rows, c.cols
			at = func(i, x int) float64 { return v[i*c.cols+x] } // row i
		}
		for i := range k {
			for j := range k {
				var dot float64
				for x := range n {
					dot += at(i, x) * at(j, x)
				}
				want := 0.0
				if i == j {
					want = 1
				}
				if math.Abs(dot-want) > 1e-12 {
					t.Errorf("%dx%d: vectors %d and %d have dot product %g, want %g", c.rows, c.cols, i, j, dot, want)
				}
			}
		}
	}
	b := make([]float32, 8)
	if Fill(b, "unit_forget", 1, 8, rng.New(1, 0)); b[1] != 0 || b[2] != 1 || b[3] != 1 || b[4] != 0 {
		t.Errorf("unit_forget gave %v, want ones in the second quarter", b)
	}
}
