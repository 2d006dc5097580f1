// Package metric computes Keras's metrics of a model's outputs against
// their targets: the accuracies, top-k accuracy, precision, recall, ROC
// AUC, mean absolute and mean squared error, and the confusion matrix.
// Spec validation, the generated code and runtime/train share its table
// of names.
//
// Outputs are rows of c values, one row per sample (or per step of a
// sequence). Targets are either class ids, one per row, or rows of c
// values (one-hot, 0/1 for a binary classifier, or a regression's
// targets); a class id k stands for the one-hot row with a 1 at k, and for
// one output value (c == 1) for the value k itself.
package metric

import (
	"slices"
	"sort"
)

// Names are the metrics by Keras's names, aliases included, sorted.
var Names = []string{
	"acc", "accuracy", "auc", "binary_accuracy", "categorical_accuracy",
	"mae", "mean_absolute_error", "mean_squared_error", "mse",
	"precision", "recall", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
}

// Known reports whether name is one of Names.
func Known(name string) bool {
	_, ok := slices.BinarySearch(Names, name)
	return ok
}

// IsAccuracy reports whether name is the accuracy the model itself counts
// (Evaluate's and TrainBatch's): accuracy or one of its aliases.
func IsAccuracy(name string) bool {
	switch name {
	case "acc", "accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy":
		return true
	}
	return false
}

// ForClassifier reports whether name only means something for a
// classifier: an accuracy, precision, recall or AUC.
func ForClassifier(name string) bool {
	switch name {
	case "mae", "mean_absolute_error", "mse", "mean_squared_error":
		return false
	}
	return true
}

// TopK is Keras's default k of top_k_categorical_accuracy.
const TopK = 5

// Threshold is Keras's threshold of a predicted probability for precision,
// recall and binary accuracy.
const Threshold = 0.5

// Targets are the targets of n rows: Labels (a class id per row) or Y
// (c values per row).
type Targets struct {
	Labels []int32
	Y      []float32
}

// at is target j of row i of rows of c values.
func (t Targets) at(i, j, c int) float64 {
	if t.Labels == nil {
		return float64(t.Y[i*c+j])
	}
	if c == 1 {
		return float64(t.Labels[i])
	}
	if int(t.Labels[i]) == j {
		return 1
	}
	return 0
}

// class is the class of row i: its label, the largest target, or for one
// value, the value rounded at 0.5.
func (t Targets) class(i, c int) int {
	if c == 1 {
		if t.at(i, 0, 1) >= Threshold {
			return 1
		}
		return 0
	}
	if t.Labels != nil {
		return int(t.Labels[i])
	}
	return argmax(t.Y[i*c : (i+1)*c])
}

// Class is the class that the output row p predicts: the largest value's,
// or for one value, 1 if it is at least 0.5.
func Class(p []float32) int {
	if len(p) == 1 {
		if p[0] >= Threshold {
			return 1
		}
		return 0
	}
	return argmax(p)
}

func argmax(p []float32) int {
	k := 0
	for j, v := range p {
		if v > p[k] {
			k = j
		}
	}
	return k
}

// Compute returns metric name (one of Names) of the outputs out, rows of
// c values, against t. It is 0 for no rows.
func Compute(name string, out []float32, c int, t Targets) float64 {
	n := len(out) / c
	if n == 0 {
		return 0
	}
	switch name {
	case "acc", "accuracy", "sparse_categorical_accuracy", "categorical_accuracy":
		if c > 1 {
			return mean(n, func(i int) float64 { return b2f(Class(out[i*c:(i+1)*c]) == t.class(i, c)) })
		}
		fallthrough
	case "binary_accuracy": // every value on its own
		return meanAll(n, c, func(i, j int) float64 {
			return b2f((out[i*c+j] >= Threshold) == (t.at(i, j, c) >= Threshold))
		})
	case "top_k_categorical_accuracy":
		return mean(n, func(i int) float64 {
			row, k := out[i*c:(i+1)*c], t.class(i, c)
			above := 0
			for _, v := range row {
				if v > row[k] {
					above++
				}
			}
			return b2f(above < TopK)
		})
	case "precision", "recall":
		var tp, fp, fn float64
		for i := range n {
			for j := range c {
				p, y := out[i*c+j] > Threshold, t.at(i, j, c) >= Threshold
				switch {
				case p && y:
					tp++
				case p:
					fp++
				case y:
					fn++
				}
			}
		}
		d := tp + fp
		if name == "recall" {
			d = tp + fn
		}
		if d == 0 {
			return 0
		}
		return tp / d
	case "auc":
		return auc(out, c, n, t)
	case "mae", "mean_absolute_error":
		return meanAll(n, c, func(i, j int) float64 { d := float64(out[i*c+j]) - t.at(i, j, c); return max(d, -d) })
	case "mse", "mean_squared_error":
		return meanAll(n, c, func(i, j int) float64 { d := float64(out[i*c+j]) - t.at(i, j, c); return d * d })
	}
	panic("metric: unknown metric " + name)
}

// auc is the area under the ROC curve of every value as the score of a
// binary decision (Keras's AUC without multi_label), computed exactly: the
// probability that a positive scores above a negative, ties counting half.
func auc(out []float32, c, n int, t Targets) float64 {
	type pt struct {
		score float32
		pos   bool
	}
	pts := make([]pt, 0, n*c)
	for i := range n {
		for j := range c {
			pts = append(pts, pt{out[i*c+j], t.at(i, j, c) >= Threshold})
		}
	}
	sort.Slice(pts, func(a, b int) bool { return pts[a].score < pts[b].score })
	// The ranks of the positives, ties given their average rank.
	var rankSum, pos float64
	for lo := 0; lo < len(pts); {
		hi := lo
		for hi < len(pts) && pts[hi].score == pts[lo].score {
			hi++
		}
		rank := float64(lo+hi+1) / 2 // 1-based ranks lo+1 .. hi
		for _, p := range pts[lo:hi] {
			if p.pos {
				rankSum += rank
				pos++
			}
		}
		lo = hi
	}
	neg := float64(len(pts)) - pos
	if pos == 0 || neg == 0 {
		return 0
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// Confusion returns the confusion matrix of the outputs against t: entry
// [i][j] counts the rows of class i predicted as j. A model of one output
// value has the two classes 0 and 1.
func Confusion(out []float32, c int, t Targets) [][]int {
	k := max(c, 2)
	m := make([][]int, k)
	for i := range m {
		m[i] = make([]int, k)
	}
	for i := range len(out) / c {
		if y := t.class(i, c); y >= 0 && y < k {
			m[y][Class(out[i*c:(i+1)*c])]++
		}
	}
	return m
}

func mean(n int, f func(i int) float64) float64 {
	s := 0.0
	for i := range n {
		s += f(i)
	}
	return s / float64(n)
}

func meanAll(n, c int, f func(i, j int) float64) float64 {
	s := 0.0
	for i := range n {
		for j := range c {
			s += f(i, j)
		}
	}
	return s / float64(n*c)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
