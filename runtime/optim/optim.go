// Package optim holds the optimizers, learning-rate schedules and gradient
// clipping that generated models call once per train step.
//
// Every function works in place on flat slices: a generated model keeps all
// its parameters in one array p, their gradients in g and each piece of
// optimizer state in an array of len(p), and passes views of them. No
// update or schedule allocates. The update rules are those of torch.optim
// 1.13, so a model trained here and one trained by PyTorch from the same
// start agree to rounding; the default hyper-parameters are Keras's, since
// specs are written in Keras's vocabulary, and so is what the names mean:
// Optimizer.Update's weight decay is decoupled in every optimizer, as
// Keras's weight_decay (torch.optim.AdamW's rule).
//
// Each optimizer initialises its state on step 1, as PyTorch does lazily on
// its first step, so the caller need not clear the state arrays. The
// gradient g is only read, except by ClipByNorm, which scales it.
package optim

import "fmt"

// Hyper holds every optimizer hyper-parameter; an optimizer ignores the ones
// it has no use for.
type Hyper struct {
	LR, Momentum, Beta1, Beta2, Rho, Epsilon, WeightDecay float64
	Nesterov, AMSGrad, Centered                           bool
}

// Defaults returns Keras's default hyper-parameters of the named optimizer
// ("sgd", "adam", "adamw" or "rmsprop") and reports whether the name is known.
func Defaults(name string) (Hyper, bool) {
	switch name {
	case "sgd":
		return Hyper{LR: 0.01}, true
	case "adam":
		return Hyper{LR: 0.001, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7}, true
	case "adamw":
		return Hyper{LR: 0.001, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, WeightDecay: 0.004}, true
	case "rmsprop":
		return Hyper{LR: 0.001, Rho: 0.9, Epsilon: 1e-7}, true
	}
	return Hyper{}, false
}

// StateSlots returns how many state arrays of len(p) the named optimizer
// needs with h, or 0 for an unknown name.
func StateSlots(name string, h Hyper) int {
	switch name {
	case "sgd":
		if h.Momentum != 0 {
			return 1
		}
		return 0
	case "adam", "adamw":
		if h.AMSGrad {
			return 3
		}
		return 2
	case "rmsprop":
		n := 1
		if h.Momentum > 0 {
			n++
		}
		if h.Centered {
			n++
		}
		return n
	}
	return 0
}

// StateNames returns PyTorch's state keys of the named optimizer's state
// arrays with h, in the order Optimizer.State holds them.
func StateNames(name string, h Hyper) []string {
	switch name {
	case "sgd":
		if h.Momentum != 0 {
			return []string{"momentum_buffer"}
		}
		return nil
	case "adam", "adamw":
		if h.AMSGrad {
			return []string{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
		}
		return []string{"exp_avg", "exp_avg_sq"}
	case "rmsprop":
		names := []string{"square_avg"}
		if h.Momentum > 0 {
			names = append(names, "momentum_buffer")
		}
		if h.Centered {
			names = append(names, "grad_avg")
		}
		return names
	}
	return nil
}

// Optimizer is a named optimizer with its hyper-parameters and state arrays,
// for generated code that picks the optimizer from its spec.
type Optimizer[T float32 | float64] struct {
	Name  string
	Hyper Hyper
	// State holds StateSlots(Name, Hyper) arrays of the parameters' length,
	// in the order of StateNames; they are usually views into the model's
	// own arrays.
	State [][]T
	// Factor multiplies the learning rate of every update, as Keras's
	// ReduceLROnPlateau lowers it; 0 means 1.
	Factor float64
}

// Rate returns the learning rate an update given lr uses: lr times Factor.
func (o *Optimizer[T]) Rate(lr float64) float64 {
	if o.Factor != 0 {
		return lr * o.Factor
	}
	return lr
}

// Update applies the optimizer's update for the 1-based step to p, using the
// gradient g and the learning rate lr. WeightDecay is Keras's in every
// optimizer: decoupled, p -= lr*WeightDecay*p before the update (as
// torch.optim.AdamW; "adam" with a weight decay is AdamW), not the L2 term
// of torch.optim.SGD, Adam and RMSprop.
func (o *Optimizer[T]) Update(p, g []T, lr float64, step int) {
	o.update(p, g, lr, step, 0, 0, false)
}

// UpdateRange is Update on the values [lo, hi) of p, g and the state
// arrays alone. The update is element-wise, so ranges updated apart (on
// several workers) give what one Update gives, bit for bit, when each
// range but the last starts and ends at a multiple of 64 (the assembly
// kernels' vector loops then meet the same elements as in one call). It
// allocates nothing.
func (o *Optimizer[T]) UpdateRange(p, g []T, lr float64, step, lo, hi int) {
	o.update(p[lo:hi], g[lo:hi], lr, step, lo, hi, true)
}

// update is Update with, when ranged, the state arrays cut to [lo, hi).
func (o *Optimizer[T]) update(p, g []T, lr float64, step, lo, hi int, ranged bool) {
	h, s, lr := o.Hyper, o.State, o.Rate(lr)
	if n := StateSlots(o.Name, h); len(s) != n {
		panic(fmt.Sprintf("optim: %s needs %d state arrays, got %d", o.Name, n, len(s)))
	}
	st := func(i int) []T {
		if ranged {
			return s[i][lo:hi]
		}
		return s[i]
	}
	if h.WeightDecay != 0 && (o.Name == "sgd" || o.Name == "rmsprop") {
		f := T(1 - lr*h.WeightDecay)
		for i := range p {
			p[i] *= f
		}
		h.WeightDecay = 0
	}
	switch o.Name {
	case "sgd":
		var buf []T
		if h.Momentum != 0 {
			buf = st(0)
		}
		SGD(p, g, buf, lr, h, step)
	case "adam", "adamw":
		var vmax []T
		if h.AMSGrad {
			vmax = st(2)
		}
		AdamW(p, g, st(0), st(1), vmax, lr, h, step)
	case "rmsprop":
		var buf, gavg []T
		i := 1
		if h.Momentum > 0 {
			buf = st(i)
			i++
		}
		if h.Centered {
			gavg = st(i)
		}
		RMSprop(p, g, st(0), buf, gavg, lr, h, step)
	default:
		panic("optim: unknown optimizer " + o.Name)
	}
}

// check panics unless step is a valid 1-based step number and n, the
// length of an array the update uses, is the parameters' length np.
func check(step, np int, what string, n int) {
	if step < 1 {
		panic(fmt.Sprintf("optim: step %d, want 1 or more", step))
	}
	if n != np {
		panic(fmt.Sprintf("optim: %d parameters but %d values in %s", np, n, what))
	}
}
