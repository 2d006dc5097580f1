package train

import (
	"github.com/nngen/nngen/runtime/ckpt"
	"github.com/nngen/nngen/runtime/data"
)

// Model is what a generated model package offers the training loop and the
// command line of its standalone binary. Every method but Tensors, Predict
// and Evaluate's bookkeeping is allocation-free.
type Model interface {
	// Name is the model's name from its spec (the Go package name).
	Name() string
	// SpecHash identifies the spec the model was generated from; checkpoints
	// record it and loading a checkpoint of another spec is an error.
	SpecHash() string
	// Seed is the seed the model was created with.
	Seed() uint64
	// BatchSize is the number of samples in one train step.
	BatchSize() int
	// InputShape and OutputShape are the per-sample shapes (no batch axis).
	InputShape() []int
	OutputShape() []int

	// TrainBatch copies the samples idx (len(idx) == BatchSize()) of set into
	// the model, runs forward, backward and one optimizer update, and returns
	// the batch's mean loss and how many of its samples were classified
	// correctly (0 when the model is not a classifier).
	TrainBatch(set *data.Set, idx []int) (loss float64, correct int)
	// Evaluate runs inference (dropout off) over every sample of set, the last
	// partial batch included, and returns the mean loss and the accuracy.
	Evaluate(set *data.Set) (loss, accuracy float64)
	// Predict runs inference on n samples: x holds n*prod(InputShape())
	// values and out receives n*prod(OutputShape()) values.
	Predict(x, out []float32)

	// Step is the number of optimizer steps taken so far; SetStep restores it
	// after a checkpoint was loaded.
	Step() int
	SetStep(step int)
	// Tensors lists the parameters under PyTorch's names and layouts and,
	// when withState is true, the optimizer state too, as views into the
	// model's own arrays: ckpt.Load fills them in place.
	Tensors(withState bool) []ckpt.Tensor
}

// Workers is implemented by a generated model whose Evaluate and Predict
// spread their batches over several workers' workspaces; their results do
// not depend on the count.
type Workers interface {
	SetWorkers(n int)
	Workers() int
}

// Adapter is a model with layers whose statistics adapt to the training
// inputs (Normalization, as Keras's adapt()): train calls Adapt with the
// training set's inputs before the first epoch, not on --resume, where the
// checkpoint has them.
type Adapter interface {
	Adapt(x []float32, n int)
}
