package layers

import (
	"github.com/nngen/nngen/ir"
)

// TermNames names the terms of a loss of named terms, as reports show them:
// reconstruction, then kl when the loss has one. It is nil for a plain loss.
func TermNames(m *ir.Model) []string {
	t := m.Loss.Terms
	switch {
	case t == nil:
		return nil
	case t.KLMu == nil:
		return []string{"reconstruction"}
	}
	return []string{"reconstruction", "kl"}
}

// TargetIsInput reports whether the model's targets are its inputs (an
// autoencoder: a loss of named terms, or the spec's target: input).
func TargetIsInput(m *ir.Model) bool { return m.Loss.Terms != nil || m.TargetIsInput }

// LossRows returns the length c of the rows the loss works on and how many
// there are per sample: the output's last axis for a plain loss, the whole
// sample for a loss of named terms (its reconstruction sums over the values
// of each sample).
func LossRows(m *ir.Model) (c, perSample int) {
	out := m.Output
	if m.Loss.Terms != nil {
		return out.Size(), 1
	}
	c = out.Shape[len(out.Shape)-1]
	return c, out.Size() / c
}
