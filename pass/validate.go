package pass

import (
	"slices"
	"strings"

	"github.com/nngen/nngen/internal/hint"
	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// Validate checks the shape-inferred graph as a whole: every layer
// contributes to the output, the parameters fit and some are trainable,
// the loss fits the output, and the layers of a loss's KL term exist and
// fit; it resolves those layers. A raw model with layers spec could not
// read fails with ErrIncomplete.
func Validate(m *ir.Model) error {
	for _, n := range m.Nodes {
		if n.Kind == "?" {
			return ErrIncomplete
		}
	}
	if m.Output == nil {
		return ErrIncomplete
	}
	var errs ErrorList
	contributions(m, &errs)
	in := m.Nodes[0]
	if total := m.NumParams() + m.NumBuffers(); total > ir.MaxSize {
		errs.errorf(in.Pos, "the model has %d parameters, more than %d", total, ir.MaxSize)
		return errs.Err()
	}
	if m.NumParams() == 0 && in.Shape != nil {
		errs.errorf(in.Pos, "the model has no trainable parameters; it needs a layer with weights, such as Dense")
		return errs.Err()
	}
	checkLoss(m, &errs)
	checkTerms(m, &errs)
	checkClassWeight(m, &errs)
	if in := m.Nodes[0]; m.TargetIsInput && !slices.Equal(in.Shape, m.Output.Shape) {
		errs.errorf(m.TargetPos, "target: input needs an output of the input's shape %v, but output %s has shape %v", in.Shape, m.Output.Name, m.Output.Shape)
	}
	return errs.Err()
}

// contributions reports the layers the output does not depend on.
func contributions(m *ir.Model, errs *ErrorList) {
	used := map[*ir.Node]bool{}
	var mark func(n *ir.Node)
	mark = func(n *ir.Node) {
		if !used[n] {
			used[n] = true
			for _, in := range n.Inputs {
				mark(in)
			}
		}
	}
	mark(m.Output)
	taken := map[*ir.Node]bool{}
	for _, n := range m.Nodes {
		for _, in := range n.Inputs {
			taken[in] = true
		}
	}
	for _, n := range m.Nodes {
		if !used[n] && n.Kind == "InputSlice" {
			errs.errorf(n.Pos, "model input %s is not read by any layer the output %s depends on", n.Name, m.Output.Name)
		} else if !used[n] {
			why := ""
			if !taken[n] {
				why = ": no layer takes it as input"
			}
			errs.errorf(n.Pos, "layer %s does not contribute to the output %s%s", n.Name, m.Output.Name, why)
		}
	}
}

// checkLoss checks that the loss fits the output.
func checkLoss(m *ir.Model, errs *ErrorList) {
	if m.Loss.Kind == "" || m.Output.Kind == "Input" || m.Output.Shape == nil {
		return
	}
	if strings.Contains(m.Loss.Kind, "categorical") && m.Output.Shape[len(m.Output.Shape)-1] < 2 {
		errs.errorf(m.Loss.Pos, "%s needs at least 2 classes, but output %s has shape %v; use binary_crossentropy for a single output", m.Loss.Kind, m.Output.Name, m.Output.Shape)
	}
}

// checkTerms resolves the layers of the KL term and checks that the
// reconstruction fits the input.
func checkTerms(m *ir.Model, errs *ErrorList) {
	t := m.Loss.Terms
	if t == nil {
		return
	}
	if in := m.Nodes[0]; !slices.Equal(in.Shape, m.Output.Shape) {
		errs.errorf(m.Loss.Pos, "the reconstruction term compares the output with the input, but output %s has shape %v and the input %v", m.Output.Name, m.Output.Shape, in.Shape)
	}
	if t.KL == nil {
		return
	}
	var nodes [2]*ir.Node
	for i, ref := range []ir.Ref{t.KL.Mu, t.KL.LogVar} {
		for _, n := range m.Nodes[1:] {
			if n.Name == ref.Name {
				nodes[i] = n
			}
		}
		if nodes[i] == nil {
			var names []string
			for _, n := range m.Nodes[1:] {
				names = append(names, n.Name)
			}
			errs.errorf(ref.Pos, "loss kl: unknown layer %q%s", ref.Name, hint.Suggest(ref.Name, names))
			return
		}
		if !layers.NeedsGrad(nodes[i]) {
			errs.errorf(ref.Pos, "loss kl: layer %s has no parameters below it, so the KL term could not train anything", ref.Name)
			return
		}
	}
	mu, lv := nodes[0], nodes[1]
	if mu == lv {
		errs.errorf(t.KL.LogVar.Pos, "loss kl: mu and logvar are the same layer %s", mu.Name)
		return
	}
	if !slices.Equal(mu.Shape, lv.Shape) {
		errs.errorf(t.KL.Pos, "loss kl: mu %s has shape %v but logvar %s has shape %v; they must be equal", mu.Name, mu.Shape, lv.Name, lv.Shape)
		return
	}
	t.KLMu, t.KLLogVar = mu, lv
}

// checkClassWeight checks that the classes of the spec's class_weight are
// the output's: a classifier's, one label per sample.
func checkClassWeight(m *ir.Model, errs *ErrorList) {
	if m.ClassWeight == nil || m.Loss.Kind == "" || m.Output.Shape == nil {
		return
	}
	classes, rows := layers.Classes(m)
	switch {
	case classes == 0:
		errs.errorf(m.ClassWeightPos, "class_weight weighs the samples of each class, but loss %s is not a classifier's", m.Loss.Kind)
	case rows > 1:
		errs.errorf(m.ClassWeightPos, "class_weight needs one label per sample, but output %s has %d rows of classes per sample", m.Output.Name, rows)
	case len(m.ClassWeight) > classes:
		errs.errorf(m.ClassWeightPos, "class_weight names class %d, but output %s has %d classes (0 to %d)", len(m.ClassWeight)-1, m.Output.Name, classes, classes-1)
	}
}
