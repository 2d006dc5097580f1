package emit_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"text/template"

	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/spec"
)

// bnSpecs are the models of TestBatchNormStatistics: BatchNormalization of
// the model input, so that the test knows its batch statistics.
var bnSpecs = map[string]string{
	// [F] input: statistics over the batch; the layer is the output.
	"bn_vec": `
name: bn_vec
input_shape: [3]
batch_size: 4
dtype: float64
layers:
  - type: BatchNormalization
    momentum: 0.8
    epsilon: 0.01
loss: mse
optimizer: {name: sgd, learning_rate: 0.1}
`,
	// [H, W, C] input: statistics per channel over the batch and every
	// position; no β.
	"bn_image": `
name: bn_image
input_shape: [2, 2, 3]
batch_size: 2
dtype: float64
layers:
  - type: BatchNormalization
    center: false
loss: mse
`,
	// float32, more channels than the unroll threshold, and a classifier
	// behind the layer.
	"bn_f32": `
name: bn_f32
input_shape: [2, 2, 17]
batch_size: 8
layers:
  - type: BatchNormalization
    momentum: 0.9
  - type: Flatten
  - type: Dense
    units: 3
    activation: softmax
loss: categorical_crossentropy
`,
}

// bnTest is written into every package of bnSpecs, beside the package's own
// generated tests.
var bnTest = template.Must(template.New("").Parse(`package {{.Pkg}}

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// TestBatchNormStatistics checks that training normalizes by the batch
// statistics and moves the moving statistics Keras's way, and that
// inference normalizes by the moving statistics.
func TestBatchNormStatistics(t *testing.T) {
	const momentum, epsilon, steps = {{.Momentum}}, {{.Epsilon}}, 5
	tol := 1e-12
	if _, is64 := any(Float(0)).(float64); !is64 {
		tol = 1e-5
	}
	check := func(what string, i int, got Float, want float64) {
		t.Helper()
		if d := math.Abs(float64(got) - want); !(d <= tol*max(1, math.Abs(want))) {
			t.Fatalf("%s[%d] = %.15g, want %.15g", what, i, got, want)
		}
	}
	m := New(1)
	r := rand.New(rand.NewPCG(1, 2))
	x := m.Input()
	for i := range x {
		x[i] = Float(3*r.Float64() - 1 + float64(i%3)) // channels off zero mean and unit variance
	}
	y := m.Target()
	for i := range y {
		y[i] = Float(r.Float64())
	}
	c := inputShape[len(inputShape)-1]
	n := float64(len(x) / c)
	mean, variance := make([]float64, c), make([]float64, c)
	for i, v := range x {
		mean[i%c] += float64(v) / n
	}
	for i, v := range x {
		d := float64(v) - mean[i%c]
		variance[i%c] += d * d / n // biased, as Keras's
	}
	tensor := func(name string, def float64) []float64 {
		v := make([]float64, c)
		for i := range v {
			v[i] = def
		}
		for _, ts := range m.Tensors(false) {
			if ts.Name == "{{.Layer}}."+name {
				for i, f := range ts.Data.([]Float) {
					v[i] = float64(f)
				}
			}
		}
		return v
	}

	// Training: the batch statistics, from γ and β as they were.
	gamma, beta := tensor("weight", 1), tensor("bias", 0)
	m.ComputeGradients()
	for i, v := range x {
		k := i % c
		check("training output", i, m.{{.Layer}}_out[i], gamma[k]*(float64(v)-mean[k])/math.Sqrt(variance[k]+epsilon)+beta[k])
	}
	for range steps - 1 {
		m.TrainStep()
	}

	// The moving statistics, from zeros and ones, after steps updates by
	// the same batch statistics.
	rm, rv := tensor("running_mean", math.NaN()), tensor("running_var", math.NaN())
	for k := range c {
		wm, wv := 0.0, 1.0
		for range steps {
			wm = wm*momentum + mean[k]*(1-momentum)
			wv = wv*momentum + variance[k]*(1-momentum)
		}
		check("running_mean", k, Float(rm[k]), wm)
		check("running_var", k, Float(rv[k]), wv)
	}

	// Inference: the moving statistics.
	gamma, beta = tensor("weight", 1), tensor("bias", 0)
	var out [BatchSize * OutputSize]Float
	xc := *x
	m.Forward(&xc, &out)
	for i, v := range x {
		k := i % c
		check("inference output", i, m.{{.Layer}}_out[i], gamma[k]*(float64(v)-rm[k])/math.Sqrt(rv[k]+epsilon)+beta[k])
	}

	// A checkpoint restores the moving statistics too.
	path := filepath.Join(t.TempDir(), "bn.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	m2 := New(2)
	if err := m2.Load(path); err != nil {
		t.Fatal(err)
	}
	var out2 [BatchSize * OutputSize]Float
	m2.Forward(&xc, &out2)
	if out2 != out {
		t.Errorf("Forward of the loaded model differs: %v, want %v", out2, out)
	}
}
`))

// TestBatchNormStatistics generates the packages of bnSpecs inside the
// module and runs their tests: the generated ones (no allocation,
// determinism, learning, Predict1 against Forward, kernels) and bnTest.
func TestBatchNormStatistics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds generated packages")
	}
	if os.Mkdir("testdata", 0o777) == nil {
		t.Cleanup(func() { os.Remove("testdata") })
	}
	root, err := os.MkdirTemp("testdata", "bn-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	var pkgs []string
	for name, src := range bnSpecs {
		m, err := spec.Parse(name+".yaml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		files, err := codegen.Generate(m, codegen.Config{Unroll: codegen.DefaultUnroll})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		bn := m.Nodes[1]
		var test bytes.Buffer
		if err := bnTest.Execute(&test, map[string]any{"Pkg": m.Name, "Layer": bn.Name,
			"Momentum": bn.Float("momentum"), "Epsilon": bn.Float("epsilon")}); err != nil {
			t.Fatal(err)
		}
		files["batchnorm_test.go"] = test.Bytes()
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		for f, b := range files {
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o666); err != nil {
				t.Fatal(err)
			}
		}
		pkgs = append(pkgs, "./"+filepath.ToSlash(dir))
	}
	out, err := exec.Command("go", append([]string{"test", "-count=1"}, pkgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go test of the generated packages: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
