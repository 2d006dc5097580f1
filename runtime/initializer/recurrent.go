package initializer

import (
	"math"

	"github.com/nngen/nngen/runtime/rng"
)

// orthogonal fills dst, a row-major [len(dst)/cols, cols] matrix, with a
// random matrix whose columns (or rows, if there are fewer rows than
// columns) are orthonormal: Gram-Schmidt on standard normal draws, as
// Keras's orthogonal initializer (gain 1) takes the Q of a QR
// decomposition.
func orthogonal[T float32 | float64](dst []T, cols int, r *rng.RNG) {
	if cols <= 0 || len(dst)%cols != 0 {
		clear(dst)
		return
	}
	rows := len(dst) / cols
	// Orthonormalize the k vectors of length n, vector i at a[i*n:].
	k, n := cols, rows
	if rows < cols {
		k, n = rows, cols
	}
	a := make([]float64, k*n)
	for i := range a {
		a[i] = r.Norm()
	}
	for i := range k {
		v := a[i*n:][:n]
		for pass := 0; pass < 2; pass++ { // twice is enough in floating point
			for j := range i {
				u := a[j*n:][:n]
				var dot float64
				for x := range v {
					dot += v[x] * u[x]
				}
				for x := range v {
					v[x] -= dot * u[x]
				}
			}
		}
		var norm float64
		for _, x := range v {
			norm += x * x
		}
		norm = math.Sqrt(norm)
		for x := range v {
			v[x] /= norm
		}
	}
	for i := range rows {
		for j := range cols {
			if rows >= cols {
				dst[i*cols+j] = T(a[j*n+i]) // vector j is column j
			} else {
				dst[i*cols+j] = T(a[i*n+j]) // vector i is row i
			}
		}
	}
}

// unitForget fills an LSTM bias in PyTorch's i, f, g, o order as Keras's
// unit_forget_bias does: ones for the forget gate, zeros elsewhere.
func unitForget[T float32 | float64](dst []T) {
	clear(dst)
	h := len(dst) / 4
	for i := h; i < 2*h; i++ {
		dst[i] = 1
	}
}
