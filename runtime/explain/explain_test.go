package explain

import (
	"math"
	"slices"
	"testing"

	"github.com/nngen/nngen/runtime/rng"
)

// net is a small model with an analytic input gradient: softmax(W2·tanh(W1·x
// + b1) + b2), or, with linear set, the single output w·x + b.
type net struct {
	in, hid, out   int
	w1, b1, w2, b2 []float64
	linear         bool
	calls          int // Predict and InputGrad calls
}

func newNet(in, hid, out int, seed uint64) *net {
	r := rng.New(seed, 1)
	f := func(n int, s float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = s * r.Norm()
		}
		return v
	}
	return &net{in: in, hid: hid, out: out, w1: f(hid*in, 1/math.Sqrt(float64(in))), b1: f(hid, .1), w2: f(out*hid, 1/math.Sqrt(float64(hid))), b2: f(out, .1)}
}

func newLinear(in int, seed uint64) *net {
	n := newNet(in, 1, 1, seed)
	n.linear = true
	return n
}

func (n *net) Inputs() int { return n.in }
func (n *net) Outputs() int {
	if n.linear {
		return 1
	}
	return n.out
}

func (n *net) forward(x []float32) (h, p []float64) {
	if n.linear {
		s := n.b1[0]
		for i, v := range x {
			s += n.w1[i] * float64(v)
		}
		return nil, []float64{s}
	}
	h = make([]float64, n.hid)
	for j := range h {
		s := n.b1[j]
		for i, v := range x {
			s += n.w1[j*n.in+i] * float64(v)
		}
		h[j] = math.Tanh(s)
	}
	p = make([]float64, n.out)
	mx := math.Inf(-1)
	for k := range p {
		s := n.b2[k]
		for j, v := range h {
			s += n.w2[k*n.hid+j] * v
		}
		p[k] = s
		mx = max(mx, s)
	}
	t := 0.0
	for k := range p {
		p[k] = math.Exp(p[k] - mx)
		t += p[k]
	}
	for k := range p {
		p[k] /= t
	}
	return h, p
}

func (n *net) Predict(x, out []float32) {
	n.calls++
	no := n.Outputs()
	for s := 0; s < len(x)/n.in; s++ {
		_, p := n.forward(x[s*n.in : (s+1)*n.in])
		for k, v := range p {
			out[s*no+k] = float32(v)
		}
	}
}

func (n *net) InputGrad(x []float32, class []int, grad []float32) {
	n.calls++
	for s := 0; s < len(x)/n.in; s++ {
		g := grad[s*n.in : (s+1)*n.in]
		if n.linear {
			for i := range g {
				g[i] = float32(n.w1[i])
			}
			continue
		}
		h, p := n.forward(x[s*n.in : (s+1)*n.in])
		c := class[s]
		// ∂p_c/∂z_k = p_c(δ_ck − p_k); back through W2 and tanh.
		dh := make([]float64, n.hid)
		for k := range p {
			dz := p[c] * (b2f(k == c) - p[k])
			for j := range dh {
				dh[j] += dz * n.w2[k*n.hid+j]
			}
		}
		for i := range g {
			s := 0.0
			for j := range dh {
				s += dh[j] * (1 - h[j]*h[j]) * n.w1[j*n.in+i]
			}
			g[i] = float32(s)
		}
	}
}

func sample(n int, seed uint64, scale float64) []float32 {
	r := rng.New(seed, 2)
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(scale * r.Norm())
	}
	return x
}

func samples(k, n int, seed uint64) [][]float32 {
	s := make([][]float32, k)
	for i := range s {
		s[i] = sample(n, seed+uint64(i), 1)
	}
	return s
}

// TestNetGradient checks the test model's own gradient against central
// differences, so that the checks below rest on a right gradient.
func TestNetGradient(t *testing.T) {
	m := newNet(5, 4, 3, 1)
	x := sample(5, 9, 1)
	g := make([]float32, 5)
	m.InputGrad(x, []int{2}, g)
	for i := range x {
		xp, xm := slices.Clone(x), slices.Clone(x)
		xp[i] += 1e-2
		xm[i] -= 1e-2
		fd := (outputs(m, xp, 2)[0] - outputs(m, xm, 2)[0]) / 2e-2
		if math.Abs(fd-float64(g[i])) > 1e-3 {
			t.Fatalf("feature %d: gradient %v, differences %v", i, g[i], fd)
		}
	}
}

