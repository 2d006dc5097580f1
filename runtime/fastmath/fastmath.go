// Package fastmath has the float32 activation functions of generated
// recurrent models: a rational approximation of tanh (Eigen's, as
// TensorFlow uses for float32) and the sigmoid derived from it, a few times
// faster than math.Tanh and math.Exp in float64 and within a few float32
// ulps of them.
package fastmath

// Tanh returns tanh(x), to within 1e-6 absolute and relative error.
func Tanh(x float32) float32 {
	// Beyond ±7.9 tanh is ±1 in float32.
	x = min(max(x, -7.90531110763549805), 7.90531110763549805)
	x2 := x * x
	p := float32(-2.76076847742355e-16)
	p = p*x2 + 2.00018790482477e-13
	p = p*x2 + -8.60467152213735e-11
	p = p*x2 + 5.12229709037114e-08
	p = p*x2 + 1.48572235717979e-05
	p = p*x2 + 6.37261928875436e-04
	p = p*x2 + 4.89352455891786e-03
	q := float32(1.19825839466702e-06)
	q = q*x2 + 1.18534705686654e-04
	q = q*x2 + 2.26843463243900e-03
	q = q*x2 + 4.89352518554385e-03
	return x * p / q
}

// Sigmoid returns 1/(1+e^−x) as (1 + tanh(x/2))/2, to within 1e-6 absolute
// error.
func Sigmoid(x float32) float32 { return 0.5 + 0.5*Tanh(0.5*x) }
