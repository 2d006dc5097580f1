// Package sklearn holds example specs for scikit-learn's bundled data sets;
// its test trains each on its real data, as a user would with the
// generated binary, and checks the accuracy it reaches.
package sklearn

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/internal/sklearn"
	"github.com/nngen/nngen/runtime/rng"
	"github.com/nngen/nngen/spec"
)

// build generates the package of examples/sklearn/<name>.yaml and its
// binary, in a scratch folder of testdata inside the module, and returns
// the binary.
func build(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the generated binary")
	}
	src, err := os.ReadFile(name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := spec.Parse(name+".yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := os.MkdirTemp("testdata", name+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	files, err := codegen.Generate(m, codegen.Config{Unroll: codegen.DefaultUnroll, Main: true,
		PkgPath: "github.com/nngen/nngen/examples/sklearn/" + filepath.ToSlash(root)})
	if err != nil {
		t.Fatal(err)
	}
	for f, b := range files {
		p := filepath.Join(root, f)
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

// rows reads a scikit-learn table (gzipped or not, separated by commas or
// spaces) as rows of numbers, without its descriptor line (n_samples,
// n_features, class names…) if it has one.
func rows(t *testing.T, file string) [][]float64 {
	t.Helper()
	path, err := sklearn.File(file)
	if err != nil {
		t.Skipf("scikit-learn's %s: %v", file, err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(file, ".gz") {
		if r, err = gzip.NewReader(f); err != nil {
			t.Fatal(err)
		}
	}
	var out [][]float64
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for first := true; sc.Scan(); first = false {
		cells := strings.FieldsFunc(sc.Text(), func(c rune) bool { return c == ',' || c == ' ' })
		var row []float64
		for _, c := range cells {
			v, err := strconv.ParseFloat(c, 64)
			if err != nil {
				row = nil
				break
			}
			row = append(row, v)
		}
		if row == nil || first && len(row) < len(cells) {
			continue // the descriptor line
		}
		out = append(out, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// split shuffles rows with a fixed seed and writes the first 80% as
// train.csv and the rest as val.csv, with a header naming the columns (the
// last is the label).
func split(t *testing.T, rows [][]float64) (train, val string, tr, va [][]float64) {
	t.Helper()
	r := rng.New(11, 0)
	for i := len(rows) - 1; i > 0; i-- {
		j := int(r.Uint64() % uint64(i+1))
		rows[i], rows[j] = rows[j], rows[i]
	}
	n := len(rows) * 8 / 10
	dir := t.TempDir()
	write := func(name string, rows [][]float64) string {
		var w strings.Builder
		for j := range rows[0] {
			if j > 0 {
				w.WriteByte(',')
			}
			if j == len(rows[0])-1 {
				w.WriteString("label")
			} else {
				fmt.Fprintf(&w, "f%d", j)
			}
		}
		w.WriteByte('\n')
		for _, row := range rows {
			for j, v := range row {
				if j > 0 {
					w.WriteByte(',')
				}
				w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			}
			w.WriteByte('\n')
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(w.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("train.csv", rows[:n]), write("val.csv", rows[n:]), rows[:n], rows[n:]
}

// train runs the binary's train command and returns its summary line's
// values.
func train(t *testing.T, bin string, args ...string) map[string]float64 {
	t.Helper()
	out, err := exec.Command(bin, append([]string{"train", "--quiet"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s train %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	t.Logf("%s: %s", filepath.Base(bin), last)
	kv := map[string]float64{}
	for _, f := range strings.Fields(last) {
		if k, v, ok := strings.Cut(f, "="); ok {
			if x, err := strconv.ParseFloat(v, 64); err == nil {
				kv[k] = x
			}
		}
	}
	return kv
}

func TestIris(t *testing.T) {
	tr, va, _, _ := split(t, rows(t, "iris.csv"))
	kv := train(t, build(t, "iris_mlp"), "--data", tr, "--validation-data", va, "--epochs", "100", "--early-stopping", "10")
	if a := kv["val_accuracy"]; a < 0.95 {
		t.Errorf("iris: val_accuracy %v, want at least 0.95", a)
	}
}

func TestWine(t *testing.T) {
	tr, va, _, _ := split(t, rows(t, "wine_data.csv"))
	kv := train(t, build(t, "wine_mlp"), "--data", tr, "--validation-data", va, "--epochs", "100", "--early-stopping", "10")
	if a := kv["val_accuracy"]; a < 0.95 {
		t.Errorf("wine: val_accuracy %v, want at least 0.95", a)
	}
}

func TestBreastCancer(t *testing.T) {
	tr, va, _, _ := split(t, rows(t, "breast_cancer.csv"))
	kv := train(t, build(t, "breast_cancer"), "--data", tr, "--validation-data", va, "--epochs", "60", "--early-stopping", "10")
	if a := kv["val_auc"]; a < 0.98 {
		t.Errorf("breast_cancer: val_auc %v, want at least 0.98", a)
	}
}

func TestDigits(t *testing.T) {
	tr, va, _, _ := split(t, rows(t, "digits.csv.gz"))
	kv := train(t, build(t, "digits_cnn"), "--data", tr, "--validation-data", va, "--epochs", "30")
	if a := kv["val_accuracy"]; a < 0.97 {
		t.Errorf("digits: val_accuracy %v, want at least 0.97", a)
	}
}

// TestDiabetes trains the regression and compares its validation MAE with
// that of the least-squares linear fit on the same split.
func TestDiabetes(t *testing.T) {
	x, y := rows(t, "diabetes_data_raw.csv.gz"), rows(t, "diabetes_target.csv.gz")
	if len(x) != len(y) {
		t.Fatalf("%d rows of features, %d targets", len(x), len(y))
	}
	for i := range x {
		x[i] = append(x[i], y[i][0])
	}
	trPath, vaPath, tr, va := split(t, x)
	kv := train(t, build(t, "diabetes_reg"), "--data", trPath, "--validation-data", vaPath, "--epochs", "200", "--early-stopping", "20")
	lin := linearMAE(t, tr, va)
	t.Logf("diabetes: least-squares linear fit val MAE %.2f", lin)
	if m := kv["val_mae"]; !(m <= 1.1*lin) {
		t.Errorf("diabetes: val_mae %v, want within 10%% of the linear fit's %.2f", m, lin)
	}
}

// linearMAE fits y = w·x + b by least squares on train (last column y) and
// returns its mean absolute error on val.
func linearMAE(t *testing.T, train, val [][]float64) float64 {
	f := len(train[0]) // features + the bias
	a := make([][]float64, f)
	for i := range a {
		a[i] = make([]float64, f+1)
	}
	feat := func(row []float64, j int) float64 {
		if j == f-1 {
			return 1
		}
		return row[j]
	}
	for _, row := range train {
		y := row[f-1]
		for i := 0; i < f; i++ {
			for j := 0; j < f; j++ {
				a[i][j] += feat(row, i) * feat(row, j)
			}
			a[i][f] += feat(row, i) * y
		}
	}
	// Gaussian elimination with partial pivoting on the normal equations.
	for c := 0; c < f; c++ {
		p := c
		for r := c + 1; r < f; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		for r := 0; r < f; r++ {
			if r != c {
				k := a[r][c] / a[c][c]
				for j := c; j <= f; j++ {
					a[r][j] -= k * a[c][j]
				}
			}
		}
	}
	var sum float64
	for _, row := range val {
		var p float64
		for j := 0; j < f; j++ {
			p += a[j][f] / a[j][j] * feat(row, j)
		}
		sum += math.Abs(p - row[f-1])
	}
	return sum / float64(len(val))
}
