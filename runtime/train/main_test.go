package train

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nngen/nngen/runtime/ckpt"
	"github.com/nngen/nngen/runtime/data"
	"github.com/nngen/nngen/runtime/rng"
)

// fakeModel is softmax regression on two inputs and two classes, trained by
// SGD with momentum and a learning rate that decays with the step, so that
// resuming needs both the optimizer state and the step.
type fakeModel struct {
	seed uint64
	step int
	w    [6]float32 // linear.weight [2,2] (out, in), then linear.bias [2]
	mom  [6]float32 // momentum of w
	grad [6]float32
	// factor multiplies the learning rate (SetLearningRateFactor); 0 is 1
	factor float64
}

const (
	fakeBatch = 4
	fakeSeed  = 3
)

func newFake(seed uint64) *fakeModel {
	m := &fakeModel{seed: seed}
	r := rng.New(seed, 0)
	for i := range m.w[:4] {
		m.w[i] = float32(r.Uniform(-0.5, 0.5))
	}
	return m
}

func newFakeModel(seed uint64) Model { return newFake(seed) }

func (m *fakeModel) Name() string       { return "fake" }
func (m *fakeModel) SpecHash() string   { return "fakehash" }
func (m *fakeModel) Seed() uint64       { return m.seed }
func (m *fakeModel) BatchSize() int     { return fakeBatch }
func (m *fakeModel) InputShape() []int  { return []int{2} }
func (m *fakeModel) OutputShape() []int { return []int{2} }
func (m *fakeModel) Step() int          { return m.step }
func (m *fakeModel) SetStep(step int)   { m.step = step }

// probs returns the softmax of the logits of sample x.
func (m *fakeModel) probs(x []float32) (p0, p1 float32) {
	z0 := m.w[0]*x[0] + m.w[1]*x[1] + m.w[4]
	z1 := m.w[2]*x[0] + m.w[3]*x[1] + m.w[5]
	mx := max(z0, z1)
	e0, e1 := float32(math.Exp(float64(z0-mx))), float32(math.Exp(float64(z1-mx)))
	return e0 / (e0 + e1), e1 / (e0 + e1)
}

// sample returns the loss of sample i of set, whether it is classified
// correctly and its probabilities.
func (m *fakeModel) sample(set *data.Set, i int) (loss float64, ok bool, p [2]float32) {
	p[0], p[1] = m.probs(set.X[2*i : 2*i+2])
	l := set.Labels[i]
	return -math.Log(float64(max(p[l], 1e-12))), (p[1] > p[0]) == (l == 1), p
}

func (m *fakeModel) TrainBatch(set *data.Set, idx []int) (loss float64, correct int) {
	clear(m.grad[:])
	for _, i := range idx {
		l, ok, p := m.sample(set, i)
		loss += l
		if ok {
			correct++
		}
		x := set.X[2*i : 2*i+2]
		for k := range 2 {
			g := p[k]
			if int32(k) == set.Labels[i] {
				g--
			}
			g /= float32(len(idx))
			m.grad[2*k] += g * x[0]
			m.grad[2*k+1] += g * x[1]
			m.grad[4+k] += g
		}
	}
	lr := float32(m.LearningRate())
	for i := range m.w {
		m.mom[i] = 0.9*m.mom[i] + m.grad[i]
		m.w[i] -= lr * m.mom[i]
	}
	m.step++
	return loss / float64(len(idx)), correct
}

func (m *fakeModel) LearningRate() float64 {
	lr := 0.5 / (1 + 0.01*float64(float32(m.step)))
	if m.factor != 0 {
		lr *= m.factor
	}
	return lr
}

func (m *fakeModel) SetLearningRateFactor(f float64) { m.factor = f }

func (m *fakeModel) Evaluate(set *data.Set) (loss, accuracy float64) {
	correct := 0
	for i := range set.N {
		l, ok, _ := m.sample(set, i)
		loss += l
		if ok {
			correct++
		}
	}
	return loss / float64(set.N), float64(correct) / float64(set.N)
}

func (m *fakeModel) Predict(x, out []float32) {
	for i := 0; 2*i < len(x); i++ {
		out[2*i], out[2*i+1] = m.probs(x[2*i : 2*i+2])
	}
}

