package spec

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// termLosses are the losses a reconstruction term may use.
var termLosses = []string{"binary_crossentropy", "mse", "mean_squared_error"}

// hasKey reports whether mapping n has key k.
func hasKey(n *yaml.Node, k string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == k {
			return true
		}
	}
	return false
}

// lossDefaults returns the default options of loss name.
func lossDefaults(name string) map[string]any {
	l, ok := layers.LookupLoss(name)
	if !ok {
		return nil
	}
	opts := map[string]any{}
	for _, f := range l.Fields {
		opts[f.Name] = f.Default
	}
	return opts
}

// lossOptions reads a loss written as a mapping of its name and options,
// as Keras's loss objects take them:
//
//	loss: {name: categorical_crossentropy, from_logits: true, label_smoothing: 0.1}
func (p *parser) lossOptions(m *ir.Model, n *yaml.Node) {
	f := p.mapping(n, "loss", nil)
	s, ok := p.str(f["name"].val, "loss name")
	if !ok {
		return
	}
	l, ok := layers.LookupLoss(s)
	if !ok {
		p.errorf(f["name"].val, "unknown loss %q%s", s, oneOf(s, layers.LossNames()))
		return
	}
	m.Loss = ir.Loss{Kind: s, Pos: pos(f["name"].val), Opts: lossDefaults(s)}
	known := []string{"name"}
	for _, fl := range l.Fields {
		known = append(known, fl.Name)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "name" {
			continue
		}
		fl := slices.IndexFunc(l.Fields, func(x layers.Field) bool { return x.Name == k.Value })
		if fl < 0 {
			what := "it has none"
			if len(known) > 1 {
				what = "its options: " + strings.Join(known[1:], ", ")
			}
			p.errorf(k, "unknown option %q of loss %s (%s)%s", k.Value, s, what, suggest(k.Value, known))
			continue
		}
		field := l.Fields[fl]
		what := "loss " + field.Name
		var val any
		switch field.Type {
		case layers.BoolField:
			val, ok = p.boolean(v, what)
		case layers.FloatField:
			val, ok = p.float(v, what)
		default:
			panic("spec: loss option of type " + field.Type.String())
		}
		if !ok {
			continue
		}
		if field.Check != nil {
			if msg := field.Check(val); msg != "" {
				p.errorf(v, "%s %s, got %s", what, msg, show(v))
				continue
			}
		}
		m.Loss.Opts[field.Name] = val
	}
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
