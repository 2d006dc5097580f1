package optim

import (
	"fmt"
	"math"
	"reflect"
	"testing"
)

// config is one optimizer setting that the trajectory tests run.
type config struct {
	opt string
	h   Hyper
}

// name describes c for test names.
func (c config) name() string {
	s := c.opt
	if c.h.Momentum != 0 {
		s += fmt.Sprintf("+momentum=%g", c.h.Momentum)
	}
	if c.h.WeightDecay != 0 {
		s += fmt.Sprintf("+wd=%g", c.h.WeightDecay)
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{c.h.Nesterov, "nesterov"}, {c.h.AMSGrad, "amsgrad"}, {c.h.Centered, "centered"}} {
		if f.on {
			s += "+" + f.name
		}
	}
	return s
}

// with returns the Keras defaults of opt changed by f.
func with(opt string, f func(*Hyper)) config {
	h, ok := Defaults(opt)
	if !ok {
		panic(opt)
	}
	f(&h)
	return config{opt, h}
}

// configs covers every optimizer and every option.
var configs = []config{
	with("sgd", func(h *Hyper) {}),
	with("sgd", func(h *Hyper) { h.WeightDecay = 0.1 }),
	with("sgd", func(h *Hyper) { h.Momentum = 0.9 }),
	with("sgd", func(h *Hyper) { h.Momentum = 0.9; h.WeightDecay = 0.05 }),
	with("sgd", func(h *Hyper) { h.Momentum = 0.8; h.Nesterov = true }),
	with("sgd", func(h *Hyper) { h.Momentum = 0.8; h.Nesterov = true; h.WeightDecay = 0.05 }),
	with("adam", func(h *Hyper) {}),
	with("adam", func(h *Hyper) { h.WeightDecay = 0.1 }),
	with("adam", func(h *Hyper) { h.AMSGrad = true }),
	with("adam", func(h *Hyper) { h.AMSGrad = true; h.WeightDecay = 0.1; h.Beta1 = 0.5; h.Beta2 = 0.9 }),
	with("adamw", func(h *Hyper) {}),
	with("adamw", func(h *Hyper) { h.WeightDecay = 0.3 }),
	with("adamw", func(h *Hyper) { h.AMSGrad = true }),
	with("rmsprop", func(h *Hyper) {}),
	with("rmsprop", func(h *Hyper) { h.WeightDecay = 0.1 }),
	with("rmsprop", func(h *Hyper) { h.Centered = true }),
	with("rmsprop", func(h *Hyper) { h.Momentum = 0.9 }),
	with("rmsprop", func(h *Hyper) { h.Momentum = 0.7; h.Centered = true; h.WeightDecay = 0.05 }),
}

// The trajectory every config runs: start p0, then one update per step with
// gradient grads[t] and learning rate lrs[t]. The gradients change sign and
// size from step to step and one of them is zero, so a wrong formula for any
// term shows.
var (
	p0    = []float64{0.5, -1.25, 2, 0, 3e-3, -0.75, 1.5}
	grads = func() [][]float64 {
		gs := make([][]float64, 6)
		for t := range gs {
			gs[t] = make([]float64, len(p0))
			for i := range p0 {
				gs[t][i] = math.Sin(1.3*float64(t+1)+0.7*float64(i)) * float64(1+i%3)
			}
			gs[t][3] = 0
		}
		return gs
	}()
	lrs = []float64{0.05, 0.04, 0.03, 0.05, 0.02, 0.01}
)

// sentinel fills the guard cells around every slice the tests hand over.
const sentinel = -987.25

// guarded returns a slice of n zeros with guard cells on both sides, and a
// function that reports whether the guard cells are intact.
func guarded[T float32 | float64](n int) ([]T, func() bool) {
	const pad = 4
	all := make([]T, n+2*pad)
	for i := range all {
		all[i] = sentinel
	}
	s := all[pad : pad+n : pad+n]
	clear(s)
	return s, func() bool {
		for i := range pad {
			if all[i] != sentinel || all[pad+n+i] != sentinel {
				return false
			}
		}
		return true
	}
}

