package train

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/nngen/nngen/runtime/data"
)

// ClassWeighter is a classifier of one label per sample, whose training
// loss weighs each sample by its class's weight (Keras's class_weight).
type ClassWeighter interface {
	// SetClassWeight sets the weights of classes 0 to len(w)−1 (the others
	// weigh 1); nil restores the spec's.
	SetClassWeight(w []float64) error
}

// classWeightFlag is train's --class-weight: weights by class id, or
// balanced.
type classWeightFlag struct {
	w        []float64
	balanced bool
	set      bool
}

func defineClassWeight(fs *flag.FlagSet) *classWeightFlag {
	c := &classWeightFlag{}
	fs.Func("class-weight", "weigh each training sample's loss by its class, as Keras's class_weight: `W` is\nCLASS:WEIGHT,... (0:1,1:5; classes not named weigh 1) or balanced, N/(classes·count) of the\ntraining set", func(s string) error {
		w, balanced, err := ParseClassWeight(s)
		c.w, c.balanced, c.set = w, balanced, true
		return err
	})
	return c
}

// ParseClassWeight reads class weights written CLASS:WEIGHT,... (0:1,1:5)
// into weights by class id (classes not named weigh 1), or "balanced".
func ParseClassWeight(s string) (w []float64, balanced bool, err error) {
	if strings.TrimSpace(s) == "balanced" {
		return nil, true, nil
	}
	byClass := map[int]float64{}
	hi := -1
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), ":")
		c, err1 := strconv.Atoi(strings.TrimSpace(k))
		f, err2 := strconv.ParseFloat(strings.TrimSpace(v), 64)
		switch {
		case !ok || err1 != nil || err2 != nil || c < 0:
			return nil, false, fmt.Errorf("%q is not CLASS:WEIGHT (a class id from 0 and a number)", part)
		case f < 0 || f != f || f > 1e300:
			return nil, false, fmt.Errorf("class %d: weight %v is not a finite number of 0 or more", c, f)
		}
		if _, dup := byClass[c]; dup {
			return nil, false, fmt.Errorf("class %d is given twice", c)
		}
		byClass[c], hi = f, max(hi, c)
	}
	w = make([]float64, hi+1)
	for c := range w {
		w[c] = 1
		if f, ok := byClass[c]; ok {
			w[c] = f
		}
	}
	return w, false, nil
}

// BalancedClassWeight returns Keras's (scikit-learn's) balanced weights of
// the classes of set: n_samples / (n_classes · count_c), n_classes the
// classes that occur; a class that does not occur weighs 1. The class of a
// sample is its label, or for targets its largest value (one value:
// whether it is at least ½).
func BalancedClassWeight(set *data.Set) []float64 {
	var count []int
	add := func(c int) {
		for len(count) <= c {
			count = append(count, 0)
		}
		count[c]++
	}
	switch {
	case set.Labels != nil:
		count = make([]int, set.Classes)
		for _, l := range set.Labels {
			add(int(l))
		}
	case set.Width == 1:
		count = make([]int, 2)
		for _, y := range set.Y {
			add(boolInt(y >= 0.5))
		}
	default:
		count = make([]int, set.Width)
		for r := range set.N {
			row, c := set.Y[r*set.Width:(r+1)*set.Width], 0
			for j := range row {
				if row[j] > row[c] {
					c = j
				}
			}
			add(c)
		}
	}
	present, n := 0, 0
	for _, k := range count {
		if k > 0 {
			present++
			n += k
		}
	}
	w := make([]float64, len(count))
	for c, k := range count {
		w[c] = 1
		if k > 0 {
			w[c] = float64(n) / float64(present*k)
		}
	}
	return w
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// apply sets m's class weights from the flag, computing balanced ones
// from the training set; it says which it set unless quiet.
func (c *classWeightFlag) apply(m Model, train *data.Set) ([]float64, error) {
	if !c.set {
		return nil, nil
	}
	cw, ok := m.(ClassWeighter)
	if !ok {
		return nil, usagef("--class-weight: model %s is not a classifier of one label per sample", m.Name())
	}
	w := c.w
	if c.balanced {
		w = BalancedClassWeight(train)
	}
	if err := cw.SetClassWeight(w); err != nil {
		return nil, fmt.Errorf("--class-weight: %v", err)
	}
	return w, nil
}

// formatClassWeight writes w as CLASS:WEIGHT,...
func formatClassWeight(w []float64) string {
	var parts []string
	for c, f := range w {
		parts = append(parts, fmt.Sprintf("%d:%.4g", c, f))
	}
	return strings.Join(parts, ",")
}
