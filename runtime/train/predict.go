package train

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nngen/nngen/runtime/data"
	"github.com/nngen/nngen/runtime/metric"
)

func runPredict(c *cli, fs *flag.FlagSet, args []string) error {
	var ins []string
	fs.Func("in", "read the inputs from `PATH`: a .npy array, a .csv[.gz] table (its feature columns;\na label column is skipped), an image file or a folder of images; for a model of several\ninputs, once per input in their order (.npy arrays), or once for all of them side by side", func(s string) error {
		ins = append(ins, s)
		return nil
	})
	out := fs.String("out", "", "write the outputs to the .npy or .csv `FILE` (for a classifier: class, name and probabilities)")
	var columns []string
	fs.Func("label-column", "the label column of an --in table, skipped, by header `NAME` or 0-based INDEX\n(default: none, or the last if the table has one column more than the model's input)", func(s string) error {
		columns = append(columns, strings.Split(s, ",")...)
		return nil
	})
	weights := weightsFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(ins) == 0 || *out == "" {
		return usagef("--in and --out are required")
	}
	outForm := strings.ToLower(filepath.Ext(*out))
	if outForm != ".npy" && outForm != ".csv" {
		return usagef("--out %s: want a .npy or .csv file", *out)
	}
	m := c.model
	meta, err := loadWeights(m, *weights)
	if err != nil {
		return err
	}
	names := classNames(nil, meta)
	x, n, one, err := readInputs(m, ins[0], columns, names)
	if len(ins) > 1 {
		x, n, one, err = readJoined(m, ins)
	}
	if err != nil {
		return err
	}
	y := predictAll(m, x, n)
	if outForm == ".npy" {
		shape := slices.Clone(m.OutputShape())
		if !one {
			shape = append([]int{n}, shape...)
		}
		return data.WriteNPY(*out, shape, y)
	}
	return writePredictions(*out, m, y, n, names)
}

// readInputs reads the samples of the --in path for m and returns them,
// their count and whether the file holds one sample without a batch axis
// (an .npy array of the input's shape).
func readInputs(m Model, path string, columns, names []string) (x []float32, n int, one bool, err error) {
	inShape := m.InputShape()
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, false, fmt.Errorf("--in %w", err)
	}
	lower := strings.ToLower(strings.TrimSuffix(path, ".gz"))
	switch {
	case fi.IsDir():
		paths, err := imageFiles(path)
		if err != nil {
			return nil, 0, false, err
		}
		return readImages(path, paths, inShape)
	case data.IsImageFile(path):
		return readImages(path, []string{path}, inShape)
	case strings.HasSuffix(lower, ".npy"):
		return readNPYInputs(path, inShape)
	case strings.HasSuffix(lower, ".csv"), strings.HasSuffix(lower, ".tsv"), strings.HasSuffix(lower, ".txt"):
		set, err := readTable(m, path, columns)
		if err != nil {
			return nil, 0, false, err
		}
		if err := seenClasses(path, set, names); err != nil {
			return nil, 0, false, err
		}
		return set.X, set.N, false, nil
	}
	return nil, 0, false, fmt.Errorf("--in %s: not a .npy, .csv, image file or folder of images", path)
}

// readJoined reads one .npy array per input of a model of several, and
// returns their samples side by side.
func readJoined(m Model, paths []string) (x []float32, n int, one bool, err error) {
	mi, ok := m.(MultiInput)
	if !ok || len(mi.InputShapes()) != len(paths) {
		_, err := openSources(m, paths, data.Options{})
		return nil, 0, false, fmt.Errorf("--in %v", err)
	}
	var sets []*data.Set
	for i, p := range paths {
		if !strings.HasSuffix(strings.ToLower(p), ".npy") {
			return nil, 0, false, fmt.Errorf("--in %s: one file per input is a .npy array each (or give one file of all inputs side by side)", p)
		}
		xi, ni, onei, err := readNPYInputs(p, mi.InputShapes()[i])
		if err != nil {
			return nil, 0, false, fmt.Errorf("%v (input %s)", err, mi.InputNames()[i])
		}
		one = onei
		sets = append(sets, &data.Set{N: ni, Shape: mi.InputShapes()[i], X: xi})
	}
	set, err := data.Join(sets...)
	if err != nil {
		return nil, 0, false, fmt.Errorf("--in: %v", err)
	}
	return set.X, set.N, one, nil
}

// readImages reads the image files paths, of the --in path, for the
// input shape.
func readImages(path string, paths []string, inShape []int) (x []float32, n int, one bool, err error) {
	if _, err := data.ReadImages(nil, inShape); err != nil {
		return nil, 0, false, fmt.Errorf("%s: %v", path, err)
	}
	x, err = data.ReadImages(paths, inShape)
	return x, len(paths), false, err
}

