package train

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nngen/nngen/runtime/data"
)

// fakeText is a text model of 4 steps over a vocabulary of 128 that is
// sure the byte after b is b+1 (and that 'z' is followed by 'a').
type fakeText struct {
	*fakeModel
	trained *data.Set // the last set TrainBatch saw
}

func (m *fakeText) InputShape() []int  { return []int{4} }
func (m *fakeText) OutputShape() []int { return []int{4, 128} }
func (m *fakeText) Vocabulary() int    { return 128 }
func (m *fakeText) TrainBatch(set *data.Set, idx []int) (float64, int) {
	m.trained = set
	return 0, 2 * len(idx) // 2 of the 4 steps of every sample
}
func (m *fakeText) Evaluate(set *data.Set) (loss, accuracy float64) { return 0, 0 }
func (m *fakeText) PredictOne(x, out []float32) {
	clear(out)
	for k, v := range x {
		next := int(v) + 1
		if next > 'z' {
			next = 'a'
		}
		out[k*128+next] = 1
	}
}

func runText(t *testing.T, m *fakeText, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(func(uint64) Model { return m }, fakeSeed, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSample(t *testing.T) {
	m := &fakeText{fakeModel: newFake(1)}
	for _, seed := range []string{"x", "abcdefgw"} {
		code, out, errOut := runText(t, m, "sample", "--seed-text", seed, "--length", "5", "--temperature", "0.5")
		want := seed + map[string]string{"x": "yzabc", "abcdefgw": "xyzab"}[seed] + "\n"
		if code != 0 || out != want {
			t.Errorf("sample --seed-text %s: exit %d, stdout %q, stderr %q; want %q", seed, code, out, errOut, want)
		}
	}
	if _, out, _ := runText(t, m, "-h"); !strings.Contains(out, "sample --seed-text") || !strings.Contains(out, "train --text FILE --epochs N") {
		t.Errorf("a text model's usage does not list sample:\n%s", out)
	}
	for _, c := range []struct{ args, err string }{
		{"sample", "--seed-text is required"},
		{"sample --seed-text a --temperature 0", "--temperature must be positive"},
		{"sample --seed-text a --length -1", "--length must not be negative"},
		{"sample --seed-text \xc3\xa6", "byte 0 is 0xc3"},
		{"train --epochs 1", "--text is required"},
	} {
		code, _, errOut := runText(t, m, strings.Fields(c.args)...)
		if code == 0 || !strings.Contains(errOut, c.err) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q, want one line with %q", c.args, code, errOut, c.err)
		}
	}
	// A model that reads no tokens has no sample command and no --text.
	if _, out, _ := runMain(t, "-h"); strings.Contains(out, "sample") {
		t.Errorf("usage of a non-text model lists sample:\n%s", out)
	}
	if code, _, errOut := runMain(t, "sample", "--seed-text", "a"); code != 2 || !strings.Contains(errOut, `unknown command "sample"`) {
		t.Errorf("sample on a non-text model: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := runMain(t, "train", "--text", "x.txt", "--epochs", "1"); code != 2 || !strings.Contains(errOut, "-text") {
		t.Errorf("--text on a non-text model: exit %d, stderr %q", code, errOut)
	}
}

func TestTrainText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.txt")
	os.WriteFile(path, []byte(strings.Repeat("the quick brown fox ", 20)), 0o666)
	m := &fakeText{fakeModel: newFake(1)}
	code, out, errOut := runText(t, m, "train", "--text", path, "--epochs", "1")
	if code != 0 {
		t.Fatalf("train --text: exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "accuracy=0.5000") {
		t.Errorf("train --text: want the accuracy over every step, 0.5:\n%s", out)
	}
	if m.trained == nil || m.trained.Steps != 4 || m.trained.Shape[0] != 4 {
		t.Fatalf("train --text did not train on windows of 4 steps: %+v", m.trained)
	}
	if code, out, errOut := runText(t, m, "eval", "--text", path); code != 0 || !strings.Contains(out, "samples=36") {
		t.Errorf("eval --text: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
