package codegen

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/generated/lenet_bn"
	"github.com/nngen/nngen/generated/mnist_cnn"
	"github.com/nngen/nngen/generated/mnist_mlp"
	"github.com/nngen/nngen/generated/seq_mnist_lstm"
	"github.com/nngen/nngen/spec"
)

func summarize(t *testing.T, path string) *Summary {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := spec.Parse(path, src)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Summarize(m, Config{Unroll: DefaultUnroll})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSummaryMLP checks the summary of the seed model (784 → 64 relu → 10
// softmax, batch 32 in one shard, Adam) against values computed by hand.
func TestSummaryMLP(t *testing.T) {
	s := summarize(t, "../testdata/models/mnist_mlp.yaml")
	const B, S, F = 32, 1, 4 // batch, shards, bytes of a float32
	const Bs = B / S
	if s.Shards != S {
		t.Fatalf("%d shards, want %d", s.Shards, S)
	}
	// Each shard calls each kernel once, on its Bs samples. The first
	// layer's products, of 3.2 MFLOP, run in 2 tiles: the forward one of
	// half the columns (packed in tile0_c), the weight gradient of half
	// the rows (its part of A packed in tile1_a).
	call := func(k string, m, n, kk int) KernelCall { return KernelCall{Kernel: k, Count: S, Flops: 2 * m * n * kk} }
	tiled := func(k string, m, n, kk int) KernelCall {
		return KernelCall{Kernel: k, Count: 2 * S, Flops: 2 * m * n * kk}
	}
	want := []Row{
		{Name: "input", Kind: "Input", Shape: []int{784}, Buffers: []string{"x"}, Bytes: B * 784 * F},
		{Name: "dense", Kind: "Dense", Line: 12, Shape: []int{64}, Params: 784*64 + 64,
			Forward:  []KernelCall{tiled(fmt.Sprintf("gemmNT_%dx32x784", Bs), Bs, 32, 784)},
			Backward: []KernelCall{tiled(fmt.Sprintf("gemmTN_32x784x%d", Bs), 32, 784, Bs)}, // no input gradient
			Buffers:  []string{"dense_out", "tile0_c", "dense_grad", "tile1_a"}, Bytes: 4 * B * 64 * F},
		{Name: "dense_1", Kind: "Dense", Line: 15, Shape: []int{10}, Params: 64*10 + 10,
			Forward:  []KernelCall{call(fmt.Sprintf("gemmNT_%dx10x64", Bs), Bs, 10, 64)},
			Backward: []KernelCall{call(fmt.Sprintf("gemmNN_%dx64x10", Bs), Bs, 64, 10), call(fmt.Sprintf("gemmTN_10x64x%d", Bs), 10, 64, Bs)},
			Buffers:  []string{"dense_1_out", "dense_1_grad"}, Bytes: 2 * B * 10 * F},
		{Name: "loss", Kind: "categorical_crossentropy", Line: 18, Buffers: []string{"y"}, Bytes: B * 10 * F},
	}
	if len(s.Rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(s.Rows), len(want), s.Rows)
	}
	for i, w := range want {
		g := s.Rows[i]
		if w.Buffers != nil {
			sortedG, sortedW := append([]string(nil), g.Buffers...), append([]string(nil), w.Buffers...)
			if !sameSet(sortedG, sortedW) {
				t.Errorf("row %s: buffers %v, want %v", w.Name, g.Buffers, w.Buffers)
			}
			g.Buffers = w.Buffers
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if s.Params != 50890 || s.Fixed != 0 {
		t.Errorf("params %d + %d fixed, want 50890 + 0", s.Params, s.Fixed)
	}
	fwd, bwd := s.Flops()
	if w := 2*B*64*784 + 2*B*10*64; fwd != w {
		t.Errorf("forward FLOPs %d, want %d", fwd, w)
	}
	if w := 2*64*784*B + 2*10*64*B + 2*B*64*10; bwd != w {
		t.Errorf("backward FLOPs %d, want %d", bwd, w)
	}
	// Parameters, gradients and Adam's two moments.
	if w := 4 * 50890 * F; s.ParamBytes != w {
		t.Errorf("parameter bytes %d, want %d", s.ParamBytes, w)
	}
	if w := B * (784 + 4*64 + 2*10 + 10) * F; s.TrainBytes != w {
		t.Errorf("training buffer bytes %d, want %d", s.TrainBytes, w)
	}
	if s.Batch != B || s.FloatBytes != F || strings.Join(s.StateNames, ",") != "exp_avg,exp_avg_sq" {
		t.Errorf("batch %d, float bytes %d, state %v", s.Batch, s.FloatBytes, s.StateNames)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, v := range seen {
		if v != 0 {
			return false
		}
	}
	return true
}

// TestSummaryCNN checks the kernels of mnist_cnn's layers that run per
// sample: their calls are counted through the loops around them.
func TestSummaryCNN(t *testing.T) {
	s := summarize(t, "../testdata/models/mnist_cnn.yaml")
	const B = 128
	rows := map[string]Row{}
	for _, r := range s.Rows {
		rows[r.Name] = r
	}
	// The first Conv2D: one fused kernel per sample, 26×26 outputs of 32
	// filters, each 3·3·1 products.
	if got, w := Flops(rows["conv2d"].Forward), B*2*26*26*32*9; got != w {
		t.Errorf("conv2d forward FLOPs %d, want %d (%+v)", got, w, rows["conv2d"].Forward)
	}
	// The second runs as Winograd: 16 products per 4×4 input tile instead
	// of 36, over 12×12 tiles of 32 channels to 64 filters.
	for _, c := range rows["conv2d_1"].Forward {
		if strings.HasPrefix(c.Kernel, "conv_1x") && (c.Count*c.Flops != B*16*12*12*2*32*64) {
			t.Errorf("conv2d_1 Winograd products: %+v, want %d FLOPs in all", c, B*16*12*12*2*32*64)
		}
	}
	// MaxPooling2D's backward runs inside conv2d_1's loop, but is its own.
	if b := rows["max_pooling2d"].Backward; len(b) != 1 || b[0].Kernel != "maxPool_24x24x64_k2x2_grad" || b[0].Count != B {
		t.Errorf("max_pooling2d backward %+v", b)
	}
	for _, c := range rows["conv2d_1"].Backward {
		if strings.HasPrefix(c.Kernel, "maxPool") {
			t.Errorf("conv2d_1 backward has the pooling kernel %s", c.Kernel)
		}
	}
	if r := rows["flatten"]; r.Bytes != 0 || r.Forward != nil {
		t.Errorf("flatten costs %d bytes and %v", r.Bytes, r.Forward)
	}
}

// TestSummaryModelBytes compares the Model size Summarize computes with
// that of the generated packages.
func TestSummaryModelBytes(t *testing.T) {
	for name, size := range map[string]uintptr{
		"mnist_mlp":      unsafe.Sizeof(mnist_mlp.Model{}),
		"mnist_cnn":      unsafe.Sizeof(mnist_cnn.Model{}),
		"lenet_bn":       unsafe.Sizeof(lenet_bn.Model{}),
		"seq_mnist_lstm": unsafe.Sizeof(seq_mnist_lstm.Model{}),
	} {
		s := summarize(t, "../testdata/models/"+name+".yaml")
		if s.ModelBytes != int(size) {
			t.Errorf("%s: Model of %d bytes, want %d", name, s.ModelBytes, size)
		}
		// Besides: the seed, the step, the optimizer's header and the batch's indices.
		// The buffers that share memory take their arenas' bytes.
		if sum := s.ParamBytes + s.TrainBytes + s.InferBytes - s.SharedBytes + s.ArenaBytes + s.ShardBytes + 8*s.Batch; sum > s.ModelBytes || s.ModelBytes-sum > 1<<10 {
			t.Errorf("%s: parameters, buffers and indices of %d bytes in a Model of %d", name, sum, s.ModelBytes)
		}
	}
}

func TestCountCalls(t *testing.T) {
	kernels := map[string]int{"k": 1, "j": 1}
	code := []Code{
		Id("k").Call(),
		For(Id("b").Op(":=").Lit(0), Id("b").Op("<").Lit(4), Id("b").Op("++")).Block(
			For(Id("r").Op(":=").Lit(1), Id("r").Op("<").Lit(11), Id("r").Op("+=").Lit(3)).Block(Id("j").Call(), Id("other").Call()),
			Id("k").Call(),
		),
	}
	counts, order, err := countCalls(code, kernels)
	if err != nil || counts["k"] != 5 || counts["j"] != 16 || len(counts) != 2 || strings.Join(order, " ") != "k j" {
		t.Errorf("counts %v, order %v, error %v; want k 5, j 16, order k j", counts, order, err)
	}
	code = []Code{For(Id("i").Op(":=").Range().Id("x")).Block(Id("k").Call())}
	if _, _, err := countCalls(code, kernels); err == nil {
		t.Error("a kernel in a range loop: no error")
	}
}
