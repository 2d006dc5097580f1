package layers

import (
	"sort"
)

// Activation is an activation function of the spec vocabulary; its code is
// registered under the same name in package emit.
type Activation struct {
	Doc string
	// Rowwise activations (softmax) work on whole rows of the last axis.
	Rowwise bool
	// Pre marks an activation whose derivative needs its input, not only
	// its output (gelu, swish): the input is kept in a buffer.
	Pre bool
}

var activations = map[string]*Activation{
	"linear":     {Doc: "f(x) = x."},
	"relu":       {Doc: "f(x) = max(x, 0)."},
	"leaky_relu": {Doc: "f(x) = x for x > 0, else 0.2·x."},
	"sigmoid":    {Doc: "f(x) = 1 / (1 + e^-x)."},
	"tanh":       {Doc: "f(x) = tanh(x)."},
	"softmax":    {Doc: "f(x)_j = e^x_j / Σ_k e^x_k over the last axis.", Rowwise: true},
	// Keras's other activations (keras/src/activations).
	"gelu":         {Doc: "f(x) = x·Φ(x) = x/2·(1 + erf(x/√2)), the exact form (Keras's approximate=False).", Pre: true},
	"gelu_tanh":    {Doc: "f(x) = x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))), the tanh form: Keras's gelu(x, approximate=True), PyTorch's nn.GELU(approximate='tanh').", Pre: true},
	"elu":          {Doc: "f(x) = x for x > 0, else e^x − 1 (alpha 1)."},
	"selu":         {Doc: "f(x) = λ·x for x > 0, else λ·α·(e^x − 1), with λ ≈ 1.0507 and α ≈ 1.6733."},
	"softplus":     {Doc: "f(x) = log(1 + e^x)."},
	"softsign":     {Doc: "f(x) = x / (1 + |x|)."},
	"swish":        {Doc: "f(x) = x·sigmoid(x) (also named silu).", Pre: true},
	"silu":         {Doc: "f(x) = x·sigmoid(x), another name of swish.", Pre: true},
	"hard_sigmoid": {Doc: "f(x) = relu6(x + 3)/6 = min(max(x/6 + 1/2, 0), 1), Keras 3's definition."},
	"exponential":  {Doc: "f(x) = e^x."},
}

// SELU's constants (Keras's).
const (
	SeluAlpha = 1.67326324235437728481704299167
	SeluScale = 1.05070098735548049341933498529
)

// ActivationNames returns the activation names, sorted.
func ActivationNames() []string {
	var l []string
	for k := range activations {
		l = append(l, k)
	}
	sort.Strings(l)
	return l
}

// Rowwise reports whether act works on whole rows (softmax).
func Rowwise(act string) bool { return activations[act].Rowwise }

// PreAct reports whether act's derivative needs its input (gelu, swish).
func PreAct(act string) bool { return activations[act].Pre }

// Batched reports whether act runs over a node's whole batch output at
// once, not per sample inside a layer's loop: row-wise or keeping its
// input.
func Batched(act string) bool { return Rowwise(act) || PreAct(act) }
