package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// A Source is a data set on disk in one of the forms a generated binary
// reads. Load reads it into memory converted to what a model takes, holding
// no more than the one copy it returns and a buffer of one sample or block
// while reading.
type Source interface {
	// Load reads the samples, converted to s: inputs of s.Input's size and
	// targets that fit s.Output. test is the source's own test split, nil
	// when it has none (MNIST and text have one). Errors name the file and,
	// in a table, the line and column.
	Load(s Shapes) (train, test *Set, err error)
	// String names the source in messages: its path.
	String() string
}

// Shapes is what a model takes: the per-sample shapes a Source converts its
// samples to.
type Shapes struct {
	// Input is the input shape, e.g. [28, 28, 1]; a source's samples must
	// have as many values (an image folder is resized to it). Nil: any.
	Input []int
	// Output is the output shape, which the targets must fit: one class id
	// per row of its last axis (the classes), or a value per output. Nil:
	// the model takes no targets (an autoencoder), and none are read.
	Output []int
}

// Options are a source's settings beyond its path.
type Options struct {
	// Labels is a file of targets of its own, a .npy array or a .csv
	// table (every column a target), one row per sample of the data.
	Labels string
	// LabelColumns are the columns of a CSV table that hold the targets,
	// by header name or 0-based index (negative: from the end). None: the
	// last column.
	LabelColumns []string
}

// Open returns the source at path, by its form:
//
//   - a directory of MNIST IDX files (train-images-idx3-ubyte[.gz] and the
//     other three): MNIST;
//   - a directory of class sub-folders of images: ImageFolder;
//   - a .csv, .tsv or .txt table, gzipped or not (.csv.gz): CSV;
//   - a .npy array: NPY.
//
// o.Labels is for CSV and NPY data, o.LabelColumns for CSV only.
func Open(path string, o Options) (Source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if fi.IsDir() {
		if o.Labels != "" || len(o.LabelColumns) > 0 {
			return nil, fmt.Errorf("%s: a directory's labels come with it: --labels and --label-column are for a .csv or .npy file", path)
		}
		if isMNIST(path) {
			return MNIST{Dir: path}, nil
		}
		return ImageFolder{Dir: path}, nil
	}
	switch ext := formExt(path); ext {
	case ".csv", ".tsv", ".txt":
		if o.Labels != "" && len(o.LabelColumns) > 0 {
			return nil, fmt.Errorf("%s: the labels are either in a column (--label-column) or in a file of their own (--labels), not both", path)
		}
		return CSV{Path: path, LabelColumns: o.LabelColumns, Labels: o.Labels}, nil
	case ".npy":
		if len(o.LabelColumns) > 0 {
			return nil, fmt.Errorf("%s: --label-column is for a .csv table; the labels of a .npy array are a file of their own (--labels)", path)
		}
		return NPY{Path: path, Labels: o.Labels}, nil
	default:
		return nil, fmt.Errorf("%s: unknown form of data %q: want a directory (MNIST IDX files, or class sub-folders of images), a .csv[.gz] table or a .npy array", path, ext)
	}
}

// formExt is the extension that tells the form of the file path: that
// before a final .gz, lower-cased.
func formExt(path string) string {
	p := strings.ToLower(path)
	p = strings.TrimSuffix(p, ".gz")
	return filepath.Ext(p)
}

// A target is how a source's targets fill a Set.
type target struct {
	kind    targetKind
	classes int // the classes of the output's last axis (ids)
	rows    int // ids per sample: the output's rows (Steps when > 1)
	width   int // values per sample (values)
}

type targetKind int

const (
	noTargets    targetKind = iota
	idTargets               // one class id per row of the output: Labels
	valueTargets            // one value per output: Y
)

// targetOf returns how m targets per sample fill a Set for the output
// shape out; named says that they are class names (or folders), not
// numbers. One class id per row of the output's last axis becomes a label
// when that axis has several classes; a value per output becomes a target
// value (a one-output model, regression or binary, takes values, and class
// names of two classes become 0 and 1).
func targetOf(m int, out []int, named bool) (target, error) {
	if out == nil {
		return target{kind: noTargets}, nil
	}
	n := size(out)
	k := 1
	if len(out) > 0 {
		k = out[len(out)-1]
	}
	rows := n / max(k, 1)
	switch {
	case k > 1 && m == rows:
		return target{kind: idTargets, classes: k, rows: rows}, nil
	case m == n && named && n == 1:
		return target{kind: valueTargets, classes: 2, rows: 1, width: 1}, nil
	case m == n && !named:
		return target{kind: valueTargets, width: n}, nil
	case named:
		return target{}, fmt.Errorf("class labels need a classifier, one output (two classes) or an output of classes, but the model's output is %s", shapeString(out))
	case rows == 1:
		return target{}, fmt.Errorf("%d targets per sample, but the model's output %s takes one class id or %d values", m, shapeString(out), n)
	default:
		return target{}, fmt.Errorf("%d targets per sample, but the model's output %s takes %d class ids (one per row) or %d values", m, shapeString(out), rows, n)
	}
}

