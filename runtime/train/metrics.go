package train

import (
	"fmt"
	"strings"

	"github.com/nngen/nngen/runtime/data"
	"github.com/nngen/nngen/runtime/metric"
)

// MetricModel is implemented by a generated model: Metrics are its spec's
// metrics, by Keras's names. A model that does not implement it reports
// its accuracy, and a model of named loss terms (LossTerms) its terms.
type MetricModel interface {
	Metrics() []string
}

// metricsOf returns the metrics that m reports besides its loss.
func metricsOf(m Model) []string {
	if lt, ok := m.(LossTerms); ok {
		return lt.LossTermNames()
	}
	if mm, ok := m.(MetricModel); ok {
		return mm.Metrics()
	}
	return []string{"accuracy"}
}

// scores are the named values of one report, in order: an epoch's history
// row or eval's line.
type scores struct {
	keys []string
	vals []float64
}

func (s *scores) add(key string, v float64) {
	s.keys = append(s.keys, key)
	s.vals = append(s.vals, v)
}

// get returns the value of key and whether s has it.
func (s *scores) get(key string) (float64, bool) {
	for i, k := range s.keys {
		if k == key {
			return s.vals[i], true
		}
	}
	return 0, false
}

// logfmt formats s as " key=value ..." with four decimals.
func (s *scores) logfmt() string {
	var b strings.Builder
	for i, k := range s.keys {
		fmt.Fprintf(&b, " %s=%.4f", k, s.vals[i])
	}
	return b.String()
}

// prefixed is name with the prefix of a set: "val_" + name, or name for the
// training set.
func prefixed(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "_" + name
}

// evaluateInto adds the loss and metrics of m on set, under the keys
// prefix_loss and prefix_<metric>, to s.
func evaluateInto(s *scores, m Model, set *data.Set, prefix string) {
	if lt, ok := m.(LossTerms); ok {
		loss, terms := lt.EvaluateTerms(set)
		s.add(prefixed(prefix, "loss"), loss)
		for i, name := range lt.LossTermNames() {
			s.add(prefixed(prefix, name), terms[i])
		}
		return
	}
	loss, acc := m.Evaluate(set)
	s.add(prefixed(prefix, "loss"), loss)
	outputs := lazyOutputs(m, set)
	for _, name := range metricsOf(m) {
		v := acc
		if !modelCounts(m, name) {
			v = metric.Compute(name, outputs(), classesOf(m), targetsOf(set))
		}
		s.add(prefixed(prefix, name), v)
	}
}

// trainScores adds the training loss and metrics of an epoch to s: the
// mean loss and accuracy of its batches, as Keras reports them, and the
// other metrics of m on the whole training set after the epoch.
func trainScores(s *scores, m Model, set *data.Set, loss, acc float64) {
	s.add("loss", loss)
	if _, ok := m.(LossTerms); ok {
		return
	}
	outputs := lazyOutputs(m, set)
	for _, name := range metricsOf(m) {
		v := acc
		if !modelCounts(m, name) {
			v = metric.Compute(name, outputs(), classesOf(m), targetsOf(set))
		}
		s.add(name, v)
	}
}

// modelCounts reports whether metric name is the accuracy that m counts
// itself (Evaluate's and TrainBatch's): accuracy and its aliases, but
// binary_accuracy only for one output value (of several, it thresholds
// each).
func modelCounts(m Model, name string) bool {
	return metric.IsAccuracy(name) && (name != "binary_accuracy" || classesOf(m) == 1)
}

// lazyOutputs returns a function that runs m on every sample of set once,
// when first called, and returns the outputs.
func lazyOutputs(m Model, set *data.Set) func() []float32 {
	var out []float32
	return func() []float32 {
		if out == nil {
			out = predictAll(m, set.X, set.N)
		}
		return out
	}
}

// predictAll runs m on the n samples x.
func predictAll(m Model, x []float32, n int) []float32 {
	out := make([]float32, n*size(m.OutputShape()))
	if n > 0 {
		m.Predict(x[:n*size(m.InputShape())], out)
	}
	return out
}

// classesOf is the number of values of one output row of m: its classes,
// or 1 for a binary classifier or a regression of one value.
func classesOf(m Model) int {
	out := m.OutputShape()
	if len(out) == 0 {
		return 1
	}
	return out[len(out)-1]
}

func targetsOf(set *data.Set) metric.Targets {
	return metric.Targets{Labels: set.Labels, Y: set.Y}
}

// monitorMode reports whether the monitored quantity name improves by
// growing, as Keras's mode "auto" decides: accuracies, AUC, precision and
// recall do; losses and errors do not.
func monitorMode(name string) (maximize bool) {
	base := name
	for _, p := range []string{"val_", "test_"} {
		base = strings.TrimPrefix(base, p)
	}
	switch {
	case base == "loss", strings.HasSuffix(base, "loss"), !metric.Known(base) && !strings.Contains(base, "acc"):
		return false
	}
	return metric.ForClassifier(base)
}