func (m *fakeModel) Tensors(withState bool) []ckpt.Tensor {
	ts := []ckpt.Tensor{
		{Name: "linear.weight", Shape: []int{2, 2}, Data: m.w[:4]},
		{Name: "linear.bias", Shape: []int{2}, Data: m.w[4:]},
	}
	if withState {
		ts = append(ts,
			ckpt.Tensor{Name: "optimizer.linear.weight.momentum", Shape: []int{2, 2}, Data: m.mom[:4]},
			ckpt.Tensor{Name: "optimizer.linear.bias.momentum", Shape: []int{2}, Data: m.mom[4:]})
	}
	return ts
}

// synthetic returns n points of [-1, 1)² labelled by the side of the line
// x0 + 2 x1 = 0.1 they lie on.
func synthetic(n int, stream uint64) *data.Set {
	s := &data.Set{N: n, Shape: []int{2}, Classes: 2, X: make([]float32, 2*n), Labels: make([]int32, n)}
	r := rng.New(42, stream)
	for i := range n {
		x0, x1 := float32(r.Uniform(-1, 1)), float32(r.Uniform(-1, 1))
		s.X[2*i], s.X[2*i+1] = x0, x1
		if x0+2*x1 > 0.1 {
			s.Labels[i] = 1
		}
	}
	return s
}

// synthDir is the --data value that loads the synthetic sets; any other
// value goes to data.Open.
const synthDir = "synthetic"

// synthSource is the source of the synthetic sets, with a test split.
type synthSource struct{ train, test *data.Set }

func (s synthSource) Load(data.Shapes) (train, test *data.Set, err error) {
	return s.train, s.test, nil
}
func (s synthSource) String() string { return synthDir }

func TestMain(m *testing.M) {
	src := synthSource{synthetic(202, 1), synthetic(50, 2)}
	openData = func(path string, o data.Options) (data.Source, error) {
		if path == synthDir {
			return src, nil
		}
		return data.Open(path, o)
	}
	os.Exit(m.Run())
}