// run runs the trajectory of c in T through Optimizer.Update and returns p
// after each step and the final state. fill is the initial content of the
// state arrays. It fails t if a guard cell was written or g changed.
func run[T float32 | float64](t *testing.T, c config, fill T) (traj [][]float64, state [][]float64) {
	t.Helper()
	n := len(p0)
	p, pOK := guarded[T](n)
	g, gOK := guarded[T](n)
	for i, x := range p0 {
		p[i] = T(x)
	}
	o := Optimizer[T]{Name: c.opt, Hyper: c.h}
	var okState []func() bool
	for range StateSlots(c.opt, c.h) {
		s, ok := guarded[T](n)
		for i := range s {
			s[i] = fill
		}
		o.State = append(o.State, s)
		okState = append(okState, ok)
	}
	for step, gs := range grads {
		for i, x := range gs {
			g[i] = T(x)
		}
		o.Update(p, g, lrs[step], step+1)
		for i, x := range gs {
			if g[i] != T(x) {
				t.Fatalf("step %d: g[%d] changed from %v to %v", step+1, i, T(x), g[i])
			}
		}
		traj = append(traj, f64(p))
	}
	for _, ok := range append(okState, pOK, gOK) {
		if !ok() {
			t.Fatal("a guard cell around p, g or the state was written")
		}
	}
	for _, s := range o.State {
		state = append(state, f64(s))
	}
	return traj, state
}

// f64 returns a float64 copy of s.
func f64[T float32 | float64](s []T) []float64 {
	out := make([]float64, len(s))
	for i, x := range s {
		out[i] = float64(x)
	}
	return out
}

// refState is the reference's optimizer state, named as in PyTorch's docs.
type refState struct {
	b, m, v, vmax, gave []float64
}

// refStep applies step t (1-based) of the pseudo-code in the torch.optim
// 1.13 docs to theta, one element at a time in float64. For AMSGrad it
// follows PyTorch's code, which keeps the maximum of the uncorrected v_t,
// rather than its docs' pseudo-code, which keeps that of v̂_t.
func refStep(c config, lr float64, t int, theta, grad []float64, s *refState) {
	h := c.h
	for i := range theta {
		g := grad[i]
		// Keras's weight decay, decoupled in every optimizer.
		theta[i] -= lr * h.WeightDecay * theta[i]
		switch c.opt {
		case "sgd":
			if h.Momentum != 0 {
				if t > 1 {
					s.b[i] = h.Momentum*s.b[i] + g
				} else {
					s.b[i] = g
				}
				if h.Nesterov {
					g += h.Momentum * s.b[i]
				} else {
					g = s.b[i]
				}
			}
			theta[i] -= lr * g
		case "adam", "adamw":
			s.m[i] = h.Beta1*s.m[i] + (1-h.Beta1)*g
			s.v[i] = h.Beta2*s.v[i] + (1-h.Beta2)*g*g
			mhat := s.m[i] / (1 - math.Pow(h.Beta1, float64(t)))
			vhat := s.v[i] / (1 - math.Pow(h.Beta2, float64(t)))
			if h.AMSGrad {
				s.vmax[i] = math.Max(s.vmax[i], s.v[i])
				vhat = s.vmax[i] / (1 - math.Pow(h.Beta2, float64(t)))
			}
			theta[i] -= lr * mhat / (math.Sqrt(vhat) + h.Epsilon)
		case "rmsprop":
			a := h.Rho
			s.v[i] = a*s.v[i] + (1-a)*g*g
			vt := s.v[i]
			if h.Centered {
				s.gave[i] = s.gave[i]*a + (1-a)*g
				vt -= s.gave[i] * s.gave[i]
			}
			if h.Momentum > 0 {
				s.b[i] = h.Momentum*s.b[i] + g/(math.Sqrt(vt)+h.Epsilon)
				theta[i] -= lr * s.b[i]
			} else {
				theta[i] -= lr * g / (math.Sqrt(vt) + h.Epsilon)
			}
		default:
			panic(c.opt)
		}
	}
}

