package e2e

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nngen/nngen/runtime/data"
)

// torchPredict loads an exported checkpoint into torch.nn.Sequential by
// PyTorch's own parameter names (load_state_dict, strict) with nothing but
// torch.frombuffer, runs x.npy through it and prints the outputs.
const torchPredict = `
import json, struct, sys, numpy, torch
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n]); h.pop('__metadata__', None)
sd = {}
for name, v in h.items():
    s, e = v['data_offsets']
    sd[name] = torch.frombuffer(bytearray(b[8 + n + s:8 + n + e]), dtype=torch.float32).reshape(v['shape'])
model = torch.nn.Sequential()
model.add_module('dense', torch.nn.Linear(784, 64))
model.add_module('relu', torch.nn.ReLU())
model.add_module('dense_1', torch.nn.Linear(64, 10))
model.add_module('softmax', torch.nn.Softmax(dim=1))
model.load_state_dict(sd, strict=True)
with torch.no_grad():
    y = model(torch.from_numpy(numpy.load(sys.argv[2])))
print(' '.join(repr(float(v)) for v in y.flatten()))
`

// TestTorchReadsExport checks that PyTorch loads an exported checkpoint into
// nn.Linear layers by name and layout and predicts what nngen predicts.
func TestTorchReadsExport(t *testing.T) {
	const python = "/usr/bin/python3"
	if exec.Command(python, "-c", "import torch, numpy").Run() != nil {
		t.Skip("PyTorch not installed (Debian python3-torch)")
	}
	epoch1, _ := trainOnce(t)
	tmp := t.TempDir()
	model := filepath.Join(tmp, "model.safetensors")
	mustRun(t, "export", "--out", model, "--weights", epoch1)
	const n = 8
	images, err := data.ReadIDX(filepath.Join(mnistDir, "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	pixels := make([]float32, n*784)
	for i := range pixels {
		pixels[i] = float32(images.Data[i]) / 255
	}
	x, y := filepath.Join(tmp, "x.npy"), filepath.Join(tmp, "y.npy")
	if err := data.WriteNPY(x, []int{n, 784}, pixels); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "predict", "--in", x, "--out", y, "--weights", epoch1)
	_, ours, err := data.ReadNPY(y)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "-c", torchPredict, model, x).CombinedOutput()
	if err != nil {
		t.Fatalf("PyTorch: %v\n%s", err, out)
	}
	fields := strings.Fields(string(out))
	if len(fields) != len(ours) {
		t.Fatalf("PyTorch printed %d values, want %d:\n%s", len(fields), len(ours), out)
	}
	for i, f := range fields {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatal(err)
		}
		if d := v - float64(ours[i]); d > 1e-5 || d < -1e-5 {
			t.Errorf("output %d: PyTorch %v, nngen %v", i, v, ours[i])
		}
	}
}
