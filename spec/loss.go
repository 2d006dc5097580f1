package spec

import (
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/nngen/nngen/ir"
)

// termLosses are the losses a reconstruction term may use.
var termLosses = []string{"binary_crossentropy", "mse", "mean_squared_error"}

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
		refs := &ir.KLRefs{Pos: pos(k.val)}
		for _, key := range []string{"mu", "logvar"} {
			e, ok := kl[key]
			if !ok {
				p.errorf(k.val, "loss kl needs %s, the name of the layer that outputs %s", key, map[string]string{"mu": "the mean μ", "logvar": "log σ²"}[key])
				return
			}
			if _, ok := p.str(e.val, "loss kl "+key); !ok {
				return
			}
			ref := ir.Ref{Name: e.val.Value, Pos: pos(e.val)}
			if key == "mu" {
				refs.Mu = ref
			} else {
				refs.LogVar = ref
			}
		}
		m.Loss.Terms.KL = refs // resolved by pass.Validate
	} else if _, ok := f["beta"]; ok {
		p.errorf(f["beta"].key, "beta weighs the kl term, which this loss does not have")
	}
}
