package e2e

import (
	"os"
	"testing"

	"github.com/nngen/nngen/generated/mnist_autoencoder"
	"github.com/nngen/nngen/runtime/data"
	"github.com/nngen/nngen/runtime/train"
)

// TestAutoencoder trains the convolutional autoencoder of Keras's example
// (testdata/models/mnist_autoencoder.yaml, whose targets are its inputs)
// on the first 12800 MNIST training images for one epoch, through Fit, and
// checks that its binary cross-entropy on 512 test images falls well below
// the untrained model's. NNGEN_AUTOENCODER_PNG=F.png writes the first 16
// test images beside their reconstructions.
func TestAutoencoder(t *testing.T) {
	dir := needTraining(t)
	full, fullTest, err := data.LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	subset := func(s *data.Set, n int) *data.Set {
		size := s.SampleSize()
		return &data.Set{N: n, Shape: []int{28, 28, 1}, X: s.X[:n*size]}
	}
	trainSet, test := subset(full, 12800), subset(fullTest, 512)
	m := mnist_autoencoder.New(1)
	before, _ := m.Evaluate(test)
	epochs, err := m.Fit(trainSet, test, train.Options{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	after := epochs[0].Values["val_loss"]
	t.Logf("test binary cross-entropy per pixel: %.4f untrained, %.4f after 100 batches (%.1f s)", before, after, epochs[0].Seconds)
	// Untrained, the output is about ½ everywhere (log 2 ≈ 0.69); 100
	// batches give about 0.12, recognisable digits.
	if after > 0.2 || after > 0.5*before {
		t.Errorf("val_loss %.4f after 100 batches, %.4f untrained: the autoencoder does not learn", after, before)
	}
	if png := os.Getenv("NNGEN_AUTOENCODER_PNG"); png != "" {
		k, sz := 16, 784
		x := test.X[:k*sz]
		y := make([]float32, len(x))
		m.Predict(x, y)
		var pairs []float32
		for i := range k {
			pairs = append(append(pairs, x[i*sz:(i+1)*sz]...), y[i*sz:(i+1)*sz]...)
		}
		if err := data.WritePNG(png, data.Grid(pairs, 28, 28, 8, 2)); err != nil {
			t.Fatal(err)
		}
	}
}
