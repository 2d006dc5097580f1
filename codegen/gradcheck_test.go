package codegen

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
	"github.com/nngen/nngen/spec"
)

// The gradient check generates the package of every spec in
// testdata/gradcheck, adds a test that compares ComputeGradients with
// central finite differences of the loss, and runs all of them in one
// `go test` so they share the build. Mutants, copies of a generated package
// with one backward formula broken on purpose, must fail it.
// -gradcheck.specs GLOB checks only the specs it matches and their mutants.

var keepGradcheck = flag.Bool("gradcheck.keep", false, "keep the packages the gradient check generates under testdata/")

var onlyGradcheck = flag.String("gradcheck.specs", "*", "check only the specs of testdata/gradcheck whose base names match this `GLOB` (and their mutants)")

// A mutant is a generated package with one formula of model.go (or, where
// model.go lacks it, of kernels.go: the Go twin of a kernel) broken.
type mutant struct {
	name     string // subtest and directory name
	spec     string // base name of the spec in testdata/gradcheck
	old, new string // replaced in model.go or kernels.go; old must occur
}

var mutants = []mutant{
	// tanh' = 1 − s² becomes 1 + s².
	{"tanh_derivative", "dense_tanh", "d[i] *= 1 - s[i]*s[i]", "d[i] *= 1 + s[i]*s[i]"},
	// The softmax Jacobian-vector product s·(d − s·d) loses its dot term
	// in the first class.
	{"softmax_backward", "dense_softmax", "- dot)", "- 0*dot)"},
	// relu' lets the gradient of the clipped inputs through.
	{"relu_derivative", "dense_relu", "if math.Float64bits(s[i]) == 0 {", "if math.Float64bits(s[i]) != 0 {"},
	// The fused softmax cross-entropy gradient p − t of the first class
	// is off by 0.01.
	{"cce_fused_gradient", "cce_softmax", "(p[0] - t[0])", "(p[0] - t[0] + 0.01)"},
	// The batch-norm input gradient loses its mean term, then its x̂ term,
	// in the first channel.
	{"batchnorm_mean_term", "batchnorm_dense", "(dr[0] - a[0] -", "(dr[0] - 0*a[0] -"},
	{"batchnorm_xhat_term", "batchnorm_dense", "- hr[0]*b[0])", "- 0*hr[0]*b[0])"},
	// The KL gradient of μ loses its factor μ; the Sampling layer's
	// gradient of logvar loses its ½; the KL term's gradients are
	// overwritten instead of added to by Sampling.
	{"kl_mu_gradient", "vae_bce", "dmu[i] = Float(0.3333333333333333 * mu)", "dmu[i] = Float(0.3333333333333333)"},
	{"sampling_logvar_gradient", "vae_bce", "d[i] * 0.5 * Float(", "d[i] * Float("},
	{"sampling_overwrites_kl", "vae_bce", "dx[i] += d[i]\n", "dx[i] = d[i]\n"},
	// The LSTM forget gate's gradient is 1% off; the GRU's recurrent
	// n-product gradient loses the reset gate; the SimpleRNN's last
	// backward step forgets the derivative of tanh.
	{"lstm_forget_gate", "rnn_lstm", "df := dcv * cp[j]", "df := 1.01 * dcv * cp[j]"},
	{"gru_reset_product", "rnn_gru", "dn*rg", "dn"},
	{"embedding_gradient", "rnn_embedding_gru_seq", "dw[j] += g", "dw[j] = g"},
	{"simplernn_tanh", "rnn_simple", "d *= 1 - y*y", "d *= 1 + 0*y*y"},
	// Winograd: the kernel gradient's transform Gᵀ·dU·G flips a sign in
	// the centre tap; the kernel's transform G·g·Gᵀ flips one in U[2][2].
	{"winograd_kernel_grad", "conv_winograd", "g[4] = Float(0.5)*s11 - Float(0.5)*s12", "g[4] = Float(0.5)*s11 + Float(0.5)*s12"},
	{"winograd_kernel_transform", "conv_winograd", "u[(160+c)*17+f] = Float(0.5)*t20 + Float(0.5)*t22 - Float(0.5)*t21", "u[(160+c)*17+f] = Float(0.5)*t20 + Float(0.5)*t22 + Float(0.5)*t21"},
	// The output gradient lands one pixel right in its whole-tile copy;
	// the second head's input gradient overwrites the first's.
	{"winograd_padded_grad", "conv_winograd_same", "copy(m.conv2d_2_wdY[((r+0)*6+0)*16:]", "copy(m.conv2d_2_wdY[((r+0)*6+1)*16:]"},
	{"winograd_overwrites_grad", "vae_conv_winograd", "d[i] += v", "d[i] = v"},
	// The second shard's gradient is dropped instead of added to the
	// first's.
	{"shard_reduction", "sharded_dropout", "vec.Add(m.g[b:e], m.gs[s][b:e])", "vec.Add(m.g[b:b], m.gs[s][b:e])"},
	// The second use of a shared Dense encoder overwrites the gradient of
	// its weight instead of adding to it; the cosine's gradient loses the
	// normalization's term; Dot's plain gradient takes the other input's first value for all.
	{"shared_grad_overwrites", "siamese_dot", "for i, v := range m.enc_weight_dshare[:] {\n\t\t\tg[i] += v", "for i, v := range m.enc_weight_dshare[:] {\n\t\t\tg[i] = v"},
	{"dot_cosine_term", "siamese_dot", "- y[r]*a[i]*ra*ra*ka)", "- 0*y[r]*a[i]*ra*ra*ka)"},
	{"dot_plain_gradient", "merge_dot", "g[i] = dy[r] * c[i]", "g[i] = dy[r] * c[0]"},
	// The weight penalty is in the loss but its gradient is dropped for
	// the first regularized tensor; the L2 gradient loses its factor 2.
	{"regularizer_gradient", "regularizers", "m.g[i] += Float(d)", "m.g[i] += Float(0*d)"},
	{"regularizer_l2_factor", "regularizers", "d += 0.1 * w", "d += 0.05 * w"},
	// class_weight weighs the loss but not the gradient, or the gradient
	// but not the loss.
	{"class_weight_gradient", "bce_class_weight", "d[j] *= Float(clsW)", "d[j] *= 1"},
	{"class_weight_loss", "cce_class_weight", "sum = sum0 + (sum-sum0)*clsW", "sum = sum0 + (sum - sum0)"},
	// Concatenate hands its third input the fourth's run of the gradient;
	// Maximum sends the gradient to every input that ties for the maximum
	// (its first two inputs are one layer), not to the first only.
	{"concatenate_backward", "merge_elementwise", "copy(dx[r*4:][:4], d[r*24+8:][:4])", "copy(dx[r*4:][:4], d[r*24+12:][:4])"},
	{"maximum_tie", "merge_elementwise", "if x0[i] != y[i] && x1[i] == y[i] {\n\t\t\t\tdx[i] += d[i]", "if x0[i] == x0[i] && x1[i] == y[i] {\n\t\t\t\tdx[i] += d[i]"},
	// A grouped Conv1D gathers the first group's columns of the output
	// gradient for every group; a depthwise one adds every group's input
	// gradient into the first channel.
	{"grouped_gather", "conv1d", "copy(p[r*3:][:3], dy[r*6+gi*3:][:3])", "copy(p[r*3:][:3], dy[r*6:][:3])"},
	{"grouped_col2im", "conv1d", "px := dx[(ih*9+iw)*4+gi*1:][:1]", "px := dx[(ih*9+iw)*4:][:1]"},
	// UnitNormalization's backward loses its projection term; UpSampling1D's
	// sums only the first two copies of each step; Permute's backward
	// reads the gradient transposed the wrong way; gelu_tanh' loses its
	// tanh' term.
	{"unit_norm_projection", "seq_layers", "dx[base+l*5] = (d[base+l*5] - y[base+l*5]*dot) * inv", "dx[base+l*5] = (d[base+l*5] - 0*y[base+l*5]*dot) * inv"},
	{"upsample_sum", "seq_layers", "for j := 1; j < 3; j++ {", "for j := 2; j < 3; j++ {"},
	{"permute_backward", "seq_layers", "dx[o0*1+o1*9+o2*3] = d[((o0)*13+o1)*3+o2]", "dx[o0*1+o1*9+o2*3] = d[((o0)*13+o1)*3+o2]*0.5"},
	{"gelu_tanh_derivative", "seq_layers", "0.5*x*(1-t*t)", "0.5*x*(1+t*t)"},
	// Bidirectional: the backward direction's input gradient is not
	// reversed back in time; concat hands the backward direction the
	// forward one's half of the gradient; mul's gradient of each
	// direction multiplies by its own output. RepeatVector keeps the last
	// step's gradient only.
	{"bidirectional_reversed_input_grad", "seq_bidirectional", "s := dr[(b*3+2-t)*2:][:2]", "s := dr[(b*3+t)*2:][:2]"},
	{"bidirectional_concat_split", "seq_bidirectional", "copy(g, o[3:])", "copy(g, o[:3])"},
	{"bidirectional_mul_gradient", "seq_bidirectional", "f[j] = o[j] * c[j]\n\t\t\t\t\tg[j] = o[j] * a[j]", "f[j] = o[j] * a[j]\n\t\t\t\t\tg[j] = o[j] * c[j]"},
	{"repeat_vector_steps", "seq_bidirectional", "d[j] += v\n", "d[j] = v\n"},
	// Recurrent dropout: LSTM's state gradient through the product
	// forgets the mask in the last step; GRU's adds the masked product
	// unmasked; a Bidirectional's forward direction masks its input
	// gradient with the backward direction's mask (which differs).
	{"lstm_recurrent_dropout", "seq_rnn_dropout", "m.last_dh[i] *= k", "m.last_dh[i] *= 1 + 0*k"},
	{"gru_recurrent_dropout", "seq_rnn_dropout", "m.gru_dh[i] += m.gru_dhr[i] * k", "m.gru_dh[i] += m.gru_dhr[i] + 0*k"},
	{"input_dropout_other_mask", "seq_rnn_dropout", "mk := m.bi_forward_xmask[:]\n\t\tx := m.bi_forward_dxt[:]", "mk := m.bi_backward_xmask[:]\n\t\tx := m.bi_forward_dxt[:]"},
	// return_state and initial_state: the decoder's backward drops dc_T
	// (the gradient of the state_c it returns); the encoder gets no
	// gradient of its state_c through the decoder's c_0; the GRU drops
	// dh_T of its state_h; the Dense that makes a GRU's h_0 gets the
	// gate gradients instead of h_0's.
	{"return_state_dc", "rnn_seq2seq_lstm", "copy(m.decoder_dc[:], m.decoder_state_c_grad[:])", "clear(m.decoder_dc[:])"},
	{"initial_state_dc", "rnn_seq2seq_lstm", "copy((m.encoder_state_c_grad)[:], m.decoder_dc[:])", "clear((m.encoder_state_c_grad)[:])"},
	{"return_state_dh", "rnn_seq2seq_gru", "range m.gru_state_h_grad[:] {\n\t\t\tdh[i] += v", "range m.gru_state_h_grad[:] {\n\t\t\tdh[i] += 0 * v"},
	{"initial_state_dh", "rnn_seq2seq_gru", "copy((m.h0_grad)[:], m.gru_dh[:])", "copy((m.h0_grad)[:], m.gru_dg[:])"},
	// A Bidirectional's backward direction drops dc_T of its backward_c.
	{"bidirectional_state_dc", "seq_bidirectional_state", "copy(m.bi_backward_dc[:], m.bi_backward_c_grad[:])", "clear(m.bi_backward_dc[:])"},
	// mask_zero: the GRU's last step hands a masked sample's state
	// gradient on through the gates instead of unchanged; the decoder
	// LSTM's step 3 keeps the gate gradients of its masked samples;
	// GlobalAveragePooling1D sends the gradient to masked steps too.
	{"mask_state_gradient", "rnn_mask", "copy(m.gru_dh[0+b*2:][:2], m.gru_mh[0+b*2:][:2])", "_ = m.gru_mh[0]"},
	{"mask_gate_gradient", "rnn_mask", "clear(m.dec_dg[72+b*8:][:8])", "_ = m.dec_dg[0]"},
	{"mask_pool_gradient", "rnn_mask_pool", "w = 0\n", "w = k\n"},
	// GRU's reset before: the gradient of h_{t−1} through r·h_{t−1}
	// forgets the reset gate.
	{"gru_reset_before_state", "rnn_gru_reset_before", "dh[j] += drh[j] * rg", "dh[j] += drh[j] + 0*rg"},
	// Rescaling's backward forgets its scale.
	{"rescaling_scale", "rescaling", "dr[j] * Float(2.5)", "dr[j] * Float(1)"},
	// gelu' = Φ(x) + x·φ(x) loses its x·φ(x); selu' below 0 is s + 1.5
	// instead of s + λα; PReLU's slope gradient forgets the input x.
	{"gelu_derivative", "dense_gelu", "x*math.Exp(-0.5*x*x)*0.3989422804014327", "x*math.Exp(-0.5*x*x)*0"},
	{"selu_derivative", "dense_selu", "d[i] *= s[i] + Float(1.7580993408473768)", "d[i] *= s[i] + Float(1.5)"},
	{"prelu_slope_gradient", "layer_prelu", "da[j] += dr[j] * v", "da[j] += dr[j]"},
	// categorical_hinge forgets the gradient of its largest wrong score;
	// cosine_similarity loses its normalization term; the focal loss's
	// class balancing weighs the value but not the gradient.
	{"categorical_hinge_neg", "loss_categorical_hinge", "d[k] += (1 - t[k])", "d[k] += 0 * (1 - t[k])"},
	{"cosine_norm_term", "loss_cosine", "k = dot / (nt * np * np * np)", "k = 0 * dot / (nt * np * np * np)"},
	{"focal_balancing", "loss_focal_logits", "g *= cw", "g *= 1"},
	// The 2-D geometry layers: Cropping2D's gradient lands one column left
	// (the one added to another consumer's); ZeroPadding2D's is read one
	// column left; bilinear UpSampling2D gives its last source the third's
	// weight; nearest UpSampling2D keeps one gradient of each block.
	// SpatialDropout2D's backward forgets the channels' mask.
	{"spatial_dropout2d_backward", "spatial_dropout2d", "dx[i] = d[i] * mask[i]", "dx[i] = d[i] + 0*mask[i]"},
	// Slice's backward adds the box's gradient one column off.
	{"slice_backward", "slice", "dr := dx[1+(o0+1)*18+(o1+2)*3:][:2]", "dr := dx[1+(o0+1)*18+(o1+1)*3:][:2]"},
	{"cropping_backward", "spatial_pad_crop", "d := dst[((b*6+r+1)*5+2)*3:][:6]", "d := dst[((b*6+r+1)*5+1)*3:][:6]"},
	{"zero_padding_backward", "spatial_pad_crop", "s := src[((b*7+r+1)*6+2)*3:][:6]\n\t\t\t\tcopy", "s := src[((b*7+r+1)*6+1)*3:][:6]\n\t\t\t\tcopy"},
	{"bilinear_weight", "upsampling", "dx[i11+k] += w11 * g", "dx[i11+k] += (w10 + 0*w11) * g"},
	{"nearest_block_sum", "upsampling", "d[k] += v", "d[k] = v"},
	// Conv2DTranspose's input gradient reads the kernel flipped; the
	// depthwise input gradient reads the first multiplier's kernel for
	// every output; SeparableConv2D's drops the tap of its input gradient.
	// Conv1DTranspose's input gradient reads its last layer's kernel
	// flipped along the steps.
	{"conv1d_transpose_flip", "conv1d_transpose", "wt[(k*2+c)*3+i] = w[(i*2+c)*2+k]", "wt[(k*2+c)*3+i] = w[(i*2+c)*2+1-k]"},
	{"conv_transpose_flip", "conv_transpose", "wt[(k*3+c)*2+i] = w[(i*3+c)*9+k]", "wt[(k*3+c)*2+i] = w[(i*3+c)*9+8-k]"},
	{"depthwise_multiplier", "depthwise", "dx[xi+i/3] += wt[t+i] * d[o+i]", "dx[xi+i/3] += wt[t+i-i%3] * d[o+i]"},
	{"separable_input_grad", "separable", "dx[xi+i] += wt[t+i] * d[o+i]", "dx[xi+i] += wt[i] * d[o+i]"},
}

