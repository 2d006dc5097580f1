package optim

// SGD applies torch.optim.SGD's update (dampening 0) for the 1-based step to
// p: d = g + WeightDecay*p; with Momentum, buf = d on step 1 and
// Momentum*buf + d after, and d = buf, or d + Momentum*buf with Nesterov;
// then p -= lr*d. buf may be nil when Momentum is 0.
func SGD[T float32 | float64](p, g, buf []T, lr float64, h Hyper, step int) {
	check(step, len(p), "g", len(g))
	g = g[:len(p)]
	wd, rate, mom := T(h.WeightDecay), T(lr), T(h.Momentum)
	if h.Momentum == 0 {
		for i, x := range p {
			p[i] = x - rate*(g[i]+wd*x)
		}
		return
	}
	check(step, len(p), "buf", len(buf))
	buf = buf[:len(p)]
	if step == 1 {
		clear(buf) // so that buf = 0*Momentum + d = d
	}
	if h.Nesterov {
		for i, x := range p {
			d := g[i] + wd*x
			b := mom*buf[i] + d
			buf[i] = b
			p[i] = x - rate*(d+mom*b)
		}
		return
	}
	for i, x := range p {
		b := mom*buf[i] + (g[i] + wd*x)
		buf[i] = b
		p[i] = x - rate*b
	}
}
