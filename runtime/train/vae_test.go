package train

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nngen/nngen/runtime/data"
)

// fakeVAE is the fake model with a 2-value latent code, whose encoder is the
// identity and whose decoder draws a 2×2 image of z.
type fakeVAE struct{ *fakeModel }

func (m fakeVAE) OutputShape() []int { return []int{2, 2, 1} }
func (m fakeVAE) LatentSize() int    { return 2 }
func (m fakeVAE) Encode(x, mu, logvar []float32) {
	copy(mu, x)
	clear(logvar)
}
func (m fakeVAE) Decode(z, out []float32) {
	for i := 0; i < len(z)/2; i++ {
		copy(out[4*i:], []float32{z[2*i], z[2*i+1], 0.5, 1})
	}
}

func runVAE(t *testing.T, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Main(func(s uint64) Model { return fakeVAE{newFake(s)} }, fakeSeed, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestAutoencoderCommands(t *testing.T) {
	_, usage, _ := runMain(t, "-h")
	if strings.Contains(usage, "sample") || strings.Contains(usage, "encode") {
		t.Errorf("a model that is no autoencoder lists the autoencoder commands:\n%s", usage)
	}
	if code, _, stderr := runMain(t, "sample", "--out", "x.png"); code != 2 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("sample of a classifier: exit %d, stderr %q", code, stderr)
	}
	_, usage, _ = runVAE(t, "-h")
	for _, c := range []string{"sample", "reconstruct", "encode"} {
		if !strings.Contains(usage, "\n  "+c+" ") {
			t.Errorf("usage of an autoencoder lacks %s:\n%s", c, usage)
		}
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "s.png")
	if code, _, stderr := runVAE(t, "sample", "--n", "5", "--out", path); code != 0 {
		t.Fatalf("sample: exit %d: %s", code, stderr)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// 5 images of 2×2 in 3 columns and 2 rows, with borders of 2.
	if b := im.Bounds(); b.Dx() != 3*4+2 || b.Dy() != 2*4+2 {
		t.Errorf("sample wrote a %v image", b)
	}

	in, out := filepath.Join(dir, "x.npy"), filepath.Join(dir, "z.npy")
	if err := data.WriteNPY(in, []int{3, 2}, []float32{1, 2, 3, 4, 5, 6}); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runVAE(t, "encode", "--in", in, "--out", out); code != 0 {
		t.Fatalf("encode: exit %d: %s", code, stderr)
	}
	if shape, z, err := data.ReadNPY(out); err != nil || len(shape) != 2 || shape[0] != 3 || shape[1] != 2 || z[5] != 6 {
		t.Errorf("encode wrote %v %v, err %v", shape, z, err)
	}

	one := filepath.Join(dir, "one.npy")
	if err := data.WriteNPY(one, []int{2}, []float32{7, 8}); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runVAE(t, "encode", "--in", one, "--out", out); code != 0 {
		t.Fatalf("encode of one sample: exit %d: %s", code, stderr)
	}
	if shape, z, err := data.ReadNPY(out); err != nil || len(shape) != 1 || shape[0] != 2 || z[1] != 8 {
		t.Errorf("encode of one sample wrote %v %v, err %v", shape, z, err)
	}

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"sample"}, 2, "--out is required"},
		{[]string{"sample", "--out", path, "--n", "0"}, 2, "--n must be in [1, 10000]"},
		{[]string{"sample", "--out", filepath.Join(dir, "no", "s.png")}, 1, "no such file or directory"},
		{[]string{"reconstruct", "--out", path}, 2, "--data is required"},
		{[]string{"encode", "--in", in}, 2, "--in and --out are required"},
		{[]string{"encode", "--in", out, "--out", out, "--weights", filepath.Join(dir, "none")}, 1, "none"},
	} {
		code, _, stderr := runVAE(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and one line with %q", strings.Join(c.args, " "), code, stderr, c.code, c.msg)
		}
	}
}
