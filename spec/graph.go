package spec

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// graph builds the raw DAG from the layers list: each layer takes the
// previous one unless it names its inputs, and the output is the last layer
// unless the spec names it. A layer that cannot be read stays in the graph
// as a node of kind "?" (see pass.Validate), an output that cannot be
// resolved leaves m.Output nil; shapes and parameters are the passes' job.
// With named inputs, the layers name them (there is no "input" to refer
// to), and the first layer must name its inputs.
func (p *parser) graph(m *ir.Model, list *yaml.Node, inShape []int, named []namedInput, outNode *yaml.Node) {
	if list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		p.errorf(list, "layers must be a non-empty list, got %s", show(list))
		return
	}
	input := &ir.Node{Name: "input", Kind: "Input", Shape: inShape, Pos: pos(list)}
	m.Nodes = []*ir.Node{input}
	byName := map[string]*ir.Node{"input": input}
	prev := input
	if named != nil {
		input, m.Inputs = inputNodes(named, pos(list))
		m.Nodes = []*ir.Node{input}
		byName, prev = map[string]*ir.Node{}, nil
		for _, n := range m.Inputs {
			n.Index = len(m.Nodes)
			m.Nodes = append(m.Nodes, n)
			byName[n.Name] = n
		}
	}
	counts := map[string]int{}
	// The names given explicitly, to tell a reference to a later layer
	// from a typo.
	p.named = map[string]int{}
	for _, ln := range list.Content {
		for i := 0; ln.Kind == yaml.MappingNode && i+1 < len(ln.Content); i += 2 {
			if k, v := ln.Content[i], ln.Content[i+1]; k.Value == "name" && v.Kind == yaml.ScalarNode {
				if _, dup := p.named[v.Value]; !dup {
					p.named[v.Value] = v.Line
				}
			}
		}
	}
	p.autoNamed = map[*ir.Node]bool{}
	p.placeholder = map[*ir.Node]bool{}
	for i, ln := range list.Content {
		p.outputs, p.outputNames = nil, nil
		n := p.layer(ln, byName, counts, prev)
		if n != nil {
			for j, o := range p.outputs {
				o.Index = len(m.Nodes)
				m.Nodes = append(m.Nodes, o)
				byName[p.outputNames[j]] = o
			}
		}
		if n == nil {
			// Keep checking the layers below; shapes that depend on this
			// one stay unknown (nil) and are not inferred. The placeholder
			// takes the layer's name, so that references to it resolve.
			n = &ir.Node{Name: fmt.Sprintf("layer %d", i+1), Kind: "?", Pos: pos(ln)}
			p.placeholder[n] = true
			for j := 0; ln.Kind == yaml.MappingNode && j+1 < len(ln.Content); j += 2 {
				if k, v := ln.Content[j], ln.Content[j+1]; k.Value == "name" && byName[v.Value] == nil && identRE.MatchString(v.Value) {
					n.Name = v.Value
				}
			}
		}
		n.Index = len(m.Nodes)
		m.Nodes = append(m.Nodes, n)
		byName[n.Name] = n
		prev = n
	}
	m.Output = prev
	if outNode != nil {
		if s, ok := p.str(outNode, "output"); ok {
			if o, ok := byName[s]; ok && o != input && o.Kind != "InputSlice" {
				m.Output = o
			} else if s == "input" || ok {
				m.Output = nil
				what := "the model input"
				if ok && s != "input" {
					what += " " + s
				}
				p.errorf(outNode, "output must be a layer, not %s", what)
			} else {
				m.Output = nil
				p.errorf(outNode, "unknown output layer %q%s", s, suggest(s, p.names(m.Nodes[1:])))
			}
		} else {
			m.Output = nil
		}
	}
}

// names returns the names of the nodes, leaving out the placeholders of
// broken layers.
func (p *parser) names(ns []*ir.Node) []string {
	var l []string
	for _, n := range ns {
		if !p.placeholder[n] {
			l = append(l, n.Name)
		}
	}
	return l
}

