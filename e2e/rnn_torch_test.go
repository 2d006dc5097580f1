package e2e

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	charrnn "github.com/nngen/nngen/generated/char_rnn"
	seqmnistlstm "github.com/nngen/nngen/generated/seq_mnist_lstm"
	seqmnistrnn "github.com/nngen/nngen/generated/seq_mnist_rnn"
	"github.com/nngen/nngen/runtime/ckpt"
	"github.com/nngen/nngen/runtime/data"
	"github.com/nngen/nngen/runtime/rng"
)

// torchState starts the scripts of the PyTorch twins: it reads the
// safetensors file argv[2] into the state dict sd.
const torchState = `
import json, struct, sys, numpy, torch
from torch import nn
b = open(sys.argv[2], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n]); h.pop('__metadata__', None)
sd = {}
for name, v in h.items():
    s, e = v['data_offsets']
    sd[name] = torch.frombuffer(bytearray(b[8 + n + s:8 + n + e]), dtype=torch.float32).reshape(v['shape'])
`

// torchRecurrent builds the PyTorch twin of a shipped recurrent model
// (argv[1]), loads nngen's tensors into it by name (load_state_dict,
// strict), runs x.npy through it and prints the outputs.
const torchRecurrent = torchState + `class Net(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        if kind == 'seq_mnist_rnn':
            self.simple_rnn = nn.RNN(28, 128, batch_first=True)
            self.dense = nn.Linear(128, 10)
        elif kind == 'seq_mnist_lstm':
            self.lstm = nn.LSTM(28, 128, batch_first=True)
            self.dense = nn.Linear(128, 10)
        else:
            self.embedding = nn.Embedding(128, 32)
            self.gru = nn.GRU(32, 256, batch_first=True)
            self.dense = nn.Linear(256, 128)
    def forward(self, x):
        if self.kind == 'char_rnn':
            out, _ = self.gru(self.embedding(x.long()))
            return torch.softmax(self.dense(out), dim=-1)
        rnn = self.simple_rnn if self.kind == 'seq_mnist_rnn' else self.lstm
        out, _ = rnn(x)
        return torch.softmax(self.dense(out[:, -1]), dim=-1)
model = Net(sys.argv[1])
model.load_state_dict(sd, strict=True)
with torch.no_grad():
    y = model(torch.from_numpy(numpy.load(sys.argv[3])))
print(' '.join(repr(float(v)) for v in y.flatten()))
`

// torchPython is the Python with Debian's PyTorch.
const torchPython = "/usr/bin/python3"

// torchModel is what the interop tests need of a generated model.
type torchModel interface {
	Params() []float32
	Tensors(withState bool) []ckpt.Tensor
	InputShape() []int
	OutputShape() []int
	Predict(x, out []float32)
}

// TestTorchRecurrent checks that PyTorch's nn.RNN, nn.LSTM, nn.GRU and
// nn.Embedding load nngen's recurrent checkpoints by name and layout (gate
// orders i, f, g, o and r, z, n; both biases) and compute what nngen
// computes, with every parameter moved off its initial value.
func TestTorchRecurrent(t *testing.T) {
	if exec.Command(torchPython, "-c", "import torch, numpy").Run() != nil {
		t.Skip("PyTorch not installed (Debian python3-torch)")
	}
	for name, m := range map[string]torchModel{
		"seq_mnist_rnn":  seqmnistrnn.New(1),
		"seq_mnist_lstm": seqmnistlstm.New(1),
		"char_rnn":       charrnn.New(1),
	} {
		t.Run(name, func(t *testing.T) {
			r := rng.New(5, 0)
			p := m.Params()
			for i := range p {
				p[i] += float32(r.Uniform(-0.1, 0.1))
			}
			const n = 3
			size := 1
			for _, d := range m.InputShape() {
				size *= d
			}
			x := make([]float32, n*size)
			for i := range x {
				if name == "char_rnn" {
					x[i] = float32(r.Intn(128))
				} else {
					x[i] = float32(r.Float64())
				}
			}
			agreesWithTorch(t, torchRecurrent, name, m, x, n)
		})
	}
}

// agreesWithTorch saves m's tensors and the n inputs x, runs script
// (argv: name, the tensors, x.npy), which prints the outputs of m's PyTorch
// twin, and checks that they are m.Predict's within 1e-4.
func agreesWithTorch(t *testing.T, script, name string, m torchModel, x []float32, n int) {
	t.Helper()
	tmp := t.TempDir()
	model, xf := filepath.Join(tmp, "model.safetensors"), filepath.Join(tmp, "x.npy")
	if err := ckpt.Save(model, m.Tensors(false), map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if err := data.WriteNPY(xf, append([]int{n}, m.InputShape()...), x); err != nil {
		t.Fatal(err)
	}
	outSize := 1
	for _, d := range m.OutputShape() {
		outSize *= d
	}
	ours := make([]float32, n*outSize)
	m.Predict(x, ours)
	out, err := exec.Command(torchPython, "-c", script, name, model, xf).CombinedOutput()
	if err != nil {
		t.Fatalf("PyTorch: %v\n%s", err, out)
	}
	fields := strings.Fields(string(out))
	if len(fields) != len(ours) {
		t.Fatalf("PyTorch printed %d values, want %d:\n%.500s", len(fields), len(ours), out)
	}
	bad := 0
	for i, f := range fields {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatal(err)
		}
		if d := v - float64(ours[i]); (d > 1e-4 || d < -1e-4) && bad < 5 {
			t.Errorf("output %d: PyTorch %v, nngen %v", i, v, ours[i])
			bad++
		}
	}
}
