package optim

import "math"

// StepLR returns the learning rate of the 0-based step under
// torch.optim.lr_scheduler.StepLR: base * gamma^(step/stepSize), with integer
// division. stepSize must be positive.
func StepLR(base float64, step, stepSize int, gamma float64) float64 {
	return base * math.Pow(gamma, float64(step/stepSize))
}

// CosineLR returns the learning rate of the 0-based step under Keras's
// CosineDecay: with s = min(step, decaySteps), base * ((1-alpha)*c + alpha)
// where c = (1 + cos(pi*s/decaySteps))/2. decaySteps must be positive.
func CosineLR(base float64, step, decaySteps int, alpha float64) float64 {
	s := min(max(step, 0), decaySteps)
	c := 0.5 * (1 + math.Cos(math.Pi*float64(s)/float64(decaySteps)))
	return base * ((1-alpha)*c + alpha)
}