// classID checks that v is a class id of t and returns it.
func (t target) classID(v float64) (int32, error) {
	if v != float64(int32(v)) {
		return 0, fmt.Errorf("label %v is not a class id (an integer)", v)
	}
	if v < 0 || int(v) >= t.classes {
		return 0, fmt.Errorf("label %v is not a class of the model's output, 0 to %d", v, t.classes-1)
	}
	return int32(v), nil
}

// setTargets gives s the targets vals, m per sample, as t says: class ids
// (each checked) or values (each finite). at names sample i in errors.
func (s *Set) setTargets(t target, vals []float32, at func(i int) string) error {
	switch t.kind {
	case idTargets:
		s.Labels, s.Classes = make([]int32, len(vals)), t.classes
		if t.rows > 1 {
			s.Steps = t.rows
		}
		for i, v := range vals {
			id, err := t.classID(float64(v))
			if err != nil {
				return fmt.Errorf("%s: %v", at(i/t.rows), err)
			}
			s.Labels[i] = id
		}
	case valueTargets:
		for i, v := range vals {
			if err := finite(float64(v)); err != nil {
				return fmt.Errorf("%s: target %v", at(i/t.width), err)
			}
		}
		s.Y, s.Width = vals, t.width
		s.oneHotToLabels()
	}
	return nil
}

// oneHotToLabels turns targets of several outputs that are all one-hot
// rows of 0s and a 1 into class labels.
func (s *Set) oneHotToLabels() {
	if s.Width < 2 {
		return
	}
	labels := make([]int32, s.N)
	for i := range s.N {
		one := -1
		for j, v := range s.Y[i*s.Width : (i+1)*s.Width] {
			switch {
			case v == 1 && one < 0:
				one = j
			case v != 0:
				return
			}
		}
		if one < 0 {
			return
		}
		labels[i] = int32(one)
	}
	s.Labels, s.Classes, s.Y, s.Width = labels, s.Width, nil, 0
}

// setClassTargets gives s the class ids, one per sample, of the classes
// names (a CSV's class column, an image folder's sub-folders) as t says.
func (s *Set) setClassTargets(t target, labels []int32, names []string) {
	s.ClassNames = names
	switch t.kind {
	case idTargets:
		s.Labels, s.Classes = labels, t.classes
	case valueTargets:
		s.Y, s.Width = make([]float32, len(labels)), 1
		for i, l := range labels {
			s.Y[i] = float32(l)
		}
	}
}

// checkClasses reports an error if the classes named are more than t
// tells apart: the classes of its ids, or two for one output.
func (t target) checkClasses(names []string) error {
	switch {
	case t.kind == idTargets && len(names) > t.classes:
		return fmt.Errorf("%d classes (%s), but the model's output has %d", len(names), listNames(names), t.classes)
	case t.kind == valueTargets && t.width == 1 && len(names) > 2:
		return fmt.Errorf("%d classes (%s), but the model's one output tells two apart", len(names), listNames(names))
	}
	return nil
}

// listNames lists names for a message, the first few only.
func listNames(names []string) string {
	if len(names) > 6 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(", … %d more", len(names)-5)
	}
	return strings.Join(names, ", ")
}

// checkInput reports an error if samples of shape have another size than
// the model's input shape in (nil: any).
func checkInput(shape, in []int) error {
	if in == nil || size(shape) == size(in) {
		return nil
	}
	return fmt.Errorf("samples of shape %s (%d values) do not fit the model's input %s (%d values)", shapeString(shape), size(shape), shapeString(in), size(in))
}

// Split returns the first and the last part of s: the last holds the last
// frac of the samples (Keras's validation_split: the first
// floor(N·(1−frac)) samples train, the rest validate). Both share the
// arrays of s.
func (s *Set) Split(frac float64) (first, last *Set) {
	cut := int(float64(s.N) * (1 - frac))
	cut = min(max(cut, 0), s.N)
	a, b := *s, *s
	a.N, b.N = cut, s.N-cut
	w := s.SampleSize()
	a.X, b.X = s.X[:cut*w:cut*w], s.X[cut*w:]
	if s.Labels != nil {
		r := max(s.Steps, 1)
		a.Labels, b.Labels = s.Labels[:cut*r:cut*r], s.Labels[cut*r:]
	}
	if s.Y != nil {
		a.Y, b.Y = s.Y[:cut*s.Width:cut*s.Width], s.Y[cut*s.Width:]
	}
	return &a, &b
}

// size is the number of values of a tensor of the given shape.
func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// shapeString formats a shape as [28,28,1].
func shapeString(shape []int) string {
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(s, ",") + "]"
}