// gradcheckTest is the test written into every generated package.
var gradcheckTest = template.Must(template.New("").Parse(`package {{.Pkg}}

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

const lossKind = {{printf "%q" .Loss}}

// sameAtInference reports whether Forward computes what ComputeGradients
// does (no dropout).
const sameAtInference = {{.SameAtInference}}

// buffers names the non-trainable tensors, which Tensors lists too.
var buffers = map[string]bool{ {{- range .Buffers}}{{printf "%q" .}}: true, {{end -}} }

// TestGradCheck compares the gradient that ComputeGradients writes for
// every parameter with the central finite difference of the loss it returns.
func TestGradCheck(t *testing.T) {
	m := New(1)
	r := rand.New(rand.NewPCG(1, 2))
	x := m.Input()
	for i := range x {
		x[i] = Float(2*r.Float64() - 1)
	}
	{{- if .Tokens}}
	for i := range x { // token ids
		x[i] = Float(r.IntN({{.Tokens}}))
	}
	{{- end}}
	y := m.Target()
	rows, c := BatchSize*rowsPerSample, OutputSize/rowsPerSample
	for i := range rows {
		row := y[i*c:][:c]
		if lossKind == "categorical_crossentropy" || lossKind == "sparse_categorical_crossentropy" {
			row[r.IntN(c)] = 1
			continue
		}
		for j := range row {
			row[j] = Float(0.05 + 0.9*r.Float64())
		}
	}
	p := m.Params()
	for i := range p { // move the biases off zero too
		p[i] += Float(0.2*r.Float64() - 0.1)
	}
	names := paramNames(m)

	loss, _ := m.ComputeGradients()
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		t.Fatalf("loss is %v", loss)
	}
	checkLoss(t, m, loss)
	analytic := append([]Float(nil), m.Grads()...)

	type mismatch struct {
		i                 int
		analytic, numeric float64
		excess            float64 // error over tolerance
	}
	var bad []mismatch
	const h = 1e-6
	for i := range p {
		orig := p[i]
		p[i] = orig + h
		hi := float64(p[i])
		lp, _ := m.ComputeGradients()
		p[i] = orig - h
		lo := float64(p[i])
		lm, _ := m.ComputeGradients()
		p[i] = orig
		num := (lp - lm) / (hi - lo)
		a := float64(analytic[i])
		tol := 1e-6 * max(1, math.Abs(a), math.Abs(num))
		if d := math.Abs(a - num); !(d <= tol) {
			bad = append(bad, mismatch{i, a, num, d / tol})
		}
	}
	if len(bad) > 0 {
		sort.Slice(bad, func(i, j int) bool { return bad[i].excess > bad[j].excess })
		msg := fmt.Sprintf("gradient mismatch in %d of %d parameters (loss %s), worst:", len(bad), len(p), lossKind)
		for _, b := range bad[:min(len(bad), 6)] {
			msg += fmt.Sprintf("\n\tp[%d] %s: analytic %.10g, numeric %.10g (%.3gx the tolerance)", b.i, names[b.i], b.analytic, b.numeric, b.excess)
		}
		t.Error(msg)
	}

	// The gradient is a function of the parameters and the batch alone:
	// nothing accumulates across calls.
	loss2, _ := m.ComputeGradients()
	if loss2 != loss {
		t.Errorf("ComputeGradients returned loss %v, then %v for the same parameters", loss, loss2)
	}
	for i, g := range m.Grads() {
		if g != analytic[i] {
			t.Errorf("p[%d] %s: ComputeGradients gave gradient %v, then %v for the same parameters", i, names[i], analytic[i], g)
			break
		}
	}
}

// paramNames names every element of the flat parameter array, like
// dense_1.weight[7].
func paramNames(m *Model) []string {
	var names []string
	for _, ts := range m.Tensors(false) {
		if buffers[ts.Name] {
			continue
		}
		n := len(ts.Data.([]Float))
		for k := range n {
			names = append(names, fmt.Sprintf("%s[%d]", ts.Name, k))
		}
	}
	if len(names) != NumParams {
		panic(fmt.Sprintf("tensors hold %d values, want %d", len(names), NumParams))
	}
	return names
}

// checkLoss recomputes the loss from the inference outputs, by Keras's
// definitions, when training and inference compute the same function.
func checkLoss(t *testing.T, m *Model, got float64) {
	if !sameAtInference {
		return
	}
	var out [BatchSize * OutputSize]Float
	x, y := *m.Input(), *m.Target()
	m.Forward(&x, &out)
	rows, c := BatchSize*rowsPerSample, OutputSize/rowsPerSample
	var sum float64
	for i := range rows {
		p, tv := make([]float64, c), make([]float64, c)
		for j := range c {
			p[j], tv[j] = float64(out[i*c+j]), float64(y[i*c+j])
		}
		sum += classWeightOf(tv) * refLoss(t, p, tv)
	}
	want := sum / float64(rows) {{- if .Regularized}} + m.regularize(false){{end}}
	if math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
		t.Errorf("ComputeGradients returned loss %.15g; the %s of the outputs of Forward is %.15g", got, lossKind, want)
	}
}

// classWeight is the spec's class_weight, by class id (nil: none).
var classWeight = []float64{ {{- range .ClassWeight}}{{.}}, {{end -}} }

// classWeightOf is Keras's weight of a sample of targets tv: that of its
// class, the largest target (for one output, whether it is at least ½).
func classWeightOf(tv []float64) float64 {
	c := 0
	if len(tv) == 1 && tv[0] >= 0.5 {
		c = 1
	}
	for j := range tv {
		if len(tv) > 1 && tv[j] > tv[c] {
			c = j
		}
	}
	if c < len(classWeight) {
		return classWeight[c]
	}
	return 1
}

// lossOpts are the loss's options (true as 1).
var lossOpts = map[string]float64{ {{- range $k, $v := .Opts}}{{printf "%q" $k}}: {{$v}}, {{end -}} }

// refLoss is the loss of one row of outputs p and targets tv, by Keras's
// definitions (keras/src/losses/losses.py).
func refLoss(t *testing.T, p, tv []float64) float64 {
	const eps = 1e-7
	clip := func(v float64) float64 { return min(max(v, eps), 1-eps) }
	sig := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	c := float64(len(p))
	cat := lossKind == "categorical_crossentropy" || lossKind == "sparse_categorical_crossentropy"
	if ls := lossOpts["label_smoothing"]; ls != 0 {
		k := ls / 2
		if cat {
			k = ls / c
		}
		s := make([]float64, len(tv))
		for j := range tv {
			s[j] = tv[j]*(1-ls) + k
		}
		tv = s
	}
	logits := lossOpts["from_logits"] != 0
	var sum, dot, pos, neg, sp, st float64
	neg = math.Inf(-1)
	lse := math.Inf(-1)
	for j := range p {
		lse = max(lse, p[j])
	}
	var se float64
	for j := range p {
		se += math.Exp(p[j] - lse)
	}
	lse += math.Log(se)
	for j := range p {
		pv, y := p[j], tv[j]
		x := pv - y
		h := y
		if h == 0 {
			h = -1
		}
		switch lossKind {
		case "categorical_crossentropy", "sparse_categorical_crossentropy":
			if logits {
				sum -= y * (pv - lse)
			} else {
				sum -= y * math.Log(clip(pv))
			}
		case "binary_crossentropy":
			q := clip(pv)
			if logits {
				q = sig(pv)
			}
			sum -= (y*math.Log(q) + (1-y)*math.Log(1-q)) / c
		case "binary_focal_crossentropy":
			q, qc := pv, clip(pv)
			if logits {
				q = sig(pv)
				qc = q
			}
			bce := -(y*math.Log(qc) + (1-y)*math.Log(1-qc))
			pt := y*q + (1-y)*(1-q)
			f := math.Pow(1-pt, lossOpts["gamma"]) * bce
			if lossOpts["apply_class_balancing"] != 0 {
				f *= y*lossOpts["alpha"] + (1-y)*(1-lossOpts["alpha"])
			}
			sum += f / c
		case "mse", "mean_squared_error":
			sum += x * x / c
		case "mae", "mean_absolute_error":
			sum += math.Abs(x) / c
		case "mape", "mean_absolute_percentage_error":
			sum += 100 * math.Abs(y-pv) / max(math.Abs(y), eps) / c
		case "msle", "mean_squared_logarithmic_error":
			d := math.Log(max(pv, eps)+1) - math.Log(max(y, eps)+1)
			sum += d * d / c
		case "hinge":
			sum += max(1-h*pv, 0) / c
		case "squared_hinge":
			sum += max(1-h*pv, 0) * max(1-h*pv, 0) / c
		case "poisson":
			sum += (pv - y*math.Log(pv+eps)) / c
		case "log_cosh", "logcosh":
			sum += math.Log(math.Cosh(x)) / c
		case "huber":
			d := lossOpts["delta"]
			if math.Abs(x) <= d {
				sum += 0.5 * x * x / c
			} else {
				sum += (d*math.Abs(x) - 0.5*d*d) / c
			}
		case "kl_divergence", "kld", "kullback_leibler_divergence":
			yc, pc := min(max(y, eps), 1), min(max(pv, eps), 1)
			sum += yc * math.Log(yc/pc)
		case "categorical_hinge":
			pos += y * pv
			neg = max(neg, (1-y)*pv)
		case "cosine_similarity":
			dot += y * pv
			sp += pv * pv
			st += y * y
		default:
			t.Fatalf("no reference for loss %s", lossKind)
		}
	}
	switch lossKind {
	case "categorical_hinge":
		sum = max(neg-pos+1, 0)
	case "cosine_similarity":
		sum = -dot / (math.Sqrt(max(sp, 1e-12)) * math.Sqrt(max(st, 1e-12)))
	}
	return sum
}
`))