func TestLegendre(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 50} {
		a, w, err := Nodes(GaussLegendre, n)
		if err != nil {
			t.Fatal(err)
		}
		// Exact for polynomials of degree 2n−1: ∫₀¹ α^d = 1/(d+1).
		for d := 0; d < 2*n; d++ {
			s := 0.0
			for k := range a {
				s += w[k] * math.Pow(a[k], float64(d))
			}
			if math.Abs(s-1/float64(d+1)) > 1e-12 {
				t.Fatalf("n=%d: ∫α^%d = %v, want %v", n, d, s, 1/float64(d+1))
			}
		}
		if !slices.IsSorted(a) || a[0] <= 0 || a[n-1] >= 1 {
			t.Fatalf("n=%d: nodes %v not ascending in (0, 1)", n, a)
		}
	}
	for _, r := range Rules {
		_, w, err := Nodes(r, 10)
		if err != nil || math.Abs(sum(w)-1) > 1e-12 {
			t.Fatalf("%s: weights sum to %v (%v)", r, sum(w), err)
		}
	}
	if _, _, err := Nodes("simpson", 10); err == nil {
		t.Fatal("an unknown rule was accepted")
	}
}

// TestIntegratedGradientsLinear: on a linear model every rule gives
// w_i(x_i − b_i) exactly, with no gap.
func TestIntegratedGradientsLinear(t *testing.T) {
	m := newLinear(6, 3)
	x, b := sample(6, 4, 1), sample(6, 5, 1)
	for _, r := range Rules {
		a, err := IntegratedGradients(m, x, b, 0, 8, r)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range a.Values {
			want := m.w1[i] * (float64(x[i]) - float64(b[i]))
			if math.Abs(v-want) > 1e-5 {
				t.Fatalf("%s: feature %d: %v, want %v", r, i, v, want)
			}
		}
		if math.Abs(a.Gap) > 1e-4 {
			t.Fatalf("%s: gap %v", r, a.Gap)
		}
	}
}

// TestIntegratedGradientsCompleteness: on a nonlinear model the gap falls
// with the steps, and Gauss–Legendre's is smaller than the left rule's.
func TestIntegratedGradientsCompleteness(t *testing.T) {
	m := newNet(8, 6, 3, 7)
	x, b := sample(8, 11, 2), make([]float32, 8)
	gap := func(r Rule, n int) float64 {
		a, err := IntegratedGradients(m, x, b, 1, n, r)
		if err != nil {
			t.Fatal(err)
		}
		return math.Abs(a.Gap)
	}
	if g5, g50 := gap(RiemannLeft, 5), gap(RiemannLeft, 50); !(g50 < g5) {
		t.Fatalf("left rule: gap %v at 50 steps, %v at 5", g50, g5)
	}
	a, _ := IntegratedGradients(m, x, b, 1, DefaultSteps, GaussLegendre)
	if d := math.Abs(a.Output - a.Base); a.Gap > 1e-4*d+1e-6 || d < 1e-3 {
		t.Fatalf("Gauss–Legendre, 50 steps: gap %v for f(x)−f(b) = %v", a.Gap, d)
	}
	if gl, left := gap(GaussLegendre, 10), gap(RiemannLeft, 10); !(gl < left) {
		t.Fatalf("10 steps: Gauss–Legendre gap %v, left %v", gl, left)
	}
}

func TestSaliency(t *testing.T) {
	m := newLinear(4, 2)
	x := sample(4, 3, 1)
	s, _ := Saliency(m, x, 0)
	gx, _ := GradientTimesInput(m, x, 0)
	for i := range x {
		if s.Values[i] != math.Abs(float64(float32(m.w1[i]))) || math.Abs(gx.Values[i]-m.w1[i]*float64(x[i])) > 1e-6 {
			t.Fatalf("feature %d: saliency %v, grad×input %v, w %v", i, s.Values[i], gx.Values[i], m.w1[i])
		}
	}
	if _, err := Saliency(m, x[:3], 0); err == nil {
		t.Fatal("a short input was accepted")
	}
	if _, err := Saliency(m, x, 1); err == nil {
		t.Fatal("a class past the outputs was accepted")
	}
}

