package generated

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/nngen/nngen/generated/char_rnn"
	"github.com/nngen/nngen/generated/lenet_bn"
	"github.com/nngen/nngen/generated/mnist_cnn"
	"github.com/nngen/nngen/generated/mnist_mlp"
	"github.com/nngen/nngen/generated/mnist_vae"
	"github.com/nngen/nngen/generated/seq_mnist_lstm"
	"github.com/nngen/nngen/generated/seq_mnist_rnn"
	"github.com/nngen/nngen/generated/timeseries_conv1d"
	"github.com/nngen/nngen/generated/vae_sampled"
	"github.com/nngen/nngen/runtime/data"
	"github.com/nngen/nngen/runtime/rng"
	"github.com/nngen/nngen/runtime/train"
)

// resumable is what TestResumeOtherWorkers needs of a generated model: the
// training loop's interface, a worker count and checkpoint files.
type resumable interface {
	train.Model
	train.Workers
	Save(path string) error
	Load(path string) error
}

// shipped lists the checked-in models.
var shipped = []struct {
	name string
	new  func(seed uint64) resumable
}{
	{"mnist_mlp", func(s uint64) resumable { return mnist_mlp.New(s) }},
	{"mnist_cnn", func(s uint64) resumable { return mnist_cnn.New(s) }},
	{"lenet_bn", func(s uint64) resumable { return lenet_bn.New(s) }},
	{"seq_mnist_rnn", func(s uint64) resumable { return seq_mnist_rnn.New(s) }},
	{"seq_mnist_lstm", func(s uint64) resumable { return seq_mnist_lstm.New(s) }},
	{"char_rnn", func(s uint64) resumable { return char_rnn.New(s) }},
	{"mnist_vae", func(s uint64) resumable { return mnist_vae.New(s) }},
	{"vae_sampled", func(s uint64) resumable { return vae_sampled.New(s) }},
	{"timeseries_conv1d", func(s uint64) resumable { return timeseries_conv1d.New(s) }},
}

// TestResumeOtherWorkers trains each shipped model k steps on w1 workers,
// saves a checkpoint, loads it into a new model on w2 workers and trains k
// steps more: the parameters, the optimizer state, the non-trainable buffers
// and the step must equal bit for bit those of 2k steps on one worker
// without a stop. Each step trains on another batch, so that the data, the
// learning rate schedule and the dropout and sampling noise all depend on
// the step the checkpoint restores.
func TestResumeOtherWorkers(t *testing.T) {
	const seed, k = 3, 1
	for _, sm := range shipped {
		t.Run(sm.name, func(t *testing.T) {
			ref := sm.new(seed)
			set := syntheticSet(ref, 3)
			ref.SetWorkers(1)
			trainSteps(ref, set, 0, 2*k)
			want := snapshot(ref)
			for _, w := range [][2]int{{2, 1}, {1, 3}} {
				a := sm.new(seed)
				a.SetWorkers(w[0])
				trainSteps(a, set, 0, k)
				path := filepath.Join(t.TempDir(), sm.name+".safetensors")
				if err := a.Save(path); err != nil {
					t.Fatal(err)
				}
				saved := snapshot(a)
				b := sm.new(seed)
				b.SetWorkers(w[1])
				if err := b.Load(path); err != nil {
					t.Fatal(err)
				}
				if err := sameBits(saved, snapshot(b)); err != nil {
					t.Fatalf("%d workers: the loaded checkpoint differs from the saved model: %v", w[0], err)
				}
				if b.Step() != k {
					t.Fatalf("step %d after loading the checkpoint of step %d", b.Step(), k)
				}
				trainSteps(b, set, k, 2*k)
				if b.Step() != 2*k {
					t.Fatalf("step %d after %d steps, %d of them resumed", b.Step(), 2*k, k)
				}
				if err := sameBits(want, snapshot(b)); err != nil {
					t.Errorf("%d steps on %d workers, saved, loaded and %d more on %d: %v (one worker without a stop)", k, w[0], k, w[1], err)
				}
				if sameBits(saved, snapshot(b)) == nil {
					t.Fatalf("%d steps after the checkpoint changed nothing", k)
				}
			}
		})
	}
}

// syntheticSet returns batches batches of random samples for m: pixels in
// [0, 1), or token ids for a model that reads text, with a label per sample
// (per step for a model with an output per step). An autoencoder's targets
// are its inputs and ignore the labels.
func syntheticSet(m resumable, batches int) *data.Set {
	in, out := m.InputShape(), m.OutputShape()
	n := batches * m.BatchSize()
	set := &data.Set{N: n, Shape: in, X: make([]float32, n*size(in)), Classes: out[len(out)-1]}
	if len(out) == 2 {
		set.Steps = out[0]
	}
	set.Labels = make([]int32, n*max(set.Steps, 1))
	r := rng.New(11, 0)
	vocab := 0
	if tm, ok := m.(train.TextModel); ok {
		vocab = tm.Vocabulary()
	}
	for i := range set.X {
		if vocab > 0 {
			set.X[i] = float32(r.Intn(vocab))
		} else {
			set.X[i] = float32(r.Float64())
		}
	}
	for i := range set.Labels {
		set.Labels[i] = int32(r.Intn(set.Classes))
	}
	if err := set.Validate(); err != nil {
		panic(err)
	}
	return set
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// trainSteps runs the train steps from to to-1 of m, step s on batch s mod
// the set's batches.
func trainSteps(m resumable, set *data.Set, from, to int) {
	b := m.BatchSize()
	idx := make([]int, b)
	for s := from; s < to; s++ {
		for j := range idx {
			idx[j] = (s*b + j) % set.N
		}
		m.TrainBatch(set, idx)
	}
}

// A tensor is the bits of one of a model's tensors.
type tensor struct {
	name string
	bits []uint64
}

// snapshot copies the bits of every tensor m saves: parameters, buffers and
// optimizer state.
func snapshot(m resumable) []tensor {
	var ts []tensor
	for _, t := range m.Tensors(true) {
		var bits []uint64
		switch d := t.Data.(type) {
		case []float32:
			for _, v := range d {
				bits = append(bits, uint64(math.Float32bits(v)))
			}
		case []float64:
			for _, v := range d {
				bits = append(bits, math.Float64bits(v))
			}
		default:
			panic(fmt.Sprintf("tensor %s holds %T", t.Name, t.Data))
		}
		ts = append(ts, tensor{t.Name, bits})
	}
	return ts
}

// sameBits reports where got differs from want, nil if nowhere.
func sameBits(want, got []tensor) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d tensors, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.name != w.name || len(g.bits) != len(w.bits) {
			return fmt.Errorf("tensor %d is %s of %d values, want %s of %d", i, g.name, len(g.bits), w.name, len(w.bits))
		}
		diff, first := 0, -1
		for j := range w.bits {
			if g.bits[j] != w.bits[j] {
				diff++
				if first < 0 {
					first = j
				}
			}
		}
		if diff > 0 {
			return fmt.Errorf("%s differs in %d of %d values, first at %d (bits %#x, want %#x)", w.name, diff, len(w.bits), first, g.bits[first], w.bits[first])
		}
	}
	return nil
}
