package generated

import (
	"math"
	"testing"

	"github.com/nngen/nngen/generated/timeseries_conv1d"
	"github.com/nngen/nngen/runtime/data"
	"github.com/nngen/nngen/runtime/rng"
	"github.com/nngen/nngen/runtime/train"
)

// waves returns n noisy waves of the given steps, labelled 0 for a sine
// and 1 for a square wave of the same random frequency, phase and
// amplitude: the class shows in the shape of the wave only.
func waves(n, steps int, seed uint64) *data.Set {
	set := &data.Set{N: n, Shape: []int{steps, 1}, X: make([]float32, n*steps), Labels: make([]int32, n), Classes: 2}
	r := rng.New(seed, 0)
	for i := range n {
		label := r.Intn(2)
		freq := 1.5 + 3*r.Float64() // cycles per sequence
		phase := 2 * math.Pi * r.Float64()
		amp := 0.5 + r.Float64()
		for t := range steps {
			v := math.Sin(2*math.Pi*freq*float64(t)/float64(steps) + phase)
			if label == 1 {
				v = math.Copysign(1, v)
			}
			set.X[i*steps+t] = float32(amp*v + 0.3*r.Norm())
		}
		set.Labels[i] = int32(label)
	}
	if err := set.Validate(); err != nil {
		panic(err)
	}
	return set
}

// TestTimeseriesConv1D trains the Conv1D classifier of Keras's time-series
// example (testdata/models/timeseries_conv1d.yaml) for a few epochs of 1024
// synthetic waves, sine against square, and checks its accuracy on 512
// others.
func TestTimeseriesConv1D(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	m := timeseries_conv1d.New(1)
	steps := m.InputShape()[0]
	trainSet, test := waves(1024, steps, 1), waves(512, steps, 2)
	if _, err := m.Fit(trainSet, nil, train.Options{Epochs: 5}); err != nil {
		t.Fatal(err)
	}
	loss, acc := m.Evaluate(test)
	t.Logf("test loss %.4f, accuracy %.4f", loss, acc)
	if acc < 0.95 {
		t.Errorf("test accuracy %.4f after 5 epochs of 1024 waves, want at least 0.95", acc)
	}
}
