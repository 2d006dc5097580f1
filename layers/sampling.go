package layers

import (
	"fmt"
	"slices"

	"github.com/nngen/nngen/ir"
)

func init() {
	Register(&Kind{
		Name:        "Sampling",
		Inference:   &Inference{Draws: func(n *ir.Node) bool { return n.Str("inference") == "sample" }},
		Latent:      true,
		Featurewise: true,
		Doc: "The reparameterization of a variational autoencoder: takes inputs [mu, logvar] of equal shape and outputs z = μ + exp(½·logvar)·ε, ε ~ N(0, I) drawn from the model's seeded generator, one stream per train step (the same seed gives the same draws). " +
			"At inference it outputs μ, or a draw with inference: sample. Put the KL divergence of N(μ, exp(logvar)) from N(0, I) into the loss with `loss: {reconstruction: ..., kl: {mu: ..., logvar: ...}}`.",
		Fields: []Field{
			{Name: "inference", Type: StringField, Default: "mean", Doc: "What the layer outputs at inference (evaluation, predict, reconstruct): the mean μ, or a draw as in training.", Enum: []string{"mean", "sample"}},
		},
		MinInputs: 2,
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			if !slices.Equal(in[0], in[1]) {
				return nil, fmt.Errorf("inputs %s %v and %s %v (mu and logvar) must have the same shape", n.Inputs[0].Name, in[0], n.Inputs[1].Name, in[1])
			}
			return slices.Clone(in[0]), nil
		},
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("Sampling z = %s + exp(½·%s)·ε, %d values", n.Inputs[0].Name, n.Inputs[1].Name, n.Size())
		},
	})
}
