// Package emit holds the code of nngen's layer kinds: for each kind of the
// layers registry, registered under the same name, the emitters of its
// forward and backward passes, and the kernels they call. codegen drives
// them; the schema they read (fields, shapes, parameters, fusion
// decisions) is in package layers and on the IR.
package emit

import (
	"sort"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// Kind is the code of one layer kind.
type Kind struct {
	// Forward and Backward emit the node's code. Backward is called with the
	// gradient of the node's output in e.Grad(n), and writes the gradients of
	// the parameters and of the inputs that need one.
	Forward  func(e *Emitter, n *ir.Node)
	Backward func(e *Emitter, n *ir.Node)
	// Adapt, for a kind that layers marks Adapts, emits the code of the
	// package's Adapt(x []float32, n int) that sets the node's buffers from
	// the n training samples of model inputs x, before the first epoch.
	Adapt func(e *Emitter, n *ir.Node)
}

var kinds = map[string]*Kind{}

// Register adds the code of the layer kind name. It panics on a duplicate
// name: the table is built at init time by this package.
func Register(name string, k *Kind) {
	if _, dup := kinds[name]; dup {
		panic("emit: duplicate kind " + name)
	}
	kinds[name] = k
}

// Lookup returns the code of the layer kind name.
func Lookup(name string) (*Kind, bool) {
	k, ok := kinds[name]
	return k, ok
}

// Names returns the kinds that have code, sorted.
func Names() []string {
	var names []string
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Shorthands for the schema the emitters read.
type convGeom = layers.Geom

var (
	convGeometry = layers.ConvGeometry
	poolGeometry = layers.PoolGeometry
	// NeedsGrad reports whether backward must compute the gradient of n's
	// output (layers.NeedsGrad).
	NeedsGrad = layers.NeedsGrad
	// Rowwise reports whether activation act is emitted by its own code
	// (layers.Rowwise).
	Rowwise = layers.Rowwise
	// Batched reports whether activation act runs over the whole batch,
	// not inside a layer's per-sample loop (layers.Batched).
	Batched = layers.Batched
)

const (
	mathPkg = "math"
	rngPkg  = "github.com/nngen/nngen/runtime/rng"
)
