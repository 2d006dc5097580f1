package data

import (
	"fmt"
	"os"
)

// TextSplit is the fraction of a text's windows that LoadText puts in the
// training set; the rest, from the end of the text, is the test set.
const TextSplit = 0.9

// Text is a text file for a character-level model whose input is [steps]
// token ids and whose output is [steps, classes]: every byte is a token id
// (see LoadText).
type Text struct {
	Path  string
	Vocab int // the model's vocabulary; 0: its classes
}

func (t Text) String() string { return t.Path }

// Load reads the text: its first 90% trains, the rest tests.
func (t Text) Load(s Shapes) (train, test *Set, err error) {
	in, out := s.Input, s.Output
	if len(in) != 1 || len(out) != 2 || out[0] != in[0] {
		return nil, nil, fmt.Errorf("%s: a text model needs input [steps] and output [steps, classes], not %s and %s", t.Path, shapeString(in), shapeString(out))
	}
	vocab := out[1]
	if t.Vocab > 0 {
		vocab = min(vocab, t.Vocab)
	}
	return LoadText(t.Path, in[0], vocab)
}

// LoadText reads the text file path for a character-level model of the
// given steps and vocabulary: every byte is a token id and must be below
// vocab. Sample i is the window of steps bytes starting at byte i, its
// targets the bytes one further (next-byte prediction, one label per step).
// The windows of the first 90% of the text train; those wholly after it
// test, so that no test target is seen in training.
func LoadText(path string, steps, vocab int) (train, test *Set, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	for i, c := range b {
		if int(c) >= vocab {
			return nil, nil, fmt.Errorf("%s: byte %d is 0x%02x, not below the model's vocabulary of %d (ASCII text fits 128)", path, i, c, vocab)
		}
	}
	cut := int(float64(len(b)) * TextSplit)
	if cut < steps+1 || len(b)-cut < steps+1 {
		return nil, nil, fmt.Errorf("%s: %d bytes are too few for windows of %d steps in both the training and the test part (need at least %d)", path, len(b), steps, int(float64(steps+1)/(1-TextSplit))+1)
	}
	return textSet(b[:cut], steps, vocab), textSet(b[cut:], steps, vocab), nil
}

// textSet returns every window of steps bytes of b with its next bytes.
func textSet(b []byte, steps, vocab int) *Set {
	n := len(b) - steps
	s := &Set{N: n, Shape: []int{steps}, X: make([]float32, n*steps), Labels: make([]int32, n*steps), Classes: vocab, Steps: steps}
	for i := range n {
		for t := range steps {
			s.X[i*steps+t] = float32(b[i+t])
			s.Labels[i*steps+t] = int32(b[i+t+1])
		}
	}
	return s
}
