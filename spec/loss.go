package spec

import (
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// termLosses are the losses a reconstruction term may use.
var termLosses = []string{"binary_crossentropy", "mse", "mean_squared_error"}

// pendingKL is the kl entry of a loss mapping, resolved once the layers are
// known.
type pendingKL struct {
	at, mu, logvar *yaml.Node
}

// lossTerms reads a loss written as a mapping of named terms:
//
//	loss: {reconstruction: binary_crossentropy, kl: {mu: z_mean, logvar: z_log_var}, beta: 1.0}
func (p *parser) lossTerms(m *ir.Model, n *yaml.Node) {
	f := p.mapping(n, "loss", []string{"reconstruction", "kl", "beta"})
	if f == nil {
		return
	}
	m.Loss = ir.Loss{Pos: pos(n), Terms: &ir.Terms{Beta: 1}}
	r, ok := f["reconstruction"]
	if !ok {
		p.errorf(n, "a loss mapping needs a reconstruction term (one of: binary_crossentropy, mse)")
	} else if s, ok := p.str(r.val, "loss reconstruction"); ok {
		if !slices.Contains(termLosses, s) {
			p.errorf(r.val, "unknown reconstruction loss %q%s", s, oneOf(s, termLosses))
		}
		m.Loss.Kind, m.Loss.Pos = s, pos(r.val)
	}
	if b, ok := f["beta"]; ok {
		if v, ok := p.float(b.val, "loss beta"); ok {
			if v < 0 {
				p.errorf(b.val, "loss beta must not be negative, got %s", show(b.val))
			}
			m.Loss.Terms.Beta = v
		}
	}
	if k, ok := f["kl"]; ok {
		kl := p.mapping(k.val, "loss kl", []string{"mu", "logvar"})
		if kl == nil {
			return
		}
		pk := &pendingKL{at: k.val}
		for _, key := range []string{"mu", "logvar"} {
			e, ok := kl[key]
			if !ok {
				p.errorf(k.val, "loss kl needs %s, the name of the layer that outputs %s", key, map[string]string{"mu": "the mean μ", "logvar": "log σ²"}[key])
				return
			}
			if _, ok := p.str(e.val, "loss kl "+key); !ok {
				return
			}
			if key == "mu" {
				pk.mu = e.val
			} else {
				pk.logvar = e.val
			}
		}
		p.kl = pk
	} else if _, ok := f["beta"]; ok {
		p.errorf(f["beta"].key, "beta weighs the kl term, which this loss does not have")
	}
}

// checkTerms resolves the layers of the KL term and checks that the
// reconstruction fits the input.
func (p *parser) checkTerms(m *ir.Model) {
	t := m.Loss.Terms
	if t == nil {
		return
	}
	at := &yaml.Node{Line: m.Loss.Pos.Line, Column: m.Loss.Pos.Col}
	if in := m.Nodes[0]; !slices.Equal(in.Shape, m.Output.Shape) {
		p.errorf(at, "the reconstruction term compares the output with the input, but output %s has shape %v and the input %v", m.Output.Name, m.Output.Shape, in.Shape)
	}
	if p.kl == nil {
		return
	}
	var nodes [2]*ir.Node
	for i, ref := range []*yaml.Node{p.kl.mu, p.kl.logvar} {
		for _, n := range m.Nodes[1:] {
			if n.Name == ref.Value {
				nodes[i] = n
			}
		}
		if nodes[i] == nil {
			p.errorf(ref, "loss kl: unknown layer %q%s", ref.Value, suggest(ref.Value, names(m.Nodes[1:])))
			return
		}
		if !layers.NeedsGrad(nodes[i]) {
			p.errorf(ref, "loss kl: layer %s has no parameters below it, so the KL term could not train anything", ref.Value)
			return
		}
	}
	mu, lv := nodes[0], nodes[1]
	if mu == lv {
		p.errorf(p.kl.logvar, "loss kl: mu and logvar are the same layer %s", mu.Name)
		return
	}
	if !slices.Equal(mu.Shape, lv.Shape) {
		p.errorf(p.kl.at, "loss kl: mu %s has shape %v but logvar %s has shape %v; they must be equal", mu.Name, mu.Shape, lv.Name, lv.Shape)
		return
	}
	t.KLMu, t.KLLogVar = mu, lv
}
