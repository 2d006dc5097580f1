package data

import (
	"fmt"
	"strings"
)

// Joined is the data of a model of several named inputs, one source each
// (--data left.npy --data right.npy): a sample's input is theirs side by
// side, in order, as the model's input holds its named inputs; the
// targets are the first source's.
type Joined struct {
	Parts []Source
	// Inputs are the input shapes of the parts, in order, and Names their
	// names (for messages).
	Inputs [][]int
	Names  []string
}

func (j Joined) String() string {
	var names []string
	for _, p := range j.Parts {
		names = append(names, p.String())
	}
	return strings.Join(names, " + ")
}

// Load loads every part with its input shape, and the first with s's
// targets, and joins them (see Join); the test split is the parts' joined
// when every part has one.
func (j Joined) Load(s Shapes) (train, test *Set, err error) {
	if len(j.Parts) != len(j.Inputs) {
		return nil, nil, fmt.Errorf("%s: %d sources for %d inputs: give one for each", j, len(j.Parts), len(j.Inputs))
	}
	var trains, tests []*Set
	for i, p := range j.Parts {
		ps := Shapes{Input: j.Inputs[i]}
		if i == 0 {
			ps.Output = s.Output
		}
		tr, te, err := p.Load(ps)
		if err != nil {
			if i < len(j.Names) {
				err = fmt.Errorf("%w (input %s)", err, j.Names[i])
			}
			return nil, nil, err
		}
		trains, tests = append(trains, tr), append(tests, te)
	}
	if train, err = Join(trains...); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", j, err)
	}
	for _, t := range tests {
		if t == nil {
			return train, nil, nil
		}
	}
	if test, err = Join(tests...); err != nil {
		return nil, nil, fmt.Errorf("%s: test split: %v", j, err)
	}
	return train, test, nil
}

// Join returns the set whose samples hold those of sets side by side, the
// first set's first (the inputs of a model of several named inputs), with
// the first set's targets. Every set must have as many samples.
func Join(sets ...*Set) (*Set, error) {
	if len(sets) == 0 {
		return nil, fmt.Errorf("no sets to join")
	}
	out := *sets[0]
	width := 0
	for i, s := range sets {
		if s.N != sets[0].N {
			return nil, fmt.Errorf("input %d has %d samples, input 1 has %d", i+1, s.N, sets[0].N)
		}
		width += s.SampleSize()
	}
	out.Shape = []int{width}
	out.X = make([]float32, 0, out.N*width)
	for r := range out.N {
		for _, s := range sets {
			w := s.SampleSize()
			out.X = append(out.X, s.X[r*w:(r+1)*w]...)
		}
	}
	return &out, nil
}