// reference returns the reference trajectory of c.
func reference(c config) [][]float64 {
	n := len(p0)
	theta := append([]float64(nil), p0...)
	s := &refState{make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)}
	var traj [][]float64
	for t, g := range grads {
		refStep(c, lrs[t], t+1, theta, g, s)
		traj = append(traj, append([]float64(nil), theta...))
	}
	return traj
}

// compare fails t where got and want differ by more than tol*max(1, |want|).
func compare(t *testing.T, what string, got, want [][]float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d steps, want %d", what, len(got), len(want))
	}
	for s := range want {
		for i := range want[s] {
			if d := math.Abs(got[s][i] - want[s][i]); !(d <= tol*math.Max(1, math.Abs(want[s][i]))) {
				t.Errorf("%s: step %d p[%d] = %.9g, want %.9g (diff %.3g)", what, s+1, i, got[s][i], want[s][i], d)
				return
			}
		}
	}
}

func TestAgainstReference(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name(), func(t *testing.T) {
			want := reference(c)
			got64, _ := run[float64](t, c, 0)
			compare(t, "float64", got64, want, 1e-14)
			got32, _ := run[float32](t, c, 0)
			compare(t, "float32", got32, want, 1e-6)
			// The trajectory must move, or the comparison proves little.
			if d := math.Abs(want[len(want)-1][0] - p0[0]); d < 1e-3 {
				t.Errorf("p[0] moved only %g", d)
			}
		})
	}
}

func TestStateResetAtStepOne(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name(), func(t *testing.T) {
			clean, _ := run[float64](t, c, 0)
			dirty, _ := run[float64](t, c, 123.5)
			compare(t, "state filled with 123.5", dirty, clean, 0)
		})
	}
}

// TestFloat32MatchesFloat64 runs a longer trajectory on a longer vector in
// both precisions.
func TestFloat32MatchesFloat64(t *testing.T) {
	const n, steps = 37, 200
	for _, c := range configs {
		t.Run(c.name(), func(t *testing.T) {
			o32 := Optimizer[float32]{Name: c.opt, Hyper: c.h}
			o64 := Optimizer[float64]{Name: c.opt, Hyper: c.h}
			for range StateSlots(c.opt, c.h) {
				o32.State = append(o32.State, make([]float32, n))
				o64.State = append(o64.State, make([]float64, n))
			}
			p32, g32 := make([]float32, n), make([]float32, n)
			p64, g64 := make([]float64, n), make([]float64, n)
			for i := range n {
				p64[i] = math.Cos(float64(i))
				p32[i] = float32(p64[i])
			}
			for step := 1; step <= steps; step++ {
				for i := range n {
					// The gradient of sum (p_i - i/n)^2 with a wobble that
					// keeps every element's gradient varying: centered
					// RMSprop divides by the gradient's running variance,
					// which float32 cannot resolve for a constant gradient.
					g64[i] = 2*(p64[i]-float64(i)/n) + 0.5*math.Sin(1.7*float64(step)+float64(i))
					g32[i] = float32(2*(float64(p32[i])-float64(i)/n) + 0.5*math.Sin(1.7*float64(step)+float64(i)))
				}
				lr := CosineLR(0.01, step-1, steps, 0.1)
				o32.Update(p32, g32, lr, step)
				o64.Update(p64, g64, lr, step)
			}
			for i := range n {
				if d := math.Abs(float64(p32[i]) - p64[i]); d > 1e-5 {
					t.Fatalf("after %d steps p[%d]: float32 %v, float64 %v", steps, i, p32[i], p64[i])
				}
			}
		})
	}
}

