package train_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/internal/sklearn"
	"github.com/nngen/nngen/runtime/ckpt"
	"github.com/nngen/nngen/runtime/rng"
	"github.com/nngen/nngen/spec"
)

// irisSpec is a small MLP on the four features of iris, with the metrics
// runtime/train computes from the outputs.
const irisSpec = `name: iris_fit
input_shape: [4]
batch_size: 8
seed: 7
layers:
  - type: Dense
    units: 16
    activation: relu
  - type: Dense
    units: 3
    activation: softmax
loss: sparse_categorical_crossentropy
optimizer: {name: adam, learning_rate: 0.01}
metrics: [accuracy, precision, recall, auc]
`

// buildIris generates the package of irisSpec and its binary.
func buildIris(t *testing.T) string { return buildSpec(t, "iris_fit", irisSpec) }

// buildSpec generates the package of spec src, of model name, and its
// binary, in a scratch folder of testdata (inside the module, so that it
// imports the runtime), and returns the binary.
func buildSpec(t *testing.T, name, src string) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the generated binary")
	}
	m, err := spec.Parse(name+".yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.MkdirTemp("testdata", "fit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	files, err := codegen.Generate(m, codegen.Config{Unroll: codegen.DefaultUnroll, Main: true,
		PkgPath: "github.com/nngen/nngen/runtime/train/" + filepath.ToSlash(root)})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), name)
	if b, err := exec.Command("go", "build", "-o", bin, "./"+filepath.ToSlash(filepath.Join(root, "cmd", name))).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return bin
}

