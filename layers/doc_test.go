package layers

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's layer reference")

const (
	docBegin = "<!-- BEGIN nngen doc: generated from the layer registry by `go test ./layers -update` -->\n"
	docEnd   = "<!-- END nngen doc -->"
)

// TestReadmeReference keeps the README's spec reference equal to Doc(), the
// text `nngen doc` prints.
func TestReadmeReference(t *testing.T) {
	const path = "../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, docBegin), strings.Index(s, docEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers %q and %q", docBegin, docEnd)
	}
	want := s[:i+len(docBegin)] + "\n" + Doc() + "\n" + s[j:]
	if want == s {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Error("README.md's layer reference differs from the registry: run go test ./layers -update")
}

func TestRegistry(t *testing.T) {
	for _, name := range Names() {
		k, _ := Lookup(name)
		if k.Doc == "" || k.Shape == nil || k.Summary == nil {
			t.Errorf("kind %s lacks a doc, shape rule or summary", name)
		}
		for _, f := range k.Fields {
			if f.Doc == "" {
				t.Errorf("%s.%s has no doc", name, f.Name)
			}
		}
	}
	for _, a := range ActivationNames() {
		if activations[a].Doc == "" {
			t.Errorf("activation %s has no doc", a)
		}
	}
}