// readNPYInputs reads an .npy array of shape [n, input...] or [input...].
func readNPYInputs(path string, inShape []int) (x []float32, n int, one bool, err error) {
	shape, x, err := data.ReadNPY(path)
	if err != nil {
		return nil, 0, false, err
	}
	switch {
	case slices.Equal(shape, inShape):
		n, one = 1, true
	case len(shape) == len(inShape)+1 && slices.Equal(shape[1:], inShape):
		n = shape[0]
	default:
		return nil, 0, false, fmt.Errorf("%s: shape %s does not fit the model's input: want %s or %s",
			path, fmtShape(shape), fmtShape(append([]int{-1}, inShape...)), fmtShape(inShape))
	}
	if len(x) != n*size(inShape) {
		return nil, 0, false, fmt.Errorf("%s: %d values for shape %s", path, len(x), fmtShape(shape))
	}
	return x, n, one, nil
}

// readTable reads the feature columns of a table: every column, or those
// but the label columns named, or, when every column is too many by the
// model's input, those but the last.
func readTable(m Model, path string, columns []string) (*data.Set, error) {
	withLabels := data.Shapes{Input: m.InputShape(), Output: m.OutputShape()}
	if targetIsInput(m) {
		withLabels.Output = nil
	}
	if len(columns) > 0 {
		set, _, err := data.CSV{Path: path, LabelColumns: columns}.Load(withLabels)
		return set, err
	}
	set, _, err := data.CSV{Path: path}.Load(data.Shapes{Input: m.InputShape()})
	if err == nil || withLabels.Output == nil || !strings.Contains(err.Error(), "do not fit the model's input") {
		return set, err
	}
	// One column too many: the last is the labels.
	set, _, err2 := data.CSV{Path: path}.Load(withLabels)
	if err2 != nil && strings.Contains(err2.Error(), "do not fit the model's input") {
		return nil, err
	}
	return set, err2
}

// seenClasses reports an error if the table's class names, in the label
// column it skipped, name a class that training did not see: one not in
// names, the checkpoint's.
func seenClasses(path string, set *data.Set, names []string) error {
	if set.ClassNames == nil || names == nil {
		return nil
	}
	used := map[int32]bool{}
	for _, l := range set.Labels {
		used[l] = true
	}
	for i, name := range set.ClassNames {
		if (set.Labels == nil || used[int32(i)]) && !slices.Contains(names, name) {
			return fmt.Errorf("%s: class %q, which training never saw (it saw %s)", path, name, strings.Join(names, ", "))
		}
	}
	return nil
}

// imageFiles lists the image files of dir in sorted order, not looking
// into sub-folders.
func imageFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("--in %w", err)
	}
	var l []string
	for _, e := range ents {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && data.IsImageFile(e.Name()) {
			l = append(l, filepath.Join(dir, e.Name()))
		}
	}
	if len(l) == 0 {
		return nil, fmt.Errorf("%s: no image files (.png, .jpg, .jpeg, .gif, .bmp)", dir)
	}
	sort.Strings(l)
	return l, nil
}

// writePredictions writes the outputs y of n samples as a CSV table to
// path, atomically. A classifier's rows (one per sample, or per step of a
// sequence) are its class, the class's name and the probabilities
// p_<name>; for one output value the name of its class and the
// probability of class 1. Other models' rows are their outputs y0, y1, ….
func writePredictions(path string, m Model, y []float32, n int, names []string) error {
	c := classesOf(m)
	classifier := names != nil || slices.ContainsFunc(metricsOf(m), func(s string) bool { return metric.Known(s) && metric.ForClassifier(s) })
	if isLossTerms(m) {
		classifier = false
	}
	if names != nil && len(names) != max(c, 2) {
		return fmt.Errorf("the checkpoint names %d classes, the model has %d outputs", len(names), c)
	}
	name := func(k int) string {
		if names != nil {
			return names[k]
		}
		return strconv.Itoa(k)
	}
	return data.WriteFile(path, func(w io.Writer) error {
		var head []string
		switch {
		case classifier && c == 1:
			head = []string{"class", "name", "probability"}
		case classifier:
			head = []string{"class", "name"}
			for k := range c {
				head = append(head, "p_"+name(k))
			}
		default:
			for k := range len(y) / max(n, 1) {
				head = append(head, "y"+strconv.Itoa(k))
			}
		}
		if _, err := fmt.Fprintln(w, strings.Join(head, ",")); err != nil {
			return err
		}
		width := c
		if !classifier {
			width = len(y) / max(n, 1)
		}
		for i := 0; i+width <= len(y) && width > 0; i += width {
			row := y[i : i+width]
			var cells []string
			if classifier {
				k := metric.Class(row)
				cells = append(cells, strconv.Itoa(k), csvCell(name(k)))
			}
			for _, v := range row {
				cells = append(cells, strconv.FormatFloat(float64(v), 'g', 6, 32))
			}
			if _, err := fmt.Fprintln(w, strings.Join(cells, ",")); err != nil {
				return err
			}
		}
		return nil
	})
}

// csvCell quotes s for a CSV cell if it needs it.
func csvCell(s string) string {
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func isLossTerms(m Model) bool {
	_, ok := m.(LossTerms)
	return ok
}
