package e2e

import (
	"testing"

	"github.com/nngen/nngen/generated/mnist_resnet"
	"github.com/nngen/nngen/runtime/data"
	"github.com/nngen/nngen/runtime/train"
)

// TestResNet trains the residual CNN (testdata/models/mnist_resnet.yaml:
// Conv2D/BatchNormalization/ReLU blocks with Add skips,
// GlobalAveragePooling2D) on the first 12800 MNIST training images for one
// epoch (100 batches) through Fit and checks its accuracy on 1000 test
// images, with the moving statistics of inference.
func TestResNet(t *testing.T) {
	dir := needTraining(t)
	full, fullTest, err := data.LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	subset := func(s *data.Set, n int) *data.Set {
		size := s.SampleSize()
		return &data.Set{N: n, Shape: []int{28, 28, 1}, X: s.X[:n*size], Labels: s.Labels[:n], Classes: 10}
	}
	trainSet, test := subset(full, 12800), subset(fullTest, 1000)
	m := mnist_resnet.New(1)
	epochs, err := m.Fit(trainSet, test, train.Options{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	acc := epochs[0].Values["val_accuracy"]
	t.Logf("after 100 batches: %v (%.1f s)", epochs[0].Values, epochs[0].Seconds)
	if acc < 0.9 {
		t.Errorf("val_accuracy %.4f after 100 batches, want at least 0.9: the residual CNN does not learn", acc)
	}
}