// TestUpdateMatchesDirectCalls checks that Update hands each state array to
// the right argument of the optimizer's function, and decouples the weight
// decay of SGD and RMSprop (p *= 1 - lr*WeightDecay, then the update without
// it) and of Adam (AdamW).
func TestUpdateMatchesDirectCalls(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name(), func(t *testing.T) {
			viaUpdate, _ := run[float64](t, c, 0)
			n := len(p0)
			p := append([]float64(nil), p0...)
			st := map[string][]float64{}
			for _, name := range StateNames(c.opt, c.h) {
				st[name] = make([]float64, n)
			}
			var direct [][]float64
			for s, g := range grads {
				h := c.h
				if c.opt == "sgd" || c.opt == "rmsprop" {
					for i := range p {
						p[i] *= 1 - lrs[s]*h.WeightDecay
					}
					h.WeightDecay = 0
				}
				switch c.opt {
				case "sgd":
					SGD(p, g, st["momentum_buffer"], lrs[s], h, s+1)
				case "adam":
					AdamW(p, g, st["exp_avg"], st["exp_avg_sq"], st["max_exp_avg_sq"], lrs[s], h, s+1)
				case "adamw":
					AdamW(p, g, st["exp_avg"], st["exp_avg_sq"], st["max_exp_avg_sq"], lrs[s], c.h, s+1)
				case "rmsprop":
					RMSprop(p, g, st["square_avg"], st["momentum_buffer"], st["grad_avg"], lrs[s], h, s+1)
				}
				direct = append(direct, append([]float64(nil), p...))
			}
			compare(t, "direct calls", direct, viaUpdate, 0)
		})
	}
}

func TestUpdateAllocatesNothing(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name(), func(t *testing.T) {
			testAllocs[float32](t, c)
			testAllocs[float64](t, c)
		})
	}
}

// testAllocs fails t if Update of c in T allocates.
func testAllocs[T float32 | float64](t *testing.T, c config) {
	const n = 1000
	o := &Optimizer[T]{Name: c.opt, Hyper: c.h}
	for range StateSlots(c.opt, c.h) {
		o.State = append(o.State, make([]T, n))
	}
	p, g := make([]T, n), make([]T, n)
	for i := range g {
		g[i] = T(i%7) - 3
	}
	step := 1
	if a := testing.AllocsPerRun(50, func() {
		o.Update(p, g, 0.01, step)
		ClipByNorm(g, 1e9)
		step++
	}); a != 0 {
		t.Errorf("%T: %v allocations per Update", p, a)
	}
}

func TestAdamMinimizesQuadratic(t *testing.T) {
	// f(p) = sum a_i (p_i - c_i)^2 / 2, badly conditioned.
	a := []float64{1, 10, 0.1, 3, 100}
	c := []float64{1, -2, 0.5, 3, -0.25}
	h, _ := Defaults("adam")
	p, g := make([]float64, len(a)), make([]float64, len(a))
	m, v := make([]float64, len(a)), make([]float64, len(a))
	const steps = 2000
	for step := 1; step <= steps; step++ {
		for i := range p {
			g[i] = a[i] * (p[i] - c[i])
		}
		Adam(p, g, m, v, nil, CosineLR(0.05, step-1, steps, 0), h, step)
	}
	for i := range p {
		if math.Abs(p[i]-c[i]) > 1e-3 {
			t.Errorf("p[%d] = %v, want %v", i, p[i], c[i])
		}
	}
}