func TestSmoothGrad(t *testing.T) {
	m := newNet(6, 5, 2, 5)
	x := sample(6, 8, 1)
	a, _ := SmoothGrad(m, x, 0, 0, 3, 1)
	g := grads(m, x, 0)
	for i := range g {
		if math.Abs(a.Values[i]-float64(g[i])) > 1e-7 {
			t.Fatalf("no noise: feature %d = %v, gradient %v", i, a.Values[i], g[i])
		}
	}
	b1, _ := SmoothGrad(m, x, 0, .2, 100, 1)
	b2, _ := SmoothGrad(m, x, 0, .2, 100, 1)
	b3, _ := SmoothGrad(m, x, 0, .2, 100, 2)
	if !slices.Equal(b1.Values, b2.Values) {
		t.Fatal("the same seed gave other values")
	}
	if slices.Equal(b1.Values, b3.Values) || slices.Equal(b1.Values, a.Values) {
		t.Fatal("the noise changed nothing")
	}
}

// TestShapleyLinear: for a linear model the Shapley values with a
// background are w_i(x_i − mean_i), exact and from KernelSHAP.
func TestShapleyLinear(t *testing.T) {
	m := newLinear(5, 4)
	x, bg := sample(5, 1, 1), samples(7, 5, 20)
	ex, err := ExactShapley(m, x, bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := KernelSHAP(m, x, bg, 0, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		mu := 0.0
		for _, b := range bg {
			mu += float64(b[i])
		}
		want := m.w1[i] * (float64(x[i]) - mu/float64(len(bg)))
		if math.Abs(ex.Values[i]-want) > 1e-5 || math.Abs(ks.Values[i]-want) > 1e-5 {
			t.Fatalf("feature %d: exact %v, kernel %v, want %v", i, ex.Values[i], ks.Values[i], want)
		}
	}
	if math.Abs(ex.Gap) > 1e-9 || math.Abs(ks.Gap) > 1e-9 {
		t.Fatalf("gaps %v %v", ex.Gap, ks.Gap)
	}
}

// TestKernelSHAPExact: with a budget of every coalition, KernelSHAP gives
// the exact Shapley values of a nonlinear model; with a smaller one it
// samples, keeps Σφ = f(x) − E f, is the same for the same seed and comes
// close.
func TestKernelSHAPExact(t *testing.T) {
	m := newNet(7, 6, 3, 3)
	x, bg := sample(7, 2, 1.5), samples(5, 7, 40)
	ex, _ := ExactShapley(m, x, bg, 2)
	ks, err := KernelSHAP(m, x, bg, 2, 1<<7-2, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if math.Abs(ex.Values[i]-ks.Values[i]) > 1e-6 {
			t.Fatalf("feature %d: exact %v, kernel %v", i, ex.Values[i], ks.Values[i])
		}
	}
	s1, _ := KernelSHAP(m, x, bg, 2, 40, 3)
	s2, _ := KernelSHAP(m, x, bg, 2, 40, 3)
	if !slices.Equal(s1.Values, s2.Values) {
		t.Fatal("the same seed gave other values")
	}
	if math.Abs(s1.Gap) > 1e-9 {
		t.Fatalf("sampled: gap %v", s1.Gap)
	}
	var err2, norm float64
	for i := range x {
		err2 += (s1.Values[i] - ex.Values[i]) * (s1.Values[i] - ex.Values[i])
		norm += ex.Values[i] * ex.Values[i]
	}
	if math.Sqrt(err2) > 0.3*math.Sqrt(norm) {
		t.Fatalf("sampled with 40 of 126 coalitions: relative error %v", math.Sqrt(err2/norm))
	}
	if _, err := ExactShapley(newLinear(17, 1), sample(17, 1, 1), samples(2, 17, 1), 0); err == nil {
		t.Fatal("exact Shapley values of 17 features were attempted")
	}
}

// TestShapleyEfficiencyNonlinear: the exact values add up to f(x) − E f.
func TestShapleyEfficiencyNonlinear(t *testing.T) {
	m := newNet(6, 4, 2, 9)
	x, bg := sample(6, 3, 1), samples(4, 6, 60)
	ex, _ := ExactShapley(m, x, bg, 1)
	out := outputs(m, x, 1)[0]
	if math.Abs(ex.Output-out) > 1e-9 || math.Abs(ex.Base-meanOutput(m, bg, 1)) > 1e-9 || math.Abs(ex.Gap) > 1e-9 {
		t.Fatalf("output %v (model %v), base %v, gap %v", ex.Output, out, ex.Base, ex.Gap)
	}
}

func TestGradientSHAP(t *testing.T) {
	m := newLinear(4, 6)
	x, bg := sample(4, 1, 1), samples(3, 4, 80)
	a, err := GradientSHAP(m, x, bg, 0, 2000, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	// On a linear model each draw's value is w_i(x_i − b_i): the mean over
	// uniform draws of 3 baselines is close to the Shapley value.
	for i := range x {
		mu := 0.0
		for _, b := range bg {
			mu += float64(b[i])
		}
		want := m.w1[i] * (float64(x[i]) - mu/3)
		if math.Abs(a.Values[i]-want) > 0.05*math.Abs(m.w1[i])*3 {
			t.Fatalf("feature %d: %v, want about %v", i, a.Values[i], want)
		}
	}
	b, _ := GradientSHAP(m, x, bg, 0, 2000, 0, 1)
	if !slices.Equal(a.Values, b.Values) {
		t.Fatal("the same seed gave other values")
	}
}

// TestLimeTabularLinear: on a linear model LIME's coefficients on the
// standardized features are w_j·σ_j, up to the ridge's small shrinkage.
func TestLimeTabularLinear(t *testing.T) {
	m := newLinear(4, 12)
	train := samples(200, 4, 100)
	for _, s := range train {
		s[2] *= 3
	}
	st, err := NewStats(train)
	if err != nil {
		t.Fatal(err)
	}
	x := sample(4, 5, 1)
	a, err := LimeTabular(m, x, st, 0, LimeTabularSamples, 1)
	if err != nil {
		t.Fatal(err)
	}
	for j := range x {
		want := m.w1[j] * st.Std[j]
		if math.Abs(a.Values[j]-want) > 0.01*math.Abs(want)+1e-3 {
			t.Fatalf("feature %d: %v, want %v", j, a.Values[j], want)
		}
	}
	if a.Score < 0.999 {
		t.Fatalf("R² %v on a linear model", a.Score)
	}
	b, _ := LimeTabular(m, x, st, 0, LimeTabularSamples, 1)
	if !slices.Equal(a.Values, b.Values) {
		t.Fatal("the same seed gave other values")
	}
}

// segmentModel's output is the mean of the pixels of one grid cell: LIME
// must find that superpixel first.
type segmentModel struct {
	h, w int
	cell []int
}

func (s *segmentModel) Inputs() int  { return s.h * s.w }
func (s *segmentModel) Outputs() int { return 1 }
func (s *segmentModel) Predict(x, out []float32) {
	for k := range out {
		v := float32(0)
		for _, p := range s.cell {
			v += x[k*s.h*s.w+p]
		}
		out[k] = v / float32(len(s.cell))
	}
}

func TestLimeImage(t *testing.T) {
	seg, n := GridSegments(8, 8, 2, 4)
	if n != 8 || seg[0] != 0 || seg[7] != 1 || seg[63] != 7 {
		t.Fatalf("grid: %d segments, %v", n, seg)
	}
	var cell []int
	for p, s := range seg {
		if s == 5 {
			cell = append(cell, p)
		}
	}
	m := &segmentModel{8, 8, cell}
	x := make([]float32, 64)
	for i := range x {
		x[i] = 1
	}
	a, err := LimeImage(m, x, 1, seg, []float32{0}, 0, LimeImageSamples, 1)
	if err != nil {
		t.Fatal(err)
	}
	if top := Top(a.Values, 2); top[0] != 5 || math.Abs(a.Values[5]-1) > 0.02 || math.Abs(a.Values[top[1]]) > 0.02 {
		t.Fatalf("top superpixels %v, values %v", top, a.Values)
	}
	if _, err := LimeImage(m, x, 1, seg[:10], nil, 0, 10, 1); err == nil {
		t.Fatal("too few segment labels were accepted")
	}
}

func TestBlur(t *testing.T) {
	x := make([]float32, 5*5)
	x[12] = 1
	b, err := Blur(x, 5, 5, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !(b[12] < 1 && b[12] > b[11] && b[11] > b[10] && math.Abs(float64(b[11]-b[13])) < 1e-7 && math.Abs(float64(b[7]-b[11])) < 1e-7) {
		t.Fatalf("blurred impulse %v", b)
	}
	if _, err := Blur(x, 4, 5, 1, 1); err == nil {
		t.Fatal("a wrong shape was accepted")
	}
}
