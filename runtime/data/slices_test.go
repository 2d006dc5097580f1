package data

import (
	"slices"
	"strings"
	"testing"
)

func TestFromRows(t *testing.T) {
	s, err := FromRows([][]float32{{1, 2}, {3, 4}, {5, 6}}, []int{2}, []int{0, 2, 1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 3 || !slices.Equal(s.X, []float32{1, 2, 3, 4, 5, 6}) || !slices.Equal(s.Labels, []int32{0, 2, 1}) || s.Classes != 3 {
		t.Errorf("FromRows: %+v", s)
	}
	for _, c := range []struct {
		rows   [][]float32
		labels []int
		want   string
	}{
		{[][]float32{{1, 2}, {3}}, []int{0, 1}, "sample 1 has 1 values, want 2"},
		{[][]float32{{1, 2}}, []int{0, 1}, "2 labels for 1 samples"},
		{[][]float32{{1, 2}}, []int{3}, "sample 0: label 3 not in [0, 3)"},
	} {
		if _, err := FromRows(c.rows, []int{2}, c.labels, 3); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FromRows(%v, %v): error %v, want %q", c.rows, c.labels, err, c.want)
		}
	}
}

func TestFromTargets(t *testing.T) {
	s, err := FromTargets([][]float32{{1}, {2}}, []int{1}, [][]float32{{0.5, 1}, {1.5, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Width != 2 || !slices.Equal(s.Y, []float32{0.5, 1, 1.5, 2}) || s.Labels != nil {
		t.Errorf("FromTargets: %+v", s)
	}
	if _, err := FromTargets([][]float32{{1}, {2}}, []int{1}, [][]float32{{0.5, 1}, {1.5}}); err == nil || !strings.Contains(err.Error(), "target row 1 has 1 values, want 2") {
		t.Errorf("ragged targets: error %v", err)
	}
}
