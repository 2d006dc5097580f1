package train

import (
	"cmp"
	"fmt"
	"io"

	"github.com/nngen/nngen/runtime/data"
)

// Options are Fit's settings: the train command's flags, by field.
type Options struct {
	Epochs int // epochs to train, at least 1
	// Checkpoint, when set, is saved after every epoch, or with SaveBest
	// only after an epoch that improves Monitor.
	Checkpoint string
	SaveBest   bool
	// EarlyStopping stops after that many epochs without improvement of
	// Monitor and restores the best epoch's weights (0: never).
	EarlyStopping int
	Monitor       string  // the report's name to watch ("": val_loss)
	MinDelta      float64 // the least change that counts as an improvement
	// ReduceLROnPlateau multiplies the learning rate by PlateauFactor
	// (0: 0.1) after that many epochs without improvement (0: never).
	ReduceLROnPlateau int
	PlateauFactor     float64
	History, Plot     string // a CSV of the epochs' reports, a PNG of the curves ("": none)
	// ClassWeight, when set, is the weight of each class's samples in the
	// training loss, by class id (Keras's class_weight; classes past its
	// end weigh 1; BalancedClassWeight gives Keras's "balanced"): m must be
	// a ClassWeighter. Nil leaves the model's (the spec's class_weight).
	ClassWeight []float64
	Out         io.Writer // the epoch lines and the summary line (nil: none)
}

// Epoch is one epoch's report, under Keras's history names: loss,
// accuracy, val_loss, val_accuracy, …
type Epoch struct {
	Epoch   int
	Values  map[string]float64
	LR      float64 // the learning rate at the epoch's start (NaN: unknown)
	Seconds float64
}

// Fit trains m on trainSet, validating on val after each epoch (nil:
// none), as the train command does with the same options: a model that
// has not trained yet (Step 0) first adapts its Normalization layers to
// trainSet's inputs. It returns every epoch's report.
func Fit(m Model, trainSet, val *data.Set, o Options) ([]Epoch, error) {
	if o.Epochs < 1 {
		return nil, fmt.Errorf("train: Fit needs at least 1 epoch, not %d", o.Epochs)
	}
	if o.PlateauFactor != 0 && !(o.PlateauFactor > 0 && o.PlateauFactor < 1) {
		return nil, fmt.Errorf("train: PlateauFactor %v is not in (0, 1)", o.PlateauFactor)
	}
	cb := &callbacks{monitor: cmp.Or(o.Monitor, "val_loss"), minDelta: o.MinDelta, patience: o.EarlyStopping, saveBest: o.SaveBest,
		plateau: o.ReduceLROnPlateau, factor: cmp.Or(o.PlateauFactor, 0.1), lrFactor: 1}
	if err := cb.check(m, o.Checkpoint, reportKeys(m, val != nil, false)); err != nil {
		return nil, fmt.Errorf("train: %v", err)
	}
	if a, ok := m.(Adapter); ok && m.Step() == 0 {
		a.Adapt(trainSet.X, trainSet.N)
	}
	if o.ClassWeight != nil {
		cw, ok := m.(ClassWeighter)
		if !ok {
			return nil, fmt.Errorf("train: ClassWeight: model %s is not a classifier of one label per sample", m.Name())
		}
		if err := cw.SetClassWeight(o.ClassWeight); err != nil {
			return nil, fmt.Errorf("train: ClassWeight: %v", err)
		}
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	r := &run{m: m, train: trainSet, val: val, epochs: o.Epochs, save: o.Checkpoint, out: out, stderr: out,
		name: m.Name(), quiet: o.Out == nil, cb: cb, histPath: o.History, plotPath: o.Plot}
	err := r.loop(0)
	var eps []Epoch
	for _, row := range r.hist.rows {
		e := Epoch{Epoch: row.epoch, Values: map[string]float64{}, LR: row.lr, Seconds: row.seconds}
		for i, k := range r.hist.keys {
			e.Values[k] = row.vals[i]
		}
		eps = append(eps, e)
	}
	return eps, err
}
