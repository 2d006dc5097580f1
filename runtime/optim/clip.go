package optim

import "math"

// ClipByNorm scales g by maxNorm/(norm+1e-6) when that factor is below 1, as
// torch.nn.utils.clip_grad_norm_ does, and returns norm, the L2 norm of g
// before clipping, accumulated in float64. A model calls it on each
// parameter tensor's gradient for Keras's clipnorm and on the whole
// gradient array for global_clipnorm (Keras's tf.clip_by_norm scales by
// maxNorm/norm: the two differ by under 1e-6 relative).
func ClipByNorm[T float32 | float64](g []T, maxNorm float64) (norm float64) {
	var sum float64
	for _, x := range g {
		sum += float64(x) * float64(x)
	}
	norm = math.Sqrt(sum)
	if coef := maxNorm / (norm + 1e-6); coef < 1 {
		c := T(coef)
		for i := range g {
			g[i] *= c
		}
	}
	return norm
}

// ClipByValue clips every value of g to [−v, v], as Keras's clipvalue does
// (torch.nn.utils.clip_grad_value_).
func ClipByValue[T float32 | float64](g []T, v float64) {
	lo, hi := T(-v), T(v)
	for i, x := range g {
		g[i] = min(max(x, lo), hi)
	}
}
