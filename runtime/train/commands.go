package train

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/nngen/nngen/runtime/ckpt"
	"github.com/nngen/nngen/runtime/data"
	"github.com/nngen/nngen/runtime/metric"
)

func runEval(c *cli, fs *flag.FlagSet, args []string) error {
	d := defineData(c.model, fs, "evaluate on the test split of")
	weights := weightsFlag(fs)
	confusion := fs.Bool("confusion", false, "print the confusion matrix too, rows the true classes and columns the predicted ones")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := d.check(c.model); err != nil {
		return err
	}
	m := c.model
	meta, err := loadWeights(m, *weights)
	if err != nil {
		return err
	}
	set, test, err := d.load(m)
	if err != nil {
		return err
	}
	prefix := ""
	if test != nil {
		set, prefix = test, "test"
	}
	// Number the data's classes as training did.
	if names := classNames(nil, meta); names != nil {
		if err := sameClasses(&data.Set{ClassNames: names}, set, d.path); err != nil {
			return err
		}
	}
	if *confusion && !isClassifier(m, set) {
		return fmt.Errorf("--confusion: %s is no classifier's data (no class labels)", d.path)
	}
	s := &scores{}
	evaluateInto(s, m, set, prefix)
	fmt.Fprintf(c.stdout, "%s samples=%d\n", strings.TrimPrefix(s.logfmt(), " "), set.N)
	if *confusion {
		out := predictAll(m, set.X, set.N)
		writeConfusion(c.stdout, metric.Confusion(out, classesOf(m), targetsOf(set)), classNames(set.ClassNames, meta))
	}
	return nil
}

// isClassifier reports whether set holds the class labels of m's outputs:
// class ids, or 0 and 1 for one output value.
func isClassifier(m Model, set *data.Set) bool {
	if set.Labels != nil {
		return true
	}
	if set.Y == nil || classesOf(m) != 1 || set.Width != 1 {
		return false
	}
	for _, y := range set.Y {
		if y != 0 && y != 1 {
			return false
		}
	}
	return true
}

// classNames are the class names of the data, or else of the checkpoint's
// metadata, or nil.
func classNames(names []string, meta map[string]string) []string {
	if names != nil {
		return names
	}
	if s, ok := meta["class_names"]; ok {
		var l []string
		if json.Unmarshal([]byte(s), &l) == nil {
			return l
		}
	}
	return nil
}

// writeConfusion prints the confusion matrix cm with the class names, or
// the class ids where there are none, in aligned columns.
func writeConfusion(w io.Writer, cm [][]int, names []string) {
	label := func(i int) string {
		if i < len(names) {
			return names[i]
		}
		return strconv.Itoa(i)
	}
	width := len("true\\predicted")
	for i := range cm {
		width = max(width, len(label(i)))
		for _, v := range cm[i] {
			width = max(width, len(strconv.Itoa(v)))
		}
	}
	fmt.Fprintf(w, "%-*s", width, "true\\predicted")
	for j := range cm {
		fmt.Fprintf(w, " %*s", width, label(j))
	}
	fmt.Fprintln(w)
	for i, row := range cm {
		fmt.Fprintf(w, "%-*s", width, label(i))
		for _, v := range row {
			fmt.Fprintf(w, " %*d", width, v)
		}
		fmt.Fprintln(w)
	}
}

func runExport(c *cli, fs *flag.FlagSet, args []string) error {
	out := fs.String("out", "", "write the parameters to the safetensors `FILE`")
	weights := weightsFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	m := c.model
	if x, ok := m.(interface{ ExportError() error }); ok {
		return x.ExportError()
	}
	meta, err := loadWeights(m, *weights)
	if err != nil {
		return err
	}
	seed := strconv.FormatUint(m.Seed(), 10)
	if s, ok := meta["seed"]; ok {
		seed = s
	}
	step := strconv.Itoa(m.Step())
	if s, ok := meta["step"]; ok {
		step = s
	}
	save := map[string]string{
		"model":     m.Name(),
		"spec_hash": m.SpecHash(),
		"seed":      seed,
		"step":      step,
	}
	if names, ok := meta["class_names"]; ok {
		save["class_names"] = names
	}
	return ckpt.Save(*out, m.Tensors(false), save)
}

func runInfo(c *cli, fs *flag.FlagSet, args []string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	m := c.model
	params := 0
	for _, t := range m.Tensors(false) {
		params += size(t.Shape)
	}
	fmt.Fprintf(c.stdout, "name=%s\nspec_hash=%s\nseed=%d\ninput_shape=%s\noutput_shape=%s\nbatch_size=%d\nparameters=%d\n",
		m.Name(), m.SpecHash(), m.Seed(), fmtShape(m.InputShape()), fmtShape(m.OutputShape()), m.BatchSize(), params)
	return nil
}

func weightsFlag(fs *flag.FlagSet) *string {
	return fs.String("weights", "", "load the parameters from `FILE`, a checkpoint or an export (default: the initial weights)")
}

// loadWeights loads the parameters of m from the checkpoint or export path,
// if path is not empty, and returns the file's metadata.
func loadWeights(m Model, path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	return loadCheckpoint(m, path, false)
}

// loadCheckpoint fills the tensors of m, with the optimizer state if
// withState, from the file path and returns its metadata. A file written
// for another spec is an error, even if its tensors happen to fit.
func loadCheckpoint(m Model, path string, withState bool) (map[string]string, error) {
	meta, err := ckpt.Load(path, m.Tensors(withState))
	if err == nil {
		return meta, checkSpec(m, path, meta)
	}
	// Say why the tensors do not fit if the file tells.
	_, meta, rerr := ckpt.Read(path)
	if rerr != nil {
		return nil, err
	}
	if err := checkSpec(m, path, meta); err != nil {
		return nil, err
	}
	if _, werr := ckpt.Load(path, m.Tensors(false)); withState && werr == nil {
		return nil, fmt.Errorf("%s holds no optimizer state; resuming needs a checkpoint that train --checkpoint wrote", path)
	}
	return nil, err
}

// checkSpec reports an error if meta, the metadata of the file path, says
// that the file was written for another spec than that of m.
func checkSpec(m Model, path string, meta map[string]string) error {
	if h := meta["spec_hash"]; h != "" && h != m.SpecHash() {
		return fmt.Errorf("%s: written for another spec (spec hash %s, model %q); %s has spec hash %s",
			path, h, meta["model"], m.Name(), m.SpecHash())
	}
	return nil
}

// size is the number of values of a tensor of the given shape.
func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// fmtShape formats a shape as [28,28,1], with n for a dimension of -1.
func fmtShape(shape []int) string {
	s := make([]string, len(shape))
	for i, d := range shape {
		if d < 0 {
			s[i] = "n"
		} else {
			s[i] = strconv.Itoa(d)
		}
	}
	return "[" + strings.Join(s, ",") + "]"
}
