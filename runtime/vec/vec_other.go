//go:build !amd64 || purego

package vec

// This build has no assembly: Add runs its twin.
func addF32(dst, src []float32) { addGo(dst, src) }
func addF64(dst, src []float64) { addGo(dst, src) }