// layer decodes and validates one layer's fields and inputs; a layer whose
// fields do not decode gets kind "?".
func (p *parser) layer(ln *yaml.Node, byName map[string]*ir.Node, counts map[string]int, prev *ir.Node) *ir.Node {
	if ln.Kind != yaml.MappingNode {
		p.errorf(ln, "a layer must be a mapping with a type, got %s", show(ln))
		return nil
	}
	raw := p.mapping(ln, "layer", nil)
	var kind *layers.Kind
	var owner *ir.Node
	if e, ok := raw["shares"]; ok {
		if owner = p.shares(e, byName); owner == nil {
			return nil
		}
		kind, _ = layers.Lookup(owner.Kind)
	} else {
		t, ok := raw["type"]
		if !ok {
			p.errorf(ln, "layer needs a type (one of: %s)", strings.Join(layers.Names(), ", "))
			return nil
		}
		kindName, ok := p.str(t.val, "layer type")
		if !ok {
			return nil
		}
		if kind, ok = layers.Lookup(kindName); !ok || kind.Internal {
			p.errorf(t.val, "unknown layer type %q%s", kindName, oneOf(kindName, layers.Names()))
			return nil
		}
	}
	n := &ir.Node{Kind: kind.Name, Pos: pos(ln), Attrs: map[string]any{}}
	var misspelt map[string]bool
	good := true
	if owner != nil {
		// The kind and fields are the shared layer's.
		known := []string{"name", "inputs", "shares"}
		n.Attrs, n.Shares = maps.Clone(owner.Attrs), owner
		kind = &layers.Kind{Name: kind.Name}
		for i := 0; i+1 < len(ln.Content); i += 2 {
			if k := ln.Content[i]; !contains(known, k.Value) {
				p.errorf(k, "%s: a layer that shares the weights of %s (line %d) applies it again, with its type and fields: it takes only name, inputs and shares", k.Value, owner.Name, owner.Pos.Line)
				good = false
			}
		}
	} else {
		extra := []string{"type", "name", "inputs"}
		if len(kind.States) > 0 {
			extra = append(extra, "initial_state")
		}
		misspelt, good = p.unknownFields(ln, kind, extra...)
	}
	// Name.
	if e, ok := raw["name"]; ok {
		s, ok := p.str(e.val, "layer name")
		if !ok || !p.checkIdent(e.val, s, "layer name") {
			return nil
		}
		if s == "input" {
			p.errorf(e.val, "layer name \"input\" is reserved for the model input")
			return nil
		}
		if other, dup := byName[s]; dup {
			how := ""
			if p.autoNamed[other] {
				how = fmt.Sprintf(" (the layer at line %d is named %s by default)", other.Pos.Line, s)
			}
			p.errorf(e.val, "lines %d and %d: two layers named %q%s", other.Pos.Line, e.val.Line, s, how)
			return nil
		}
		n.Name = s
	} else {
		p.autoNamed[n] = true
		base := snake(kind.Name)
		for {
			n.Name = base
			if c := counts[base]; c > 0 {
				n.Name = fmt.Sprintf("%s_%d", base, c)
			}
			counts[base]++
			if _, dup := byName[n.Name]; !dup {
				break
			}
		}
	}
	// Fields (none for a shared layer: kind has none).
	if !p.fields(ln, raw, kind, n, misspelt) {
		good = false
	}
	// Inputs.
	if e, ok := raw["inputs"]; ok {
		refs, nodes := p.strs(e.val, "inputs")
		if len(refs) == 0 {
			p.errorf(e.val, "inputs must name at least one layer")
			return nil
		}
		for i, r := range refs {
			in := p.ref(r, nodes[i], ln, n, byName, "inputs")
			if in == nil {
				return nil
			}
			n.Inputs = append(n.Inputs, in)
		}
	} else if prev == nil {
		p.errorf(ln, "layer %s must name its inputs: the model has the inputs %s and no layer before it", n.Name, strings.Join(p.inputNames(byName), ", "))
		return nil
	} else {
		n.Inputs = []*ir.Node{prev}
	}
	// Keras's initial_state: the inputs after the first.
	if e, ok := raw["initial_state"]; ok {
		refs, nodes := p.strs(e.val, "initial_state")
		if len(refs) == 0 {
			p.errorf(e.val, "initial_state must name at least one layer")
			return nil
		}
		if len(n.Inputs) > 1 {
			p.errorf(e.key, "initial_state: layer %s names its initial state twice, as inputs after the first and as initial_state", n.Name)
			return nil
		}
		for i, r := range refs {
			in := p.ref(r, nodes[i], ln, n, byName, "initial_state")
			if in == nil {
				return nil
			}
			n.Inputs = append(n.Inputs, in)
		}
	}
	if !good {
		n.Kind = "?" // registered by name, shape unknown
	}
	return n
}

