package train

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nngen/nngen/runtime/ckpt"
	"github.com/nngen/nngen/runtime/data"
)

func runEval(c *cli, fs *flag.FlagSet, args []string) error {
	d := defineData(c.model, fs, "evaluate on the test split of")
	weights := weightsFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := d.check(c.model); err != nil {
		return err
	}
	m := c.model
	if _, err := loadWeights(m, *weights); err != nil {
		return err
	}
	set, test, err := d.load(m)
	if err != nil {
		return err
	}
	if test == nil {
		loss, metrics := evaluate(m, set, "")
		fmt.Fprintf(c.stdout, "loss=%.4f%s samples=%d\n", loss, metrics, set.N)
		return nil
	}
	loss, metrics := evaluate(m, test, "test")
	fmt.Fprintf(c.stdout, "test_loss=%.4f%s samples=%d\n", loss, metrics, test.N)
	return nil
}

func runPredict(c *cli, fs *flag.FlagSet, args []string) error {
	in := fs.String("in", "", "read the inputs from the .npy `FILE`")
	out := fs.String("out", "", "write the outputs to the .npy `FILE`")
	weights := weightsFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return usagef("--in and --out are required")
	}
	m := c.model
	if _, err := loadWeights(m, *weights); err != nil {
		return err
	}
	shape, x, err := data.ReadNPY(*in)
	if err != nil {
		return err
	}
	inShape, outShape := m.InputShape(), m.OutputShape()
	var n int
	switch {
	case slices.Equal(shape, inShape):
		n = 1
		outShape = slices.Clone(outShape)
	case len(shape) == len(inShape)+1 && slices.Equal(shape[1:], inShape):
		n = shape[0]
		outShape = append([]int{n}, outShape...)
	default:
		return fmt.Errorf("%s: shape %s does not fit the model's input: want %s or %s",
			*in, fmtShape(shape), fmtShape(append([]int{-1}, inShape...)), fmtShape(inShape))
	}
	if len(x) != n*size(inShape) {
		return fmt.Errorf("%s: %d values for shape %s", *in, len(x), fmtShape(shape))
	}
	y := make([]float32, n*size(m.OutputShape()))
	if n > 0 {
		m.Predict(x, y)
	}
	return data.WriteNPY(*out, outShape, y)
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
