// Command gorgonia-mlp is the Gorgonia peer of nngen's MLP benchmark: it
// trains Dense(64, relu) -> Dense(10, softmax) on MNIST with categorical
// cross-entropy and Adam (lr 1e-3, betas 0.9/0.999, eps 1e-7), batch 32, for
// one epoch, then prints
//
//	samples_per_sec=N test_accuracy=X predict_us=Y
//
// samples_per_sec counts only the training loop (batch gathering, forward,
// backward, Adam step); predict_us is the median latency of a batch-1 forward
// pass on a second graph that shares the trained weights.
//
// Usage: gorgonia-mlp [-epochs 1] [-seed 1] MNIST_DATA_DIR
// Run with GOMAXPROCS=1 and, on Go >= 1.26,
// ASSUME_NO_MOVING_GC_UNSAFE_RISK_IT_WITH=go1.26.
package main

import (
	"compress/gzip"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

const (
	nIn     = 784
	nHidden = 64
	nOut    = 10
	batch   = 32
)

// readIDX reads a gzipped IDX file and returns its dimensions and raw bytes.
func readIDX(path string) ([]int, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, err
	}
	var magic [4]byte
	if _, err := io.ReadFull(zr, magic[:]); err != nil {
		return nil, nil, err
	}
	if magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 {
		return nil, nil, fmt.Errorf("%s: not an unsigned-byte IDX file", path)
	}
	dims := make([]int, magic[3])
	n := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(zr, binary.BigEndian, &d); err != nil {
			return nil, nil, err
		}
		dims[i] = int(d)
		n *= int(d)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(zr, data); err != nil {
		return nil, nil, err
	}
	return dims, data, nil
}

// loadSplit returns images scaled to [0,1] (n*784) and labels.
func loadSplit(dir, prefix string) ([]float32, []uint8, error) {
	dims, pix, err := readIDX(filepath.Join(dir, prefix+"-images-idx3-ubyte.gz"))
	if err != nil {
		return nil, nil, err
	}
	ldims, labels, err := readIDX(filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz"))
	if err != nil {
		return nil, nil, err
	}
	if len(dims) != 3 || dims[1]*dims[2] != nIn || len(ldims) != 1 || ldims[0] != dims[0] {
		return nil, nil, fmt.Errorf("%s: unexpected IDX shapes %v %v", prefix, dims, ldims)
	}
	x := make([]float32, len(pix))
	for i, p := range pix {
		x[i] = float32(p) / 255
	}
	return x, labels, nil
}

// glorot fills a fanIn x fanOut weight matrix with Glorot-uniform values.
func glorot(rng *rand.Rand, fanIn, fanOut int) []float32 {
	lim := math.Sqrt(6 / float64(fanIn+fanOut))
	w := make([]float32, fanIn*fanOut)
	for i := range w {
		w[i] = float32((rng.Float64()*2 - 1) * lim)
	}
	return w
}

// mlp builds the forward graph for a given batch size; weights are bound to
// the given backing tensors so that several graphs can share them.
type mlp struct {
	g              *G.ExprGraph
	x              *G.Node
	w1, b1, w2, b2 *G.Node
	logits         *G.Node
}

func newMLP(bs int, w1, b1, w2, b2 *tensor.Dense) (*mlp, error) {
	g := G.NewGraph()
	m := &mlp{g: g}
	m.x = G.NewMatrix(g, tensor.Float32, G.WithShape(bs, nIn), G.WithName("x"))
	m.w1 = G.NewMatrix(g, tensor.Float32, G.WithShape(nIn, nHidden), G.WithName("w1"), G.WithValue(w1))
	m.b1 = G.NewMatrix(g, tensor.Float32, G.WithShape(1, nHidden), G.WithName("b1"), G.WithValue(b1))
	m.w2 = G.NewMatrix(g, tensor.Float32, G.WithShape(nHidden, nOut), G.WithName("w2"), G.WithValue(w2))
	m.b2 = G.NewMatrix(g, tensor.Float32, G.WithShape(1, nOut), G.WithName("b2"), G.WithValue(b2))
	h, err := G.Mul(m.x, m.w1)
	if err != nil {
		return nil, err
	}
	if h, err = G.BroadcastAdd(h, m.b1, nil, []byte{0}); err != nil {
		return nil, err
	}
	if h, err = G.Rectify(h); err != nil {
		return nil, err
	}
	if h, err = G.Mul(h, m.w2); err != nil {
		return nil, err
	}
	if m.logits, err = G.BroadcastAdd(h, m.b2, nil, []byte{0}); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *mlp) learnables() G.Nodes { return G.Nodes{m.w1, m.b1, m.w2, m.b2} }

func argmax(v []float32) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}

