//go:build !amd64 || purego

package optim

// adam32 is adam32Go: this build has no assembly.
func adam32(p, g, m, v []float32, rate, invSqBc2, b1, c1, b2, c2, eps, wd, dec float32) {
	adam32Go(p, g, m, v, rate, invSqBc2, b1, c1, b2, c2, eps, wd, dec)
}
