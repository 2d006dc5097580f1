package optim

import "math"

// Adam applies torch.optim.Adam's update for the 1-based step to p, with
// weight decay as an L2 term: d = g + WeightDecay*p, m = Beta1*m +
// (1-Beta1)*d, v = Beta2*v + (1-Beta2)*d², and p -= lr/bc1 *
// m/(sqrt(v)/sqrt(bc2) + Epsilon) where bcN = 1 - BetaN^step. With AMSGrad,
// vmax = max(vmax, v) replaces v in the denominator; vmax may be nil without.
func Adam[T float32 | float64](p, g, m, v, vmax []T, lr float64, h Hyper, step int) {
	adam(p, g, m, v, vmax, lr, h, step, h.WeightDecay, 1)
}

// AdamW applies torch.optim.AdamW's update for the 1-based step to p: weight
// decay is decoupled, p *= 1 - lr*WeightDecay, followed by Adam's update
// without the L2 term.
func AdamW[T float32 | float64](p, g, m, v, vmax []T, lr float64, h Hyper, step int) {
	adam(p, g, m, v, vmax, lr, h, step, 0, 1-lr*h.WeightDecay)
}

// adam is Adam with an L2 coefficient l2 added to the gradient and a factor
// decay applied to p before the update: exact no-ops at 0 and 1.
func adam[T float32 | float64](p, g, m, v, vmax []T, lr float64, h Hyper, step int, l2, decay float64) {
	check(step, len(p), "g", len(g))
	check(step, len(p), "m", len(m))
	check(step, len(p), "v", len(v))
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	if step == 1 {
		clear(m)
		clear(v)
	}
	t := float64(step)
	bc1 := 1 - math.Pow(h.Beta1, t)
	bc2 := 1 - math.Pow(h.Beta2, t)
	var (
		rate     = T(lr / bc1)
		invSqBc2 = T(1 / math.Sqrt(bc2))
		b1, c1   = T(h.Beta1), T(1 - h.Beta1)
		b2, c2   = T(h.Beta2), T(1 - h.Beta2)
		eps      = T(h.Epsilon)
		wd, dec  = T(l2), T(decay)
	)
	if !h.AMSGrad {
		if p32, ok := any(p).([]float32); ok {
			adam32(p32, any(g).([]float32), any(m).([]float32), any(v).([]float32),
				float32(rate), float32(invSqBc2), float32(b1), float32(c1), float32(b2), float32(c2), float32(eps), float32(wd), float32(dec))
			return
		}
		for i, x := range p {
			d := g[i] + wd*x
			mi := b1*m[i] + c1*d
			vi := b2*v[i] + c2*d*d
			m[i], v[i] = mi, vi
			p[i] = x*dec - rate*(mi/(T(math.Sqrt(float64(vi)))*invSqBc2+eps))
		}
		return
	}
	check(step, len(p), "vmax", len(vmax))
	vmax = vmax[:len(p)]
	if step == 1 {
		clear(vmax)
	}
	for i, x := range p {
		d := g[i] + wd*x
		mi := b1*m[i] + c1*d
		vi := b2*v[i] + c2*d*d
		m[i], v[i] = mi, vi
		vm := max(vmax[i], vi)
		vmax[i] = vm
		p[i] = x*dec - rate*(mi/(T(math.Sqrt(float64(vm)))*invSqBc2+eps))
	}
}

// flush32 is added to and subtracted from adam32's moments, which flushes
// the ones below 2^-105 to zero and changes larger ones by at most 2^-105
// (none above 2^-81 at all). Moments of weights whose gradient stopped
// decay geometrically into the subnormal range, where every float32
// operation on them takes a microcode assist of a hundred cycles or more; a
// moment that small changes no update, so zero is as good. The arithmetic
// flush has no branch: a compare-and-branch flush mispredicts on real
// gradients and costs more than the rest of the loop.
const flush32 = 0x1p-81

// adam32Go is Adam's float32 loop without AMSGrad, written for float32 so the
// square root compiles to one instruction instead of a call.
func adam32Go(p, g, m, v []float32, rate, invSqBc2, b1, c1, b2, c2, eps, wd, dec float32) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	for i, x := range p {
		d := g[i] + wd*x
		mi := (b1*m[i] + c1*d + flush32) - flush32
		vi := (b2*v[i] + c2*d*d + flush32) - flush32
		m[i], v[i] = mi, vi
		p[i] = x*dec - rate*(mi/(float32(math.Sqrt(float64(vi)))*invSqBc2+eps))
	}
}
