package explain

import (
	"fmt"
	"math"
	"sort"
)

// LIME's defaults (Ribeiro et al. 2016; the lime package).
const (
	LimeTabularSamples = 5000
	LimeImageSamples   = 1000
)

// Stats are the training set's per-feature means and standard deviations,
// from which LIME draws tabular perturbations.
type Stats struct {
	Mean, Std []float64
}

// NewStats computes Stats over the samples (a zero deviation counts as 1,
// as LIME's scaler does).
func NewStats(samples [][]float32) (Stats, error) {
	if len(samples) == 0 {
		return Stats{}, fmt.Errorf("explain: no training samples for LIME's statistics")
	}
	m := len(samples[0])
	st := Stats{make([]float64, m), make([]float64, m)}
	for _, s := range samples {
		if len(s) != m {
			return Stats{}, fmt.Errorf("explain: training samples of %d and %d values", m, len(s))
		}
		for j, v := range s {
			st.Mean[j] += float64(v)
		}
	}
	for j := range st.Mean {
		st.Mean[j] /= float64(len(samples))
	}
	for _, s := range samples {
		for j, v := range s {
			d := float64(v) - st.Mean[j]
			st.Std[j] += d * d
		}
	}
	for j := range st.Std {
		st.Std[j] = math.Sqrt(st.Std[j] / float64(len(samples)))
		if st.Std[j] == 0 {
			st.Std[j] = 1
		}
	}
	return st, nil
}

// LimeTabular explains output class at x with LIME's tabular method, as
// the lime package's LimeTabularExplainer with discretize_continuous=False:
// samples−1 perturbations drawn from N(mean, std) of the training
// statistics, plus x itself; features standardized by those statistics;
// each sample weighted by the exponential kernel √exp(−d²/w²) of its
// Euclidean distance d to x, w = 0.75·√M; and a weighted ridge regression
// (α = 1) of the model's output on the standardized features. The values
// are its coefficients (per standard deviation of each feature); Intercept
// and Score are its intercept and weighted R².
func LimeTabular(p Predictor, x []float32, st Stats, class, samples int, seed uint64) (*Attribution, error) {
	if err := checkInput(p, x, class); err != nil {
		return nil, err
	}
	M := len(x)
	if len(st.Mean) != M || len(st.Std) != M {
		return nil, fmt.Errorf("explain: statistics of %d features for a model of %d", len(st.Mean), M)
	}
	if samples < 2 {
		return nil, fmt.Errorf("explain: LIME needs 2 samples or more (got %d)", samples)
	}
	r := newRNG(seed)
	pts := make([]float32, samples*M)
	X := make([][]float64, samples)
	copy(pts, x)
	for k := range X {
		X[k] = make([]float64, M)
		for j := range M {
			if k > 0 {
				pts[k*M+j] = float32(st.Mean[j] + st.Std[j]*r.Norm())
			}
			X[k][j] = (float64(pts[k*M+j]) - st.Mean[j]) / st.Std[j]
		}
	}
	width := 0.75 * math.Sqrt(float64(M))
	w := make([]float64, samples)
	for k := range X {
		d2 := 0.0
		for j := range M {
			d := X[k][j] - X[0][j]
			d2 += d * d
		}
		w[k] = math.Sqrt(math.Exp(-d2 / (width * width)))
	}
	y := outputs(p, pts, class)
	beta, c, r2, err := ridge(X, y, w, 1)
	if err != nil {
		return nil, err
	}
	return &Attribution{Class: class, Values: beta, Output: y[0], Intercept: c, Score: r2}, nil
}

// GridSegments returns the superpixels of an h×w image as a regular grid
// of cells of ch×cw pixels (the last row and column of cells may be
// smaller): the segment of each pixel, row by row, and their number.
func GridSegments(h, w, ch, cw int) ([]int, int) {
	cols := (w + cw - 1) / cw
	seg := make([]int, h*w)
	for y := range h {
		for x := range w {
			seg[y*w+x] = y/ch*cols + x/cw
		}
	}
	return seg, (h + ch - 1) / ch * cols
}

// LimeImage explains output class at the image x (h·w pixels of c
// channels, channels last) with LIME's image method over the superpixels
// segments (one per pixel, 0..n−1): samples binary masks, the first all
// ones and the others each superpixel kept with probability ½; a masked
// superpixel takes hide's value per channel (nil: its mean colour, as
// lime_image's hide_color=None); each mask weighted by √exp(−d²/0.25²)
// of its cosine distance d to the all-ones mask; and a weighted ridge
// regression (α = 1) of the output on the masks. The values are one per
// superpixel.
func LimeImage(p Predictor, x []float32, c int, segments []int, hide []float32, class, samples int, seed uint64) (*Attribution, error) {
	if err := checkInput(p, x, class); err != nil {
		return nil, err
	}
	if c < 1 || len(x)%c != 0 || len(segments) != len(x)/c {
		return nil, fmt.Errorf("explain: %d segment labels for an image of %d pixels", len(segments), len(x)/max(c, 1))
	}
	if hide != nil && len(hide) != c {
		return nil, fmt.Errorf("explain: a hide colour of %d channels for an image of %d", len(hide), c)
	}
	if samples < 2 {
		return nil, fmt.Errorf("explain: LIME needs 2 samples or more (got %d)", samples)
	}
	n := 0
	for _, s := range segments {
		if s < 0 {
			return nil, fmt.Errorf("explain: negative segment label %d", s)
		}
		n = max(n, s+1)
	}
	fill := make([]float64, n*c) // each segment's value when hidden
	if hide == nil {
		cnt := make([]float64, n)
		for px, s := range segments {
			cnt[s]++
			for ch := range c {
				fill[s*c+ch] += float64(x[px*c+ch])
			}
		}
		for s := range n {
			for ch := range c {
				if cnt[s] > 0 {
					fill[s*c+ch] /= cnt[s]
				}
			}
		}
	} else {
		for s := range n {
			for ch := range c {
				fill[s*c+ch] = float64(hide[ch])
			}
		}
	}
	r := newRNG(seed)
	in := len(x)
	X := make([][]float64, samples)
	pts := make([]float32, samples*in)
	w := make([]float64, samples)
	for k := range X {
		X[k] = make([]float64, n)
		on := 0.0
		for s := range n {
			if k == 0 || r.Uint64()>>63 == 1 {
				X[k][s] = 1
				on++
			}
		}
		for px, s := range segments {
			for ch := range c {
				v := x[px*c+ch]
				if X[k][s] == 0 {
					v = float32(fill[s*c+ch])
				}
				pts[k*in+px*c+ch] = v
			}
		}
		// Cosine distance to all ones: 1 − on/(√on·√n).
		d := 1.0
		if on > 0 {
			d = 1 - on/(math.Sqrt(on)*math.Sqrt(float64(n)))
		}
		w[k] = math.Sqrt(math.Exp(-d * d / (0.25 * 0.25)))
	}
	y := outputs(p, pts, class)
	beta, ic, r2, err := ridge(X, y, w, 1)
	if err != nil {
		return nil, err
	}
	return &Attribution{Class: class, Values: beta, Output: y[0], Intercept: ic, Score: r2}, nil
}

// Top returns the indices of the k largest |values|, largest first (ties by
// index).
func Top(values []float64, k int) []int {
	idx := make([]int, len(values))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return math.Abs(values[idx[i]]) > math.Abs(values[idx[j]]) })
	return idx[:min(max(k, 0), len(idx))]
}
