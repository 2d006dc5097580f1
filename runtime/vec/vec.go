// Package vec holds the element-wise vector kernels that generated code and
// the runtime share: today Add, which sums the gradients of a train step's
// shards. Each runs in assembly where the CPU has AVX2 or AVX-512 (checked
// at start-up by package kernels, never assumed) and in its pure-Go twin
// elsewhere; both give the same bits, since every element is one rounded
// operation.
package vec

// Add adds src to dst, element by element: dst[i] += src[i] for i <
// len(dst). src must hold at least len(dst) values.
func Add[T float32 | float64](dst, src []T) {
	src = src[:len(dst)]
	switch d := any(dst).(type) {
	case []float32:
		addF32(d, any(src).([]float32))
	case []float64:
		addF64(d, any(src).([]float64))
	}
}

// addGo is Add's pure-Go twin.
func addGo[T float32 | float64](dst, src []T) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}