// ref resolves reference r (at node) in the list what of layer n (at ln):
// a layer above, or layer.output, an extra output of one (a recurrent
// layer's state, enc.state_h), as an Output node that graph adds to the
// model before n. It reports what is wrong and returns nil.
func (p *parser) ref(r string, node, ln *yaml.Node, n *ir.Node, byName map[string]*ir.Node, what string) *ir.Node {
	if in, ok := byName[r]; ok {
		return in
	}
	if i := strings.LastIndex(r, "."); i > 0 {
		if l, ok := byName[r[:i]]; ok && l.Kind != "Input" && l.Kind != "InputSlice" {
			if j := slices.Index(p.outputNames, r); j >= 0 {
				return p.outputs[j]
			}
			name := r[:i] + "_" + r[i+1:]
			if line, dup := p.named[name]; dup || byName[name] != nil {
				if o := byName[name]; o != nil {
					line = o.Pos.Line
				}
				p.errorf(node, "%s of %s: %s names output %s of layer %s, whose code calls it %s, but line %d names a layer %s: rename that layer", what, n.Name, r, r[i+1:], r[:i], name, line, name)
				return nil
			}
			o := &ir.Node{Name: name, Kind: "Output", Pos: pos(node), Inputs: []*ir.Node{l}, Attrs: map[string]any{"output": r[i+1:]}}
			p.outputs, p.outputNames = append(p.outputs, o), append(p.outputNames, r)
			return o
		}
	}
	switch line, later := p.named[r]; {
	case r == n.Name:
		p.errorf(node, "%s of %s: a layer cannot take itself as input", what, n.Name)
	case r == "input" && byName["input"] == nil:
		p.errorf(node, "%s of %s: the model's inputs are named (%s): \"input\" is none of them", what, n.Name, strings.Join(p.inputNames(byName), ", "))
	case later && line > ln.Line:
		p.errorf(node, "%s of %s: layer %q is defined below, at line %d; a layer's inputs must come before it", what, n.Name, r, line)
	default:
		var cands []string
		for k, c := range byName {
			if !p.placeholder[c] {
				cands = append(cands, k)
			}
		}
		sort.Strings(cands)
		p.errorf(node, "%s of %s: unknown layer %q%s", what, n.Name, r, suggest(r, cands))
	}
	return nil
}

// shares resolves a layer's shares entry: the layer above, with weights,
// whose kind, fields and weights the layer applies again (Keras's layer
// called twice); a layer that shares resolves to the one it shares.
func (p *parser) shares(e entry, byName map[string]*ir.Node) *ir.Node {
	s, ok := p.str(e.val, "shares")
	if !ok {
		return nil
	}
	o, ok := byName[s]
	switch line, later := p.named[s]; {
	case ok && (o.Kind == "Input" || o.Kind == "InputSlice"):
		p.errorf(e.val, "shares: %s is a model input, not a layer with weights", s)
		return nil
	case ok && o.Kind == "?":
		return nil // reported
	case ok:
	case later && line > e.val.Line:
		p.errorf(e.val, "shares: layer %q is defined below, at line %d; a layer can only share the weights of a layer above it", s, line)
		return nil
	default:
		var cands []string
		for k, c := range byName {
			if !p.placeholder[c] && c.Kind != "InputSlice" {
				cands = append(cands, k)
			}
		}
		sort.Strings(cands)
		p.errorf(e.val, "shares: unknown layer %q%s", s, suggest(s, cands))
		return nil
	}
	if o.Shares != nil {
		o = o.Shares
	}
	if k, _ := layers.Lookup(o.Kind); k.Params == nil {
		p.errorf(e.val, "shares: layer %s (%s, line %d) has no weights to share", o.Name, o.Kind, o.Pos.Line)
		return nil
	}
	return o
}

// inputNames returns the names of the model's named inputs, sorted.
func (p *parser) inputNames(byName map[string]*ir.Node) []string {
	var ins []string
	for _, n := range byName {
		if n.Kind == "InputSlice" {
			ins = append(ins, n.Name)
		}
	}
	sort.Strings(ins)
	return ins
}

// names returns the names of the nodes.
func names(ns []*ir.Node) []string {
	var l []string
	for _, n := range ns {
		l = append(l, n.Name)
	}
	return l
}

// unknownFields reports the fields of layer mapping ln that are neither
// extra keys nor fields of kind, and returns the fields they are typos of
// and whether there were none.
func (p *parser) unknownFields(ln *yaml.Node, kind *layers.Kind, extra ...string) (misspelt map[string]bool, good bool) {
	known := extra
	for _, f := range kind.Fields {
		known = append(known, f.Name)
		known = append(known, f.Aliases...)
	}
	good = true
	misspelt = map[string]bool{} // fields an unknown field is a typo of
	for i := 0; i+1 < len(ln.Content); i += 2 {
		k := ln.Content[i]
		if !contains(known, k.Value) {
			p.errorf(k, "unknown field %q of %s%s", k.Value, kind.Name, suggest(k.Value, known))
			misspelt[closest(k.Value, known)] = true
			good = false
		}
	}
	return misspelt, good
}

