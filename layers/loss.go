package layers

import (
	"sort"
)

// Loss is a loss function of the spec vocabulary; its code is registered
// under the same name in package emit.
type Loss struct {
	Doc string
	// FusedAct is the output activation whose derivative the loss folds
	// into its gradient ("" for none).
	FusedAct string
}

var losses = map[string]*Loss{
	"categorical_crossentropy": {
		Doc:      "−Σ t·log p over the classes, averaged over the batch; labels one-hot (sparse integer labels are one-hot encoded when loaded). With a softmax output the softmax is fused into the gradient.",
		FusedAct: "softmax",
	},
	"binary_crossentropy": {
		Doc:      "−(t·log p + (1−t)·log(1−p)), averaged over the outputs and the batch. With a sigmoid output the sigmoid is fused into the gradient.",
		FusedAct: "sigmoid",
	},
	"mse": {
		Doc: "(p − t)², averaged over the outputs and the batch (Keras's mean_squared_error).",
	},
}

// LossAliases maps Keras's other names of a loss to its name here.
var LossAliases = map[string]string{
	"sparse_categorical_crossentropy": "categorical_crossentropy",
	"mean_squared_error":              "mse",
}

// LookupLoss returns the loss with the given name or alias.
func LookupLoss(name string) (*Loss, bool) {
	if a, ok := LossAliases[name]; ok {
		name = a
	}
	l, ok := losses[name]
	return l, ok
}

// LossNames returns the loss names (aliases included), sorted.
func LossNames() []string {
	var l []string
	for k := range losses {
		l = append(l, k)
	}
	for k := range LossAliases {
		l = append(l, k)
	}
	sort.Strings(l)
	return l
}