func run() error {
	epochs := flag.Int("epochs", 1, "training epochs")
	seed := flag.Int64("seed", 1, "random seed")
	predictCalls := flag.Int("predict-calls", 2000, "timed batch-1 forward calls")
	flag.Parse()
	if flag.NArg() != 1 {
		return fmt.Errorf("usage: gorgonia-mlp [flags] MNIST_DATA_DIR")
	}
	dir := flag.Arg(0)
	trainX, trainY, err := loadSplit(dir, "train")
	if err != nil {
		return err
	}
	testX, testY, err := loadSplit(dir, "t10k")
	if err != nil {
		return err
	}
	nTrain, nTest := len(trainY), len(testY)

	rng := rand.New(rand.NewSource(*seed))
	w1 := tensor.New(tensor.WithShape(nIn, nHidden), tensor.WithBacking(glorot(rng, nIn, nHidden)))
	b1 := tensor.New(tensor.WithShape(1, nHidden), tensor.WithBacking(make([]float32, nHidden)))
	w2 := tensor.New(tensor.WithShape(nHidden, nOut), tensor.WithBacking(glorot(rng, nHidden, nOut)))
	b2 := tensor.New(tensor.WithShape(1, nOut), tensor.WithBacking(make([]float32, nOut)))

	// Training graph: loss = -mean_i sum_k y_ik * log_softmax(logits)_ik.
	tm, err := newMLP(batch, w1, b1, w2, b2)
	if err != nil {
		return err
	}
	y := G.NewMatrix(tm.g, tensor.Float32, G.WithShape(batch, nOut), G.WithName("y"))
	logp, err := G.LogSoftMax(tm.logits)
	if err != nil {
		return err
	}
	prod, err := G.HadamardProd(logp, y)
	if err != nil {
		return err
	}
	perSample, err := G.Sum(prod, 1)
	if err != nil {
		return err
	}
	mean, err := G.Mean(perSample)
	if err != nil {
		return err
	}
	cost, err := G.Neg(mean)
	if err != nil {
		return err
	}
	var costVal G.Value
	G.Read(cost, &costVal)
	if _, err := G.Grad(cost, tm.learnables()...); err != nil {
		return err
	}
	vm := G.NewTapeMachine(tm.g, G.BindDualValues(tm.learnables()...))
	defer vm.Close()
	solver := G.NewAdamSolver(G.WithLearnRate(1e-3), G.WithBeta1(0.9), G.WithBeta2(0.999), G.WithEps(1e-7))

	xb := make([]float32, batch*nIn)
	yb := make([]float32, batch*nOut)
	xT := tensor.New(tensor.WithShape(batch, nIn), tensor.WithBacking(xb))
	yT := tensor.New(tensor.WithShape(batch, nOut), tensor.WithBacking(yb))
	perm := make([]int, nTrain)
	for i := range perm {
		perm[i] = i
	}
	steps := nTrain / batch
	var lossSum float64
	start := time.Now()
	for e := 0; e < *epochs; e++ {
		rng.Shuffle(nTrain, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for s := 0; s < steps; s++ {
			clear(yb)
			for r := 0; r < batch; r++ {
				idx := perm[s*batch+r]
				copy(xb[r*nIn:(r+1)*nIn], trainX[idx*nIn:(idx+1)*nIn])
				yb[r*nOut+int(trainY[idx])] = 1
			}
			if err := G.Let(tm.x, xT); err != nil {
				return err
			}
			if err := G.Let(y, yT); err != nil {
				return err
			}
			if err := vm.RunAll(); err != nil {
				return err
			}
			if err := solver.Step(G.NodesToValueGrads(tm.learnables())); err != nil {
				return err
			}
			lossSum += float64(costVal.Data().(float32))
			vm.Reset()
		}
	}
	elapsed := time.Since(start)
	samples := *epochs * steps * batch
	// The trained values live in the nodes' (dual) values; use them from here on.
	tw := make([]*tensor.Dense, 4)
	for i, n := range tm.learnables() {
		tw[i] = n.Value().(*tensor.Dense)
	}

	// Test accuracy with a batch-1000 graph sharing the trained weights.
	const evalBatch = 1000
	em, err := newMLP(evalBatch, tw[0], tw[1], tw[2], tw[3])
	if err != nil {
		return err
	}
	var evalOut G.Value
	G.Read(em.logits, &evalOut)
	evm := G.NewTapeMachine(em.g)
	defer evm.Close()
	correct := 0
	for s := 0; s+evalBatch <= nTest; s += evalBatch {
		xe := tensor.New(tensor.WithShape(evalBatch, nIn), tensor.WithBacking(testX[s*nIn:(s+evalBatch)*nIn]))
		if err := G.Let(em.x, xe); err != nil {
			return err
		}
		if err := evm.RunAll(); err != nil {
			return err
		}
		out := evalOut.Data().([]float32)
		for r := 0; r < evalBatch; r++ {
			if argmax(out[r*nOut:(r+1)*nOut]) == int(testY[s+r]) {
				correct++
			}
		}
		evm.Reset()
	}

	// Batch-1 predict latency: softmax output, as a deployed model would return.
	pm, err := newMLP(1, tw[0], tw[1], tw[2], tw[3])
	if err != nil {
		return err
	}
	probs, err := G.SoftMax(pm.logits)
	if err != nil {
		return err
	}
	var predOut G.Value
	G.Read(probs, &predOut)
	pvm := G.NewTapeMachine(pm.g)
	defer pvm.Close()
	x1 := make([]float32, nIn)
	x1T := tensor.New(tensor.WithShape(1, nIn), tensor.WithBacking(x1))
	predict := func(i int) (int, error) {
		copy(x1, testX[i*nIn:(i+1)*nIn])
		if err := G.Let(pm.x, x1T); err != nil {
			return 0, err
		}
		if err := pvm.RunAll(); err != nil {
			return 0, err
		}
		c := argmax(predOut.Data().([]float32))
		pvm.Reset()
		return c, nil
	}
	for i := 0; i < 200; i++ { // warm-up
		if _, err := predict(i % nTest); err != nil {
			return err
		}
	}
	lat := make([]float64, *predictCalls)
	for i := range lat {
		t0 := time.Now()
		if _, err := predict(i % nTest); err != nil {
			return err
		}
		lat[i] = float64(time.Since(t0).Nanoseconds()) / 1e3
	}
	sort.Float64s(lat)

	fmt.Fprintf(os.Stderr, "gorgonia: %d samples in %.2fs, mean train loss %.4f\n",
		samples, elapsed.Seconds(), lossSum/float64(*epochs*steps))
	fmt.Printf("samples_per_sec=%.0f test_accuracy=%.4f predict_us=%.2f\n",
		float64(samples)/elapsed.Seconds(), float64(correct)/float64(nTest), lat[len(lat)/2])
	return nil
}

func main() {
	log.SetFlags(0)
	if err := run(); err != nil {
		log.Fatalf("gorgonia-mlp: %v", err)
	}
}
