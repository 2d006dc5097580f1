package fastmath

import (
	"math"
	"testing"
)

func TestAccuracy(t *testing.T) {
	var worstT, worstS float64
	for x := -20.0; x <= 20; x += 1e-4 {
		got := float64(Tanh(float32(x)))
		want := math.Tanh(float64(float32(x)))
		if e := math.Abs(got-want) / max(1, math.Abs(want)); e > worstT {
			worstT = e
		}
		if e := math.Abs(got - want); e > 1e-6 && e > 1e-6*math.Abs(want) {
			t.Fatalf("Tanh(%g) = %g, want %g", x, got, want)
		}
		gs, ws := float64(Sigmoid(float32(x))), 1/(1+math.Exp(-float64(float32(x))))
		if e := math.Abs(gs - ws); e > worstS {
			worstS = e
		}
		if math.Abs(gs-ws) > 1e-6 {
			t.Fatalf("Sigmoid(%g) = %g, want %g", x, gs, ws)
		}
	}
	t.Logf("worst tanh error %.3g, sigmoid %.3g", worstT, worstS)
	for _, x := range []float32{0, float32(math.Inf(1)), float32(math.Inf(-1)), 1e-30, -1e-30, float32(math.NaN())} {
		if got, want := Tanh(x), float32(math.Tanh(float64(x))); math.Abs(float64(got-want)) > 1e-6*max(1e-30, math.Abs(float64(want))) && math.Abs(float64(got-want)) > 1e-6 {
			t.Errorf("Tanh(%g) = %g, want %g", x, got, want)
		}
	}
}

// TestLogistic checks Logistic's relative error against the exact
// logistic function: within 4e-7 (a few ulp) from outputs near 1 down to
// 1e-37, so that a cross-entropy's log of a tiny output stays accurate;
// beyond the clamp the outputs are 1 and a tiny non-negative number.
func TestLogistic(t *testing.T) {
	worst := 0.0
	for x := -85.0; x <= 30; x += 3e-4 {
		x32 := float32(x)
		got, want := float64(Logistic(x32)), 1/(1+math.Exp(-float64(x32)))
		e := math.Abs(got-want) / want
		worst = max(worst, e)
		if !(e <= 4e-7) {
			t.Fatalf("Logistic(%g) = %g, want %g (relative error %.3g)", x32, got, want, e)
		}
	}
	t.Logf("worst relative error %.3g", worst)
	for _, c := range []struct{ x, lo, hi float32 }{
		{100, 1, 1}, {float32(math.Inf(1)), 1, 1}, {0, 0.5, 0.5},
		{-100, 0, 1e-37}, {float32(math.Inf(-1)), 0, 1e-37},
	} {
		if got := Logistic(c.x); !(got >= c.lo && got <= c.hi) {
			t.Errorf("Logistic(%g) = %g, want within [%g, %g]", c.x, got, c.lo, c.hi)
		}
	}
}

func BenchmarkTanh(b *testing.B) {
	x := float32(0.3)
	var s float32
	for range b.N {
		s += Tanh(x)
		x += 1e-7
	}
	_ = s
}
