package layers_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
	"github.com/nngen/nngen/spec"
)

// flatSpec is a model whose image [4, 4, 3] (a Conv2D's output on 6×6×2) is
// flattened and then goes through body.
func flatSpec(t *testing.T, body string) *ir.Model {
	t.Helper()
	src := `name: flat
input_shape: [6, 6, 2]
batch_size: 2
layers:
  - name: conv
    type: Conv2D
    filters: 3
    kernel_size: 3
  - name: flat
    type: Flatten
` + body + `
loss: mse
`
	m, err := spec.Parse("flat.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFlatImage checks that the NHWC order of a flattened image is followed
// through featurewise layers to the parameters that checkpoints reorder,
// and that TorchLayout refuses what no reordering expresses.
func TestFlatImage(t *testing.T) {
	img := []int{4, 4, 3}
	for _, c := range []struct {
		name, body string
		flat       map[string]bool // node.param whose FlatImage is img
		refuse     string          // the layer TorchLayout names, or ""
	}{
		{"batchnorm", `  - {name: bn, type: BatchNormalization}
  - {name: drop, type: Dropout, rate: 0.5}
  - {name: act, type: Activation, activation: relu}
  - {name: same, type: Reshape, target_shape: [48]}
  - {name: out, type: Dense, units: 2}`,
			map[string]bool{"bn.weight": true, "bn.bias": true, "bn.running_mean": true, "bn.running_var": true, "out.weight": true}, ""},
		{"dense_then_dense", `  - {name: d1, type: Dense, units: 5}
  - {name: out, type: Dense, units: 2}`,
			map[string]bool{"d1.weight": true}, ""},
		{"sampling", `  - {name: flat2, type: Flatten, inputs: conv}
  - {name: z, type: Sampling, inputs: [flat, flat2]}
  - {name: out, type: Dense, units: 2}`,
			map[string]bool{"out.weight": true}, ""},
		{"sampling_mixed", `  - {name: plain, type: Dense, units: 48}
  - {name: z, type: Sampling, inputs: [flat, plain]}
  - {name: out, type: Dense, units: 2}`,
			map[string]bool{"plain.weight": true}, "z"},
		{"reshape", `  - {name: r, type: Reshape, target_shape: [4, 12]}
  - {name: d, type: Dense, units: 2}
  - {name: f, type: Flatten}
  - {name: out, type: Dense, units: 2}`,
			map[string]bool{}, "r"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := flatSpec(t, c.body)
			for _, n := range m.Nodes {
				for _, p := range n.Params {
					got := layers.FlatImage(n, p.Name)
					if want := c.flat[n.Name+"."+p.Name]; want != slices.Equal(got, img) {
						t.Errorf("FlatImage(%s, %s) = %v, want image %v: %v", n.Name, p.Name, got, img, want)
					}
				}
			}
			err := layers.TorchLayout(m)
			switch {
			case c.refuse == "" && err != nil:
				t.Errorf("TorchLayout: %v", err)
			case c.refuse != "" && (err == nil || !strings.Contains(err.Error(), "layer "+c.refuse+" (")):
				t.Errorf("TorchLayout = %v, want an error naming layer %s", err, c.refuse)
			}
		})
	}
}
