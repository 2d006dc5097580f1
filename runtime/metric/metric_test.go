package metric

import (
	"math"
	"testing"
)

// TestCompute checks every metric on outputs whose values are worked out
// by hand with Keras's definitions.
func TestCompute(t *testing.T) {
	// Binary: four samples, scores and 0/1 targets.
	bin := []float32{0.9, 0.4, 0.6, 0.2}
	by := Targets{Y: []float32{1, 1, 0, 0}}
	// Three classes, sparse labels.
	cat := []float32{
		0.7, 0.2, 0.1, // class 0: right
		0.3, 0.4, 0.3, // class 2: wrong, second
		0.1, 0.1, 0.8, // class 2: right
	}
	cl := Targets{Labels: []int32{0, 2, 2}}
	for _, c := range []struct {
		name string
		out  []float32
		c    int
		t    Targets
		want float64
	}{
		{"accuracy", bin, 1, by, 0.5},                    // 0.9 and 0.2 right
		{"binary_accuracy", bin, 1, by, 0.5},             //
		{"precision", bin, 1, by, 0.5},                   // predicted 1: 0.9 (tp), 0.6 (fp)
		{"recall", bin, 1, by, 0.5},                      // positives 0.9 (found), 0.4 (missed)
		{"auc", bin, 1, by, 0.75},                        // pairs (pos, neg): 0.9>0.6, 0.9>0.2, 0.4<0.6, 0.4>0.2
		{"mae", bin, 1, by, (0.1 + 0.6 + 0.6 + 0.2) / 4}, //
		{"mse", bin, 1, by, (0.01 + 0.36 + 0.36 + 0.04) / 4},
		{"accuracy", cat, 3, cl, 2.0 / 3},
		{"sparse_categorical_accuracy", cat, 3, cl, 2.0 / 3},
		{"categorical_accuracy", cat, 3, Targets{Y: []float32{1, 0, 0, 0, 0, 1, 0, 0, 1}}, 2.0 / 3},
		{"top_k_categorical_accuracy", cat, 3, cl, 1},
		{"precision", cat, 3, cl, 1},    // above 0.5: 0.7 (class 0, true) and 0.8 (class 2, true)
		{"recall", cat, 3, cl, 2.0 / 3}, // the ones: found 2 of 3
		{"mae", cat, 3, cl, (0.3 + 0.2 + 0.1 + 0.3 + 0.4 + 0.7 + 0.1 + 0.1 + 0.2) / 9},
		{"auc", []float32{0.5, 0.5}, 1, Targets{Y: []float32{1, 0}}, 0.5}, // a tie counts half
	} {
		if got := Compute(c.name, c.out, c.c, c.t); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("%s of %v: %v, want %v", c.name, c.out, got, c.want)
		}
	}
}

func TestTopK(t *testing.T) {
	out := []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7} // class 1 is 6th largest
	if got := Compute("top_k_categorical_accuracy", out, 7, Targets{Labels: []int32{1}}); got != 0 {
		t.Errorf("6th of 7 in the top 5: %v", got)
	}
	if got := Compute("top_k_categorical_accuracy", out, 7, Targets{Labels: []int32{2}}); got != 1 {
		t.Errorf("5th of 7 not in the top 5: %v", got)
	}
}

func TestConfusion(t *testing.T) {
	cm := Confusion([]float32{0.7, 0.3, 0.4, 0.6, 0.9, 0.1}, 2, Targets{Labels: []int32{0, 0, 1}})
	if cm[0][0] != 1 || cm[0][1] != 1 || cm[1][0] != 1 || cm[1][1] != 0 {
		t.Errorf("confusion %v", cm)
	}
	cm = Confusion([]float32{0.7, 0.3}, 1, Targets{Y: []float32{1, 0}})
	if cm[1][1] != 1 || cm[0][0] != 1 {
		t.Errorf("binary confusion %v", cm)
	}
}

func TestNamesSorted(t *testing.T) {
	for i := 1; i < len(Names); i++ {
		if Names[i-1] >= Names[i] {
			t.Fatalf("Names not sorted at %q", Names[i])
		}
	}
	for _, n := range Names {
		Compute(n, []float32{0.5, 0.5}, 2, Targets{Labels: []int32{0}}) // no panic
	}
}