// runMain runs Main with args and returns its exit status, stdout and stderr.
func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(newFakeModel, fakeSeed, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// mustRun runs Main with args and fails unless it succeeds.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runMain(t, args...)
	if code != 0 || stderr != "" {
		t.Fatalf("%s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

var (
	epochLine   = regexp.MustCompile(`^epoch=(\d+) loss=\d+\.\d{4} accuracy=[01]\.\d{4} test_loss=\d+\.\d{4} test_accuracy=[01]\.\d{4} samples_per_sec=\d+ seconds=\d+\.\d\d$`)
	summaryLine = regexp.MustCompile(`^epochs=(\d+) loss=\d+\.\d{4} accuracy=[01]\.\d{4} test_loss=\d+\.\d{4} test_accuracy=([01]\.\d{4}) samples_per_sec=\d+$`)
)

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func TestTrain(t *testing.T) {
	f := filepath.Join(t.TempDir(), "fake.ckpt")
	out := lines(mustRun(t, "train", "--data", synthDir, "--epochs", "3", "--checkpoint", f))
	if len(out) != 4 {
		t.Fatalf("got %d lines, want 3 epoch lines and a summary:\n%s", len(out), strings.Join(out, "\n"))
	}
	for i, l := range out[:3] {
		if m := epochLine.FindStringSubmatch(l); m == nil || m[1] != string(rune('1'+i)) {
			t.Errorf("epoch line %d: %q", i+1, l)
		}
	}
	m := summaryLine.FindStringSubmatch(out[3])
	if m == nil || m[1] != "3" {
		t.Fatalf("summary: %q", out[3])
	}
	if m[2] < "0.9" {
		t.Errorf("test accuracy %s, want at least 0.9", m[2])
	}
	fm := newFake(0)
	meta, err := ckpt.Load(f, fm.Tensors(true))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"model": "fake", "spec_hash": "fakehash", "seed": "3", "epoch": "3", "step": "150"}
	for k, v := range want {
		if meta[k] != v {
			t.Errorf("checkpoint meta %s=%q, want %q", k, meta[k], v)
		}
	}
}

func TestTrainQuiet(t *testing.T) {
	out := lines(mustRun(t, "train", "--data", synthDir, "--epochs", "2", "--quiet"))
	if len(out) != 1 || !summaryLine.MatchString(out[0]) {
		t.Fatalf("quiet output %q, want one summary line", out)
	}
}

// TestResume checks that training 1 epoch and resuming for a second ends
// with the same bits as training 2 epochs straight. The seed comes from the
// checkpoint.
func TestResume(t *testing.T) {
	dir := t.TempDir()
	straight, half, resumed := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	mustRun(t, "train", "--data", synthDir, "--epochs", "2", "--seed", "7", "--checkpoint", straight)
	mustRun(t, "train", "--data", synthDir, "--epochs", "1", "--seed", "7", "--checkpoint", half)
	out := lines(mustRun(t, "train", "--data", synthDir, "--epochs", "2", "--resume", half, "--checkpoint", resumed))
	if len(out) != 2 || !strings.HasPrefix(out[0], "epoch=2 ") || !strings.HasPrefix(out[1], "epochs=2 ") {
		t.Errorf("resumed output %q, want epoch 2 and the summary", out)
	}
	a, c := newFake(0), newFake(1)
	ma, err := ckpt.Load(straight, a.Tensors(true))
	if err != nil {
		t.Fatal(err)
	}
	mc, err := ckpt.Load(resumed, c.Tensors(true))
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.w {
		if math.Float32bits(a.w[i]) != math.Float32bits(c.w[i]) || math.Float32bits(a.mom[i]) != math.Float32bits(c.mom[i]) {
			t.Fatalf("resumed run differs:\nstraight w=%v mom=%v\nresumed  w=%v mom=%v", a.w, a.mom, c.w, c.mom)
		}
	}
	for _, k := range []string{"seed", "step", "epoch"} {
		if ma[k] != mc[k] {
			t.Errorf("meta %s: straight %q, resumed %q", k, ma[k], mc[k])
		}
	}
	if ma["seed"] != "7" {
		t.Errorf("seed %q, want 7", ma["seed"])
	}
}

// TestProgressBar runs the training loop as on a terminal.
func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	r := &run{m: newFake(1), train: synthetic(202, 1), test: synthetic(50, 2), epochs: 2, out: &out, bar: true}
	if err := r.loop(0); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "epoch 1/2") || !strings.Contains(s, "samples/s") {
		t.Errorf("no progress bar in %q", s)
	}
	l := lines(s)
	if !summaryLine.MatchString(l[len(l)-1]) {
		t.Errorf("last line %q is not the summary", l[len(l)-1])
	}
}

func TestTrainEpochAllocs(t *testing.T) {
	m, set := newFake(1), synthetic(202, 1)
	perm := data.NewShuffler(set.N, 1).Epoch(1)
	n := data.Batches(perm, fakeBatch)
	if a := testing.AllocsPerRun(10, func() { trainEpoch(m, set, perm, n, nil) }); a != 0 {
		t.Errorf("trainEpoch: %v allocations, want 0", a)
	}
}

// trained writes a checkpoint of one epoch and returns its path.
func trained(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "fake.ckpt")
	mustRun(t, "train", "--data", synthDir, "--epochs", "1", "--quiet", "--checkpoint", f)
	return f
}

func TestEval(t *testing.T) {
	f := trained(t)
	re := regexp.MustCompile(`^test_loss=\d+\.\d{4} test_accuracy=([01]\.\d{4}) samples=50\n$`)
	before := mustRun(t, "eval", "--data", synthDir)
	after := mustRun(t, "eval", "--data", synthDir, "--weights", f)
	if !re.MatchString(before) || !re.MatchString(after) {
		t.Fatalf("eval output %q and %q", before, after)
	}
	if before == after {
		t.Errorf("--weights changed nothing: %q", after)
	}
}

