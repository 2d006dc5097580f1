package e2e

import (
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/runtime/data"
)

// TestVAE trains PyTorch's MNIST VAE for one epoch through its generated
// binary, checks the summary line (−ELBO per image and its terms), that eval
// of the checkpoint agrees, and that sample, reconstruct and encode write
// what they should.
func TestVAE(t *testing.T) {
	dir := needTraining(t)
	t.Parallel()
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "mnist_vae")
	if b, err := exec.Command("go", "build", "-o", bin, "github.com/nngen/nngen/generated/mnist_vae/cmd/mnist_vae").CombinedOutput(); err != nil {
		t.Fatalf("go build mnist_vae: %v\n%s", err, b)
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("mnist_vae %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	ck := filepath.Join(tmp, "vae.safetensors")
	kv := logfmt(t, run("train", "--data", dir, "--epochs", "1", "--quiet", "--checkpoint", ck))
	loss, rec, kl := number(t, kv, "test_loss"), number(t, kv, "test_reconstruction"), number(t, kv, "test_kl")
	if loss > 130 || loss < 80 {
		t.Errorf("test_loss=%v after one epoch, want about 120 nats per image", loss)
	}
	if d := loss - rec - kl; d > 1e-3 || d < -1e-3 {
		t.Errorf("test_loss=%v is not test_reconstruction=%v + test_kl=%v", loss, rec, kl)
	}
	if _, ok := kv["test_accuracy"]; ok {
		t.Error("the summary of a VAE reports an accuracy")
	}
	ev := logfmt(t, run("eval", "--data", dir, "--weights", ck))
	if ev["test_loss"] != kv["test_loss"] || ev["test_kl"] != kv["test_kl"] {
		t.Errorf("eval reports %v, training reported %v", ev, kv)
	}

	for _, c := range []struct {
		args []string
		w, h int
	}{
		{[]string{"sample", "--n", "64", "--out", filepath.Join(tmp, "samples.png"), "--weights", ck}, 8*30 + 2, 8*30 + 2},
		{[]string{"reconstruct", "--data", dir, "--n", "16", "--out", filepath.Join(tmp, "recon.png"), "--weights", ck}, 8*30 + 2, 4*30 + 2},
	} {
		run(c.args...)
		f, err := os.Open(c.args[len(c.args)-3])
		if err != nil {
			t.Fatal(err)
		}
		im, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", c.args[0], err)
		}
		if b := im.Bounds(); b.Dx() != c.w || b.Dy() != c.h {
			t.Errorf("%s wrote a %dx%d image, want %dx%d", c.args[0], b.Dx(), b.Dy(), c.w, c.h)
		}
	}

	if exec.Command("/usr/bin/python3", "-c", "import torch, numpy").Run() == nil {
		// PyTorch's examples/vae with the exported weights gives the test
		// loss at z = μ that nngen's eval gives.
		export := filepath.Join(tmp, "vae_export.safetensors")
		run("export", "--out", export, "--weights", ck)
		out, err := exec.Command("/usr/bin/python3", "-c", torchVAELoss, export, filepath.Join(dir, "t10k-images-idx3-ubyte.gz")).CombinedOutput()
		if err != nil {
			t.Fatalf("PyTorch: %v\n%s", err, out)
		}
		tv := logfmt(t, strings.TrimSpace(string(out)))
		for _, k := range []string{"test_loss", "test_reconstruction", "test_kl"} {
			want, err := strconv.ParseFloat(tv[k], 64)
			if err != nil {
				t.Fatalf("PyTorch printed %q", out)
			}
			if got := number(t, ev, k); math.Abs(got-want) > 1e-3*want {
				t.Errorf("%s: nngen %v, PyTorch %v", k, got, want)
			}
		}
	}

	x := make([]float32, 3*784)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	in, out := filepath.Join(tmp, "x.npy"), filepath.Join(tmp, "z.npy")
	if err := data.WriteNPY(in, []int{3, 784}, x); err != nil {
		t.Fatal(err)
	}
	run("encode", "--in", in, "--out", out, "--weights", ck)
	shape, z, err := data.ReadNPY(out)
	if err != nil || len(shape) != 2 || shape[0] != 3 || shape[1] != 20 || len(z) != 60 {
		t.Fatalf("encode wrote shape %v (%d values), err %v; want [3 20]", shape, len(z), err)
	}
	if b, err := exec.Command(bin, "encode", "--in", out, "--out", out).CombinedOutput(); err == nil || !strings.Contains(string(b), "does not fit") {
		t.Errorf("encode of a [3 20] file: err %v, output %s", err, b)
	}
}

// torchVAELoss loads an exported mnist_vae checkpoint into the model of
// PyTorch's examples/vae (fc21 is z_mean, fc22 z_log_var) and prints the
// mean loss per image of the MNIST test set at z = μ, and its terms.
const torchVAELoss = `
import gzip, json, struct, sys, numpy, torch
import torch.nn.functional as F
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n]); h.pop('__metadata__', None)
names = {'fc1': 'fc1', 'z_mean': 'fc21', 'z_log_var': 'fc22', 'fc3': 'fc3', 'fc4': 'fc4'}
sd = {}
for name, v in h.items():
    s, e = v['data_offsets']
    layer, p = name.split('.')
    sd[names[layer] + '.' + p] = torch.frombuffer(bytearray(b[8 + n + s:8 + n + e]), dtype=torch.float32).reshape(v['shape'])
class VAE(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 400)
        self.fc21 = torch.nn.Linear(400, 20)
        self.fc22 = torch.nn.Linear(400, 20)
        self.fc3 = torch.nn.Linear(20, 400)
        self.fc4 = torch.nn.Linear(400, 784)
model = VAE()
model.load_state_dict(sd, strict=True)
raw = gzip.open(sys.argv[2]).read()
x = torch.from_numpy(numpy.frombuffer(raw, dtype=numpy.uint8, offset=16).reshape(-1, 784).astype(numpy.float32) / 255)
with torch.no_grad():
    h1 = F.relu(model.fc1(x))
    mu, logvar = model.fc21(h1), model.fc22(h1)
    recon = torch.sigmoid(model.fc4(F.relu(model.fc3(mu))))
    bce = F.binary_cross_entropy(recon.double(), x.double(), reduction='sum').item() / len(x)
    kld = (-0.5 * torch.sum(1 + logvar.double() - mu.double().pow(2) - logvar.double().exp())).item() / len(x)
print('test_loss=%.6f test_reconstruction=%.6f test_kl=%.6f' % (bce + kld, bce, kld))
`
