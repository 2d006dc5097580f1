package explain

import (
	"fmt"
	"math"
)

// MaxExactFeatures bounds the features ExactShapley enumerates the
// coalitions of (2^M of them, each over the whole background).
const MaxExactFeatures = 16

// coalitionValues returns v(z) for each coalition z (a feature mask):
// the mean over the background of output class at x with the features
// outside z taken from the background sample, as SHAP's independent
// masker does.
func coalitionValues(p Predictor, x []float32, bg [][]float32, class int, masks [][]bool) []float64 {
	in := len(x)
	pts := make([]float32, 0, len(masks)*len(bg)*in)
	for _, z := range masks {
		for _, b := range bg {
			for i := range x {
				if z[i] {
					pts = append(pts, x[i])
				} else {
					pts = append(pts, b[i])
				}
			}
		}
	}
	f := outputs(p, pts, class)
	v := make([]float64, len(masks))
	for k := range masks {
		v[k] = mean(f[k*len(bg) : (k+1)*len(bg)])
	}
	return v
}

// ExactShapley returns the Shapley values of the features of x for output
// class, with the background's mean as the absent features' value
// (interventional): φ_i = Σ_S |S|!(M−|S|−1)!/M! (v(S ∪ {i}) − v(S)) over
// every coalition S of the other features. It enumerates all 2^M
// coalitions, so M is at most MaxExactFeatures.
func ExactShapley(p Predictor, x []float32, background [][]float32, class int) (*Attribution, error) {
	if err := checkInput(p, x, class); err != nil {
		return nil, err
	}
	if err := checkBackground(p, background); err != nil {
		return nil, err
	}
	M := len(x)
	if M > MaxExactFeatures {
		return nil, fmt.Errorf("explain: exact Shapley values of %d features need 2^%d coalitions: use KernelSHAP (at most %d features)", M, M, MaxExactFeatures)
	}
	masks := make([][]bool, 1<<M)
	for s := range masks {
		masks[s] = make([]bool, M)
		for i := range M {
			masks[s][i] = s>>i&1 == 1
		}
	}
	v := coalitionValues(p, x, background, class, masks)
	// w[k] = k!(M−k−1)!/M!
	w := make([]float64, M)
	for k := range w {
		lg1, _ := math.Lgamma(float64(k + 1))
		lg2, _ := math.Lgamma(float64(M - k))
		lg3, _ := math.Lgamma(float64(M + 1))
		w[k] = math.Exp(lg1 + lg2 - lg3)
	}
	vals := make([]float64, M)
	for s := range masks {
		k := popcount(s)
		for i := range M {
			if s>>i&1 == 0 {
				vals[i] += w[k] * (v[s|1<<i] - v[s])
			}
		}
	}
	a := &Attribution{Class: class, Values: vals, Output: v[len(v)-1], Base: v[0]}
	a.Gap = sum(vals) - (a.Output - a.Base)
	return a, nil
}

func popcount(s int) int {
	n := 0
	for ; s != 0; s &= s - 1 {
		n++
	}
	return n
}

func binom(n, k int) float64 {
	lg := func(x int) float64 { l, _ := math.Lgamma(float64(x + 1)); return l }
	return math.Round(math.Exp(lg(n) - lg(k) - lg(n-k)))
}

