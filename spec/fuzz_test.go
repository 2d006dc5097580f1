package spec

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
)

// errRE is the form of every message: positioned, or naming the file only.
var errRE = regexp.MustCompile(`^spec\.yaml(:[1-9][0-9]*:[1-9][0-9]*)?: \S`)

// FuzzParse checks that no input panics Parse, that every error names the
// file (with a position when it has one) on one line, and that a spec
// Parse accepts gives a well-formed model.
func FuzzParse(f *testing.F) {
	var seeds []string
	for _, g := range []string{"../testdata/models/*.yaml", "../testdata/cases/*/spec.yaml", "../examples/*/model/*.yaml"} {
		m, err := filepath.Glob(g)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, m...)
	}
	if len(seeds) == 0 {
		f.Fatal("no seed specs")
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "{}", "[]", "null", "name: &a [*a]\n", "a: !!binary AAAA\n", "\xff\xfe",
		"name: x\ninput_shape: [1]\nlayers: [{type: Dense, units: 1, inputs: [input, input]}]\nloss: mse\n",
		"name: x\ninput_shape: [3037000500, 3037000500]\nlayers: [{type: Flatten}]\nloss: mse\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		m, err := Parse("spec.yaml", src)
		if err != nil {
			if m != nil {
				t.Error("Parse returned a model with an error")
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Parse returned %T %v, want a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if msg := e.Error(); !errRE.MatchString(msg) || strings.ContainsAny(msg, "\n\r") {
					t.Errorf("malformed message %q", msg)
				}
			}
			return
		}
		checkModel(t, m)
	})
}

// checkModel checks the invariants codegen relies on.
func checkModel(t *testing.T, m *ir.Model) {
	t.Helper()
	if m.Name == "" || m.Batch <= 0 || len(m.Nodes) < 2 || m.Nodes[0].Kind != "Input" || m.Output == nil || m.Output == m.Nodes[0] {
		t.Fatalf("malformed model: name %q batch %d, %d nodes, output %v", m.Name, m.Batch, len(m.Nodes), m.Output)
	}
	var off [2]int // trainable, buffers: two flat arrays
	seen := map[string]bool{}
	for i, n := range m.Nodes {
		if n.Index != i || seen[n.Name] || !identRE.MatchString(n.Name) {
			t.Errorf("node %d: name %q index %d (duplicate: %v)", i, n.Name, n.Index, seen[n.Name])
		}
		seen[n.Name] = true
		if len(n.Shape) == 0 {
			t.Errorf("node %s has no shape", n.Name)
		}
		for _, d := range n.Shape {
			if d <= 0 {
				t.Errorf("node %s has shape %v", n.Name, n.Shape)
			}
		}
		for _, in := range n.Inputs {
			if in.Index >= i || m.Nodes[in.Index] != in {
				t.Errorf("node %s takes %s, which does not come before it", n.Name, in.Name)
			}
		}
		if i > 0 && len(n.Inputs) == 0 {
			t.Errorf("node %s has no input", n.Name)
		}
		for _, p := range n.Params {
			k := 0
			if p.Buffer {
				k = 1
			}
			if p.Offset != off[k] {
				t.Errorf("param %s.%s at %d, want %d", n.Name, p.Name, p.Offset, off[k])
			}
			off[k] += ir.Prod(p.Shape)
		}
	}
	if off[0] == 0 || off[0] != m.NumParams() || off[1] != m.NumBuffers() {
		t.Errorf("%d parameters and %d buffer values, NumParams %d, NumBuffers %d", off[0], off[1], m.NumParams(), m.NumBuffers())
	}
}
