package optim

import "math"

// RMSprop applies torch.optim.RMSprop's update for the 1-based step to p,
// with alpha = Rho: d = g + WeightDecay*p, sq = Rho*sq + (1-Rho)*d², and
// den = sqrt(sq) + Epsilon, or with Centered gavg = Rho*gavg + (1-Rho)*d and
// den = sqrt(sq - gavg²) + Epsilon; then with Momentum > 0 buf =
// Momentum*buf + d/den and p -= lr*buf, else p -= lr*d/den. buf and gavg may
// be nil when not used.
func RMSprop[T float32 | float64](p, g, sq, buf, gavg []T, lr float64, h Hyper, step int) {
	check(step, len(p), "g", len(g))
	check(step, len(p), "sq", len(sq))
	g, sq = g[:len(p)], sq[:len(p)]
	if step == 1 {
		clear(sq)
	}
	momentum := h.Momentum > 0
	if momentum {
		check(step, len(p), "buf", len(buf))
		if step == 1 {
			clear(buf)
		}
	}
	if h.Centered {
		check(step, len(p), "gavg", len(gavg))
		if step == 1 {
			clear(gavg)
		}
	}
	var (
		a, c     = T(h.Rho), T(1 - h.Rho)
		wd, rate = T(h.WeightDecay), T(lr)
		mom, eps = T(h.Momentum), T(h.Epsilon)
	)
	switch {
	case !h.Centered && !momentum:
		for i, x := range p {
			d := g[i] + wd*x
			s := a*sq[i] + c*d*d
			sq[i] = s
			p[i] = x - rate*(d/(T(math.Sqrt(float64(s)))+eps))
		}
	case !h.Centered && momentum:
		buf := buf[:len(p)]
		for i, x := range p {
			d := g[i] + wd*x
			s := a*sq[i] + c*d*d
			sq[i] = s
			b := mom*buf[i] + d/(T(math.Sqrt(float64(s)))+eps)
			buf[i] = b
			p[i] = x - rate*b
		}
	case h.Centered && !momentum:
		gavg := gavg[:len(p)]
		for i, x := range p {
			d := g[i] + wd*x
			s := a*sq[i] + c*d*d
			ga := a*gavg[i] + c*d
			sq[i], gavg[i] = s, ga
			p[i] = x - rate*(d/(T(math.Sqrt(float64(s-ga*ga)))+eps))
		}
	default:
		buf, gavg := buf[:len(p)], gavg[:len(p)]
		for i, x := range p {
			d := g[i] + wd*x
			s := a*sq[i] + c*d*d
			ga := a*gavg[i] + c*d
			sq[i], gavg[i] = s, ga
			b := mom*buf[i] + d/(T(math.Sqrt(float64(s-ga*ga)))+eps)
			buf[i] = b
			p[i] = x - rate*b
		}
	}
}
