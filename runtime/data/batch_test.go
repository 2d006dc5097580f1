package data

import (
	"slices"
	"testing"

	"github.com/nngen/nngen/runtime/rng"
)

func TestShuffler(t *testing.T) {
	const n, seed = 1000, 42
	s := NewShuffler(n, seed)
	var epochs [][]int
	for e := range 4 {
		p := slices.Clone(s.Epoch(e))
		seen := make([]bool, n)
		for _, v := range p {
			if v < 0 || v >= n || seen[v] {
				t.Fatalf("epoch %d: not a permutation of 0..%d: %d repeated or out of range", e, n-1, v)
			}
			seen[v] = true
		}
		want := make([]int, n)
		r := rng.New(seed, 1_000_000+uint64(e))
		r.Perm(want)
		if !slices.Equal(p, want) {
			t.Fatalf("epoch %d: order is not rng.New(seed, 1_000_000+e).Perm", e)
		}
		epochs = append(epochs, p)
	}
	if slices.Equal(epochs[0], epochs[1]) {
		t.Error("epochs 0 and 1 have the same order")
	}
	// A resumed run calls Epoch(3) first: it must see the same order.
	if got := NewShuffler(n, seed).Epoch(3); !slices.Equal(got, epochs[3]) {
		t.Error("Epoch(3) of a fresh shuffler differs from Epoch(3) after epochs 0..2")
	}
	if got := s.Epoch(1); !slices.Equal(got, epochs[1]) {
		t.Error("Epoch(1) called again gives another order")
	}
	if got := NewShuffler(n, seed+1).Epoch(0); slices.Equal(got, epochs[0]) {
		t.Error("seeds 42 and 43 give the same order")
	}
}

func TestBatches(t *testing.T) {
	if got := Batches(make([]int, 10), 3); got != 3 {
		t.Errorf("Batches(10 samples, 3) = %d, want 3", got)
	}
	if got := Batches(make([]int, 2), 3); got != 0 {
		t.Errorf("Batches(2 samples, 3) = %d, want 0", got)
	}
}

const guard = -99 // sentinel around gathered rows

func TestGatherRows(t *testing.T) {
	src := []float32{0, 1, 10, 11, 20, 21, 30, 31}
	idx := []int{3, 0, 3}
	want := []float64{30, 31, 0, 1, 30, 31}
	dst := []float64{guard, guard, guard, guard, guard, guard, guard, guard}
	GatherRows(dst[1:7], src, idx, 2)
	if !slices.Equal(dst[1:7], want) || dst[0] != guard || dst[7] != guard {
		t.Errorf("GatherRows = %v, want %v inside guards", dst, want)
	}
	d32 := make([]float32, 6)
	GatherRows(d32, src, idx, 2)
	if !slices.Equal(d32, []float32{30, 31, 0, 1, 30, 31}) {
		t.Errorf("GatherRows[float32] = %v", d32)
	}
}

func TestGatherTargets(t *testing.T) {
	set := &Set{N: 3, Shape: []int{1}, X: make([]float32, 3), Labels: []int32{2, 0, 1}, Classes: 3}
	dst := []float32{guard, 5, 5, 5, 5, 5, 5, guard} // stale values must be cleared
	GatherTargets(dst[1:7], set, []int{1, 0}, 3)
	if want := []float32{guard, 1, 0, 0, 0, 0, 1, guard}; !slices.Equal(dst, want) {
		t.Errorf("one-hot targets = %v, want %v", dst, want)
	}
	reg := &Set{N: 2, Shape: []int{1}, X: make([]float32, 2), Y: []float32{1, 2, 3, 4}, Width: 2}
	d64 := make([]float64, 4)
	GatherTargets(d64, reg, []int{1, 0}, 2)
	if want := []float64{3, 4, 1, 2}; !slices.Equal(d64, want) {
		t.Errorf("regression targets = %v, want %v", d64, want)
	}
}

func TestNoAllocs(t *testing.T) {
	set := &Set{N: 100, Shape: []int{10}, X: make([]float32, 1000), Labels: make([]int32, 100), Classes: 10}
	sh := NewShuffler(set.N, 1)
	x, y := make([]float64, 320), make([]float32, 320)
	e := 0
	allocs := testing.AllocsPerRun(20, func() {
		perm := sh.Epoch(e)
		e++
		for b := range Batches(perm, 32) {
			idx := perm[b*32 : (b+1)*32]
			GatherRows(x, set.X, idx, 10)
			GatherTargets(y, set, idx, 10)
		}
	})
	if allocs != 0 {
		t.Errorf("an epoch of Epoch, GatherRows and GatherTargets allocates %v times, want 0", allocs)
	}
}
