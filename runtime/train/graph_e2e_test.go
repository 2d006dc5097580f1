package train_test

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/runtime/data"
)

// weighSpec is a binary classifier whose output is σ(1) for every sample
// (zero kernel, bias 1) and stays so (learning rate 0): each sample's
// loss is −log σ(1) for class 1 and −log(1 − σ(1)) for class 0, which
// makes the weighted loss a number to compute by hand.
const weighSpec = `name: weigh
input_shape: [1]
batch_size: 4
layers:
  - type: Dense
    units: 1
    activation: sigmoid
    kernel_initializer: zeros
    bias_initializer: ones
loss: binary_crossentropy
optimizer: {name: sgd, learning_rate: 0}
`

// trainLoss runs bin's train command for one epoch and returns its loss,
// from the history (8 digits), and the checkpoint it saved.
func trainLoss(t *testing.T, bin string, args ...string) (float64, []byte) {
	t.Helper()
	dir := t.TempDir()
	hist, ckpt := filepath.Join(dir, "h.csv"), filepath.Join(dir, "m.ckpt")
	out, err := exec.Command(bin, append([]string{"train", "--epochs", "1", "--quiet", "--history", hist, "--checkpoint", ckpt}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("train %v: %v\n%s", args, err, out)
	}
	h, c := readFile(t, hist), readFile(t, ckpt)
	rows := strings.Split(strings.TrimSpace(string(h)), "\n")
	head, row := strings.Split(rows[0], ","), strings.Split(rows[len(rows)-1], ",")
	for i, k := range head {
		if k == "loss" {
			v, err := strconv.ParseFloat(row[i], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v, c
		}
	}
	t.Fatalf("train %v: no loss in the history\n%s", args, h)
	return 0, nil
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestClassWeight checks --class-weight against Keras's formula, the sum
// of each sample's loss times its class's weight over the batch size, with
// the weights given and balanced (n_samples / (n_classes · count)).
func TestClassWeight(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated binary")
	}
	bin := buildSpec(t, "weigh", weighSpec)
	dir := t.TempDir()
	csv := filepath.Join(dir, "d.csv")
	if err := os.WriteFile(csv, []byte("x,y\n0.5,0\n-1,0\n2,0\n0,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := 1 / (1 + math.Exp(-1))
	l0, l1 := -math.Log(1-s), -math.Log(s) // the loss of a sample of class 0, 1
	for _, tc := range []struct {
		flag string
		want float64
	}{
		{"", (3*l0 + l1) / 4},
		{"0:1,1:5", (3*l0 + 5*l1) / 4},
		{"1:0.5", (3*l0 + 0.5*l1) / 4},
		{"0:2", (3*2*l0 + l1) / 4},
		// Three samples of class 0 and one of 1: 4/(2·3) and 4/(2·1).
		{"balanced", (3*(4.0/6)*l0 + 2*l1) / 4},
	} {
		args := []string{"--data", csv}
		if tc.flag != "" {
			args = append(args, "--class-weight", tc.flag)
		}
		if got, _ := trainLoss(t, bin, args...); math.Abs(got-tc.want) > 1e-6*tc.want {
			t.Errorf("--class-weight %q: loss %.7g, want %.7g", tc.flag, got, tc.want)
		}
	}
	for flag, want := range map[string]string{
		"0:1,7:2": "class weights of 8 classes; the model has 2",
		"0:-1":    "class 0: weight -1 is not a finite number of 0 or more",
		"a:1":     `"a:1" is not CLASS:WEIGHT`,
	} {
		out, err := exec.Command(bin, "train", "--epochs", "1", "--data", csv, "--class-weight", flag).CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("--class-weight %s: %v, output %q, want it to say %q", flag, err, out, want)
		}
	}
}

// siameseSpec has two named inputs, one Dense encoder applied to both, the
// cosine of the codes and a sigmoid on it.
const siameseSpec = `name: twin
inputs:
  - {name: left, shape: [3]}
  - {name: right, shape: [2, 2]}
batch_size: 4
seed: 3
layers:
  - {name: flat, type: Flatten, inputs: right}
  - {name: proj, type: Dense, units: 3, inputs: flat}
  - {name: enc, type: Dense, units: 4, activation: tanh, inputs: left}
  - {name: enc_right, shares: enc, inputs: proj}
  - {name: cos, type: Dot, axes: 1, normalize: true, inputs: [enc, enc_right]}
  - {type: Dense, units: 1, activation: sigmoid}
loss: binary_crossentropy
optimizer: {name: adam, learning_rate: 0.01}
`

// TestSeveralInputs trains a model of two inputs on one .npy file per
// input (--data twice, the labels with the first), which must give the
// bits of training on one file of both side by side, the first input's
// first, and not those of the inputs swapped.
func TestSeveralInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated binary")
	}
	bin := buildSpec(t, "twin", siameseSpec)
	dir := t.TempDir()
	const n = 24
	var left, right, both, swapped, y []float32
	for i := range n {
		l := []float32{float32(i%5) - 2, float32(i%3) * 0.5, float32(i%7)*0.25 - 1}
		r := []float32{float32(i%4) - 1.5, 0.3 * float32(i%2), float32(i%5) * -0.2, 1}
		left, right = append(left, l...), append(right, r...)
		both = append(append(both, l...), r...)
		swapped = append(append(swapped, r[:3]...), append(r[3:], l...)...)
		y = append(y, float32(i%2))
	}
	write := func(name string, shape []int, v []float32) string {
		p := filepath.Join(dir, name)
		if err := data.WriteNPY(p, shape, v); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := write("left.npy", []int{n, 3}, left), write("right.npy", []int{n, 2, 2}, right)
	ab, ba := write("both.npy", []int{n, 7}, both), write("swapped.npy", []int{n, 7}, swapped)
	labels := write("y.npy", []int{n}, y)
	two, twoCkpt := trainLoss(t, bin, "--data", a, "--data", b, "--labels", labels)
	one, oneCkpt := trainLoss(t, bin, "--data", ab, "--labels", labels)
	if two != one || !bytes.Equal(twoCkpt, oneCkpt) {
		t.Errorf("loss %v on one file per input, %v on one file of both; same checkpoints: %v", two, one, bytes.Equal(twoCkpt, oneCkpt))
	}
	if sw, _ := trainLoss(t, bin, "--data", ba, "--labels", labels); sw == one {
		t.Errorf("loss %v with the inputs swapped too", sw)
	}
	// predict takes one .npy array per input as well.
	w := filepath.Join(dir, "w.ckpt")
	if err := os.WriteFile(w, oneCkpt, 0o644); err != nil {
		t.Fatal(err)
	}
	predict := func(out string, in ...string) []byte {
		args := []string{"predict", "--weights", w, "--out", out}
		for _, p := range in {
			args = append(args, "--in", p)
		}
		if b, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("predict %v: %v\n%s", in, err, b)
		}
		return readFile(t, out)
	}
	p2, p1 := predict(filepath.Join(dir, "p2.npy"), a, b), predict(filepath.Join(dir, "p1.npy"), ab)
	if !bytes.Equal(p1, p2) {
		t.Errorf("predict: one file per input and one file of both give other outputs")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", a, "--data", b, "--data", a, "--labels", labels}, "--data given 3 times: the model has 2 inputs (left [3], right [2 2])"},
		{[]string{"--data", b, "--data", a, "--labels", labels}, "right.npy: shape [24,2,2] does not fit the model's input: want [n,3] (input left)"},
		{[]string{"--data", a, "--labels", labels}, "want [n,7]"},
	} {
		out, err := exec.Command(bin, append([]string{"train", "--epochs", "1"}, tc.args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("train %v: %v, output %q, want it to say %q", tc.args, err, out, tc.want)
		}
	}
}
