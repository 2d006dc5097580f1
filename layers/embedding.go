package layers

import (
	"fmt"

	"github.com/nngen/nngen/ir"
)

func init() {
	Register(&Kind{
		Name:    "Embedding",
		Weights: []Weight{{Param: "weight", Role: "embeddings"}},
		Doc: "Looks up a learned vector for each token id of the model input: [T] ids (given as numbers) become [T, output_dim]. " +
			"The table is stored as PyTorch's nn.Embedding.weight, [input_dim, output_dim]. An id outside [0, input_dim) reads row 0; the data loaders reject such ids. " +
			"A model whose input an Embedding reads is a token model; one whose output is [steps, input_dim] is a language model, whose binary trains on a text file with --text and has a sample command, the others (a classifier of sequences) train on tables or arrays of ids (--data), which must be integers in [0, input_dim).",
		Fields: []Field{
			{Name: "input_dim", Type: IntField, Doc: "Vocabulary size: ids are below it (text is read as bytes, so 128 covers ASCII).", Check: positive},
			{Name: "output_dim", Type: IntField, Doc: "Size of each vector.", Check: positive},
			{Name: "mask_zero", Type: BoolField, Default: false, Doc: "Treat id 0 as padding, as Keras's mask_zero: the steps where it occurs are masked, and the layers below skip them (a recurrent layer carries its state over them and repeats its previous output; GlobalAveragePooling1D averages the other steps); Dense, Dropout, Activation and SpatialDropout1D pass the mask on, other layers refuse it. Id 0 still has a row of the table (input_dim counts it)."},
			{Name: "embeddings_initializer", Type: StringField, Default: "random_uniform", Doc: "Initializer of the table (Keras's uniform in ±0.05).", Enum: Initializers},
		},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			if n.Inputs[0].Kind != "Input" {
				return nil, fmt.Errorf("must take the model input (token ids), not layer %s", n.Inputs[0].Name)
			}
			return append(append([]int(nil), in[0]...), n.Int("output_dim")), nil
		},
		Params: func(n *ir.Node) []ir.Param {
			v, d := n.Int("input_dim"), n.Int("output_dim")
			return []ir.Param{{Name: "weight", Shape: []int{v, d}, Init: n.Str("embeddings_initializer"), FanIn: v, FanOut: d}}
		},
		Tokens:    func(n *ir.Node) int { return n.Int("input_dim") },
		MasksZero: func(n *ir.Node) bool { return n.Bool("mask_zero") },
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("Embedding %d ids → %d", n.Int("input_dim"), n.Int("output_dim"))
		},
	})
}

// Vocabulary returns the vocabulary of a token model (one whose input a
// kind with Tokens reads), or 0 for other models.
func Vocabulary(m *ir.Model) int {
	for _, n := range m.Nodes {
		if k, ok := Lookup(n.Kind); ok && k.Tokens != nil && n.Inputs[0] == m.Nodes[0] {
			return k.Tokens(n)
		}
	}
	return 0
}

// LanguageModel reports whether m is a token model that predicts a token
// at every step: its output is [steps, vocabulary] over its [steps] ids.
// It trains on text (each window's bytes predict the bytes one further)
// and samples text; other token models (a classifier of sequences, one
// label each) train on tables or arrays of ids.
func LanguageModel(m *ir.Model) bool {
	v, in, out := Vocabulary(m), m.Nodes[0].Shape, m.Output.Shape
	return v > 0 && len(in) == 1 && len(out) == 2 && out[0] == in[0] && out[1] == v
}
