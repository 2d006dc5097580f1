// Package initializer fills parameter tensors the way Keras's initializers
// do, from nngen's deterministic generator.
package initializer

import (
	"fmt"
	"math"

	"github.com/nngen/nngen/runtime/rng"
)

// Fill sets dst by the named initializer for a tensor with the given fans,
// drawing from r. It returns an error for an unknown name.
func Fill[T float32 | float64](dst []T, name string, fanIn, fanOut int, r rng.RNG) error {
	fi, fo := float64(fanIn), float64(fanOut)
	uniform := func(limit float64) {
		for i := range dst {
			dst[i] = T(r.Uniform(-limit, limit))
		}
	}
	normal := func(stddev float64) {
		for i := range dst {
			dst[i] = T(r.TruncNorm(stddev))
		}
	}
	switch name {
	case "zeros":
		clear(dst)
	case "ones":
		for i := range dst {
			dst[i] = 1
		}
	case "glorot_uniform":
		uniform(math.Sqrt(6 / (fi + fo)))
	case "glorot_normal":
		// Keras divides by the standard deviation of the two-sigma
		// truncated normal so that the variance is 2/(fan_in+fan_out).
		normal(math.Sqrt(2/(fi+fo)) / .87962566103423978)
	case "he_uniform":
		uniform(math.Sqrt(6 / fi))
	case "he_normal":
		normal(math.Sqrt(2/fi) / .87962566103423978)
	case "lecun_uniform":
		uniform(math.Sqrt(3 / fi))
	case "lecun_normal", "variance_scaling":
		// variance_scaling with Keras's defaults: scale 1, mode fan_in,
		// distribution truncated_normal.
		normal(math.Sqrt(1/fi) / .87962566103423978)
	case "truncated_normal":
		// Keras's TruncatedNormal(stddev=0.05): the stddev is the
		// untruncated normal's, values beyond two of it redrawn.
		normal(0.05)
	case "random_uniform":
		uniform(0.05)
	case "random_normal":
		for i := range dst {
			dst[i] = T(0.05 * r.Norm())
		}
	case "orthogonal":
		orthogonal(dst, fanIn, &r)
	case "unit_forget":
		unitForget(dst)
	default:
		return fmt.Errorf("initializer: unknown initializer %q", name)
	}
	return nil
}