func TestPredict(t *testing.T) {
	f := trained(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		shape, want []int
		x           []float32
	}{
		{[]int{3, 2}, []int{3, 2}, []float32{1, 1, -1, -1, 0.5, -0.5}},
		{[]int{2}, []int{2}, []float32{1, 1}},
		{[]int{0, 2}, []int{0, 2}, nil},
	} {
		in, out := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
		if err := data.WriteNPY(in, tc.shape, tc.x); err != nil {
			t.Fatal(err)
		}
		mustRun(t, "predict", "--in", in, "--out", out, "--weights", f)
		shape, y, err := data.ReadNPY(out)
		if err != nil {
			t.Fatal(err)
		}
		if !equal(shape, tc.want) || len(y) != len(tc.x) {
			t.Fatalf("x %v: y has shape %v and %d values, want %v", tc.shape, shape, len(y), tc.want)
		}
		for i := 0; i < len(y); i += 2 {
			if d := y[i] + y[i+1] - 1; d > 1e-6 || d < -1e-6 {
				t.Errorf("x %v: sample %d: probabilities %v", tc.shape, i/2, y[i:i+2])
			}
		}
		if len(y) > 0 && y[1] < 0.5 {
			t.Errorf("x %v: sample (1, 1) has p(1) = %v, want > 0.5", tc.shape, y[1])
		}
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestExport(t *testing.T) {
	f := trained(t)
	out := filepath.Join(t.TempDir(), "fake.safetensors")
	mustRun(t, "export", "--out", out, "--weights", f)
	w, e := newFake(1), newFake(2)
	if _, err := ckpt.Load(f, w.Tensors(false)); err != nil {
		t.Fatal(err)
	}
	meta, err := ckpt.Load(out, e.Tensors(false))
	if err != nil {
		t.Fatal(err)
	}
	if w.w != e.w {
		t.Errorf("exported weights %v, want %v", e.w, w.w)
	}
	if meta["spec_hash"] != "fakehash" || meta["model"] != "fake" || meta["step"] != "50" || meta["seed"] != "3" {
		t.Errorf("export meta %v", meta)
	}
	// An export has no optimizer state: it cannot be resumed from.
	checkError(t, 1, "fake: ", "holds no optimizer state", "train", "--data", synthDir, "--epochs", "2", "--resume", out)
}

func TestInfo(t *testing.T) {
	got := mustRun(t, "info")
	want := "name=fake\nspec_hash=fakehash\nseed=3\ninput_shape=[2]\noutput_shape=[2]\nbatch_size=4\nparameters=6\n"
	if got != want {
		t.Errorf("info:\n%s\nwant:\n%s", got, want)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"help"},
		{"train", "-h"}, {"train", "--help"}, {"eval", "-h"}, {"predict", "--help"}, {"export", "-h"}, {"info", "-h"},
		{"train", "--data", synthDir, "-h"},
	} {
		code, stdout, stderr := runMain(t, args...)
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "Usage: fake ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	_, stdout, _ := runMain(t, "train", "-h")
	for _, f := range []string{"-data", "-epochs", "-seed", "-checkpoint", "-resume", "-quiet", "(default 3)"} {
		if !strings.Contains(stdout, f) {
			t.Errorf("train -h does not mention %s:\n%s", f, stdout)
		}
	}
}

// checkError runs args and checks the exit status and that stderr is one
// line that starts with prefix and contains what.
func checkError(t *testing.T, code int, prefix, what string, args ...string) {
	t.Helper()
	got, stdout, stderr := runMain(t, args...)
	if got != code || stdout != "" || strings.Count(stderr, "\n") != 1 ||
		!strings.HasPrefix(stderr, prefix) || !strings.Contains(stderr, what) {
		t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and one line %q...%q",
			args, got, stdout, stderr, code, prefix, what)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		prefix, what string
		args         []string
	}{
		{"fake: ", "no command", nil},
		{"fake: ", `unknown command "fit"`, []string{"fit"}},
		{"fake train: ", "-bogus", []string{"train", "--bogus"}},
		{"fake train: ", "--data is required", []string{"train", "--epochs", "1"}},
		{"fake train: ", "--epochs", []string{"train", "--data", synthDir}},
		{"fake train: ", "--epochs", []string{"train", "--data", synthDir, "--epochs", "0"}},
		{"fake train: ", "invalid value", []string{"train", "--data", synthDir, "--epochs", "x"}},
		{"fake train: ", "invalid value", []string{"train", "--data", synthDir, "--epochs", "1", "--seed", "-1"}},
		{"fake train: ", "--validation-split and --validation-data exclude each other", []string{"train", "--data", synthDir, "--epochs", "1", "--validation-split", "0.1", "--validation-data", "v.csv"}},
		{"fake train: ", "--validation-split must be in (0, 1), not 1.5", []string{"train", "--data", synthDir, "--epochs", "1", "--validation-split", "1.5"}},
		{"fake train: ", "--validation-labels needs --validation-data", []string{"train", "--data", synthDir, "--epochs", "1", "--validation-labels", "y.npy"}},
		{"fake train: ", `empty column in "a,,b"`, []string{"train", "--data", synthDir, "--epochs", "1", "--label-column", "a,,b"}},
		{"fake eval: ", "--data is required", []string{"eval"}},
		{"fake predict: ", "--in and --out", []string{"predict", "--in", "x.npy"}},
		{"fake export: ", "--out is required", []string{"export"}},
		{"fake info: ", `unexpected argument "extra"`, []string{"info", "extra"}},
	} {
		checkError(t, 2, tc.prefix, tc.what, tc.args...)
		checkError(t, 2, tc.prefix, "-h' for usage", tc.args...)
	}
}

func TestRuntimeErrors(t *testing.T) {
	dir := t.TempDir()
	good := trained(t)
	missing := filepath.Join(dir, "missing.ckpt")
	corrupt := filepath.Join(dir, "corrupt.ckpt")
	if err := os.WriteFile(corrupt, []byte("not a checkpoint at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.ckpt")
	m := newFake(3)
	if err := ckpt.Save(other, m.Tensors(true), map[string]string{
		"model": "fake", "spec_hash": "otherhash", "seed": "3", "step": "0", "epoch": "1"}); err != nil {
		t.Fatal(err)
	}
	wide := filepath.Join(dir, "wide.npy")
	if err := data.WriteNPY(wide, []int{2, 3}, make([]float32, 6)); err != nil {
		t.Fatal(err)
	}
	nodata := filepath.Join(dir, "nodata")
	for _, tc := range []struct {
		what string
		args []string
	}{
		{"--data " + nodata + ": no such file or directory", []string{"train", "--data", nodata, "--epochs", "1"}},
		{"--data " + nodata + ": no such file or directory", []string{"eval", "--data", nodata}},
		{"train-images-idx3-ubyte", []string{"eval", "--data", dir}},
		{"missing.ckpt", []string{"train", "--data", synthDir, "--epochs", "2", "--resume", missing}},
		{"missing.ckpt", []string{"eval", "--data", synthDir, "--weights", missing}},
		{"corrupt.ckpt", []string{"train", "--data", synthDir, "--epochs", "2", "--resume", corrupt}},
		{"corrupt.ckpt", []string{"predict", "--in", wide, "--out", filepath.Join(dir, "y.npy"), "--weights", corrupt}},
		{"another spec", []string{"train", "--data", synthDir, "--epochs", "2", "--resume", other}},
		{"another spec", []string{"export", "--out", filepath.Join(dir, "x.safetensors"), "--weights", other}},
		{"is at epoch 1 already", []string{"train", "--data", synthDir, "--epochs", "1", "--resume", good}},
		{"trained with seed 3, not --seed 4", []string{"train", "--data", synthDir, "--epochs", "2", "--resume", good, "--seed", "4"}},
		{"does not fit", []string{"predict", "--in", wide, "--out", filepath.Join(dir, "y.npy")}},
		{"--validation-split 1e-20 of 202 samples leaves 202 to train on and 0 to validate on", []string{"train", "--data", synthDir, "--epochs", "1", "--validation-split", "1e-20"}},
		{"--validation-data " + nodata + ": no such file", []string{"train", "--data", synthDir, "--epochs", "1", "--validation-data", nodata}},
		{"x.npy", []string{"predict", "--in", filepath.Join(dir, "x.npy"), "--out", filepath.Join(dir, "y.npy")}},
	} {
		checkError(t, 1, "fake: ", tc.what, tc.args...)
	}
}
