package codegen

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/spec"
)

func parse(t *testing.T, path string) *ir.Model {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := spec.Parse(path, src)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPlace places random lifetimes and checks that no two live tensors
// share memory, and that checkPlan catches a plan where two do.
func TestPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
trials:
	for trial := range 200 {
		plan := &ir.Plan{Arenas: map[string]int{}}
		sum := 0
		for i := range 2 + r.IntN(20) {
			a := r.IntN(12)
			tn := ir.Tensor{Name: string(rune('a' + i)), Size: 1 + r.IntN(100), DType: "Float", Live: [][2]int{{a, a + r.IntN(6)}, {-1, -1}}}
			if r.IntN(3) == 0 { // live in the second program only
				tn.Live[0], tn.Live[1] = tn.Live[1], tn.Live[0]
			}
			sum += alignUp(tn.Size)
			plan.Tensors = append(plan.Tensors, tn)
		}
		place(plan)
		if err := checkPlan(plan); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if plan.Arenas["Float"] > sum {
			t.Fatalf("trial %d: arena of %d values for tensors of %d", trial, plan.Arenas["Float"], sum)
		}
		// Move a tensor onto another it overlaps in time.
		for i := range plan.Tensors {
			for j := range i {
				a, b := &plan.Tensors[i], &plan.Tensors[j]
				if overlap(a, b) && b.Offset+a.Size <= plan.Arenas["Float"] {
					a.Offset = b.Offset
					if err := checkPlan(plan); err == nil || !strings.Contains(err.Error(), "live at the same time") {
						t.Fatalf("trial %d: %s moved onto %s: checkPlan says %v", trial, a.Name, b.Name, err)
					}
					continue trials
				}
			}
		}
	}
}

// TestPlanMNISTCNN checks the plan of mnist_cnn: its training activations
// share memory, the unused gradient of conv2d_1's output has none, and the
// caller's buffers keep their own.
func TestPlanMNISTCNN(t *testing.T) {
	m := parse(t, "../testdata/models/mnist_cnn.yaml")
	g, err := planned(m, Config{Unroll: DefaultUnroll})
	if err != nil {
		t.Fatal(err)
	}
	p := g.plan
	sum := 0
	for _, tn := range p.Tensors {
		if !tn.Pinned {
			sum += tn.Size
		}
	}
	if p.Arenas["Float"] >= sum*9/10 {
		t.Errorf("arena of %d values for buffers of %d: little shared", p.Arenas["Float"], sum)
	}
	if p.Tensor("conv2d_1_grad") != nil {
		t.Errorf("conv2d_1_grad, named by no code, has memory")
	}
	for _, name := range []string{"x", "y", "dense_1_out", "x1", "dense_1_out1"} {
		if tn := p.Tensor(name); tn == nil || !tn.Pinned {
			t.Errorf("%s is not pinned: %+v", name, tn)
		}
	}
	// Roles are as the emitters declared them: outputs and gradients by
	// OutName and GradName, the caller's buffers IO, the rest scratch.
	roles := map[ir.Role]int{}
	for _, tn := range p.Tensors {
		roles[tn.Role]++
	}
	for name, want := range map[string]ir.Role{"conv2d_out": ir.Activation, "dense_grad": ir.Gradient, "x": ir.IO, "y": ir.IO} {
		if tn := p.Tensor(name); tn == nil || tn.Role != want {
			t.Errorf("%s: %+v, want role %s", name, tn, want)
		}
	}
	if roles[ir.Scratch] == 0 || roles[ir.Activation] == 0 || roles[ir.Gradient] == 0 {
		t.Errorf("roles %v: some role has no tensor", roles)
	}
	if tn := p.Tensor("conv2d_out"); tn == nil || tn.Pinned {
		t.Errorf("conv2d_out: %+v", tn)
	}
}
