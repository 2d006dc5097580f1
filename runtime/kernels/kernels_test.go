package kernels

import (
	"testing"
)

func TestParse(t *testing.T) {
	for _, p := range Paths {
		q, err := Parse(p.String())
		if err != nil || q != p {
			t.Errorf("Parse(%q) = %v, %v", p, q, err)
		}
	}
	if _, err := Parse("sse"); err == nil {
		t.Error("Parse accepted sse")
	}
}

func TestSelect(t *testing.T) {
	if !Supported(Go) || !Supported(Best()) {
		t.Fatal("Go or Best unsupported")
	}
	t.Setenv("NNGEN_KERNELS", "go")
	if p := Select(); p != Go {
		t.Errorf("NNGEN_KERNELS=go selected %v", p)
	}
	t.Setenv("NNGEN_KERNELS", "bogus")
	if p := Select(); p != Best() {
		t.Errorf("NNGEN_KERNELS=bogus selected %v, want %v", p, Best())
	}
	t.Setenv("NNGEN_KERNELS", "")
	if p := Select(); p != Best() {
		t.Errorf("default selected %v, want %v", p, Best())
	}
	t.Logf("best path here: %v", Best())
}
