package train

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"strings"

	"github.com/nngen/nngen/runtime/data"
)

// openData returns the data source at path (data.Open); tests replace it.
var openData = data.Open

// dataFlags are the flags that name a model's data: --data PATH with
// --labels and --label-column, or --text FILE for a text model.
type dataFlags struct {
	path, labels string
	paths        []string // every --data, one per input of a model of several
	columns      []string
	text         *string // "" for a model that reads no text
}

// defineData defines the data flags on fs, what saying what the data is
// for ("train on", "evaluate on").
func defineData(m Model, fs *flag.FlagSet, what string) *dataFlags {
	d := &dataFlags{}
	fs.Func("data", what+" the data at `PATH`: a folder of MNIST IDX files, a folder of class\nsub-folders of images, a .csv[.gz] table, or a .npy array (with --labels); for a model of\nseveral inputs, once per input in their order (the targets come with the first), or once\nfor all of them side by side", func(s string) error {
		d.paths = append(d.paths, s)
		d.path = strings.Join(d.paths, " + ")
		return nil
	})
	fs.StringVar(&d.labels, "labels", "", "the targets of --data in a `FILE` of their own: .npy, or .csv (every column a target)")
	fs.Func("label-column", "the label column of a --data table, by header `NAME` or 0-based INDEX (default: the last);\nrepeat it, or give a comma-separated list, for several targets", func(s string) error {
		for c := range strings.SplitSeq(s, ",") {
			if c = strings.TrimSpace(c); c == "" {
				return fmt.Errorf("empty column in %q", s)
			}
			d.columns = append(d.columns, c)
		}
		return nil
	})
	d.text = textFlag(m, fs)
	return d
}

// check reports a usage error if no data was given.
func (d *dataFlags) check(m Model) error {
	if d.path == "" && *d.text == "" {
		return usagef("%s is required", dataFlag(m))
	}
	return nil
}

// load loads the data for m: its training set and its test split, nil
// when the source has none.
func (d *dataFlags) load(m Model) (train, test *data.Set, err error) {
	if tm, ok := m.(TextModel); ok && *d.text != "" {
		src := data.Text{Path: *d.text, Vocab: tm.Vocabulary()}
		return loadSource(m, src)
	}
	src, err := openSources(m, d.paths, data.Options{Labels: d.labels, LabelColumns: d.columns})
	if err != nil {
		return nil, nil, fmt.Errorf("--data %w", err)
	}
	return loadSource(m, src)
}

// MultiInput is a model of several named inputs: a sample's input holds
// theirs side by side, in this order.
type MultiInput interface {
	InputNames() []string
	InputShapes() [][]int
}

// openSources opens the data at paths: one source with every input, or
// for a model of several inputs one per input (data.Joined), the first
// with the targets.
func openSources(m Model, paths []string, o data.Options) (data.Source, error) {
	if len(paths) == 1 {
		return openData(paths[0], o)
	}
	mi, ok := m.(MultiInput)
	if !ok || len(mi.InputNames()) != len(paths) {
		n := 1
		if ok {
			n = len(mi.InputNames())
		}
		if n == 1 {
			return nil, fmt.Errorf("given %d times: the model has one input", len(paths))
		}
		return nil, fmt.Errorf("given %d times: the model has %d inputs%s", len(paths), n, inputList(m))
	}
	j := data.Joined{Inputs: mi.InputShapes(), Names: mi.InputNames()}
	for i, p := range paths {
		if i > 0 {
			o = data.Options{}
		}
		src, err := openData(p, o)
		if err != nil {
			return nil, err
		}
		j.Parts = append(j.Parts, src)
	}
	return j, nil
}

// loadSource loads src for m and checks that its sets fit m.
func loadSource(m Model, src data.Source) (train, test *data.Set, err error) {
	if train, test, err = src.Load(shapesOf(m)); err != nil {
		return nil, nil, err
	}
	for _, s := range []*data.Set{train, test} {
		if s == nil {
			continue
		}
		if err := fits(m, s); err != nil {
			return nil, nil, fmt.Errorf("%s: %v", src, err)
		}
	}
	return train, test, nil
}

// inputTargets is implemented by the models whose targets are their
// inputs (autoencoders).
type inputTargets interface{ TargetIsInput() bool }

// targetIsInput reports whether m's targets are its inputs.
func targetIsInput(m Model) bool {
	t, ok := m.(inputTargets)
	return ok && t.TargetIsInput() || isAutoencoder(m)
}

// shapesOf is what m takes: its input and output shapes, no output for an
// autoencoder (its targets are its inputs).
func shapesOf(m Model) data.Shapes {
	s := data.Shapes{Input: m.InputShape(), Output: m.OutputShape()}
	if targetIsInput(m) {
		s.Output = nil
	}
	return s
}

