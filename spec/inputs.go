package spec

import (
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/nngen/nngen/ir"
)

// namedInput is one entry of the spec's inputs list.
type namedInput struct {
	name  string
	shape []int
	at    *yaml.Node
}

// shape reads an input's shape: positive dimensions, not too many values.
func (p *parser) shape(n *yaml.Node, what string) ([]int, bool) {
	v, ok := p.ints(n, what)
	if !ok {
		return nil, false
	}
	if len(v) == 0 {
		p.errorf(n, "%s must have at least one dimension", what)
		return nil, false
	}
	for i, d := range v {
		if d <= 0 {
			p.errorf(n.Content[i], "%s dimensions must be positive, got %d", what, d)
			ok = false
		}
	}
	if _, fits := size(v); ok && !fits {
		p.errorf(n, "%s %v has more than %d values per sample", what, v, MaxSize)
		ok = false
	}
	return v, ok
}

// inputs reads the spec's inputs list, Keras's functional inputs:
//
//	inputs: [{name: left, shape: [4]}, {name: right, shape: [4]}]
//
// An entry without a usable name is left out, one whose shape cannot be
// read has none (both reported), so that the layers are checked too.
func (p *parser) inputs(n *yaml.Node) []namedInput {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errorf(n, "inputs must be a non-empty list of mappings {name, shape}, got %s", show(n))
		return nil
	}
	var l []namedInput
	seen := map[string]int{}
	for _, e := range n.Content {
		f := p.mapping(e, "an input", []string{"name", "shape"})
		if f == nil {
			continue
		}
		in := namedInput{at: e}
		ok := true
		for _, k := range []string{"name", "shape"} {
			if _, has := f[k]; !has {
				p.errorf(e, "an input needs a %s", k)
				ok = ok && k == "shape"
			}
		}
		if v, has := f["name"]; has {
			s, good := p.str(v.val, "input name")
			switch {
			case !good || !p.checkIdent(v.val, s, "input name"):
				ok = false
			case s == "input":
				p.errorf(v.val, "input name \"input\" is reserved for the model input, which holds the named inputs side by side")
				ok = false
			case seen[s] > 0:
				p.errorf(v.val, "lines %d and %d: two inputs named %q", seen[s], v.val.Line, s)
				ok = false
			}
			in.name, seen[s] = s, v.val.Line
		}
		if v, has := f["shape"]; has {
			if shape, good := p.shape(v.val, "input "+in.name+" shape"); good {
				in.shape = shape
			}
		}
		if ok {
			l = append(l, in)
		}
	}
	return l
}

// inputNodes returns the model input, whose samples hold the named inputs
// side by side, and an InputSlice node for each.
func inputNodes(list []namedInput, at ir.Pos) (*ir.Node, []*ir.Node) {
	input := &ir.Node{Name: "input", Kind: "Input", Pos: at}
	var nodes []*ir.Node
	off := 0
	for _, in := range list {
		n := &ir.Node{Name: in.name, Kind: "InputSlice", Pos: pos(in.at), Inputs: []*ir.Node{input},
			Attrs: map[string]any{"shape": in.shape, "offset": off}}
		nodes = append(nodes, n)
		off += ir.Prod(in.shape)
	}
	input.Shape = []int{off}
	for _, in := range list {
		if in.shape == nil {
			input.Shape = nil // reported
		}
	}
	return input, nodes
}

// classWeight reads the spec's class_weight, Keras's fit argument: a
// mapping of class ids to weights (unnamed classes weigh 1), or "balanced".
func (p *parser) classWeight(m *ir.Model, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		p.errorf(n, "class_weight must be a mapping of class ids to weights, such as {0: 1, 1: 5}; \"balanced\" depends on the data: give it to train (--class-weight balanced)")
		return
	}
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		p.errorf(n, "class_weight must be a mapping of class ids to weights, such as {0: 1, 1: 5}, got %s", show(n))
		return
	}
	w := map[int]float64{}
	hi := -1
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		c, err := strconv.Atoi(k.Value)
		if k.Tag != "!!int" || err != nil || c < 0 {
			p.errorf(k, "class_weight: a class is an id from 0, got %s", show(k))
			continue
		}
		if _, dup := w[c]; dup {
			p.errorf(k, "class_weight: class %d given twice", c)
			continue
		}
		f, ok := p.float(v, fmt.Sprintf("class_weight of class %d", c))
		if !ok {
			continue
		}
		if f < 0 {
			p.errorf(v, "class_weight of class %d must not be negative, got %v", c, f)
		}
		w[c], hi = f, max(hi, c)
	}
	if hi < 0 {
		return
	}
	m.ClassWeight = make([]float64, hi+1)
	for c := range m.ClassWeight {
		m.ClassWeight[c] = 1
		if f, ok := w[c]; ok {
			m.ClassWeight[c] = f
		}
	}
	m.ClassWeightPos = pos(n)
}
