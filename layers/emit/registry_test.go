package emit

import (
	"slices"
	"testing"

	"github.com/nngen/nngen/layers"
)

// TestEveryKindHasCode checks that the code table and the layers registry
// name the same kinds, activations and losses: a kind without code, or
// code without a kind, fails here rather than in a generated package.
func TestEveryKindHasCode(t *testing.T) {
	var got []string // the kinds a spec names (not InputSlice)
	for _, name := range Names() {
		if lk, ok := layers.Lookup(name); !ok || !lk.Internal {
			got = append(got, name)
		}
	}
	if want := layers.Names(); !slices.Equal(got, want) {
		t.Errorf("kinds with code %v, registered kinds %v", got, want)
	}
	for _, name := range Names() {
		// A kind the compiler makes (a model input, InputSlice) takes no
		// gradient: it needs no backward.
		lk, _ := layers.Lookup(name)
		if k, _ := Lookup(name); k.Forward == nil || k.Backward == nil && !lk.Internal {
			t.Errorf("kind %s lacks a forward or backward emitter", name)
		}
		k, _ := Lookup(name)
		if lk, _ := layers.Lookup(name); lk.Adapts != (k.Adapt != nil) {
			t.Errorf("kind %s: Adapts is %v in layers, and its code has an Adapt emitter: %v", name, lk.Adapts, k.Adapt != nil)
		}
	}
	var acts []string
	for a := range activations {
		acts = append(acts, a)
	}
	slices.Sort(acts)
	if want := layers.ActivationNames(); !slices.Equal(acts, want) {
		t.Errorf("activations with code %v, registered activations %v", acts, want)
	}
	for _, l := range layers.LossNames() {
		if code := lookupLoss(l); code == nil || code.Row == nil {
			t.Errorf("loss %s has no code", l)
		}
	}
	if len(losses) != len(layers.LossNames())-len(layers.LossAliases) {
		t.Errorf("%d losses with code, %d registered", len(losses), len(layers.LossNames())-len(layers.LossAliases))
	}
}
