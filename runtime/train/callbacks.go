package train

import (
	"flag"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// LearningRateModel is implemented by a generated model: LearningRate is
// the learning rate of its next train step and SetLearningRateFactor
// multiplies the spec's (after its schedule) by f from then on.
type LearningRateModel interface {
	LearningRate() float64
	SetLearningRateFactor(f float64)
}

// callbacks are the train command's flags that act on each epoch's
// report, as Keras's callbacks: EarlyStopping(restore_best_weights=True),
// ModelCheckpoint(save_best_only=True) and ReduceLROnPlateau. They share
// one monitored quantity and one min_delta.
type callbacks struct {
	monitor  string
	minDelta float64
	patience int     // --early-stopping; 0: off
	saveBest bool    // --save-best
	plateau  int     // --reduce-lr-on-plateau patience; 0: off
	factor   float64 // and its factor

	maximize  bool
	best      float64 // the best monitored value so far
	bestEpoch int     // and its epoch; 0 before the first
	wait      int     // epochs without improvement, for early stopping
	lrWait    int     // and for the plateau
	lrFactor  float64 // the learning rate factor the plateau set
	weights   []any   // copies of the parameters of the best epoch
}

func defineCallbacks(fs *flag.FlagSet) *callbacks {
	c := &callbacks{factor: 0.1, lrFactor: 1}
	fs.IntVar(&c.patience, "early-stopping", 0, "stop after `PATIENCE` epochs without improvement of --monitor and restore the best\nepoch's weights (Keras's EarlyStopping with restore_best_weights)")
	fs.StringVar(&c.monitor, "monitor", "val_loss", "the `NAME` in the epoch report that --early-stopping, --save-best and\n--reduce-lr-on-plateau watch; accuracies, auc, precision and recall improve upwards, the others downwards")
	fs.Float64Var(&c.minDelta, "min-delta", 0, "the least change of --monitor that counts as an improvement, `D`")
	fs.BoolVar(&c.saveBest, "save-best", false, "save --checkpoint only after an epoch that improves --monitor")
	fs.Func("reduce-lr-on-plateau", "multiply the learning rate by FACTOR (default 0.1) after `PATIENCE[,FACTOR]` epochs\nwithout improvement of --monitor (Keras's ReduceLROnPlateau)", func(s string) error {
		p, f, hasF := strings.Cut(s, ",")
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return fmt.Errorf("patience %q is not a whole number of at least 1", p)
		}
		c.plateau = n
		if hasF {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || !(v > 0 && v < 1) {
				return fmt.Errorf("factor %q is not a number in (0, 1)", f)
			}
			c.factor = v
		}
		return nil
	})
	return c
}

// check reports a usage error for flags that do not fit together or the
// model, before training: keys are the names that every epoch's report
// will have.
func (c *callbacks) check(m Model, checkpoint string, keys []string) error {
	switch {
	case c.patience < 0:
		return usagef("--early-stopping must be at least 1, not %d", c.patience)
	case c.minDelta < 0:
		return usagef("--min-delta must not be negative, not %v", c.minDelta)
	case c.saveBest && checkpoint == "":
		return usagef("--save-best needs --checkpoint F")
	case !c.active():
		return nil
	case !slices.Contains(keys, c.monitor):
		return usagef("--monitor %s is not in the epoch report, which has %s", c.monitor, strings.Join(keys, ", "))
	}
	if _, ok := m.(LearningRateModel); c.plateau > 0 && !ok {
		return fmt.Errorf("--reduce-lr-on-plateau: the model cannot change its learning rate (regenerate it with this nngen)")
	}
	c.maximize = monitorMode(c.monitor)
	c.best = math.Inf(1)
	if c.maximize {
		c.best = math.Inf(-1)
	}
	return nil
}

// active reports whether any callback watches the monitored value.
func (c *callbacks) active() bool { return c.patience > 0 || c.saveBest || c.plateau > 0 }

// epochEnd looks at the report s of epoch e and reports whether it
// improved on the best (then remembers the weights for early stopping),
// whether training should stop, and the new learning rate factor when the
// plateau lowered it.
func (c *callbacks) epochEnd(m Model, e int, s *scores) (improved, stop bool) {
	if !c.active() {
		return false, false
	}
	v, _ := s.get(c.monitor)
	if c.maximize {
		improved = v-c.minDelta > c.best
	} else {
		improved = v+c.minDelta < c.best
	}
	if improved {
		c.best, c.bestEpoch, c.wait, c.lrWait = v, e, 0, 0
		if c.patience > 0 {
			c.keep(m)
		}
		return true, false
	}
	c.wait++
	if c.plateau > 0 {
		if c.lrWait++; c.lrWait >= c.plateau {
			c.lrWait = 0
			c.lrFactor *= c.factor
			m.(LearningRateModel).SetLearningRateFactor(c.lrFactor)
		}
	}
	return false, c.patience > 0 && c.wait >= c.patience
}

// keep copies the parameters of m.
func (c *callbacks) keep(m Model) {
	ts := m.Tensors(false)
	if c.weights == nil {
		c.weights = make([]any, len(ts))
	}
	for i, t := range ts {
		switch d := t.Data.(type) {
		case []float32:
			w, _ := c.weights[i].([]float32)
			c.weights[i] = append(w[:0], d...)
		case []float64:
			w, _ := c.weights[i].([]float64)
			c.weights[i] = append(w[:0], d...)
		}
	}
}

// restore puts the best epoch's parameters back into m, if early stopping
// kept them and the last epoch was not the best; it reports whether it did.
func (c *callbacks) restore(m Model, last int) bool {
	if c.patience == 0 || c.weights == nil || c.bestEpoch == last {
		return false
	}
	for i, t := range m.Tensors(false) {
		switch d := t.Data.(type) {
		case []float32:
			copy(d, c.weights[i].([]float32))
		case []float64:
			copy(d, c.weights[i].([]float64))
		}
	}
	return true
}

// lrMeta is the learning rate factor in a checkpoint's metadata, so that
// a resumed run goes on with it.
func (c *callbacks) lrMeta(meta map[string]string) map[string]string {
	if c.lrFactor != 1 {
		meta["lr_factor"] = strconv.FormatFloat(c.lrFactor, 'g', -1, 64)
	}
	return meta
}
