package e2e

import (
	"os/exec"
	"strings"
	"testing"

	lenetbn "github.com/nngen/nngen/generated/lenet_bn"
	mnistcnn "github.com/nngen/nngen/generated/mnist_cnn"
	"github.com/nngen/nngen/runtime/rng"
)

// torchCNN builds the PyTorch twin (NCHW) of a shipped convolutional model
// (argv[1]), loads nngen's tensors into it by name, runs x.npy (nngen's
// NHWC or flat inputs) through it in eval mode and prints the outputs.
const torchCNN = torchState + `import torch.nn.functional as F
class Net(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        if kind == 'mnist_cnn':
            self.conv2d = nn.Conv2d(1, 32, 3)
            self.conv2d_1 = nn.Conv2d(32, 64, 3)
            self.dense = nn.Linear(9216, 128)
            self.dense_1 = nn.Linear(128, 10)
        else:
            self.conv2d = nn.Conv2d(1, 6, 5, padding=2, bias=False)
            self.batch_normalization = nn.BatchNorm2d(6, eps=1e-3)
            self.conv2d_1 = nn.Conv2d(6, 16, 5, bias=False)
            self.batch_normalization_1 = nn.BatchNorm2d(16, eps=1e-3)
            self.dense = nn.Linear(400, 120)
            self.dense_1 = nn.Linear(120, 84)
            self.dense_2 = nn.Linear(84, 10)
    def forward(self, x):
        if self.kind == 'mnist_cnn':
            x = x.permute(0, 3, 1, 2)  # NHWC to NCHW
            x = F.max_pool2d(F.relu(self.conv2d_1(F.relu(self.conv2d(x)))), 2)
            x = F.relu(self.dense(torch.flatten(x, 1)))
            return torch.softmax(self.dense_1(x), dim=-1)
        x = x.reshape(-1, 1, 28, 28)
        x = F.avg_pool2d(F.relu(self.batch_normalization(self.conv2d(x))), 2)
        x = F.avg_pool2d(F.relu(self.batch_normalization_1(self.conv2d_1(x))), 2)
        x = F.relu(self.dense(torch.flatten(x, 1)))
        x = F.relu(self.dense_1(x))
        return torch.softmax(self.dense_2(x), dim=-1)
model = Net(sys.argv[1])
missing, unexpected = model.load_state_dict(sd, strict=False)
missing = [k for k in missing if not k.endswith('num_batches_tracked')]
if missing or unexpected:
    sys.exit('missing %s, unexpected %s' % (missing, unexpected))
model.eval()
with torch.no_grad():
    y = model(torch.from_numpy(numpy.load(sys.argv[3])))
print(' '.join(repr(float(v)) for v in y.flatten()))
`

// TestTorchCNN checks that PyTorch's nn.Conv2d, nn.BatchNorm2d and
// nn.Linear after torch.flatten of an NCHW image load nngen's exported
// convolutional models by name and layout (the Dense after Flatten
// included) and compute what nngen computes, every tensor moved off its
// initial value.
func TestTorchCNN(t *testing.T) {
	if exec.Command(torchPython, "-c", "import torch, numpy").Run() != nil {
		t.Skip("PyTorch not installed (Debian python3-torch)")
	}
	for name, m := range map[string]torchModel{
		"mnist_cnn": mnistcnn.New(1),
		"lenet_bn":  lenetbn.New(1),
	} {
		t.Run(name, func(t *testing.T) {
			r := rng.New(7, 0)
			for _, ts := range m.Tensors(false) {
				d := ts.Data.([]float32)
				for i := range d {
					if strings.HasSuffix(ts.Name, "running_var") {
						d[i] = float32(r.Uniform(0.5, 1.5))
					} else {
						d[i] += float32(r.Uniform(-0.1, 0.1))
					}
				}
			}
			const n = 3
			size := 1
			for _, d := range m.InputShape() {
				size *= d
			}
			x := make([]float32, n*size)
			for i := range x {
				x[i] = float32(r.Float64())
			}
			agreesWithTorch(t, torchCNN, name, m, x, n)
		})
	}
}
