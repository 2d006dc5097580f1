package train

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nngen/nngen/runtime/ckpt"
	"github.com/nngen/nngen/runtime/data"
)

var update = flag.Bool("update", false, "update the golden stderr.txt files of testdata/badinput")

// fakeImage is fakeModel reading images of 1×2 grey pixels.
type fakeImage struct{ *fakeModel }

func (m fakeImage) InputShape() []int { return []int{1, 2, 1} }

func runImage(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(func(s uint64) Model { return fakeImage{newFake(s)} }, fakeSeed, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeSynthetic writes the synthetic points of n samples as a CSV table
// with a header and the class names "right" and "left", and as x.npy and
// y.npy, into dir.
func writeSynthetic(t *testing.T, dir string, n int, stream uint64) (csv, x, y string) {
	t.Helper()
	s := synthetic(n, stream)
	var b strings.Builder
	b.WriteString("x0,x1,side\n")
	y32 := make([]float32, n)
	for i := range n {
		fmt.Fprintf(&b, "%g,%g,%s\n", s.X[2*i], s.X[2*i+1], []string{"right", "left"}[s.Labels[i]])
		y32[i] = float32(s.Labels[i])
	}
	csv, x, y = filepath.Join(dir, "points.csv"), filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := data.WriteNPY(x, []int{n, 2}, s.X); err != nil {
		t.Fatal(err)
	}
	if err := data.WriteNPY(y, []int{n}, y32); err != nil {
		t.Fatal(err)
	}
	return csv, x, y
}

var (
	valEpochLine   = regexp.MustCompile(`^epoch=(\d+) loss=\d+\.\d{4} accuracy=[01]\.\d{4} val_loss=\d+\.\d{4} val_accuracy=[01]\.\d{4} samples_per_sec=\d+ seconds=\d+\.\d\d$`)
	valSummaryLine = regexp.MustCompile(`^epochs=(\d+) loss=\d+\.\d{4} accuracy=[01]\.\d{4} val_loss=\d+\.\d{4} val_accuracy=([01]\.\d{4}) samples_per_sec=\d+$`)
	noValEpochLine = regexp.MustCompile(`^epoch=(\d+) loss=\d+\.\d{4} accuracy=[01]\.\d{4} samples_per_sec=\d+ seconds=\d+\.\d\d$`)
)

// TestTrainCSV trains on a table with class names, validating on its last
// fifth, and evaluates on the table.
func TestTrainCSV(t *testing.T) {
	dir := t.TempDir()
	csv, _, _ := writeSynthetic(t, dir, 250, 1)
	f := filepath.Join(dir, "fake.ckpt")
	out := lines(mustRun(t, "train", "--data", csv, "--validation-split", "0.2", "--epochs", "3", "--checkpoint", f))
	if len(out) != 4 || !valEpochLine.MatchString(out[0]) || !valSummaryLine.MatchString(out[3]) {
		t.Fatalf("train on a CSV with --validation-split:\n%s", strings.Join(out, "\n"))
	}
	if acc := valSummaryLine.FindStringSubmatch(out[3])[2]; acc < "0.9" {
		t.Errorf("validation accuracy %s, want at least 0.9", acc)
	}
	meta, err := ckpt.Load(f, newFake(0).Tensors(true))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	first := synthName(1)
	want := []string{first, map[string]string{"left": "right", "right": "left"}[first]}
	if err := json.Unmarshal([]byte(meta["class_names"]), &names); err != nil || !slices.Equal(names, want) {
		t.Errorf("checkpoint class_names %q (%v), want %q", meta["class_names"], err, want)
	}
	// The export keeps the names.
	exp := filepath.Join(dir, "fake.safetensors")
	mustRun(t, "export", "--out", exp, "--weights", f)
	if _, m, err := ckpt.Read(exp); err != nil || m["class_names"] != meta["class_names"] {
		t.Errorf("export class_names %q, want %q (%v)", m["class_names"], meta["class_names"], err)
	}
	ev := mustRun(t, "eval", "--data", csv, "--weights", f)
	if !regexp.MustCompile(`^loss=\d+\.\d{4} accuracy=0\.9\d{3} samples=250\n$`).MatchString(ev) {
		t.Errorf("eval on a CSV: %q", ev)
	}
	// Label by name, the same.
	if ev2 := mustRun(t, "eval", "--data", csv, "--label-column", "side", "--weights", f); ev2 != ev {
		t.Errorf("--label-column side: %q, want %q", ev2, ev)
	}
}

// synthName is the class name of the first sample of the synthetic set of
// the stream: the CSV numbers the classes in order of first appearance.
func synthName(stream uint64) string {
	return []string{"right", "left"}[synthetic(1, stream).Labels[0]]
}

// TestTrainNPY trains on .npy arrays with --validation-data of another
// form, a CSV whose class names appear in another order.
func TestTrainNPY(t *testing.T) {
	dir, vdir := t.TempDir(), t.TempDir()
	_, x, y := writeSynthetic(t, dir, 200, 1)
	vcsv, _, _ := writeSynthetic(t, vdir, 60, 7)
	out := lines(mustRun(t, "train", "--data", x, "--labels", y, "--validation-data", vcsv, "--epochs", "2"))
	if len(out) != 3 || !valEpochLine.MatchString(out[0]) || !valSummaryLine.MatchString(out[2]) {
		t.Fatalf("train on .npy with --validation-data:\n%s", strings.Join(out, "\n"))
	}
	if acc := valSummaryLine.FindStringSubmatch(out[2])[2]; acc < "0.9" {
		t.Errorf("validation accuracy %s, want at least 0.9", acc)
	}
	if ev := mustRun(t, "eval", "--data", x, "--labels", y); !strings.HasSuffix(ev, " samples=200\n") {
		t.Errorf("eval on .npy: %q", ev)
	}
	// Without validation, train says so on stderr and reports no val_.
	code, stdout, stderr := runMain(t, "train", "--data", x, "--labels", y, "--epochs", "1")
	if l := lines(stdout); code != 0 || len(l) != 2 || !noValEpochLine.MatchString(l[0]) ||
		stderr != "fake: "+x+" has no test split and no validation data was asked for (--validation-split F, --validation-data PATH): training without validation\n" {
		t.Errorf("train without validation: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestValidationClasses checks that --validation-data's classes are
// renumbered as the training data numbers them.
func TestValidationClasses(t *testing.T) {
	train := &data.Set{N: 2, ClassNames: []string{"a", "b", "c"}, Labels: []int32{0, 1}}
	val := &data.Set{N: 3, ClassNames: []string{"c", "a"}, Labels: []int32{0, 1, 0}}
	if err := sameClasses(train, val, "v.csv"); err != nil || !slices.Equal(val.Labels, []int32{2, 0, 2}) || len(val.ClassNames) != 3 {
		t.Errorf("renumbered labels %v, names %v (%v); want [2 0 2]", val.Labels, val.ClassNames, err)
	}
	bin := &data.Set{N: 2, ClassNames: []string{"no", "yes"}, Y: []float32{0, 1}, Width: 1}
	vbin := &data.Set{N: 2, ClassNames: []string{"yes", "no"}, Y: []float32{0, 1}, Width: 1}
	if err := sameClasses(bin, vbin, "v.csv"); err != nil || !slices.Equal(vbin.Y, []float32{1, 0}) {
		t.Errorf("renumbered binary targets %v (%v); want [1 0]", vbin.Y, err)
	}
}

// writePNG writes a grey image of the pixels to path.
func writePNG(t *testing.T, path string, pixels ...uint8) {
	t.Helper()
	im := image.NewGray(image.Rect(0, 0, len(pixels), 1))
	for i, p := range pixels {
		im.SetGray(i, 0, color.Gray{Y: p})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTrainImageFolder trains on a folder of two classes of 1×2 images:
// the synthetic points as pixels.
func TestTrainImageFolder(t *testing.T) {
	dir := t.TempDir()
	s := synthetic(120, 1)
	for i := range s.N {
		// Pixels in [0, 1], as the points in [-1, 1) moved and halved;
		// the class is the side of a line still.
		writePNG(t, filepath.Join(dir, []string{"a_right", "b_left"}[s.Labels[i]], fmt.Sprintf("%03d.png", i)),
			uint8((s.X[2*i]+1)/2*255), uint8((s.X[2*i+1]+1)/2*255))
	}
	code, stdout, stderr := runImage(t, "train", "--data", dir, "--epochs", "3", "--validation-split", "0.25", "--quiet")
	if code != 0 || !valSummaryLine.MatchString(strings.TrimSpace(stdout)) {
		t.Fatalf("train on an image folder: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// The model reads 1×2 images; this one reads two values flat, not
	// an image.
	checkError(t, 1, "fake: ", dir+": the model's input [2] is not an image", "train", "--data", dir, "--epochs", "1")
}

// TestBadInput runs the cases of testdata/badinput: each folder holds the
// data, args (the command line; $OUT is a checkpoint that exists before)
// and stderr.txt, the one line the command must fail with (exit 1). The
// checkpoint and the outputs $OUT.csv and $OUT.npy must be left as they
// were. Run with -update to rewrite
// stderr.txt.
func TestBadInput(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join("testdata", "badinput", "*"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases in testdata/badinput: %v", err)
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, "args"))
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "old.ckpt")
			const old = "the checkpoint of an earlier run"
			// $OUT.csv and $OUT.npy are outputs of predict that exist
			// before too.
			olds := []string{out, out + ".csv", out + ".npy"}
			for _, f := range olds {
				if err := os.WriteFile(f, []byte(old), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := strings.Fields(strings.ReplaceAll(string(b), "$OUT", out))
			abs, err := filepath.Abs(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Chdir(abs)
			code, stdout, stderr := runImage(t, args...)
			stderr = strings.ReplaceAll(stderr, out, "$OUT")
			golden := filepath.Join(abs, "stderr.txt")
			if *update {
				if err := os.WriteFile(golden, []byte(stderr), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if code != 1 || stdout != "" || stderr != string(want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("%s: exit %d, stdout %q, stderr\n%s\nwant exit 1 and stderr\n%s", strings.Join(args, " "), code, stdout, stderr, want)
			}
			for _, f := range olds {
				if b, err := os.ReadFile(f); err != nil || string(b) != old {
					t.Errorf("%s: %s was overwritten", strings.Join(args, " "), f)
				}
			}
			if tmp, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*tmp*")); len(tmp) > 0 {
				t.Errorf("%s: temporary files left: %v", strings.Join(args, " "), tmp)
			}
		})
	}
}