// fields decodes the fields of kind from the entries raw of layer mapping
// ln into n.Attrs, defaults filled in, and reports whether they all
// decoded; misspelt are the fields an unknown field was a typo of.
func (p *parser) fields(ln *yaml.Node, raw map[string]entry, kind *layers.Kind, n *ir.Node, misspelt map[string]bool) bool {
	good := true
	for _, f := range kind.Fields {
		e, ok := raw[f.Name]
		for _, a := range f.Aliases {
			if ea, dup := raw[a]; dup && ok {
				p.errorf(ea.key, "%s and %s are two names of one field of %s: write one", f.Name, a, kind.Name)
				good = false
			} else if dup {
				e, ok = ea, true
			}
		}
		if ok && f.Nullable && e.val.Tag == "!!null" {
			n.Attrs[f.Name] = f.Default
			continue
		}
		if !ok {
			if f.Default == nil {
				if !misspelt[f.Name] { // else already reported as a typo
					p.errorf(ln, "%s layer %s needs field %q", kind.Name, n.Name, f.Name)
				}
				good = false
				continue
			}
			n.Attrs[f.Name] = f.Default
			continue
		}
		what := fmt.Sprintf("%s.%s", n.Name, f.Name)
		var v any
		switch f.Type {
		case layers.IntField:
			v, ok = p.integer(e.val, what)
		case layers.FloatField:
			v, ok = p.float(e.val, what)
		case layers.StringField:
			v, ok = p.str(e.val, what)
		case layers.BoolField:
			v, ok = p.boolean(e.val, what)
		case layers.LayerField:
			v, ok = p.inner(e.val, what)
		case layers.RegularizerField:
			v, ok = p.regularizer(e.val, what)
		case layers.IntsField:
			if f.Sides > 0 {
				v, ok = p.sides(e.val, what, f.Sides)
				break
			}
			if f.Broadcast > 0 && e.val.Kind == yaml.ScalarNode {
				var k int
				if k, ok = p.integer(e.val, what); ok {
					v = slices.Repeat([]int{k}, f.Broadcast)
				}
				break
			}
			v, ok = p.ints(e.val, what)
		}
		if !ok {
			good = false
			continue
		}
		if s, isStr := v.(string); isStr && len(f.Enum) > 0 && !contains(f.Enum, s) {
			p.errorf(e.val, "%s: unknown %s %q%s", what, strings.ReplaceAll(f.Name, "_", " "), s, oneOf(s, f.Enum))
			good = false
			continue
		}
		if f.Check != nil {
			if msg := f.Check(v); msg != "" {
				got := show(e.val)
				if in, isLayer := v.(*ir.Node); isLayer {
					got = in.Kind
				}
				p.errorf(e.val, "%s %s, got %s", what, msg, got)
				good = false
				continue
			}
		}
		n.Attrs[f.Name] = v
	}
	return good
}

// inner decodes the layer mapping ln that a field of wrapper n holds (a
// Bidirectional's layer): a type and that kind's fields, no name and no
// inputs. The inner layer is named after the field, as what.
func (p *parser) inner(ln *yaml.Node, what string) (*ir.Node, bool) {
	if ln.Kind != yaml.MappingNode {
		p.errorf(ln, "%s must be a layer: a mapping with a type, got %s", what, show(ln))
		return nil, false
	}
	raw := p.mapping(ln, what, nil)
	t, ok := raw["type"]
	if !ok {
		p.errorf(ln, "%s needs a type (one of: %s)", what, strings.Join(layers.Names(), ", "))
		return nil, false
	}
	kindName, ok := p.str(t.val, what+" type")
	if !ok {
		return nil, false
	}
	kind, ok := layers.Lookup(kindName)
	if !ok {
		p.errorf(t.val, "unknown layer type %q%s", kindName, oneOf(kindName, layers.Names()))
		return nil, false
	}
	n := &ir.Node{Name: what, Kind: kind.Name, Pos: pos(ln), Attrs: map[string]any{}}
	misspelt, good := p.unknownFields(ln, kind, "type")
	return n, p.fields(ln, raw, kind, n, misspelt) && good
}
