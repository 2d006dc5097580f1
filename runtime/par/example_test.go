package par_test

import (
	"fmt"
	"math"

	"github.com/nngen/nngen/runtime/par"
)

// model is how a generated model is meant to use a Pool: its part
// functions made once, a fixed number of shards of the batch whatever the
// worker count, one partial gradient per shard, and a reduction over
// ranges of the parameters.
type model struct {
	pool    *par.Pool
	batch   [][]float32 // samples
	partial [][]float32 // per shard: the sum of its samples' gradients
	grad    []float32
	shard   func(w, s int)
	reduce  func(i, n int)
}

const shards = 8

func newModel(workers int, batch [][]float32) *model {
	m := &model{pool: par.New(workers), batch: batch, grad: make([]float32, len(batch[0]))}
	for range shards {
		m.partial = append(m.partial, make([]float32, len(m.grad)))
	}
	m.shard, m.reduce = m.shardGrad, m.reduceGrad // once: Run and For allocate nothing
	return m
}

// shardGrad sums the "gradients" (here x²) of shard s's samples; w would
// select the worker's workspace for activations.
func (m *model) shardGrad(w, s int) {
	lo, hi := par.Split(len(m.batch), shards, s)
	g := m.partial[s]
	clear(g)
	for _, x := range m.batch[lo:hi] {
		for j, v := range x {
			g[j] += v * v
		}
	}
}

// reduceGrad adds the shards' partials over part i of the parameters.
func (m *model) reduceGrad(i, n int) {
	lo, hi := par.Split(len(m.grad), n, i)
	par.Sum(m.grad, m.partial, lo, hi)
}

func (m *model) step() {
	m.pool.For(shards, m.shard)
	m.pool.Run(m.reduce)
}

// Example computes a gradient over a batch with 1, 2 and 3 workers: the
// bits are the same.
func Example() {
	batch := make([][]float32, 50)
	for i := range batch {
		batch[i] = make([]float32, 300)
		for j := range batch[i] {
			batch[i][j] = float32(math.Sin(float64(7*i+j))) * float32(1+i%7)
		}
	}
	var first []float32
	for _, workers := range []int{1, 2, 3} {
		m := newModel(workers, batch)
		m.step()
		m.pool.Close()
		if first == nil {
			first = m.grad
		}
		same := true
		for j := range first {
			same = same && math.Float32bits(first[j]) == math.Float32bits(m.grad[j])
		}
		fmt.Printf("workers=%d grad[0]=%.6g same bits as 1 worker: %v\n", workers, m.grad[0], same)
	}
	// Output:
	// workers=1 grad[0]=478.938 same bits as 1 worker: true
	// workers=2 grad[0]=478.938 same bits as 1 worker: true
	// workers=3 grad[0]=478.938 same bits as 1 worker: true
}
