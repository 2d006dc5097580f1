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
}

var activations = map[string]*Activation{
	"linear":     {Doc: "f(x) = x."},
	"relu":       {Doc: "f(x) = max(x, 0)."},
	"leaky_relu": {Doc: "f(x) = x for x > 0, else 0.2·x."},
	"sigmoid":    {Doc: "f(x) = 1 / (1 + e^-x)."},
	"tanh":       {Doc: "f(x) = tanh(x)."},
	"softmax":    {Doc: "f(x)_j = e^x_j / Σ_k e^x_k over the last axis.", Rowwise: true},
}

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
