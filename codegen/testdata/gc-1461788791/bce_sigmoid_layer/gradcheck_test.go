package bce_sigmoid_layer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

const lossKind = "binary_crossentropy"

// sameAtInference reports whether Forward computes what ComputeGradients
// does (no dropout).
const sameAtInference = true

// buffers names the non-trainable tensors, which Tensors lists too.
var buffers = map[string]bool{}

// TestGradCheck compares the gradient that ComputeGradients writes for
// every parameter with the central finite difference of the loss it returns.
func TestGradCheck(t *testing.T) {
	m := New(1)
	r := rand.New(rand.NewPCG(1, 2))
	x := m.Input()
	for i := range x {
		x[i] = Float(2*r.Float64() - 1)
	}
	y := m.Target()
	rows, c := BatchSize*rowsPerSample, OutputSize/rowsPerSample
	for i := range rows {
		row := y[i*c:][:c]
		if lossKind == "categorical_crossentropy" || lossKind == "sparse_categorical_crossentropy" {
			row[r.IntN(c)] = 1
			continue
		}
		for j := range row {
			row[j] = Float(0.05 + 0.9*r.Float64())
		}
	}
	p := m.Params()
	for i := range p { // move the biases off zero too
		p[i] += Float(0.2*r.Float64() - 0.1)
	}
	names := paramNames(m)

	loss, _ := m.ComputeGradients()
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		t.Fatalf("loss is %v", loss)
	}
	checkLoss(t, m, loss)
	analytic := append([]Float(nil), m.Grads()...)

	type mismatch struct {
		i                 int
		analytic, numeric float64
		excess            float64 // error over tolerance
	}
	var bad []mismatch
	const h = 1e-6
	for i := range p {
		orig := p[i]
		p[i] = orig + h
		hi := float64(p[i])
		lp, _ := m.ComputeGradients()
		p[i] = orig - h
		lo := float64(p[i])
		lm, _ := m.ComputeGradients()
		p[i] = orig
		num := (lp - lm) / (hi - lo)
		a := float64(analytic[i])
		tol := 1e-6 * max(1, math.Abs(a), math.Abs(num))
		if d := math.Abs(a - num); !(d <= tol) {
			bad = append(bad, mismatch{i, a, num, d / tol})
		}
	}
	if len(bad) > 0 {
		sort.Slice(bad, func(i, j int) bool { return bad[i].excess > bad[j].excess })
		msg := fmt.Sprintf("gradient mismatch in %d of %d parameters (loss %s), worst:", len(bad), len(p), lossKind)
		for _, b := range bad[:min(len(bad), 6)] {
			msg += fmt.Sprintf("\n\tp[%d] %s: analytic %.10g, numeric %.10g (%.3gx the tolerance)", b.i, names[b.i], b.analytic, b.numeric, b.excess)
		}
		t.Error(msg)
	}

	// The gradient is a function of the parameters and the batch alone:
	// nothing accumulates across calls.
	loss2, _ := m.ComputeGradients()
	if loss2 != loss {
		t.Errorf("ComputeGradients returned loss %v, then %v for the same parameters", loss, loss2)
	}
	for i, g := range m.Grads() {
		if g != analytic[i] {
			t.Errorf("p[%d] %s: ComputeGradients gave gradient %v, then %v for the same parameters", i, names[i], analytic[i], g)
			break
		}
	}
}

// paramNames names every element of the flat parameter array, like
// dense_1.weight[7].
func paramNames(m *Model) []string {
	var names []string
	for _, ts := range m.Tensors(false) {
		if buffers[ts.Name] {
			continue
		}
		n := len(ts.Data.([]Float))
		for k := range n {
			names = append(names, fmt.Sprintf("%s[%d]", ts.Name, k))
		}
	}
	if len(names) != NumParams {
		panic(fmt.Sprintf("tensors hold %d values, want %d", len(names), NumParams))
	}
	return names
}

// checkLoss recomputes the loss from the inference outputs, by Keras's
// definitions, when training and inference compute the same function.
func checkLoss(t *testing.T, m *Model, got float64) {
	if !sameAtInference {
		return
	}
	var out [BatchSize * OutputSize]Float
	x, y := *m.Input(), *m.Target()
	m.Forward(&x, &out)
	rows, c := BatchSize*rowsPerSample, OutputSize/rowsPerSample
	clip := func(v Float) float64 { return min(max(float64(v), 1e-7), 1-1e-7) }
	var sum float64
	for i := range rows {
		for j := range c {
			p, tv := out[i*c+j], float64(y[i*c+j])
			switch lossKind {
			case "categorical_crossentropy", "sparse_categorical_crossentropy":
				sum -= tv * math.Log(clip(p))
			case "binary_crossentropy":
				q := clip(p)
				sum -= (tv*math.Log(q) + (1-tv)*math.Log(1-q)) / float64(c)
			case "mse", "mean_squared_error":
				sum += (float64(p) - tv) * (float64(p) - tv) / float64(c)
			default:
				t.Fatalf("no reference for loss %s", lossKind)
			}
		}
	}
	want := sum / float64(rows)
	if math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
		t.Errorf("ComputeGradients returned loss %.15g; the %s of the outputs of Forward is %.15g", got, lossKind, want)
	}
}
