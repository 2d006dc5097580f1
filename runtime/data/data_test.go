package data

import (
	"slices"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	good := func() *Set {
		return &Set{N: 2, Shape: []int{2, 1}, X: []float32{1, 2, 3, 4}, Labels: []int32{0, 2}, Classes: 3}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("valid set: %v", err)
	}
	reg := &Set{N: 2, Shape: []int{1}, X: []float32{1, 2}, Y: []float32{1, 2, 3, 4}, Width: 2}
	if err := reg.Validate(); err != nil {
		t.Fatalf("valid regression set: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Set)
		want string
	}{
		{"short X", func(s *Set) { s.X = s.X[:3] }, "3 inputs"},
		{"zero dim", func(s *Set) { s.Shape = []int{0}; s.X = nil }, "non-positive"},
		{"label count", func(s *Set) { s.Labels = s.Labels[:1] }, "1 labels for 2"},
		{"label too big", func(s *Set) { s.Labels[1] = 3 }, "sample 1: label 3"},
		{"negative label", func(s *Set) { s.Labels[0] = -1 }, "label -1"},
		{"no classes", func(s *Set) { s.Classes = 0 }, "0 classes"},
		{"both targets", func(s *Set) { s.Y = []float32{1, 2} }, "both"},
		{"short Y", func(s *Set) { s.Labels, s.Y, s.Width = nil, []float32{1, 2, 3}, 2 }, "3 targets"},
		{"no width", func(s *Set) { s.Labels, s.Y, s.Width = nil, []float32{1, 2}, 0 }, "width 0"},
	} {
		s := good()
		tc.edit(s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestOneHot(t *testing.T) {
	got := OneHot([]int32{2, 0}, 3)
	if want := []float32{0, 0, 1, 1, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("OneHot = %v, want %v", got, want)
	}
}
