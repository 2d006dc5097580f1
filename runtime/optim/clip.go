package optim

import "math"

// ClipByNorm scales g by maxNorm/(norm+1e-6) when that factor is below 1, as
// torch.nn.utils.clip_grad_norm_ does, and returns norm, the L2 norm of g
// before clipping, accumulated in float64.
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