// lossOpts returns m's loss options as numbers, true as 1.
func lossOpts(m *ir.Model) map[string]float64 {
	o := map[string]float64{}
	for k, v := range m.Loss.Opts {
		switch x := v.(type) {
		case bool:
			if x {
				o[k] = 1
			} else {
				o[k] = 0
			}
		case float64:
			o[k] = x
		}
	}
	return o
}

// gradcheckResult is the outcome of one generated package.
type gradcheckResult struct {
	ran    bool   // the package reported a result
	passed bool   // its tests passed
	output string // what go test printed for it, or why it was not run
}

// gradcheck holds the results that TestGradCheck and
// TestGradCheckCatchesMutants share.
var gradcheck struct {
	once    sync.Once
	err     error
	specs   []string                    // base names, sorted
	results map[string]*gradcheckResult // by spec base name or "mutant_" + mutant name
}

// runGradcheck generates every package and runs their tests, once per test
// binary.
func runGradcheck(t *testing.T) {
	gradcheck.once.Do(func() { gradcheck.err = doGradcheck(t) })
	if gradcheck.err != nil {
		t.Fatal(gradcheck.err)
	}
}

func doGradcheck(t *testing.T) error {
	files, err := filepath.Glob("../testdata/gradcheck/" + *onlyGradcheck + ".yaml")
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no specs in ../testdata/gradcheck: %v", err)
	}
	gradcheck.results = map[string]*gradcheckResult{}
	fail := func(name, msg string) { gradcheck.results[name] = &gradcheckResult{ran: true, output: msg} }
	pkgs := map[string]map[string][]byte{} // files by result name
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".yaml")
		gradcheck.specs = append(gradcheck.specs, base)
		src, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		m, out, err := generate("testdata/gradcheck/"+filepath.Base(f), src)
		if err != nil {
			fail(base, err.Error())
			continue
		}
		// Dropout, BatchNormalization and Sampling compute another
		// function at inference.
		same := true
		var buffers []string
		tokens := layers.Vocabulary(m)
		for _, n := range m.Nodes {
			same = same && !layers.DiffersAtInference(n)
			for _, p := range n.Params {
				if p.Buffer {
					buffers = append(buffers, n.Name+"."+p.Name)
				}
			}
		}
		var test bytes.Buffer
		if err := gradcheckTest.Execute(&test, map[string]any{"Pkg": m.Name, "Loss": m.Loss.Kind, "Opts": lossOpts(m), "SameAtInference": same, "Buffers": buffers, "Tokens": tokens, "ClassWeight": m.ClassWeight, "Regularized": regularized(m)}); err != nil {
			return err
		}
		out["gradcheck_test.go"] = test.Bytes()
		pkgs[base] = out
	}
	sort.Strings(gradcheck.specs)
	for _, mu := range mutants {
		name := "mutant_" + mu.name
		out, ok := pkgs[mu.spec]
		if matched, _ := filepath.Match(*onlyGradcheck, mu.spec); !matched {
			continue
		}
		if !ok {
			fail(name, "spec "+mu.spec+" did not generate")
			continue
		}
		file := "model.go"
		if !strings.Contains(string(out[file]), mu.old) {
			file = "kernels.go"
		}
		src := string(out[file])
		if !strings.Contains(src, mu.old) {
			fail(name, fmt.Sprintf("%q is in neither model.go nor kernels.go of %s: update the mutant to the generated code", mu.old, mu.spec))
			continue
		}
		cp := maps.Clone(out)
		cp[file] = []byte(strings.Replace(src, mu.old, mu.new, 1))
		pkgs[name] = cp
	}

	// The packages must live inside the module to import its runtime.
	var root string
	for try := 0; ; try++ { // another run may remove an empty testdata meanwhile
		if os.Mkdir("testdata", 0o777) == nil {
			t.Cleanup(func() { os.Remove("testdata") }) // only if empty
		}
		if root, err = os.MkdirTemp("testdata", "gc-"); err == nil || try == 3 {
			break
		}
	}
	if err != nil {
		return err
	}
	if *keepGradcheck {
		t.Logf("gradient-check packages kept in codegen/%s", root)
	} else {
		t.Cleanup(func() { os.RemoveAll(root) })
	}
	byPath := map[string]string{} // import path → result name
	var args []string
	for name, out := range pkgs {
		dir := filepath.Join(root, name)
		for p, b := range out {
			p = filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
				return err
			}
			if err := os.WriteFile(p, b, 0o666); err != nil {
				return err
			}
		}
		byPath["github.com/nngen/nngen/codegen/"+filepath.ToSlash(dir)] = name
		args = append(args, "./"+filepath.ToSlash(dir))
		gradcheck.results[name] = &gradcheckResult{}
	}
	sort.Strings(args)

	// TestPoison of each package checks its memory plan on the way.
	// One go test for all packages shares the build of the runtime; vet
	// of the generated code is not this test's business and costs a third.
	start := time.Now()
	cmd := exec.Command("go", append([]string{"test", "-json", "-count=1", "-vet=off", "-run", "^(TestGradCheck|TestPoison)$"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	t.Logf("go test of %d generated packages took %v", len(args), time.Since(start).Round(time.Millisecond))
	dec := json.NewDecoder(&stdout)
	for {
		var ev struct{ Action, Package, ImportPath, Test, Output string }
		if dec.Decode(&ev) != nil {
			break
		}
		pkg := ev.Package
		if pkg == "" { // build output names the package as "path [path.test]"
			pkg, _, _ = strings.Cut(ev.ImportPath, " ")
		}
		r := gradcheck.results[byPath[pkg]]
		switch {
		case r == nil:
		case ev.Action == "output" || ev.Action == "build-output":
			r.output += ev.Output
		case ev.Test == "" && (ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip"):
			r.ran, r.passed = true, ev.Action == "pass"
		}
	}
	for name, r := range gradcheck.results {
		if !r.ran {
			return fmt.Errorf("go test reported nothing for %s (%v): %s", name, runErr, stderr.String())
		}
	}
	return nil
}

// generate parses and generates one spec, turning a panic of either into
// an error so that one broken spec does not hide the others. A spec named
// sharded_* is generated with two shards, whatever its size.
func generate(file string, src []byte) (m *ir.Model, out map[string][]byte, err error) {
	defer func() {
		if e := recover(); e != nil {
			err = fmt.Errorf("panic: %v", e)
		}
	}()
	if m, err = spec.Parse(file, src); err != nil {
		return nil, nil, err
	}
	cfg := Config{Unroll: DefaultUnroll}
	if strings.HasPrefix(filepath.Base(file), "sharded_") {
		cfg.Shards = 2
	}
	out, err = Generate(m, cfg)
	return m, out, err
}

// TestGradCheck checks the gradients of every spec in testdata/gradcheck
// against finite differences.
func TestGradCheck(t *testing.T) {
	runGradcheck(t)
	for _, name := range gradcheck.specs {
		t.Run(name, func(t *testing.T) {
			if r := gradcheck.results[name]; !r.passed {
				t.Errorf("testdata/gradcheck/%s.yaml:\n%s", name, r.output)
			}
		})
	}
}

// TestGradCheckCatchesMutants checks that the gradient check fails on
// generated code with a broken backward formula.
func TestGradCheckCatchesMutants(t *testing.T) {
	runGradcheck(t)
	for _, mu := range mutants {
		if m, _ := filepath.Match(*onlyGradcheck, mu.spec); !m {
			continue
		}
		t.Run(mu.name, func(t *testing.T) {
			r := gradcheck.results["mutant_"+mu.name]
			switch {
			case r == nil:
				t.Skipf("spec %s not checked (-gradcheck.specs)", mu.spec)
			case r.passed:
				t.Errorf("%s with %q replaced by %q passed the gradient check", mu.spec, mu.old, mu.new)
			case !strings.Contains(r.output, "gradient mismatch"):
				t.Errorf("%s mutant failed, but not on gradients:\n%s", mu.spec, r.output)
			}
		})
	}
}

// regularized reports whether a parameter of m has a weight regularizer:
// its loss then adds the penalty that the generated regularize computes.
func regularized(m *ir.Model) bool {
	for _, n := range m.Nodes {
		for _, p := range n.Params {
			if !p.Reg.IsZero() {
				return true
			}
		}
	}
	return false
}
