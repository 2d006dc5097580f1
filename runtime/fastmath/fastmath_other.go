//go:build !amd64 || purego

package fastmath

// tanh32 is tanh32Go: this build has no assembly.
func tanh32(x []float32) { tanh32Go(x) }

// sigmoid32 is sigmoid32Go: this build has no assembly.
func sigmoid32(x []float32) { sigmoid32Go(x) }

// logistic32 is logistic32Go: this build has no assembly.
func logistic32(x []float32) { logistic32Go(x) }
