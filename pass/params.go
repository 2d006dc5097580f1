package pass

import "github.com/nngen/nngen/ir"

// AssignParams places every parameter tensor in the model's flat arrays, in
// layer order: trainable ones in the parameter array, buffers (running
// statistics) in the buffer array.
func AssignParams(m *ir.Model) error {
	var off [2]int // trainable, buffers
	for _, n := range m.Nodes {
		for i := range n.Params {
			k := 0
			if n.Params[i].Buffer {
				k = 1
			}
			n.Params[i].Offset = off[k]
			off[k] += ir.Prod(n.Params[i].Shape)
		}
	}
	return nil
}
