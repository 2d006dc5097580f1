package explain

import (
	"fmt"
	"math"
)

// grads returns the gradients of output class at the n samples of xs,
// evaluated Batch at a time.
func grads(m Model, xs []float32, class int) []float32 {
	in := m.Inputs()
	n := len(xs) / in
	g := make([]float32, len(xs))
	cls := make([]int, Batch)
	for i := range cls {
		cls[i] = class
	}
	for i := 0; i < n; i += Batch {
		k := min(Batch, n-i)
		m.InputGrad(xs[i*in:(i+k)*in], cls[:k], g[i*in:(i+k)*in])
	}
	return g
}

// Saliency is |∂y_c/∂x| at x (Simonyan et al. 2013).
func Saliency(m Model, x []float32, class int) (*Attribution, error) {
	if err := checkInput(m, x, class); err != nil {
		return nil, err
	}
	g := grads(m, x, class)
	a := &Attribution{Class: class, Values: make([]float64, len(x)), Output: outputs(m, x, class)[0]}
	for i, v := range g {
		a.Values[i] = math.Abs(float64(v))
	}
	return a, nil
}

// GradientTimesInput is the signed ∂y_c/∂x · x at x.
func GradientTimesInput(m Model, x []float32, class int) (*Attribution, error) {
	if err := checkInput(m, x, class); err != nil {
		return nil, err
	}
	g := grads(m, x, class)
	a := &Attribution{Class: class, Values: make([]float64, len(x)), Output: outputs(m, x, class)[0]}
	for i, v := range g {
		a.Values[i] = float64(v) * float64(x[i])
	}
	return a, nil
}

// Rule is a quadrature rule for the path integral of integrated gradients,
// named as Captum's methods.
type Rule string

// The rules.
const (
	RiemannLeft      Rule = "riemann_left"
	RiemannRight     Rule = "riemann_right"
	RiemannMiddle    Rule = "riemann_middle"
	RiemannTrapezoid Rule = "riemann_trapezoid"
	GaussLegendre    Rule = "gausslegendre" // Captum's default
)

// Rules lists the rules.
var Rules = []Rule{RiemannLeft, RiemannRight, RiemannMiddle, RiemannTrapezoid, GaussLegendre}

// DefaultSteps is Captum's n_steps.
const DefaultSteps = 50

// Nodes returns the points α in [0, 1] and the weights of n steps of rule
// r: ∫₀¹ f ≈ Σ w_k f(α_k).
func Nodes(r Rule, n int) (alpha, w []float64, err error) {
	if n < 1 || r == RiemannTrapezoid && n < 2 {
		return nil, nil, fmt.Errorf("explain: %d steps are too few for %s", n, r)
	}
	alpha, w = make([]float64, n), make([]float64, n)
	switch r {
	case RiemannLeft, RiemannRight, RiemannMiddle:
		off := map[Rule]float64{RiemannLeft: 0, RiemannRight: 1, RiemannMiddle: 0.5}[r]
		for k := range alpha {
			alpha[k], w[k] = (float64(k)+off)/float64(n), 1/float64(n)
		}
	case RiemannTrapezoid:
		for k := range alpha {
			alpha[k], w[k] = float64(k)/float64(n-1), 1/float64(n-1)
		}
		w[0], w[n-1] = w[0]/2, w[n-1]/2
	case GaussLegendre:
		x, wl := legendre(n)
		for k := range x {
			alpha[k], w[k] = (x[k]+1)/2, wl[k]/2
		}
	default:
		return nil, nil, fmt.Errorf("explain: unknown rule %q (want one of %v)", r, Rules)
	}
	return alpha, w, nil
}

// legendre returns the n Gauss–Legendre nodes on [−1, 1], ascending, and
// their weights, by Newton's iteration on the Legendre polynomial P_n from
// Chebyshev's first guesses (Numerical Recipes' gauleg).
func legendre(n int) (x, w []float64) {
	x, w = make([]float64, n), make([]float64, n)
	for i := 0; i < (n+1)/2; i++ {
		z := math.Cos(math.Pi * (float64(i) + 0.75) / (float64(n) + 0.5))
		var dp float64
		for range 100 {
			p0, p1 := 1.0, z // P_{k-1}(z), P_k(z)
			for k := 2; k <= n; k++ {
				p0, p1 = p1, ((2*float64(k)-1)*z*p1-(float64(k)-1)*p0)/float64(k)
			}
			dp = float64(n) * (z*p1 - p0) / (z*z - 1) // P_n'(z)
			dz := p1 / dp
			z -= dz
			if math.Abs(dz) < 1e-15 {
				break
			}
		}
		x[i], x[n-1-i] = -z, z
		w[i] = 2 / ((1 - z*z) * dp * dp)
		w[n-1-i] = w[i]
	}
	return x, w
}

