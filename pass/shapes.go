package pass

import (
	"slices"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// InferShapes gives every node its per-sample output shape and its
// parameters by its kind's rules, in topological order, and reports each
// node whose inputs do not fit. A node whose inputs' shapes are unknown (a
// layer spec could not read, one whose inputs do not fit, or an input
// shape spec could not read) keeps an unknown (nil) shape.
func InferShapes(m *ir.Model) error {
	var errs ErrorList
	for _, n := range m.Nodes {
		n.Consumers = nil
	}
	for _, n := range m.Nodes[1:] {
		if n.Kind == "?" || !known(n.Inputs) {
			continue
		}
		kind, _ := layers.Lookup(n.Kind)
		if lo, hi := kind.Inputs(); len(n.Inputs) < lo || hi != layers.Variadic && len(n.Inputs) > hi {
			errs.errorf(n.Pos, "%s takes %s, got %d", kind.Name, kind.InputsText(), len(n.Inputs))
			continue
		}
		var in [][]int
		for _, i := range n.Inputs {
			in = append(in, i.Shape)
			i.Consumers = append(i.Consumers, n)
		}
		shape, err := kind.Shape(n, in)
		if err != nil && kind.Internal { // a node the spec does not name as such
			errs.errorf(n.Pos, "%v", err)
			continue
		}
		if err != nil {
			errs.errorf(n.Pos, "%s %s: %v", kind.Name, n.Name, err)
			continue
		}
		if _, ok := ir.Fits(shape); !ok {
			errs.errorf(n.Pos, "%s %s: output shape %v has more than %d values per sample", kind.Name, n.Name, shape, ir.MaxSize)
			continue
		}
		n.Shape = shape
		n.Params = layers.ParamsOf(n)
		if n.Shares != nil && !share(n, &errs) {
			n.Shape = nil
			continue
		}
		for _, p := range n.Params {
			if _, ok := ir.Fits(p.Shape); !ok {
				errs.errorf(n.Pos, "%s %s: %s of shape %v has more than %d values", kind.Name, n.Name, p.Name, p.Shape, ir.MaxSize)
				n.Shape, n.Params = nil, nil
				break
			}
		}
	}
	return errs.Err()
}

// known reports whether the shapes of all the nodes are known.
func known(nodes []*ir.Node) bool {
	for _, n := range nodes {
		if n.Shape == nil {
			return false
		}
	}
	return true
}

// share checks that sharing node n's parameters would be those of the node
// it shares, marks those shared and leaves n none of its own.
func share(n *ir.Node, errs *ErrorList) bool {
	o := n.Shares
	if o.Shape == nil {
		return false // reported at o
	}
	ps := n.Params
	n.Params = nil
	for i, p := range ps {
		if i >= len(o.Params) || !slices.Equal(p.Shape, o.Params[i].Shape) {
			errs.errorf(n.Pos, "%s %s shares the weights of %s (line %d), but its input %s of shape %v would need a %s of shape %v where %s's is %v",
				n.Kind, n.Name, o.Name, o.Pos.Line, n.Inputs[0].Name, n.Inputs[0].Shape, p.Name, p.Shape, o.Name, o.Params[i].Shape)
			return false
		}
	}
	for i := range o.Params {
		o.Params[i].Shared = true
	}
	return true
}
