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

// The constants of Logistic's e^x (Cephes's expf): the clamp of the
// argument, log₂e, ln 2 in two parts and the polynomial of e^r on
// |r| ≤ ½·ln 2.
const (
	expLo = -87.0 // e^x stays a normal float32 from here
	expHi = 88.0  // to here
	log2e = 1.44269504088896341
	ln2Hi = 0.693359375
	ln2Lo = -2.12194440e-4
	p0    = 1.9875691500e-4
	p1    = 1.3981999507e-3
	p2    = 8.3334519073e-3
	p3    = 4.1665795894e-2
	p4    = 1.6666665459e-1
	p5    = 5.0000001201e-1
)

// Logistic returns 1/(1+e^−x) with e^−x computed in float32 (Cephes's
// expf, within 2 ulp): unlike Sigmoid its error is relative, so the tiny
// outputs that a cross-entropy takes the logarithm of stay accurate.
func Logistic(x float32) float32 {
	t := min(max(-x, expLo), expHi)
	n := float32(math.RoundToEven(float64(t * log2e)))
	r := t - n*ln2Hi
	r = r - n*ln2Lo
	p := float32(p0)
	p = p*r + p1
	p = p*r + p2
	p = p*r + p3
	p = p*r + p4
	p = p*r + p5
	e := p*(r*r) + r + 1
	e *= math.Float32frombits(uint32(int32(n)+127) << 23) // 2^n, n in [-126, 127]
	return 1 / (1 + e)
}

// LogisticSlice sets x[i] = 1/(1+e^−x[i]) for every i: Logistic for
// float32 (vectorized where the CPU allows), exact for float64.
func LogisticSlice[T float32 | float64](x []T) {
	switch v := any(x).(type) {
	case []float32:
		logistic32(v)
	case []float64:
		for i, y := range v {
			v[i] = 1 / (1 + math.Exp(-y))
		}
	}
}

// logistic32Go is `for i, v := range x { x[i] = Logistic(v) }`: the pure-Go
// twin of the logistic kernels.
func logistic32Go(x []float32) {
	for i, v := range x {
		x[i] = Logistic(v)
	}
}
