package train

import (
	"flag"
	"fmt"
	"slices"

	"github.com/nngen/nngen/runtime/data"
	"github.com/nngen/nngen/runtime/rng"
)

// LossTerms is implemented by models whose loss is a sum of named terms (a
// variational autoencoder's reconstruction and KL divergence). Their
// reports show each term instead of an accuracy.
type LossTerms interface {
	// LossTermNames names the terms, e.g. reconstruction and kl.
	LossTermNames() []string
	// EvaluateTerms is Evaluate that also returns the mean of each term
	// per sample.
	EvaluateTerms(set *data.Set) (loss float64, terms []float64)
}

// Autoencoder is implemented by generated variational autoencoders: models
// with a Sampling layer whose encoder and decoder run on their own. Their
// binaries have the commands sample, reconstruct and encode.
type Autoencoder interface {
	Model
	// LatentSize is the number of values of one latent code z.
	LatentSize() int
	// Encode runs the encoder on n samples: x holds n inputs, mu and logvar
	// receive n codes each, the mean and log-variance of q(z|x).
	Encode(x, mu, logvar []float32)
	// Decode runs the decoder on n latent codes z and writes n outputs.
	Decode(z, out []float32)
}

// SampleStream is the stream of rng.New(seed, ·) that the sample command
// draws its latent codes from.
const SampleStream = 3_000_000

var autoencoderCommands = []optionalCommand{
	{&command{"sample", "--out F.png [--n N] [--seed S] [--weights F]",
		"Sample decodes N latent codes drawn from the prior N(0, I) and writes the outputs\nas a grid of grey images to F.png. The same seed gives the same images.", runSampleLatent, false}, isAutoencoder},
	{&command{"reconstruct", "--data PATH --out F.png [--n N] [--weights F]",
		"Reconstruct runs the first N images of the data's test split (all of it if it has none)\nthrough the model and writes each beside its reconstruction (input left, output right)\nto F.png.", runReconstruct, false}, targetIsInput},
	{&command{"encode", "--in X.npy --out Z.npy [--logvar V.npy] [--weights F]",
		"Encode writes the mean of q(z|x) of every sample of X.npy, [n, input...], to Z.npy,\n[n, latent], and with --logvar its log-variance to V.npy. One sample, [input...],\ngives [latent].", runEncode, false}, isAutoencoder},
}

func isAutoencoder(m Model) bool {
	_, ok := m.(Autoencoder)
	return ok
}

// imageFlags defines the flags of the commands that write images.
func imageFlags(fs *flag.FlagSet, n int) (out *string, count *int) {
	return fs.String("out", "", "write the PNG image to `FILE`"), fs.Int("n", n, "number of images")
}

// checkImages checks the image flags and returns the height and width of
// the model's outputs as images.
func checkImages(m Model, out string, n int) (h, w int, err error) {
	if out == "" {
		return 0, 0, usagef("--out is required")
	}
	if n <= 0 || n > 10000 {
		return 0, 0, usagef("--n must be in [1, 10000], got %d", n)
	}
	h, w, err = data.ImageShape(m.OutputShape())
	if err != nil {
		return 0, 0, fmt.Errorf("cannot draw the outputs of shape %s as images", fmtShape(m.OutputShape()))
	}
	return h, w, nil
}

// gridCols is the number of columns of a grid of n images: about square.
func gridCols(n int) int {
	c := 1
	for c*c < n {
		c++
	}
	return c
}

func runSampleLatent(c *cli, fs *flag.FlagSet, args []string) error {
	out, n := imageFlags(fs, 64)
	seed := fs.Uint64("seed", c.defaultSeed, "draw the latent codes with `SEED`")
	weights := weightsFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	m := c.model.(Autoencoder)
	h, w, err := checkImages(m, *out, *n)
	if err != nil {
		return err
	}
	if _, err := loadWeights(m, *weights); err != nil {
		return err
	}
	z := make([]float32, *n*m.LatentSize())
	r := rng.New(*seed, SampleStream)
	for i := range z {
		z[i] = float32(r.Norm())
	}
	x := make([]float32, *n*size(m.OutputShape()))
	m.Decode(z, x)
	return data.WritePNG(*out, data.Grid(x, h, w, gridCols(*n), 2))
}

func runReconstruct(c *cli, fs *flag.FlagSet, args []string) error {
	d := defineData(c.model, fs, "reconstruct images of the test split of")
	out, n := imageFlags(fs, 16)
	weights := weightsFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := d.check(c.model); err != nil {
		return err
	}
	m := c.model
	h, w, err := checkImages(m, *out, *n)
	if err != nil {
		return err
	}
	if !slices.Equal(m.InputShape(), m.OutputShape()) {
		return fmt.Errorf("the model's input %s and output %s differ: nothing to reconstruct", fmtShape(m.InputShape()), fmtShape(m.OutputShape()))
	}
	if _, err := loadWeights(m, *weights); err != nil {
		return err
	}
	test, split, err := d.load(m)
	if err != nil {
		return err
	}
	if split != nil {
		test = split
	}
	k := min(*n, test.N)
	sz := size(m.InputShape())
	x := test.X[:k*sz]
	y := make([]float32, len(x))
	m.Predict(x, y)
	pairs := make([]float32, 0, 2*len(x))
	for i := range k {
		pairs = append(pairs, x[i*sz:(i+1)*sz]...)
		pairs = append(pairs, y[i*sz:(i+1)*sz]...)
	}
	return data.WritePNG(*out, data.Grid(pairs, h, w, 2*gridCols(k), 2))
}

func runEncode(c *cli, fs *flag.FlagSet, args []string) error {
	in := fs.String("in", "", "read the inputs from the .npy `FILE`")
	out := fs.String("out", "", "write the means of q(z|x) to the .npy `FILE`")
	lvOut := fs.String("logvar", "", "write the log-variances of q(z|x) to the .npy `FILE`")
	weights := weightsFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return usagef("--in and --out are required")
	}
	m := c.model.(Autoencoder)
	if _, err := loadWeights(m, *weights); err != nil {
		return err
	}
	shape, x, err := data.ReadNPY(*in)
	if err != nil {
		return err
	}
	inShape := m.InputShape()
	n, zShape := 1, []int{m.LatentSize()}
	switch {
	case slices.Equal(shape, inShape):
	case len(shape) == len(inShape)+1 && slices.Equal(shape[1:], inShape):
		n = shape[0]
		zShape = []int{n, m.LatentSize()}
	default:
		return fmt.Errorf("%s: shape %s does not fit the model's input: want %s or %s", *in, fmtShape(shape),
			fmtShape(append([]int{-1}, inShape...)), fmtShape(inShape))
	}
	if len(x) != n*size(inShape) {
		return fmt.Errorf("%s: %d values for shape %s", *in, len(x), fmtShape(shape))
	}
	mu := make([]float32, n*m.LatentSize())
	lv := make([]float32, len(mu))
	if n > 0 {
		m.Encode(x, mu, lv)
	}
	if err := data.WriteNPY(*out, zShape, mu); err != nil {
		return err
	}
	if *lvOut != "" {
		return data.WriteNPY(*lvOut, zShape, lv)
	}
	return nil
}
