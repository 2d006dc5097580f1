package data

import "github.com/nngen/nngen/runtime/rng"

// GatherRows copies the rows idx of src, each width values long, into dst:
// dst[i*width:(i+1)*width] = src[idx[i]*width:(idx[i]+1)*width], converted to T.
// It allocates nothing and panics if dst is shorter than len(idx)*width.
func GatherRows[T float32 | float64](dst []T, src []float32, idx []int, width int) {
	if len(dst) < len(idx)*width {
		panic("data: GatherRows: dst too short")
	}
	if d32, ok := any(dst).([]float32); ok {
		for i, j := range idx {
			copy(d32[i*width:(i+1)*width], src[j*width:(j+1)*width])
		}
		return
	}
	for i, j := range idx {
		d, s := dst[i*width:(i+1)*width], src[j*width:(j+1)*width]
		for k, v := range s {
			d[k] = T(v)
		}
	}
}

// GatherTargets copies the targets of the samples idx of set into dst: one-hot
// rows of the labels when set.Labels != nil (width must equal set.Classes,
// times set.Steps for per-step labels),
// else rows of set.Y (width must equal set.Width). It allocates nothing.
func GatherTargets[T float32 | float64](dst []T, set *Set, idx []int, width int) {
	if set.Labels == nil {
		if width != set.Width {
			panic("data: GatherTargets: width differs from set.Width")
		}
		GatherRows(dst, set.Y, idx, width)
		return
	}
	steps := max(set.Steps, 1) // one-hot rows per sample
	if width != set.Classes*steps {
		panic("data: GatherTargets: width differs from set.Classes*set.Steps")
	}
	if len(dst) < len(idx)*width {
		panic("data: GatherTargets: dst too short")
	}
	for i, j := range idx {
		d := dst[i*width : (i+1)*width]
		clear(d)
		for s, l := range set.Labels[j*steps : (j+1)*steps] {
			d[s*set.Classes+int(l)] = 1
		}
	}
}

// Shuffler produces the deterministic sample order of every training epoch.
type Shuffler struct {
	seed uint64
	perm []int
}

// NewShuffler returns a shuffler of n samples for the given seed.
func NewShuffler(n int, seed uint64) *Shuffler {
	return &Shuffler{seed: seed, perm: make([]int, n)}
}

// Epoch returns the order of epoch e: the identity permutation of 0..n-1
// shuffled by rng.New(seed, 1_000_000+e). The order depends only on the seed
// and e, never on earlier calls, so a run resumed at epoch e sees the same
// order as an uninterrupted one. The result is an internal slice that the
// next call overwrites; Epoch allocates nothing.
func (s *Shuffler) Epoch(e int) []int {
	r := rng.New(s.seed, 1_000_000+uint64(e))
	r.Perm(s.perm)
	return s.perm
}

// Batches returns the number of full batches of the given size in perm; a
// partial last batch is not counted. It panics if batch is not positive.
func Batches(perm []int, batch int) int {
	if batch <= 0 {
		panic("data: Batches: batch size must be positive")
	}
	return len(perm) / batch
}