// KernelSHAP estimates the Shapley values of x's features for output class
// as Lundberg and Lee (2017) do: a linear model of the coalition values
// v(z) (see ExactShapley) over budget coalitions, fitted by least squares
// weighted with the Shapley kernel π(z) = (M−1) / (C(M,|z|)·|z|·(M−|z|)),
// under the constraints φ₀ = v(∅) and Σφ = v(all) − v(∅). As in the shap
// package, coalition sizes are taken from the smallest and largest in
// pairs and enumerated whole while the budget allows; the remaining sizes
// are sampled (each coalition with its complement) in proportion to the
// kernel's mass. With a budget of 2^M − 2 or more every coalition is
// enumerated and the values are exact.
func KernelSHAP(p Predictor, x []float32, background [][]float32, class, budget int, seed uint64) (*Attribution, error) {
	if err := checkInput(p, x, class); err != nil {
		return nil, err
	}
	if err := checkBackground(p, background); err != nil {
		return nil, err
	}
	M := len(x)
	if M < 2 {
		return nil, fmt.Errorf("explain: KernelSHAP needs 2 features or more (the model takes %d)", M)
	}
	if budget < 2 {
		return nil, fmt.Errorf("explain: KernelSHAP needs a budget of 2 coalitions or more (got %d)", budget)
	}
	// The kernel's mass of each size, normalized.
	mass := make([]float64, M)
	total := 0.0
	for s := 1; s < M; s++ {
		mass[s] = float64(M-1) / float64(s*(M-s))
		total += mass[s]
	}
	for s := range mass {
		mass[s] /= total
	}
	var masks [][]bool
	var weights []float64
	left, rest := budget, 1.0
	done := make([]bool, M)
	for s := 1; s <= M/2; s++ {
		pair := []int{s}
		if M-s != s {
			pair = append(pair, M-s)
		}
		count, pm := 0.0, 0.0
		for _, k := range pair {
			count += binom(M, k)
			pm += mass[k]
		}
		if count > float64(left)*pm/rest+1e-9 {
			break
		}
		for _, k := range pair {
			each := mass[k] / binom(M, k)
			subsets(M, k, func(z []bool) {
				masks = append(masks, z)
				weights = append(weights, each)
			})
			done[k] = true
		}
		left -= int(count)
		rest -= pm
	}
	if rest > 1e-12 && left > 0 {
		r := newRNG(seed)
		var sizes []int
		var cum []float64
		c := 0.0
		for s := 1; s < M; s++ {
			if !done[s] {
				c += mass[s]
				sizes, cum = append(sizes, s), append(cum, c)
			}
		}
		n := left / 2 * 2
		if n == 0 {
			n = 2
		}
		each := rest / float64(n)
		perm := make([]int, M)
		for k := 0; k < n; k += 2 {
			u := r.Float64() * c
			s := sizes[len(sizes)-1]
			for j, cv := range cum {
				if u < cv {
					s = sizes[j]
					break
				}
			}
			r.Perm(perm)
			z, zc := make([]bool, M), make([]bool, M)
			for i := range zc {
				zc[i] = true
			}
			for _, i := range perm[:s] {
				z[i], zc[i] = true, false
			}
			masks = append(masks, z, zc)
			weights = append(weights, each, each)
		}
	}
	empty, all := make([]bool, M), make([]bool, M)
	for i := range all {
		all[i] = true
	}
	v := coalitionValues(p, x, background, class, append(masks, empty, all))
	phi0, fx := v[len(v)-2], v[len(v)-1]
	delta := fx - phi0
	// Eliminate φ_{M−1} = Δ − Σ_{i<M−1} φ_i and solve the weighted normal
	// equations of the other M−1.
	q := M - 1
	a, b := make([]float64, q*q), make([]float64, q)
	row := make([]float64, q)
	for k, z := range masks {
		zl := b2f(z[q])
		for i := range q {
			row[i] = b2f(z[i]) - zl
		}
		y := v[k] - phi0 - zl*delta
		w := weights[k]
		for i := range q {
			b[i] += w * row[i] * y
			for j := range q {
				a[i*q+j] += w * row[i] * row[j]
			}
		}
	}
	tr := 0.0
	for i := range q {
		tr += a[i*q+i]
	}
	for i := range q {
		a[i*q+i] += 1e-12 * (tr/float64(q) + 1e-300)
	}
	phi, err := solve(a, b, q)
	if err != nil {
		return nil, fmt.Errorf("explain: KernelSHAP: %v: raise the budget", err)
	}
	vals := append(phi, delta-sum(phi))
	at := &Attribution{Class: class, Values: vals, Output: fx, Base: phi0}
	at.Gap = sum(vals) - (at.Output - at.Base)
	return at, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// subsets calls f with every subset of k of n elements, as a mask, in
// lexicographic order of the chosen indices.
func subsets(n, k int, f func([]bool)) {
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	for {
		z := make([]bool, n)
		for _, i := range idx {
			z[i] = true
		}
		f(z)
		i := k - 1
		for i >= 0 && idx[i] == n-k+i {
			i--
		}
		if i < 0 {
			return
		}
		idx[i]++
		for j := i + 1; j < k; j++ {
			idx[j] = idx[j-1] + 1
		}
	}
}
