package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLeNetBatchNorm trains the LeNet-style CNN with BatchNormalization and
// average pooling for one epoch on real MNIST through its generated binary,
// then checks that eval of the checkpoint (moving statistics at inference)
// reports the same test accuracy.
func TestLeNetBatchNorm(t *testing.T) {
	dir := needTraining(t)
	t.Parallel()
	out := filepath.Join(t.TempDir(), "lenet_bn")
	b, err := exec.Command("go", "build", "-o", out, "github.com/nngen/nngen/generated/lenet_bn/cmd/lenet_bn").CombinedOutput()
	if err != nil {
		t.Fatalf("go build lenet_bn: %v\n%s", err, b)
	}
	ck := filepath.Join(t.TempDir(), "lenet.safetensors")
	train, err := exec.Command(out, "train", "--data", dir, "--epochs", "1", "--quiet", "--checkpoint", ck).CombinedOutput()
	if err != nil {
		t.Fatalf("lenet_bn train: %v\n%s", err, train)
	}
	kv := logfmt(t, string(train))
	if acc := number(t, kv, "test_accuracy"); acc < 0.97 {
		t.Errorf("test_accuracy=%v after one epoch, want at least 0.97 (98.4%% here)", acc)
	}
	eval, err := exec.Command(out, "eval", "--data", dir, "--weights", ck).CombinedOutput()
	if err != nil {
		t.Fatalf("lenet_bn eval: %v\n%s", err, eval)
	}
	if got := logfmt(t, strings.TrimSpace(string(eval))); got["test_accuracy"] != kv["test_accuracy"] {
		t.Errorf("eval reports test_accuracy=%s, training reported %s", got["test_accuracy"], kv["test_accuracy"])
	}
}
