package train

import (
	"flag"
	"fmt"
	"math"
	"strings"

	"github.com/nngen/nngen/runtime/rng"
)

// TextModel is a model that reads token ids (a generated model whose input
// an Embedding reads): text, one byte per id. Its binary trains and
// evaluates on a text file given with --text instead of MNIST, and has the
// sample command.
type TextModel interface {
	Model
	// Vocabulary is the number of ids: every byte of the text is below it.
	Vocabulary() int
	// PredictOne runs inference on one sample with buffers of its own: x
	// holds prod(InputShape()) ids, out receives prod(OutputShape()) values.
	PredictOne(x, out []float32)
}

// textCommands are the commands only text models have.
var textCommands = []optionalCommand{
	{&command{"sample", "--seed-text TEXT [--length N] [--temperature T] [--seed S] [--weights F]",
		"Sample writes the seed text and N bytes the model generates after it, each drawn from the\nmodel's next-byte distribution sharpened (T < 1) or flattened (T > 1) by the temperature.", runSample, false},
		isTextModel},
}

func isTextModel(m Model) bool {
	_, ok := m.(TextModel)
	return ok
}

// textFlag defines --text on fs for a text model; for the others it
// returns a pointer to "".
func textFlag(m Model, fs *flag.FlagSet) *string {
	if _, ok := m.(TextModel); !ok {
		return new(string)
	}
	return fs.String("text", "", "read the text `FILE` (train on its first 90%, test on the rest)")
}

// dataFlag names the flag that gives a model its data.
func dataFlag(m Model) string {
	if _, ok := m.(TextModel); ok {
		return "--text"
	}
	return "--data"
}

func runSample(c *cli, fs *flag.FlagSet, args []string) error {
	seedText := fs.String("seed-text", "", "start from `TEXT`")
	length := fs.Int("length", 200, "generate `N` bytes")
	temp := fs.Float64("temperature", 1, "divide the logits by `T`")
	seed := fs.Uint64("seed", c.defaultSeed, "draw with `SEED`")
	weights := weightsFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *seedText == "" {
		return usagef("--seed-text is required")
	}
	if *length < 0 {
		return usagef("--length must not be negative")
	}
	if !(*temp > 0) || math.IsInf(*temp, 0) {
		return usagef("--temperature must be positive")
	}
	m := c.model.(TextModel)
	if _, err := loadWeights(m, *weights); err != nil {
		return err
	}
	steps, classes := size(m.InputShape()), m.OutputShape()[len(m.OutputShape())-1]
	vocab := min(m.Vocabulary(), classes)
	text := []byte(*seedText)
	for i, b := range text {
		if int(b) >= vocab {
			return fmt.Errorf("--seed-text: byte %d is 0x%02x, not below the model's vocabulary of %d", i, b, vocab)
		}
	}
	x := make([]float32, steps)
	out := make([]float32, size(m.OutputShape()))
	p := make([]float64, classes)
	r := rng.New(*seed, 2_000_000)
	for range *length {
		// The model is causal: the output at step k depends on the
		// first k+1 ids only, so a short window sits at the start.
		w := text[max(0, len(text)-steps):]
		clear(x)
		for i, b := range w {
			x[i] = float32(b)
		}
		m.PredictOne(x, out)
		row := out[(len(w)-1)*classes:][:classes]
		text = append(text, byte(draw(row[:vocab], p[:vocab], *temp, &r)))
	}
	_, err := fmt.Fprintf(c.stdout, "%s\n", text)
	return err
}

// draw returns an index drawn from the probabilities probs raised to 1/temp
// and renormalized; p is scratch of the same length.
func draw(probs []float32, p []float64, temp float64, r *rng.RNG) int {
	var sum float64
	for i, v := range probs {
		p[i] = math.Exp(math.Log(max(float64(v), 1e-30)) / temp)
		sum += p[i]
	}
	u := r.Float64() * sum
	for i, v := range p {
		if u -= v; u < 0 {
			return i
		}
	}
	return len(p) - 1
}

// rowsPerSample is the number of classified rows of one sample: one per
// step for sequence outputs ([steps, classes]), else 1. The correct counts
// of TrainBatch are per row.
func rowsPerSample(m Model) int {
	out := m.OutputShape()
	if len(out) < 2 || out[len(out)-1] == 0 {
		return 1
	}
	return size(out) / out[len(out)-1]
}

// argsOf is the synopsis of cmd for the model: a text model reads
// --text FILE where the others read --data DIR.
func (c *cli) argsOf(cmd *command) string {
	if _, ok := c.model.(TextModel); ok {
		return strings.Replace(cmd.args, "--data PATH", "--text FILE", 1)
	}
	return cmd.args
}
