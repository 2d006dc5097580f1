// Package rng is the small deterministic random number generator that
// generated models and the nngen runtime use for initialisation, dropout
// masks and shuffling. Its streams depend only on the seed, never on the Go
// version or the platform, so the same seed gives the same weights everywhere.
package rng

import "math"

// RNG is a SplitMix64 generator. The zero value is a valid generator with
// seed 0. It is a plain value: copying it copies its state.
type RNG struct {
	state uint64
}

// New returns a generator for the given seed and stream. Distinct streams of
// one seed are independent for practical purposes.
func New(seed, stream uint64) RNG {
	r := RNG{state: seed ^ (stream * 0xda942042e4dd58b5)}
	r.Uint64()
	return r
}

// State returns the generator's internal state, for checkpoints.
func (r *RNG) State() uint64 { return r.state }

// SetState restores a state returned by State.
func (r *RNG) SetState(s uint64) { r.state = s }

// Uint64 returns a uniformly distributed 64-bit value.
func (r *RNG) Uint64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Float64 returns a uniform value in [0, 1).
func (r *RNG) Float64() float64 { return float64(r.Uint64()>>11) * (1.0 / (1 << 53)) }

// Float32 returns a uniform value in [0, 1).
func (r *RNG) Float32() float32 { return float32(r.Uint64()>>40) * (1.0 / (1 << 24)) }

// Uniform returns a uniform value in [lo, hi).
func (r *RNG) Uniform(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// Norm returns a standard normal value (Box-Muller, one value per call).
func (r *RNG) Norm() float64 {
	u1 := 1 - r.Float64() // (0, 1]
	u2 := r.Float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// TruncNorm returns a normal value with the given standard deviation,
// redrawn while it lies more than two standard deviations from zero, as
// Keras's truncated-normal initialisers do.
func (r *RNG) TruncNorm(stddev float64) float64 {
	for {
		v := r.Norm()
		if v >= -2 && v <= 2 {
			return v * stddev
		}
	}
}

// Intn returns a uniform value in [0, n). It panics if n <= 0.
func (r *RNG) Intn(n int) int {
	if n <= 0 {
		panic("rng: Intn with n <= 0")
	}
	// Lemire's multiply-shift with rejection, unbiased.
	bound := uint64(n)
	for {
		x := r.Uint64()
		hi, lo := mul64(x, bound)
		if lo >= bound || lo >= (-bound)%bound {
			return int(hi)
		}
	}
}

func mul64(x, y uint64) (hi, lo uint64) {
	const mask32 = 1<<32 - 1
	x0, x1 := x&mask32, x>>32
	y0, y1 := y&mask32, y>>32
	w0 := x0 * y0
	t := x1*y0 + w0>>32
	w1 := t&mask32 + x0*y1
	return x1*y1 + t>>32 + w1>>32, x * y
}

// Perm fills p with a permutation of 0..len(p)-1: the identity shuffled by
// Fisher-Yates. It allocates nothing.
func (r *RNG) Perm(p []int) {
	for i := range p {
		p[i] = i
	}
	for i := len(p) - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
}
