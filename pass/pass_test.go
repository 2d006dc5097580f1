package pass_test

import (
	"errors"
	"testing"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/pass"
	"github.com/nngen/nngen/spec"
)

func TestConcatStopsAtFirstError(t *testing.T) {
	var ran []string
	step := func(name string, err error) pass.Pass {
		return func(*ir.Model) error { ran = append(ran, name); return err }
	}
	bad := errors.New("bad")
	err := pass.Concat(step("a", nil), step("b", bad), step("c", nil))(&ir.Model{})
	if err != bad || len(ran) != 2 || ran[1] != "b" {
		t.Errorf("Concat ran %v and returned %v; want [a b] and %v", ran, err, bad)
	}
}

const cnn = `name: cnn
input_shape: [12, 12, 1]
layers:
  - {name: c1, type: Conv2D, filters: 4, kernel_size: 3, activation: relu}
  - {name: p1, type: MaxPooling2D}
  - {name: c2, type: Conv2D, filters: 16, kernel_size: 3, padding: same}
  - {name: c3, type: Conv2D, filters: 16, kernel_size: 3, padding: same, activation: relu}
  - {name: p2, type: MaxPooling2D, pool_size: 3, strides: 1}
  - {type: Flatten}
  - {name: out, type: Dense, units: 10, activation: softmax}
loss: categorical_crossentropy
`

// TestDecisions checks the kernel and fusion decisions Compile records
// on the IR for a small CNN.
func TestDecisions(t *testing.T) {
	m, err := spec.Parse("cnn.yaml", []byte(cnn))
	if err != nil {
		t.Fatal(err)
	}
	node := map[string]*ir.Node{}
	for _, n := range m.Nodes {
		node[n.Name] = n
	}
	for _, c := range []struct {
		name      string
		fwd, back ir.Method
		fused     ir.Fusion
	}{
		// No padding, first layer: one kernel per sample, ConvWGrad only.
		{"c1", ir.ConvKernel, ir.Direct, ir.Fusion{Epilogue: "relu"}},
		// 2×2 windows tile 10×10: the MaxPool kernels, backward in c1's loop.
		{"p1", ir.Tiles, ir.Tiles, ir.Fusion{BackwardInto: node["c1"]}},
		// 4 channels: too few for Winograd; same padding: im2col.
		{"c2", ir.Im2col, ir.Im2col, ir.Fusion{}},
		{"c3", ir.Winograd, ir.Winograd, ir.Fusion{Epilogue: "relu"}},
		// Overlapping windows: recorded maxima.
		{"p2", ir.Argmax, ir.Argmax, ir.Fusion{}},
		{"out", "", "", ir.Fusion{IntoLoss: true}},
	} {
		n := node[c.name]
		if n.Method != c.fwd || n.BackMethod != c.back || n.Fused != c.fused {
			t.Errorf("%s: methods %q, %q, fused %+v; want %q, %q, %+v", c.name, n.Method, n.BackMethod, n.Fused, c.fwd, c.back, c.fused)
		}
	}
	// Compiling again changes nothing: the passes start from the raw data.
	if err := pass.Compile(m); err != nil {
		t.Fatal(err)
	}
	if n := node["c1"]; len(n.Consumers) != 1 || node["p1"].Fused.BackwardInto != n {
		t.Errorf("after a second Compile: c1 has consumers %d, p1 fused %+v", len(n.Consumers), node["p1"].Fused)
	}
	if p := node["out"].Params[0]; p.Offset == 0 {
		t.Errorf("out.weight at offset 0, after the convolutions' parameters")
	}
}

// TestIncomplete checks that a graph with an unreadable layer stops after
// the shapes, with ErrIncomplete, and that shapes are still inferred for
// the layers that do not depend on it.
func TestIncomplete(t *testing.T) {
	in := &ir.Node{Name: "input", Kind: "Input", Shape: []int{4}}
	bad := &ir.Node{Name: "bad", Kind: "?", Inputs: []*ir.Node{in}, Index: 1}
	d := &ir.Node{Name: "d", Kind: "Dense", Inputs: []*ir.Node{bad}, Index: 2, Attrs: map[string]any{"units": 2, "activation": "linear", "use_bias": true, "kernel_initializer": "zeros", "bias_initializer": "zeros"}}
	m := &ir.Model{Nodes: []*ir.Node{in, bad, d}, Output: d, Loss: ir.Loss{Kind: "mse"}}
	if err := pass.Compile(m); !errors.Is(err, pass.ErrIncomplete) {
		t.Errorf("Compile = %v, want ErrIncomplete", err)
	}
	if d.Shape != nil {
		t.Errorf("d has shape %v behind an unreadable layer", d.Shape)
	}
}
