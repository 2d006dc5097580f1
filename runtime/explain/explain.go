// Package explain attributes a model's output to its input features: the
// gradient methods (saliency, gradient × input, integrated gradients,
// SmoothGrad, GradientSHAP) through the generated backward pass, and the
// model-agnostic ones (exact Shapley values, KernelSHAP, LIME) through its
// batched Predict alone.
//
// Every method is deterministic: randomness comes from a seeded generator
// (runtime/rng), samples are drawn in a fixed order and evaluated in
// batches whose results do not depend on the batch size, so the same seed
// gives the same attributions bit for bit.
package explain

import (
	"fmt"

	"github.com/nngen/nngen/runtime/rng"
)

// Predictor is what the model-agnostic methods need: a batched forward
// pass. Predict reads n·Inputs() values of x and writes n·Outputs()
// values of out; each sample's output depends on that sample alone.
type Predictor interface {
	Inputs() int
	Outputs() int
	Predict(x, out []float32)
}

// Model adds the gradient of one output with respect to the input, for a
// batch: InputGrad reads n samples of x and writes to grad, for each
// sample i, the gradient of output class[i] of that sample.
type Model interface {
	Predictor
	InputGrad(x []float32, class []int, grad []float32)
}

// Batch is the number of samples the methods evaluate at once.
const Batch = 64

// Attribution is one input's attribution to one output class.
type Attribution struct {
	Class  int
	Values []float64 // one per input feature (or superpixel, for LIME images)
	// Output is f(x) for Class, and Base the reference the values explain
	// the difference from (f(baseline) for integrated gradients, the mean
	// over the background for SHAP; 0 where a method has none).
	Output, Base float64
	// Gap is the completeness gap of the methods that promise Σ Values =
	// Output − Base (integrated gradients, SHAP): Σ Values − (Output −
	// Base). It is 0 where a method makes no such promise.
	Gap float64
	// Intercept and Score are LIME's local linear model's intercept and
	// its weighted R² on the perturbed samples.
	Intercept, Score float64
}

// sum returns Σ v.
func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

// outputs runs p on the n samples in xs (n·Inputs() values), Batch at a
// time, and returns output class of each.
func outputs(p Predictor, xs []float32, class int) []float64 {
	in, nout := p.Inputs(), p.Outputs()
	n := len(xs) / in
	res := make([]float64, n)
	out := make([]float32, Batch*nout)
	for i := 0; i < n; i += Batch {
		k := min(Batch, n-i)
		p.Predict(xs[i*in:(i+k)*in], out[:k*nout])
		for j := 0; j < k; j++ {
			res[i+j] = float64(out[j*nout+class])
		}
	}
	return res
}

// Predicted returns the class p gives the highest output for x.
func Predicted(p Predictor, x []float32) int {
	out := make([]float32, p.Outputs())
	p.Predict(x, out)
	best := 0
	for i, v := range out {
		if v > out[best] {
			best = i
		}
	}
	return best
}

func checkInput(p Predictor, x []float32, class int) error {
	if len(x) != p.Inputs() {
		return fmt.Errorf("explain: the input has %d values, the model takes %d", len(x), p.Inputs())
	}
	if class < 0 || class >= p.Outputs() {
		return fmt.Errorf("explain: class %d is not one of the model's %d outputs", class, p.Outputs())
	}
	return nil
}

func checkBackground(p Predictor, bg [][]float32) error {
	if len(bg) == 0 {
		return fmt.Errorf("explain: the background set is empty")
	}
	for i, b := range bg {
		if len(b) != p.Inputs() {
			return fmt.Errorf("explain: background sample %d has %d values, the model takes %d", i, len(b), p.Inputs())
		}
	}
	return nil
}

// newRNG is the generator of a method's draws.
func newRNG(seed uint64) rng.RNG { return rng.New(seed, 0x6578706c61696e) }