// fits reports an error if the samples or the targets of s do not fit m:
// the generated models copy them without looking.
func fits(m Model, s *data.Set) error {
	if s.SampleSize() != size(m.InputShape()) {
		return fmt.Errorf("samples of shape %s do not fit the model's input shape %s%s", fmtShape(s.Shape), fmtShape(m.InputShape()), inputList(m))
	}
	out := size(m.OutputShape())
	switch {
	case targetIsInput(m):
	case s.Labels != nil && s.Classes*max(s.Steps, 1) != out:
		return fmt.Errorf("labels of %d classes (%d steps) do not fit the model's output %s", s.Classes, max(s.Steps, 1), fmtShape(m.OutputShape()))
	case s.Labels == nil && s.Y == nil:
		return fmt.Errorf("no labels or targets")
	case s.Labels == nil && s.Width != out:
		return fmt.Errorf("targets of %d values do not fit the model's output %s", s.Width, fmtShape(m.OutputShape()))
	}
	if tm, ok := m.(tokenModel); ok {
		v, n := tm.Vocabulary(), s.SampleSize()
		for i, x := range s.X {
			if float64(x) != math.Trunc(float64(x)) || x < 0 || int(x) >= v {
				return fmt.Errorf("sample %d, value %d: %v is not a token id, an integer in [0, %d)", i/n, i%n, x, v)
			}
		}
	}
	return s.Validate()
}

// tokenModel is a model whose input is token ids (an Embedding reads it):
// every input value must be an integer below Vocabulary.
type tokenModel interface{ Vocabulary() int }

// validation are the train command's flags for validation data.
type validation struct {
	split        float64
	path, labels string
	paths        []string
}

func defineValidation(fs *flag.FlagSet) *validation {
	v := &validation{}
	fs.Float64Var(&v.split, "validation-split", 0, "validate on the last fraction `F` of the training data, taken before shuffling (as Keras's fit)")
	fs.Func("validation-data", "validate on the data at `PATH`, of a form --data takes (with the same --label-column;\nthe test split of MNIST); once per input as --data", func(s string) error {
		v.paths = append(v.paths, s)
		v.path = strings.Join(v.paths, " + ")
		return nil
	})
	fs.StringVar(&v.labels, "validation-labels", "", "the targets of --validation-data in a `FILE` of their own, as --labels")
	return v
}

// check reports a usage error for flags that do not go together.
func (v *validation) check() error {
	switch {
	case v.split != 0 && v.path != "":
		return usagef("--validation-split and --validation-data exclude each other")
	case v.split < 0 || v.split >= 1:
		return usagef("--validation-split must be in (0, 1), not %v", v.split)
	case v.labels != "" && v.path == "":
		return usagef("--validation-labels needs --validation-data")
	}
	return nil
}

// apply returns the training and validation sets: train split by
// --validation-split, or train and --validation-data's set, or train and
// nil.
func (v *validation) apply(m Model, d *dataFlags, train *data.Set) (*data.Set, *data.Set, error) {
	switch {
	case v.split > 0:
		t, val := train.Split(v.split)
		if val.N == 0 || t.N == 0 {
			return nil, nil, fmt.Errorf("--validation-split %v of %d samples leaves %d to train on and %d to validate on", v.split, train.N, t.N, val.N)
		}
		return t, val, nil
	case v.path != "":
		src, err := openSources(m, v.paths, data.Options{Labels: v.labels, LabelColumns: d.columns})
		if err != nil {
			return nil, nil, fmt.Errorf("--validation-data %w", err)
		}
		val, split, err := loadSource(m, src)
		if err != nil {
			return nil, nil, err
		}
		if split != nil { // MNIST: validate on its test split
			val = split
		}
		if err := sameClasses(train, val, v.path); err != nil {
			return nil, nil, err
		}
		return train, val, nil
	}
	return train, nil, nil
}

// sameClasses renumbers the classes of val, from the file pv, as train
// numbers them when both have class names (a CSV's numbers them in order
// of first appearance, an image folder's in the order of its folders). A
// class that train does not have is an error.
func sameClasses(train, val *data.Set, pv string) error {
	if train.ClassNames == nil || val.ClassNames == nil {
		return nil
	}
	id := map[string]int{}
	for i, n := range train.ClassNames {
		id[n] = i
	}
	to := make([]int, len(val.ClassNames))
	for i, n := range val.ClassNames {
		j, ok := id[n]
		if !ok {
			return fmt.Errorf("%s: class %q, which the training data does not have (it has %s)", pv, n, strings.Join(train.ClassNames, ", "))
		}
		to[i] = j
	}
	for i, l := range val.Labels {
		val.Labels[i] = int32(to[l])
	}
	if val.Labels == nil && val.Width == 1 {
		for i, y := range val.Y {
			if k := int(y); float32(k) == y && k >= 0 && k < len(to) {
				val.Y[i] = float32(to[k])
			}
		}
	}
	val.ClassNames = train.ClassNames
	return nil
}

// classMeta is the checkpoint metadata of the class names of s: the key
// class_names, a JSON list, when s has names.
func classMeta(s *data.Set, meta map[string]string) map[string]string {
	if s.ClassNames != nil {
		b, _ := json.Marshal(s.ClassNames)
		meta["class_names"] = string(b)
	}
	return meta
}

// inputList names the inputs of a model of several: " (left [3], right
// [2 2])"; "" for a model of one.
func inputList(m Model) string {
	mi, ok := m.(MultiInput)
	if !ok {
		return ""
	}
	var l []string
	for i, n := range mi.InputNames() {
		l = append(l, fmt.Sprintf("%s %v", n, mi.InputShapes()[i]))
	}
	return " (" + strings.Join(l, ", ") + ")"
}
