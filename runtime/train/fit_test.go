package train

import (
	"bytes"
	"encoding/csv"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/runtime/ckpt"
	"github.com/nngen/nngen/runtime/data"
)

// fakeMetrics is fakeModel with the metrics of a spec.
type fakeMetrics struct{ *fakeModel }

var fakeMetricNames = []string{"accuracy", "precision", "recall", "auc", "mae", "mse", "top_k_categorical_accuracy"}

func (fakeMetrics) Metrics() []string { return fakeMetricNames }

// runModel runs Main with a model that newModel makes from a fakeModel,
// and returns the last fakeModel made.
func runModel(t *testing.T, wrap func(*fakeModel) Model, args ...string) (code int, stdout, stderr string, last *fakeModel) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(func(s uint64) Model { last = newFake(s); return wrap(last) }, fakeSeed, args, &out, &errOut)
	return code, out.String(), errOut.String(), last
}

func withMetrics(m *fakeModel) Model { return fakeMetrics{m} }

// logfmtKeys returns the keys of a logfmt line.
func logfmtKeys(line string) []string {
	var keys []string
	for _, f := range strings.Fields(line) {
		k, _, _ := strings.Cut(f, "=")
		keys = append(keys, k)
	}
	return keys
}

func logfmtValue(t *testing.T, line, key string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?:^| )` + key + `=(\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no %s in %q", key, line)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMetricsReported checks that the spec's metrics appear under Keras's
// names, for the training and the validation set, with sensible values.
func TestMetricsReported(t *testing.T) {
	dir := t.TempDir()
	csvPath, _, _ := writeSynthetic(t, dir, 250, 1)
	code, stdout, stderr, _ := runModel(t, withMetrics, "train", "--data", csvPath, "--validation-split", "0.2", "--epochs", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	l := lines(stdout)
	want := "epoch loss accuracy precision recall auc mae mse top_k_categorical_accuracy val_loss val_accuracy val_precision val_recall val_auc val_mae val_mse val_top_k_categorical_accuracy samples_per_sec seconds"
	if got := strings.Join(logfmtKeys(l[2]), " "); got != want {
		t.Fatalf("epoch line keys\n%s\nwant\n%s", got, want)
	}
	for _, k := range []string{"val_accuracy", "val_precision", "val_recall", "val_auc"} {
		if v := logfmtValue(t, l[2], k); v < 0.85 || v > 1 {
			t.Errorf("%s=%v after 3 epochs of a separable problem, want in [0.85, 1]", k, v)
		}
	}
	// Two classes: the true one is always in the top 5.
	if v := logfmtValue(t, l[2], "val_top_k_categorical_accuracy"); v != 1 {
		t.Errorf("val_top_k_categorical_accuracy=%v, want 1", v)
	}
	if mae, mse := logfmtValue(t, l[2], "val_mae"), logfmtValue(t, l[2], "val_mse"); !(mse > 0 && mse < mae && mae < 0.5) {
		t.Errorf("val_mae=%v val_mse=%v: want 0 < mse < mae < 0.5 for probabilities against one-hot targets", mae, mse)
	}
}

// TestEvalConfusion checks eval's metrics and its confusion matrix with
// the class names of the table.
func TestEvalConfusion(t *testing.T) {
	dir := t.TempDir()
	csvPath, _, _ := writeSynthetic(t, dir, 100, 1)
	f := filepath.Join(dir, "m.ckpt")
	if code, _, stderr, _ := runModel(t, withMetrics, "train", "--data", csvPath, "--epochs", "3", "--checkpoint", f, "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	code, stdout, stderr, _ := runModel(t, withMetrics, "eval", "--data", csvPath, "--weights", f, "--confusion")
	if code != 0 {
		t.Fatal(stderr)
	}
	l := lines(stdout)
	if len(l) != 4 || !strings.HasPrefix(l[0], "loss=") || !strings.HasSuffix(l[0], " samples=100") {
		t.Fatalf("eval --confusion:\n%s", stdout)
	}
	first := synthName(1)
	other := map[string]string{"left": "right", "right": "left"}[first]
	if f := strings.Fields(l[1]); len(f) != 3 || f[0] != `true\predicted` || f[1] != first || f[2] != other {
		t.Errorf("header %q, want true\\predicted %s %s", l[1], first, other)
	}
	total, diag := 0, 0
	for i, row := range l[2:] {
		f := strings.Fields(row)
		for j, c := range f[1:] {
			n, _ := strconv.Atoi(c)
			total += n
			if i == j {
				diag += n
			}
		}
	}
	acc := logfmtValue(t, l[0], "accuracy")
	if total != 100 || math.Abs(float64(diag)/100-acc) > 1e-9 {
		t.Errorf("confusion matrix of %d samples, %d on the diagonal; accuracy %v", total, diag, acc)
	}
	// A regression's data has no confusion matrix.
	_, x, _ := writeSynthetic(t, dir, 20, 1)
	y := filepath.Join(dir, "reg.npy")
	if err := data.WriteNPY(y, []int{20, 2}, make([]float32, 40)); err != nil {
		t.Fatal(err)
	}
	checkError(t, 1, "fake: ", "--confusion: "+x+" is no classifier's data (no class labels)", "eval", "--data", x, "--labels", y, "--confusion")
}

// TestEarlyStopping asks for an improvement of the validation accuracy
// by more than 1, which only the first epoch makes: training stops after
// the patience, the weights of epoch 1 come back, --save-best saved
// epoch 1 only, and the plateau halved the learning rate each epoch after
// the first.
func TestEarlyStopping(t *testing.T) {
	dir := t.TempDir()
	csvPath, _, _ := writeSynthetic(t, dir, 250, 1)
	f, hist, plot := filepath.Join(dir, "best.ckpt"), filepath.Join(dir, "h.csv"), filepath.Join(dir, "curves.png")
	code, stdout, stderr, m := runModel(t, withMetrics, "train", "--data", csvPath, "--validation-split", "0.2", "--epochs", "10",
		"--early-stopping", "3", "--monitor", "val_accuracy", "--min-delta", "1", "--checkpoint", f, "--save-best",
		"--reduce-lr-on-plateau", "1,0.5", "--history", hist, "--plot", plot)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	l := lines(stdout)
	if len(l) != 5 || !strings.HasPrefix(l[4], "epochs=4 ") || !strings.Contains(l[4], " best_epoch=1 best_val_accuracy=") {
		t.Fatalf("want 4 epochs and a summary with best_epoch=1:\n%s", stdout)
	}
	if want := "fake: val_accuracy did not improve for 3 epochs after epoch 1: stopped at epoch 4 and restored the weights of epoch 1\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	best := newFake(0)
	meta, err := ckpt.Load(f, best.Tensors(true))
	if err != nil || meta["epoch"] != "1" {
		t.Fatalf("the best checkpoint is of epoch %q (%v), want 1", meta["epoch"], err)
	}
	if m.w != best.w {
		t.Errorf("weights at the end %v, want epoch 1's %v", m.w, best.w)
	}
	// The history: a header and 4 rows, the learning rate halved from
	// epoch 3 on (epoch 2 did not improve, the patience is 1).
	b, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := "epoch,loss,accuracy,precision,recall,auc,mae,mse,top_k_categorical_accuracy,val_loss,val_accuracy,val_precision,val_recall,val_auc,val_mae,val_mse,val_top_k_categorical_accuracy,lr,seconds"
	if len(rows) != 5 || strings.Join(rows[0], ",") != head {
		t.Fatalf("history:\n%s", b)
	}
	steps := 200 / fakeBatch
	for e := 1; e <= 4; e++ {
		r := rows[e]
		if r[0] != strconv.Itoa(e) {
			t.Errorf("row %d is epoch %s", e, r[0])
		}
		factor := math.Pow(0.5, float64(max(e-2, 0)))
		want := 0.5 / (1 + 0.01*float64((e-1)*steps)) * factor
		if lr, _ := strconv.ParseFloat(r[17], 64); math.Abs(lr-want) > 1e-6*want {
			t.Errorf("epoch %d: lr %v, want %v", e, lr, want)
		}
		if v, _ := strconv.ParseFloat(r[10], 64); math.Abs(v-logfmtValue(t, l[e-1], "val_accuracy")) > 1e-4 {
			t.Errorf("epoch %d: history val_accuracy %s, the line says %q", e, r[10], l[e-1])
		}
	}
	// The picture: 8 panels, two a row.
	pf, err := os.Open(plot)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	cfg, err := png.DecodeConfig(pf)
	if err != nil || cfg.Width != 2*panelWidth || cfg.Height != 4*panelHeight {
		t.Errorf("plot %dx%d (%v), want %dx%d", cfg.Width, cfg.Height, err, 2*panelWidth, 4*panelHeight)
	}
}

// TestCallbackErrors checks the flags of the callbacks.
func TestCallbackErrors(t *testing.T) {
	checkError(t, 2, "fake train: ", "--monitor val_loss is not in the epoch report, which has loss, accuracy, test_loss, test_accuracy",
		"train", "--data", synthDir, "--epochs", "1", "--early-stopping", "2")
	checkError(t, 2, "fake train: ", "--save-best needs --checkpoint F", "train", "--data", synthDir, "--epochs", "1", "--save-best")
	checkError(t, 2, "fake train: ", `invalid value "0" for flag -reduce-lr-on-plateau: patience "0" is not a whole number of at least 1`,
		"train", "--data", synthDir, "--epochs", "1", "--reduce-lr-on-plateau", "0")
	checkError(t, 2, "fake train: ", `invalid value "2,3" for flag -reduce-lr-on-plateau: factor "3" is not a number in (0, 1)`,
		"train", "--data", synthDir, "--epochs", "1", "--reduce-lr-on-plateau", "2,3")
}

// TestMonitorMode checks Keras's mode "auto".
func TestMonitorMode(t *testing.T) {
	for name, want := range map[string]bool{"val_loss": false, "loss": false, "val_accuracy": true, "accuracy": true, "val_auc": true,
		"val_precision": true, "test_recall": true, "val_mae": false, "mse": false, "val_reconstruction": false, "val_acc": true} {
		if got := monitorMode(name); got != want {
			t.Errorf("monitorMode(%s) = %v, want %v", name, got, want)
		}
	}
}

// TestPredictForms predicts from a table with and without its label
// column, from .npy and from images, into .csv and .npy.
func TestPredictForms(t *testing.T) {
	dir := t.TempDir()
	csvPath, x, _ := writeSynthetic(t, dir, 40, 1)
	f := filepath.Join(dir, "m.ckpt")
	mustRun(t, "train", "--data", csvPath, "--epochs", "2", "--checkpoint", f, "--quiet")
	fromNPY := filepath.Join(dir, "a.csv")
	mustRun(t, "predict", "--in", x, "--out", fromNPY, "--weights", f)
	b, err := os.ReadFile(fromNPY)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	first := synthName(1)
	other := map[string]string{"left": "right", "right": "left"}[first]
	if err != nil || len(rows) != 41 || strings.Join(rows[0], ",") != "class,name,p_"+first+",p_"+other {
		t.Fatalf("predictions (%v):\n%s", err, b)
	}
	for _, r := range rows[1:] {
		p0, _ := strconv.ParseFloat(r[2], 64)
		p1, _ := strconv.ParseFloat(r[3], 64)
		k := map[bool]string{true: "1", false: "0"}[p1 > p0]
		if r[0] != k || r[1] != []string{first, other}[r[0][0]-'0'] || math.Abs(p0+p1-1) > 1e-5 {
			t.Errorf("row %v: class and name do not follow the probabilities", r)
		}
	}
	// The table itself, its label column skipped: the same rows.
	fromCSV := filepath.Join(dir, "b.csv")
	mustRun(t, "predict", "--in", csvPath, "--out", fromCSV, "--weights", f)
	if b2, _ := os.ReadFile(fromCSV); !bytes.Equal(b, b2) {
		t.Errorf("predictions from the table differ from those from .npy:\n%s", b2)
	}
	named := filepath.Join(dir, "c.csv")
	mustRun(t, "predict", "--in", csvPath, "--label-column", "side", "--out", named, "--weights", f)
	if b3, _ := os.ReadFile(named); !bytes.Equal(b, b3) {
		t.Errorf("predictions with --label-column side differ")
	}
	// .npy out: the outputs.
	outNPY := filepath.Join(dir, "y.npy")
	mustRun(t, "predict", "--in", csvPath, "--out", outNPY, "--weights", f)
	if shape, y, err := data.ReadNPY(outNPY); err != nil || len(shape) != 2 || shape[0] != 40 || shape[1] != 2 || len(y) != 80 {
		t.Errorf("predict to .npy: shape %v (%v)", shape, err)
	}
	// Images: one file and a folder.
	img := filepath.Join(dir, "imgs")
	writePNG(t, filepath.Join(img, "b.png"), 10, 250)
	writePNG(t, filepath.Join(img, "a.png"), 250, 10)
	code, _, stderr := runImage(t, "predict", "--in", img, "--out", filepath.Join(dir, "img.csv"))
	if b, _ := os.ReadFile(filepath.Join(dir, "img.csv")); code != 0 || len(lines(string(b))) != 3 {
		t.Errorf("predict on a folder of images: exit %d, %s, output\n%s", code, stderr, b)
	}
	code, _, stderr = runImage(t, "predict", "--in", filepath.Join(img, "a.png"), "--out", filepath.Join(dir, "one.npy"))
	if shape, _, err := data.ReadNPY(filepath.Join(dir, "one.npy")); code != 0 || err != nil || len(shape) != 2 || shape[0] != 1 {
		t.Errorf("predict on one image: exit %d, %s, shape %v (%v)", code, stderr, shape, err)
	}
	checkError(t, 2, "fake predict: ", "--out y.txt: want a .npy or .csv file", "predict", "--in", x, "--out", "y.txt")
}

// TestResumeLearningRateFactor checks that the factor the plateau set is
// saved in the checkpoint and taken up by --resume.
func TestResumeLearningRateFactor(t *testing.T) {
	dir := t.TempDir()
	csvPath, _, _ := writeSynthetic(t, dir, 250, 1)
	f, hist := filepath.Join(dir, "m.ckpt"), filepath.Join(dir, "h.csv")
	plateau := []string{"--validation-split", "0.2", "--reduce-lr-on-plateau", "1,0.5", "--monitor", "val_accuracy", "--min-delta", "1", "--checkpoint", f}
	mustRun(t, append([]string{"train", "--data", csvPath, "--epochs", "3", "--quiet"}, plateau...)...)
	_, meta, err := ckpt.Read(f)
	if err != nil || meta["lr_factor"] != "0.25" {
		t.Fatalf("lr_factor %q (%v), want 0.25 after two epochs without improvement", meta["lr_factor"], err)
	}
	mustRun(t, append([]string{"train", "--data", csvPath, "--epochs", "4", "--resume", f, "--history", hist, "--quiet"}, plateau...)...)
	b, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if len(rows) != 2 || rows[1][0] != "4" {
		t.Fatalf("history of the resumed run:\n%s", b)
	}
	want := 0.5 / (1 + 0.01*float64(3*200/fakeBatch)) * 0.25
	if lr, _ := strconv.ParseFloat(rows[1][len(rows[1])-2], 64); math.Abs(lr-want) > 1e-6*want {
		t.Errorf("lr of epoch 4 after resuming: %v, want %v", lr, want)
	}
}
