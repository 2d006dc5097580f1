package e2e

import (
	"math/rand/v2"
	"testing"

	"github.com/nngen/nngen/generated/seq2seq_reverse"
	"github.com/nngen/nngen/generated/text_masked"
)

// TestSeq2SeqReverse trains the LSTM encoder–decoder of
// testdata/models/seq2seq_reverse.yaml (return_state into initial_state)
// to reverse sequences of 5 digits, with teacher forcing, for a few
// hundred steps, and checks the per-step accuracy of its predictions on
// new sequences: the decoder can only know the digits through the
// encoder's states, so chance (1/8) is all it could get without them.
func TestSeq2SeqReverse(t *testing.T) {
	t.Parallel()
	const steps, digits = 5, 8
	type sample = [seq2seq_reverse.InputSize]float32
	r := rand.New(rand.NewPCG(3, 4))
	// draw writes one sample: the source digits one-hot, then the
	// reversed digits shifted right (the decoder's inputs), and the
	// reversed digits as the target.
	draw := func(x []float32, y []float32) {
		clear(x)
		clear(y)
		var d [steps]int
		for i := range d {
			d[i] = r.IntN(digits)
			x[i*digits+d[i]] = 1
		}
		for i := range steps {
			rev := d[steps-1-i]
			y[i*digits+rev] = 1
			if i+1 < steps {
				x[steps*digits+(i+1)*digits+rev] = 1
			}
		}
	}
	m := seq2seq_reverse.New(1)
	x, y := m.Input(), m.Target()
	const in, out = seq2seq_reverse.InputSize, seq2seq_reverse.OutputSize
	var first float64
	for s := range 600 {
		for b := range seq2seq_reverse.BatchSize {
			draw(x[b*in:][:in], y[b*out:][:out])
		}
		loss, _ := m.TrainStep()
		if s == 0 {
			first = loss
		}
	}
	correct, total := 0, 0
	for range 200 {
		var xs sample
		var ys, ps [out]float32
		draw(xs[:], ys[:])
		m.Predict1(&xs, &ps)
		for i := range steps {
			best := 0
			for j := range digits {
				if ps[i*digits+j] > ps[i*digits+best] {
					best = j
				}
			}
			if ys[i*digits+best] == 1 {
				correct++
			}
			total++
		}
	}
	acc := float64(correct) / float64(total)
	t.Logf("loss %.3f at the first step; per-step accuracy %.3f on new sequences after 600 steps", first, acc)
	if acc < 0.95 {
		t.Errorf("per-step accuracy %.3f after 600 steps, want at least 0.95", acc)
	}
}

// TestTextMasked trains the masked text classifier of
// testdata/models/text_masked.yaml (Embedding mask_zero into an LSTM and a
// GRU's GlobalAveragePooling1D) on sequences of 3 to 20 ids padded with
// 0 in front, as Keras's pad_sequences does, labelled by whether token 7
// occurs, and checks its accuracy on new sequences.
func TestTextMasked(t *testing.T) {
	t.Parallel()
	const steps = 20
	r := rand.New(rand.NewPCG(5, 6))
	draw := func(x []float32) (label int) {
		clear(x)
		n := 3 + r.IntN(steps-2)
		for j := steps - n; j < steps; j++ {
			id := 1 + r.IntN(49)
			if id == 7 && r.IntN(2) == 0 {
				id = 8
			}
			if id == 7 {
				label = 1
			}
			x[j] = float32(id)
		}
		if r.IntN(4) == 0 && label == 0 { // more rows with a 7
			x[steps-1-r.IntN(n)], label = 7, 1
		}
		return label
	}
	m := text_masked.New(1)
	x, y := m.Input(), m.Target()
	const in = text_masked.InputSize
	for range 400 {
		clear(y[:])
		for b := range text_masked.BatchSize { // one-hot targets
			y[b*text_masked.OutputSize+draw(x[b*in:][:in])] = 1
		}
		m.TrainStep()
	}
	correct := 0
	const n = 500
	for range n {
		var xs [in]float32
		var ps [text_masked.OutputSize]float32
		label := draw(xs[:])
		m.Predict1(&xs, &ps)
		if (ps[1] > ps[0]) == (label == 1) {
			correct++
		}
	}
	acc := float64(correct) / n
	t.Logf("accuracy %.3f on new padded sequences after 400 steps", acc)
	if acc < 0.9 {
		t.Errorf("accuracy %.3f after 400 steps, want at least 0.9", acc)
	}
}
