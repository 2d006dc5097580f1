package explain

import (
	"fmt"
	"math"
)

// solve solves a·x = b for a symmetric positive definite n×n matrix a (row
// major) by Cholesky's factorization; a and b are overwritten.
func solve(a, b []float64, n int) ([]float64, error) {
	for j := 0; j < n; j++ {
		d := a[j*n+j]
		for k := 0; k < j; k++ {
			d -= a[j*n+k] * a[j*n+k]
		}
		if !(d > 0) {
			return nil, fmt.Errorf("explain: singular system (pivot %d is %g)", j, d)
		}
		d = math.Sqrt(d)
		a[j*n+j] = d
		for i := j + 1; i < n; i++ {
			s := a[i*n+j]
			for k := 0; k < j; k++ {
				s -= a[i*n+k] * a[j*n+k]
			}
			a[i*n+j] = s / d
		}
	}
	x := b
	for i := 0; i < n; i++ { // L·y = b
		s := x[i]
		for k := 0; k < i; k++ {
			s -= a[i*n+k] * x[k]
		}
		x[i] = s / a[i*n+i]
	}
	for i := n - 1; i >= 0; i-- { // Lᵀ·x = y
		s := x[i]
		for k := i + 1; k < n; k++ {
			s -= a[k*n+i] * x[k]
		}
		x[i] = s / a[i*n+i]
	}
	return x, nil
}

// ridge fits y ≈ c + X·β by weighted least squares with an L2 penalty
// alpha·|β|² on the coefficients, not the intercept, as scikit-learn's
// Ridge with sample weights does: X (rows of p features) and y are centred
// on their weighted means, and β solves (XᵀWX + αI)β = XᵀWy. It returns β,
// the intercept c and the weighted R² of the fit.
func ridge(X [][]float64, y, w []float64, alpha float64) (beta []float64, c, r2 float64, err error) {
	n, p := len(X), 0
	if n > 0 {
		p = len(X[0])
	}
	sw := sum(w)
	if n == 0 || !(sw > 0) {
		return nil, 0, 0, fmt.Errorf("explain: no weighted samples to fit")
	}
	xm, ym := make([]float64, p), 0.0
	for i, row := range X {
		for j, v := range row {
			xm[j] += w[i] * v
		}
		ym += w[i] * y[i]
	}
	for j := range xm {
		xm[j] /= sw
	}
	ym /= sw
	a, b := make([]float64, p*p), make([]float64, p)
	xc := make([]float64, p)
	for i, row := range X {
		for j, v := range row {
			xc[j] = v - xm[j]
		}
		yc := y[i] - ym
		for j := 0; j < p; j++ {
			wj := w[i] * xc[j]
			b[j] += wj * yc
			for k := 0; k <= j; k++ {
				a[j*p+k] += wj * xc[k]
			}
		}
	}
	tr := 0.0
	for j := 0; j < p; j++ {
		tr += a[j*p+j]
	}
	// A tiny relative jitter keeps a system without penalty solvable when a
	// feature never varies.
	jitter := alpha + 1e-12*(tr/float64(max(p, 1))+1)
	for j := 0; j < p; j++ {
		a[j*p+j] += jitter
		for k := 0; k < j; k++ {
			a[k*p+j] = a[j*p+k]
		}
	}
	beta, err = solve(a, b, p)
	if err != nil {
		return nil, 0, 0, err
	}
	c = ym
	for j := range beta {
		c -= beta[j] * xm[j]
	}
	var ss, st float64
	for i, row := range X {
		f := c
		for j, v := range row {
			f += beta[j] * v
		}
		ss += w[i] * (y[i] - f) * (y[i] - f)
		st += w[i] * (y[i] - ym) * (y[i] - ym)
	}
	r2 = 1
	if st > 0 {
		r2 = 1 - ss/st
	}
	return beta, c, r2, nil
}