func TestClipByNorm(t *testing.T) {
	g := []float64{3, -4}
	if norm := ClipByNorm(g, 10); norm != 5 || g[0] != 3 || g[1] != -4 {
		t.Errorf("max 10: norm %v, g %v; want 5, [3 -4] unchanged", norm, g)
	}
	if norm := ClipByNorm(g, 1); norm != 5 {
		t.Errorf("max 1: norm %v, want 5", norm)
	}
	if f := 1 / (5 + 1e-6); g[0] != 3*f || g[1] != -4*f {
		t.Errorf("max 1: g = %v, want [3 -4]*%v", g, f)
	}
	// Like PyTorch, a norm equal to the maximum is scaled by max/(norm+1e-6).
	g = []float64{3, -4}
	ClipByNorm(g, 5)
	if f := 5 / (5 + 1e-6); g[0] != 3*f {
		t.Errorf("max 5: g[0] = %v, want %v", g[0], 3*f)
	}
	if norm := ClipByNorm([]float32(nil), 1); norm != 0 {
		t.Errorf("empty: norm %v", norm)
	}
	// The sum of squares is accumulated in float64: in float32 it would be
	// off by about 1e-4 here.
	g32 := make([]float32, 100000)
	for i := range g32 {
		g32[i] = 0.1
	}
	want := math.Sqrt(float64(len(g32))) * float64(float32(0.1))
	if norm := ClipByNorm(g32, 1); math.Abs(norm-want) > 1e-10*want {
		t.Errorf("float32: norm %.15g, want %.15g", norm, want)
	}
	if got, want := g32[7], float32(0.1)*float32(1/(want+1e-6)); got != want {
		t.Errorf("float32: g[7] = %v, want %v", got, want)
	}
}

func TestStepLR(t *testing.T) {
	want := []float64{0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025}
	for step, w := range want {
		if got := StepLR(0.1, step, 3, 0.5); math.Abs(got-w) > 1e-15 {
			t.Errorf("StepLR(0.1, %d, 3, 0.5) = %v, want %v", step, got, w)
		}
	}
}