// splitIris writes sklearn's iris.csv, shuffled with a fixed seed, as a
// training table of 120 rows and a validation table of 30, with a header
// and the species by name.
func splitIris(t *testing.T, dir string) (train, val string) {
	t.Helper()
	path, err := sklearn.File("iris.csv")
	if err != nil {
		t.Skipf("scikit-learn's iris.csv: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l := strings.Split(strings.TrimSpace(string(b)), "\n")
	names := strings.Split(l[0], ",")[2:] // 150,4,setosa,versicolor,virginica
	rows := l[1:]
	r := rng.New(11, 0)
	for i := len(rows) - 1; i > 0; i-- {
		j := int(r.Uint64() % uint64(i+1))
		rows[i], rows[j] = rows[j], rows[i]
	}
	write := func(name string, rows []string) string {
		var w strings.Builder
		w.WriteString("sepal_length,sepal_width,petal_length,petal_width,species\n")
		for _, row := range rows {
			c := strings.Split(row, ",")
			k, _ := strconv.Atoi(c[4])
			fmt.Fprintf(&w, "%s,%s\n", strings.Join(c[:4], ","), names[k])
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(w.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("train.csv", rows[:120]), write("val.csv", rows[120:])
}

// TestFitIris trains the generated iris MLP on real data with every
// callback: early stopping must stop it and restore the best epoch,
// --save-best must hold the last improving epoch's weights, the history
// must have a row per epoch and a column per metric, and the curves must
// decode as a PNG of the expected size.
func TestFitIris(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated binary")
	}
	dir := t.TempDir()
	trainCSV, valCSV := splitIris(t, dir)
	bin := buildIris(t)
	best, hist, plot := filepath.Join(dir, "best.ckpt"), filepath.Join(dir, "history.csv"), filepath.Join(dir, "curves.png")
	const maxEpochs = 300
	cmd := exec.Command(bin, "train", "--data", trainCSV, "--validation-data", valCSV, "--epochs", strconv.Itoa(maxEpochs),
		"--early-stopping", "10", "--min-delta", "0.001", "--checkpoint", best, "--save-best",
		"--reduce-lr-on-plateau", "5,0.5", "--history", hist, "--plot", plot)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("train: %v\n%s", err, stderr.String())
	}
	out := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	summary := out[len(out)-1]
	t.Logf("%s\n%s", summary, stderr.String())
	kv := map[string]float64{}
	for _, f := range strings.Fields(summary) {
		k, v, _ := strings.Cut(f, "=")
		kv[k], _ = strconv.ParseFloat(v, 64)
	}
	epochs, bestEpoch := int(kv["epochs"]), int(kv["best_epoch"])
	if epochs >= maxEpochs || bestEpoch < 1 || epochs != bestEpoch+10 || len(out) != epochs+1 {
		t.Fatalf("early stopping did not stop 10 epochs after the best: %d epoch lines, %s", len(out)-1, summary)
	}
	if !regexp.MustCompile(`stopped at epoch \d+ and restored the weights of epoch \d+\n$`).MatchString(stderr.String()) {
		t.Errorf("stderr %q does not say that the best weights came back", stderr.String())
	}
	// The history: a row per epoch, a column per report name.
	f, err := os.Open(hist)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	head := "epoch,loss,accuracy,precision,recall,auc,val_loss,val_accuracy,val_precision,val_recall,val_auc,lr,seconds"
	if strings.Join(rows[0], ",") != head || len(rows) != epochs+1 {
		t.Fatalf("history has %d rows, header %q; want %d and %q", len(rows), strings.Join(rows[0], ","), epochs+1, head)
	}
	// Keras's rule, replayed on the history: the last epoch that improved
	// val_loss by more than min_delta is the best, and the one saved.
	bestLoss, last := math.Inf(1), 0
	var lrs []float64
	for _, r := range rows[1:] {
		v, _ := strconv.ParseFloat(r[6], 64)
		if v+0.001 < bestLoss {
			bestLoss, last = v, len(lrs)+1
		}
		lr, _ := strconv.ParseFloat(r[11], 64)
		lrs = append(lrs, lr)
	}
	if last != bestEpoch {
		t.Errorf("the history's best epoch is %d, the summary's %d", last, bestEpoch)
	}
	if lrs[0] != 0.01 || lrs[len(lrs)-1] >= 0.01 {
		t.Errorf("learning rates %v: want 0.01 at first and less after a plateau", lrs)
	}
	_, meta, err := ckpt.Read(best)
	var names []string
	if err == nil {
		err = json.Unmarshal([]byte(meta["class_names"]), &names)
	}
	if sorted := slices.Sorted(slices.Values(names)); err != nil || meta["epoch"] != strconv.Itoa(bestEpoch) ||
		!slices.Equal(sorted, []string{"setosa", "versicolor", "virginica"}) {
		t.Errorf("--save-best checkpoint: epoch %q, class_names %q (%v); want epoch %d and the three species", meta["epoch"], meta["class_names"], err, bestEpoch)
	}
	// The saved weights are the best epoch's: eval gives its val_loss.
	ev, err := exec.Command(bin, "eval", "--data", valCSV, "--weights", best, "--confusion").CombinedOutput()
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, ev)
	}
	t.Logf("eval:\n%s", ev)
	m := regexp.MustCompile(`^loss=(\S+) accuracy=(\S+) `).FindSubmatch(ev)
	if m == nil {
		t.Fatalf("eval: %s", ev)
	}
	if l, _ := strconv.ParseFloat(string(m[1]), 64); math.Abs(l-bestLoss) > 1e-4 {
		t.Errorf("eval of the best checkpoint: loss %v, the history's best val_loss %v", l, bestLoss)
	}
	// 30 samples: 0.9333 is two mistakes, between versicolor and
	// virginica.
	if acc, _ := strconv.ParseFloat(string(m[2]), 64); acc < 0.9 {
		t.Errorf("validation accuracy %v, want at least 0.9", acc)
	}
	ls := strings.Split(strings.TrimSpace(string(ev)), "\n")
	if len(ls) != 5 || strings.Join(strings.Fields(ls[1])[1:], ",") != strings.Join(names, ",") {
		t.Fatalf("the confusion matrix lacks the class names:\n%s", ev)
	}
	total := 0
	for i, l := range ls[2:] {
		f := strings.Fields(l)
		if f[0] != names[i] {
			t.Errorf("row %d is %q, want %s", i, f[0], names[i])
		}
		for _, c := range f[1:] {
			n, _ := strconv.Atoi(c)
			total += n
		}
	}
	if total != 30 {
		t.Errorf("the confusion matrix counts %d samples, want 30", total)
	}
	// The picture: loss and 4 metrics, two panels a row, 480×320 each.
	pf, err := os.Open(plot)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	cfg, err := png.DecodeConfig(pf)
	if err != nil || cfg.Width != 960 || cfg.Height != 960 {
		t.Errorf("plot %dx%d (%v), want 960x960", cfg.Width, cfg.Height, err)
	}
	if k := os.Getenv("NNGEN_FIT_PLOT"); k != "" { // to look at it
		if b, err := os.ReadFile(plot); err == nil {
			os.WriteFile(k, b, 0o644)
		}
	}
	// Predict the validation table, its species column skipped.
	pred := filepath.Join(dir, "pred.csv")
	if b, err := exec.Command(bin, "predict", "--in", valCSV, "--weights", best, "--out", pred).CombinedOutput(); err != nil {
		t.Fatalf("predict: %v\n%s", err, b)
	}
	b, _ := os.ReadFile(pred)
	p := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(p) != 31 || p[0] != "class,name,p_"+strings.Join(names, ",p_") {
		t.Errorf("predictions:\n%s", b)
	}
}
