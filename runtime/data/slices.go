package data

import "fmt"

// FromRows returns the classification set of the given samples, each row a
// sample's input values in row-major order of shape, and their class
// labels in [0, classes). The set holds its own copy of the values.
func FromRows(rows [][]float32, shape []int, labels []int, classes int) (*Set, error) {
	s, err := fromRows(rows, shape)
	if err != nil {
		return nil, err
	}
	if len(labels) != len(rows) {
		return nil, fmt.Errorf("data: %d labels for %d samples", len(labels), len(rows))
	}
	s.Labels, s.Classes = make([]int32, len(labels)), classes
	for i, l := range labels {
		if l < 0 || l >= classes {
			return nil, fmt.Errorf("data: sample %d: label %d not in [0, %d)", i, l, classes)
		}
		s.Labels[i] = int32(l)
	}
	return s, s.Validate()
}

// FromTargets returns the set of the given samples with float targets, one
// row of equal width per sample (regression, or any model whose targets
// are values rather than classes).
func FromTargets(rows [][]float32, shape []int, targets [][]float32) (*Set, error) {
	s, err := fromRows(rows, shape)
	if err != nil {
		return nil, err
	}
	if len(targets) != len(rows) {
		return nil, fmt.Errorf("data: %d target rows for %d samples", len(targets), len(rows))
	}
	if len(targets) > 0 {
		s.Width = len(targets[0])
	}
	s.Y = make([]float32, 0, len(targets)*s.Width)
	for i, t := range targets {
		if len(t) != s.Width {
			return nil, fmt.Errorf("data: target row %d has %d values, want %d", i, len(t), s.Width)
		}
		s.Y = append(s.Y, t...)
	}
	if s.Width == 0 {
		return nil, fmt.Errorf("data: no targets")
	}
	return s, s.Validate()
}

func fromRows(rows [][]float32, shape []int) (*Set, error) {
	s := &Set{N: len(rows), Shape: append([]int(nil), shape...)}
	size := s.SampleSize()
	s.X = make([]float32, 0, len(rows)*size)
	for i, r := range rows {
		if len(r) != size {
			return nil, fmt.Errorf("data: sample %d has %d values, want %d for shape %v", i, len(r), size, shape)
		}
		s.X = append(s.X, r...)
	}
	return s, nil
}