func TestCosineLR(t *testing.T) {
	for _, tc := range []struct {
		step int
		want float64
	}{
		{0, 1},
		{25, 0.2 + 0.8*(1+math.Sqrt2/2)/2},
		{50, 0.6},
		{75, 0.2 + 0.8*(1-math.Sqrt2/2)/2},
		{100, 0.2},
		{1000, 0.2},
	} {
		if got := CosineLR(1, tc.step, 100, 0.2); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("CosineLR(1, %d, 100, 0.2) = %v, want %v", tc.step, got, tc.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	for name, want := range map[string]Hyper{
		"sgd":     {LR: 0.01},
		"adam":    {LR: 0.001, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7},
		"adamw":   {LR: 0.001, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, WeightDecay: 0.004},
		"rmsprop": {LR: 0.001, Rho: 0.9, Epsilon: 1e-7},
	} {
		if got, ok := Defaults(name); !ok || got != want {
			t.Errorf("Defaults(%q) = %+v, %v; want %+v, true", name, got, ok, want)
		}
	}
	if _, ok := Defaults("adagrad"); ok {
		t.Error(`Defaults("adagrad") reported ok`)
	}
}

func TestStateNames(t *testing.T) {
	for _, tc := range []struct {
		c    config
		want []string
	}{
		{with("sgd", func(h *Hyper) {}), nil},
		{with("sgd", func(h *Hyper) { h.Momentum = 0.9 }), []string{"momentum_buffer"}},
		{with("adam", func(h *Hyper) {}), []string{"exp_avg", "exp_avg_sq"}},
		{with("adamw", func(h *Hyper) { h.AMSGrad = true }), []string{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}},
		{with("rmsprop", func(h *Hyper) {}), []string{"square_avg"}},
		{with("rmsprop", func(h *Hyper) { h.Centered = true }), []string{"square_avg", "grad_avg"}},
		{with("rmsprop", func(h *Hyper) { h.Momentum = 0.5 }), []string{"square_avg", "momentum_buffer"}},
		{with("rmsprop", func(h *Hyper) { h.Momentum = 0.5; h.Centered = true }), []string{"square_avg", "momentum_buffer", "grad_avg"}},
		{config{"adagrad", Hyper{}}, nil},
	} {
		got := StateNames(tc.c.opt, tc.c.h)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("StateNames(%s) = %q, want %q", tc.c.name(), got, tc.want)
		}
		if n := StateSlots(tc.c.opt, tc.c.h); n != len(tc.want) {
			t.Errorf("StateSlots(%s) = %d, want %d", tc.c.name(), n, len(tc.want))
		}
	}
}

func TestMisusePanics(t *testing.T) {
	p, g := make([]float64, 3), make([]float64, 3)
	for name, f := range map[string]func(){
		"unknown name":    func() { (&Optimizer[float64]{Name: "adagrad"}).Update(p, g, 0.1, 1) },
		"missing state":   func() { (&Optimizer[float64]{Name: "adam", State: [][]float64{p}}).Update(p, g, 0.1, 1) },
		"step 0":          func() { SGD(p, g, nil, 0.1, Hyper{}, 0) },
		"short gradient":  func() { Adam(p, g[:2], p, p, nil, 0.1, Hyper{}, 1) },
		"short state":     func() { RMSprop(p, g, g[:1], nil, nil, 0.1, Hyper{}, 1) },
		"short momentum":  func() { SGD(p, g, g[:2], 0.1, Hyper{Momentum: 0.9}, 1) },
		"short amsgrad v": func() { AdamW(p, g, make([]float64, 3), make([]float64, 3), nil, 0.1, Hyper{AMSGrad: true}, 1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestClipByValue(t *testing.T) {
	g := []float32{3, -4, 0.25, -0.5, float32(math.Inf(-1))}
	ClipByValue(g, 0.5)
	want := []float32{0.5, -0.5, 0.25, -0.5, -0.5}
	for i := range g {
		if g[i] != want[i] {
			t.Errorf("g[%d] = %v, want %v", i, g[i], want[i])
		}
	}
}

// TestUpdateRange checks that updating ranges aligned to 64 values apart
// gives Update's parameters and state bit for bit, and allocates nothing.
func TestUpdateRange(t *testing.T) {
	const n = 1000
	for _, c := range configs {
		t.Run(c.name(), func(t *testing.T) {
			var ps [2][]float32
			var os [2]Optimizer[float32]
			for k := range ps {
				ps[k] = make([]float32, n)
				os[k] = Optimizer[float32]{Name: c.opt, Hyper: c.h}
				for range StateSlots(c.opt, c.h) {
					os[k].State = append(os[k].State, make([]float32, n))
				}
			}
			g := make([]float32, n)
			for step := 1; step <= 4; step++ {
				for i := range g {
					g[i] = float32(math.Sin(float64(i*step) + 0.3))
					if step == 1 {
						ps[0][i] = float32(math.Cos(float64(i)))
						ps[1][i] = ps[0][i]
					}
				}
				os[0].Update(ps[0], g, 0.01, step)
				for _, r := range [][2]int{{0, 64}, {64, 512}, {512, n}} {
					os[1].UpdateRange(ps[1], g, 0.01, step, r[0], r[1])
				}
			}
			for i := range ps[0] {
				if math.Float32bits(ps[0][i]) != math.Float32bits(ps[1][i]) {
					t.Fatalf("p[%d]: Update %v, UpdateRange %v", i, ps[0][i], ps[1][i])
				}
			}
			for s := range os[0].State {
				for i := range os[0].State[s] {
					if math.Float32bits(os[0].State[s][i]) != math.Float32bits(os[1].State[s][i]) {
						t.Fatalf("state %d[%d] differs", s, i)
					}
				}
			}
			if a := testing.AllocsPerRun(3, func() { os[1].UpdateRange(ps[1], g, 0.01, 5, 64, 512) }); a != 0 {
				t.Errorf("UpdateRange allocates %v times", a)
			}
		})
	}
}
