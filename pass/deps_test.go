package pass_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoCodeGenerator checks that parsing and compiling a model links no
// code generator: spec, pass and the layers registry must not depend on
// jennifer (nor on the packages that emit code), so that `nngen check`
// stays small and the schema stays apart from the emitters.
func TestNoCodeGenerator(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found:", err)
	}
	forbidden := []string{"github.com/dave/jennifer", "github.com/nngen/nngen/layers/emit", "github.com/nngen/nngen/codegen", "github.com/mmcloughlin/avo"}
	for _, pkg := range []string{"github.com/nngen/nngen/spec", "github.com/nngen/nngen/pass", "github.com/nngen/nngen/layers"} {
		out, err := exec.Command(goCmd, "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 2 {
			t.Fatalf("go list -deps %s listed %q: too few packages to be its dependencies", pkg, deps)
		}
		for _, d := range deps {
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
