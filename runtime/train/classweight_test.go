package train

import (
	"slices"
	"testing"

	"github.com/nngen/nngen/runtime/data"
)

func TestParseClassWeight(t *testing.T) {
	w, bal, err := ParseClassWeight("2:5, 0:0.5")
	if err != nil || bal || !slices.Equal(w, []float64{0.5, 1, 5}) {
		t.Errorf("ParseClassWeight(2:5, 0:0.5) = %v, %v, %v", w, bal, err)
	}
	if _, bal, err := ParseClassWeight("balanced"); !bal || err != nil {
		t.Errorf("ParseClassWeight(balanced) = %v, %v", bal, err)
	}
	for _, s := range []string{"", "1", "1:x", "-1:2", "1:-2", "1:1,1:2", "1:NaN"} {
		if _, _, err := ParseClassWeight(s); err == nil {
			t.Errorf("ParseClassWeight(%q) took it", s)
		}
	}
}

// TestBalancedClassWeight checks n_samples / (n_classes · count_c), with
// n_classes the classes that occur, for labels, one-hot rows and 0/1
// targets.
func TestBalancedClassWeight(t *testing.T) {
	labels := &data.Set{N: 6, Labels: []int32{0, 0, 0, 2, 2, 3}, Classes: 5}
	if got, want := BalancedClassWeight(labels), []float64{6.0 / 9, 1, 6.0 / 6, 6.0 / 3, 1}; !slices.Equal(got, want) {
		t.Errorf("labels: %v, want %v", got, want)
	}
	onehot := &data.Set{N: 3, Width: 2, Y: []float32{0, 1, 1, 0, 0, 1}}
	if got, want := BalancedClassWeight(onehot), []float64{3.0 / 2, 3.0 / 4}; !slices.Equal(got, want) {
		t.Errorf("one-hot: %v, want %v", got, want)
	}
	binary := &data.Set{N: 5, Width: 1, Y: []float32{0, 1, 0.9, 0.2, 0}}
	if got, want := BalancedClassWeight(binary), []float64{5.0 / 6, 5.0 / 4}; !slices.Equal(got, want) {
		t.Errorf("binary: %v, want %v", got, want)
	}
}