// IntegratedGradients is Sundararajan et al.'s attribution (2017):
// (x − b)·∫₀¹ ∂y_c/∂x(b + α(x − b)) dα, by rule over steps points, run
// Batch points at a time through the model's backward pass. Gap is the
// completeness gap Σ values − (f(x) − f(b)), which shrinks with more steps.
func IntegratedGradients(m Model, x, baseline []float32, class, steps int, rule Rule) (*Attribution, error) {
	if err := checkInput(m, x, class); err != nil {
		return nil, err
	}
	if len(baseline) != len(x) {
		return nil, fmt.Errorf("explain: the baseline has %d values, the input %d", len(baseline), len(x))
	}
	alpha, w, err := Nodes(rule, steps)
	if err != nil {
		return nil, err
	}
	in := len(x)
	pts := make([]float32, steps*in)
	for k, a := range alpha {
		for i := range x {
			pts[k*in+i] = baseline[i] + float32(a)*(x[i]-baseline[i])
		}
	}
	g := grads(m, pts, class)
	vals := make([]float64, in)
	for k := range alpha {
		for i := range vals {
			vals[i] += w[k] * float64(g[k*in+i])
		}
	}
	for i := range vals {
		vals[i] *= float64(x[i]) - float64(baseline[i])
	}
	f := outputs(m, append(append([]float32(nil), x...), baseline...), class)
	a := &Attribution{Class: class, Values: vals, Output: f[0], Base: f[1]}
	a.Gap = sum(vals) - (a.Output - a.Base)
	return a, nil
}

// SmoothGrad is Smilkov et al.'s (2017) mean gradient over samples copies
// of x with Gaussian noise of standard deviation noise·(max x − min x)
// (they suggest 10–20%); the values are signed, as the gradients.
func SmoothGrad(m Model, x []float32, class int, noise float64, samples int, seed uint64) (*Attribution, error) {
	if err := checkInput(m, x, class); err != nil {
		return nil, err
	}
	if samples < 1 || noise < 0 {
		return nil, fmt.Errorf("explain: SmoothGrad needs samples ≥ 1 and noise ≥ 0 (got %d, %g)", samples, noise)
	}
	lo, hi := x[0], x[0]
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	sd := noise * float64(hi-lo)
	r := newRNG(seed)
	in := len(x)
	pts := make([]float32, samples*in)
	for k := 0; k < samples; k++ {
		for i, v := range x {
			pts[k*in+i] = v + float32(sd*r.Norm())
		}
	}
	g := grads(m, pts, class)
	vals := make([]float64, in)
	for k := 0; k < samples; k++ {
		for i := range vals {
			vals[i] += float64(g[k*in+i])
		}
	}
	for i := range vals {
		vals[i] /= float64(samples)
	}
	return &Attribution{Class: class, Values: vals, Output: outputs(m, x, class)[0]}, nil
}

// GradientSHAP is expected gradients (Erion et al. 2021; Captum's
// GradientShap): the mean over samples draws of a background sample b, an
// α uniform in [0, 1] and Gaussian noise of standard deviation stdev on the
// point, of ∂y_c/∂x(b + α(x − b) + ε)·(x − b). Base is the background's mean
// output, and Gap the completeness gap, which shrinks as samples grows.
func GradientSHAP(m Model, x []float32, background [][]float32, class, samples int, stdev float64, seed uint64) (*Attribution, error) {
	if err := checkInput(m, x, class); err != nil {
		return nil, err
	}
	if err := checkBackground(m, background); err != nil {
		return nil, err
	}
	if samples < 1 {
		return nil, fmt.Errorf("explain: GradientSHAP needs samples ≥ 1 (got %d)", samples)
	}
	r := newRNG(seed)
	in := len(x)
	pts := make([]float32, samples*in)
	bs := make([]int, samples)
	for k := range bs {
		bs[k] = r.Intn(len(background))
		a := float32(r.Float64())
		b := background[bs[k]]
		for i := range x {
			pts[k*in+i] = b[i] + a*(x[i]-b[i])
			if stdev > 0 {
				pts[k*in+i] += float32(stdev * r.Norm())
			}
		}
	}
	g := grads(m, pts, class)
	vals := make([]float64, in)
	for k, bi := range bs {
		b := background[bi]
		for i := range vals {
			vals[i] += float64(g[k*in+i]) * (float64(x[i]) - float64(b[i]))
		}
	}
	for i := range vals {
		vals[i] /= float64(samples)
	}
	a := &Attribution{Class: class, Values: vals, Output: outputs(m, x, class)[0], Base: meanOutput(m, background, class)}
	a.Gap = sum(vals) - (a.Output - a.Base)
	return a, nil
}

// meanOutput is the mean of output class over the samples bg.
func meanOutput(p Predictor, bg [][]float32, class int) float64 {
	return mean(outputs(p, flat(bg), class))
}

func mean(v []float64) float64 { return sum(v) / float64(len(v)) }

func flat(s [][]float32) []float32 {
	var f []float32
	for _, v := range s {
		f = append(f, v...)
	}
	return f
}

// Blur returns x, an image of h×w pixels of c channels (channels last), blurred
// by a Gaussian of standard deviation sigma pixels: integrated gradients'
// blurred baseline.
func Blur(x []float32, h, w, c int, sigma float64) ([]float32, error) {
	if h*w*c != len(x) || sigma <= 0 {
		return nil, fmt.Errorf("explain: cannot blur %d values as %d×%d×%d by σ=%g", len(x), h, w, c, sigma)
	}
	rad := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*rad+1)
	for i := range k {
		d := float64(i - rad)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
	}
	pass := func(src []float32, dy, dx int) []float32 {
		dst := make([]float32, len(src))
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				for ch := 0; ch < c; ch++ {
					var s, ws float64
					for j, kv := range k {
						yy, x2 := y+dy*(j-rad), xx+dx*(j-rad)
						if yy < 0 || yy >= h || x2 < 0 || x2 >= w {
							continue
						}
						s += kv * float64(src[(yy*w+x2)*c+ch])
						ws += kv
					}
					dst[(y*w+xx)*c+ch] = float32(s / ws)
				}
			}
		}
		return dst
	}
	return pass(pass(x, 0, 1), 1, 0), nil
}
