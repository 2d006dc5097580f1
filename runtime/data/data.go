// Package data loads training data for generated models and feeds it to them
// in batches: in-memory data sets (Set), the Source of each form on disk that
// the binaries read (MNIST's IDX files, CSV tables, NPY arrays, folders of
// class sub-folders of images, text; Open tells them apart), a
// deterministic per-epoch shuffler and allocation-free gathering of batch
// rows. Errors about a file start with its name, and for a table its line
// and column: "iris.csv:7:12: ...".
package data

import "fmt"

// Set is an in-memory data set.
type Set struct {
	N       int       // number of samples
	Shape   []int     // per-sample input shape, e.g. [784] for MNIST
	X       []float32 // N*prod(Shape) inputs, row-major, sample-major
	Labels  []int32   // N class labels (N·Steps for sequences), or nil
	Steps   int       // labels per sample when > 1: one per time step (text)
	Classes int       // number of classes when Labels != nil
	Y       []float32 // N*Width targets when Labels == nil (regression, autoencoders), else nil
	Width   int       // per-sample target width when Y != nil

	// ClassNames name the classes by id when the source has names (a
	// CSV's class column, an image folder's sub-folders), else nil. With
	// one target value (binary classification) they name 0 and 1.
	ClassNames []string
}

// SampleSize returns the number of input values of one sample, prod(Shape).
func (s *Set) SampleSize() int {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// Validate reports whether the lengths of s are consistent and its labels lie
// in [0, Classes). A set with neither Labels nor Y (inputs only) is valid.
func (s *Set) Validate() error {
	for _, d := range s.Shape {
		if d <= 0 {
			return fmt.Errorf("data: sample shape %v has a non-positive dimension", s.Shape)
		}
	}
	if s.N < 0 {
		return fmt.Errorf("data: negative sample count %d", s.N)
	}
	if want := s.N * s.SampleSize(); len(s.X) != want {
		return fmt.Errorf("data: %d inputs, want N*prod(Shape) = %d*%d = %d", len(s.X), s.N, s.SampleSize(), want)
	}
	switch {
	case s.Labels != nil && s.Y != nil:
		return fmt.Errorf("data: both Labels and Y are set")
	case s.Labels != nil:
		if len(s.Labels) != s.N*max(s.Steps, 1) {
			return fmt.Errorf("data: %d labels for %d samples of %d steps", len(s.Labels), s.N, max(s.Steps, 1))
		}
		if s.Classes <= 0 {
			return fmt.Errorf("data: %d classes, want at least 1", s.Classes)
		}
		for i, l := range s.Labels {
			if l < 0 || int(l) >= s.Classes {
				return fmt.Errorf("data: sample %d: label %d not in [0, %d)", i, l, s.Classes)
			}
		}
	case s.Y != nil:
		if s.Width <= 0 {
			return fmt.Errorf("data: target width %d, want at least 1", s.Width)
		}
		if want := s.N * s.Width; len(s.Y) != want {
			return fmt.Errorf("data: %d targets, want N*Width = %d*%d = %d", len(s.Y), s.N, s.Width, want)
		}
	}
	return nil
}

// OneHot returns len(labels) rows of classes values, row i holding 1 at
// column labels[i] and 0 elsewhere. Every label must lie in [0, classes).
func OneHot(labels []int32, classes int) []float32 {
	out := make([]float32, len(labels)*classes)
	for i, l := range labels {
		out[i*classes:][:classes][l] = 1
	}
	return out
}
