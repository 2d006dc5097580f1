// Package fastmath has the activation functions of generated recurrent
// models. For float32 it computes tanh by a rational approximation (Eigen's,
// as TensorFlow uses for float32) and the sigmoid from it, within 1e-6 of
// the exact values and vectorized (AVX2, AVX-512) over slices; for float64
// (gradient checks) it computes them exactly with package math.
package fastmath

import "math"

// The clamp and the coefficients of Tanh: tanh(x) ≈ x·P(x²)/Q(x²).
const (
	clamp = 7.90531110763549805 // beyond it tanh is ±1 in float32
	a13   = -2.76076847742355e-16
	a11   = 2.00018790482477e-13
	a9    = -8.60467152213735e-11
	a7    = 5.12229709037114e-08
	a5    = 1.48572235717979e-05
	a3    = 6.37261928875436e-04
	a1    = 4.89352455891786e-03
	b6    = 1.19825839466702e-06
	b4    = 1.18534705686654e-04
	b2    = 2.26843463243900e-03
	b0    = 4.89352518554385e-03
)

// Tanh returns tanh(x), to within 1e-6 absolute and relative error.
func Tanh(x float32) float32 {
	x = min(max(x, -clamp), clamp)
	x2 := x * x
	p := float32(a13)
	p = p*x2 + a11
	p = p*x2 + a9
	p = p*x2 + a7
	p = p*x2 + a5
	p = p*x2 + a3
	p = p*x2 + a1
	q := float32(b6)
	q = q*x2 + b4
	q = q*x2 + b2
	q = q*x2 + b0
	return x * p / q
}

// Sigmoid returns 1/(1+e^−x) as (1 + tanh(x/2))/2, to within 1e-6 absolute
// error.
func Sigmoid(x float32) float32 { return 0.5*Tanh(0.5*x) + 0.5 }

// TanhSlice sets x[i] = tanh(x[i]) for every i: Tanh for float32
// (vectorized where the CPU allows), math.Tanh for float64.
func TanhSlice[T float32 | float64](x []T) {
	switch v := any(x).(type) {
	case []float32:
		tanh32(v)
	case []float64:
		for i, y := range v {
			v[i] = math.Tanh(y)
		}
	}
}

// SigmoidSlice sets x[i] = 1/(1+e^−x[i]) for every i: Sigmoid for float32
// (vectorized where the CPU allows), exact for float64.
func SigmoidSlice[T float32 | float64](x []T) {
	switch v := any(x).(type) {
	case []float32:
		sigmoid32(v)
	case []float64:
		for i, y := range v {
			v[i] = 1 / (1 + math.Exp(-y))
		}
	}
}

// ReluSlice sets x[i] = max(x[i], 0) for every i.
func ReluSlice[T float32 | float64](x []T) {
	for i, y := range x {
		x[i] = max(y, 0)
	}
}

// tanh32Go is `for i, v := range x { x[i] = Tanh(v) }`: the pure-Go twin of
// the tanh kernels.
func tanh32Go(x []float32) {
	for i, v := range x {
		x[i] = Tanh(v)
	}
}

// sigmoid32Go is `for i, v := range x { x[i] = Sigmoid(v) }`: the pure-Go
// twin of the sigmoid kernels.
func sigmoid32Go(x []float32) {
	for i, v := range x {
		x[i] = Sigmoid(v)
	}
}
