package spec

import (
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// parse parses src and fails the test on any error.
func parse(t *testing.T, src string) *ir.Model {
	t.Helper()
	m, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse:\n%v\nspec:\n%s", err, src)
	}
	return m
}

// parseErr parses src, which must fail, and returns the message.
func parseErr(t *testing.T, src string) string {
	t.Helper()
	m, err := Parse("t.yaml", []byte(src))
	if err == nil {
		t.Fatalf("Parse succeeded, want an error; spec:\n%s", src)
	}
	if m != nil {
		t.Errorf("Parse returned a model with the error %v", err)
	}
	return err.Error()
}

// tiny is a valid spec with its optimizer (or other extra keys) appended.
func tiny(extra string) string {
	return "name: tiny\ninput_shape: [4]\nlayers:\n  - type: Dense\n    units: 3\n    activation: softmax\nloss: categorical_crossentropy\n" + extra
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"a", "", 1},
		{"", "abc", 3},
		{"relu", "relu", 0},
		{"kitten", "sitting", 3},
		{"rleu", "relu", 1}, // a swap is one edit
		{"sigmoid", "sigmiod", 1},
		{"ca", "abc", 3}, // optimal string alignment: no edit of a swapped pair
		{"dense", "Dense", 1},
		{"unit", "units", 1},
		{"adagrad", "adam", 4},
		{"categorical_crossentropie", "categorical_crossentropy", 2},
	} {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := distance(tc.b, tc.a); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d (symmetry)", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	opts := []string{"sgd", "adam", "adamw", "rmsprop"}
	for _, tc := range []struct {
		s     string
		cands []string
		want  string
	}{
		{"dense", layers.Names(), `; did you mean "Dense"?`},
		{"DROPOUT", layers.Names(), `; did you mean "Dropout"?`},
		{"Flaten", layers.Names(), `; did you mean "Flatten"?`},
		{"MultiHeadAttention", layers.Names(), ""},
		{"rleu", layers.ActivationNames(), `; did you mean "relu"?`},
		{"softmx", layers.ActivationNames(), `; did you mean "softmax"?`},
		{"sdg", opts, `; did you mean "sgd"?`},
		{"Adam", opts, `; did you mean "adam"?`},
		{"adamw_", opts, `; did you mean "adamw"?`},
		{"adagrad", opts, ""}, // another optimizer, not a typo of adam
		{"lion", opts, ""},
		{"optimiser", topKeys, `; did you mean "optimizer"?`},
		{"input_dim", topKeys, `; did you mean "inputs"?`},
		{"x", nil, ""},
		{"", opts, ""},
	} {
		if got := suggest(tc.s, tc.cands); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
	if got, want := oneOf("lion", opts), " (one of: sgd, adam, adamw, rmsprop)"; got != want {
		t.Errorf("oneOf(lion) = %q, want %q", got, want)
	}
	if got, want := oneOf("sgdd", opts), `; did you mean "sgd"?`; got != want {
		t.Errorf("oneOf(sgdd) = %q, want %q", got, want)
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"Dense":                  "dense",
		"Dropout":                "dropout",
		"MaxPooling2D":           "max_pooling2d",
		"BatchNormalization":     "batch_normalization",
		"Conv2D":                 "conv2d",
		"LSTM":                   "lstm",
		"GlobalAveragePooling1D": "global_average_pooling1d",
		"ReLU":                   "re_lu",
	} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
	for _, k := range layers.Names() {
		if s := snake(k); !identRE.MatchString(s) || strings.ToLower(s) != s {
			t.Errorf("snake(%q) = %q, not a lower-case identifier", k, s)
		}
	}
}

func TestDefaultNames(t *testing.T) {
	m := parse(t, `name: names
input_shape: [2, 3]
layers:
  - type: Flatten
  - type: Dense
    units: 8
  - type: Activation
    activation: relu
  - type: Dense
    units: 8
  - type: Dropout
    rate: 0.1
  - type: Dense
    name: dense_2
    units: 8
  - type: Dense
    units: 8
  - type: Dense
    name: out
    units: 2
    activation: softmax
loss: categorical_crossentropy
`)
	var got []string
	for _, n := range m.Nodes {
		got = append(got, n.Name)
	}
	want := []string{"input", "flatten", "dense", "activation", "dense_1", "dropout", "dense_2", "dense_3", "out"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("names %v, want %v", got, want)
	}
	if m.Output.Name != "out" {
		t.Errorf("output %s, want out", m.Output.Name)
	}
	// Every layer takes the one above by default.
	for i, n := range m.Nodes[1:] {
		if len(n.Inputs) != 1 || n.Inputs[0] != m.Nodes[i] || n.Index != i+1 {
			t.Errorf("layer %s: inputs %v, index %d; want [%s], %d", n.Name, names(n.Inputs), n.Index, m.Nodes[i].Name, i+1)
		}
	}
}

func TestMNIST(t *testing.T) {
	src, err := os.ReadFile("../testdata/models/mnist_mlp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse("testdata/models/mnist_mlp.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "mnist_mlp" || m.Batch != 32 || m.Seed != 2 || m.DType != "float32" ||
		m.Loss.Kind != "categorical_crossentropy" || !reflect.DeepEqual(m.Metrics, []string{"accuracy"}) {
		t.Errorf("model %s batch %d seed %d dtype %s loss %s metrics %v", m.Name, m.Batch, m.Seed, m.DType, m.Loss.Kind, m.Metrics)
	}
	if m.SpecPath != "testdata/models/mnist_mlp.yaml" || len(m.SpecHash) != 16 {
		t.Errorf("SpecPath %q, SpecHash %q", m.SpecPath, m.SpecHash)
	}
	if m.Loss.Pos != (ir.Pos{Line: 18, Col: 7}) {
		t.Errorf("loss at %v, want 18:7", m.Loss.Pos)
	}
	type param struct {
		name   string
		shape  []int
		offset int
		init   string
	}
	want := []struct {
		name, kind string
		pos        ir.Pos
		shape      []int
		params     []param
	}{
		{"input", "Input", ir.Pos{Line: 12, Col: 3}, []int{784}, nil},
		{"dense", "Dense", ir.Pos{Line: 12, Col: 5}, []int{64}, []param{
			{"weight", []int{64, 784}, 0, "glorot_uniform"},
			{"bias", []int{64}, 64 * 784, "zeros"},
		}},
		{"dense_1", "Dense", ir.Pos{Line: 15, Col: 5}, []int{10}, []param{
			{"weight", []int{10, 64}, 64*784 + 64, "glorot_uniform"},
			{"bias", []int{10}, 64*784 + 64 + 640, "zeros"},
		}},
	}
	if len(m.Nodes) != len(want) {
		t.Fatalf("%d nodes, want %d", len(m.Nodes), len(want))
	}
	for i, w := range want {
		n := m.Nodes[i]
		if n.Name != w.name || n.Kind != w.kind || n.Pos != w.pos || !reflect.DeepEqual(n.Shape, w.shape) {
			t.Errorf("node %d: %s %s at %v shape %v; want %s %s at %v shape %v", i, n.Name, n.Kind, n.Pos, n.Shape, w.name, w.kind, w.pos, w.shape)
		}
		var got []param
		for _, p := range n.Params {
			got = append(got, param{p.Name, p.Shape, p.Offset, p.Init})
		}
		if !reflect.DeepEqual(got, w.params) {
			t.Errorf("node %s: params %v, want %v", n.Name, got, w.params)
		}
	}
	d, d1 := m.Nodes[1], m.Nodes[2]
	if d.Str("activation") != "relu" || d1.Str("activation") != "softmax" || d.Int("units") != 64 || !d.Bool("use_bias") {
		t.Errorf("attrs %v and %v", d.Attrs, d1.Attrs)
	}
	if p := d.Params[0]; p.FanIn != 784 || p.FanOut != 64 {
		t.Errorf("dense.weight fan in %d, out %d; want 784, 64", p.FanIn, p.FanOut)
	}
	if m.Output != d1 || d1.Inputs[0] != d || d.Inputs[0] != m.Nodes[0] ||
		!reflect.DeepEqual(d.Consumers, []*ir.Node{d1}) || len(d1.Consumers) != 0 {
		t.Error("the graph is not input → dense → dense_1 → output")
	}
	if got := m.NumParams(); got != 50890 {
		t.Errorf("NumParams = %d, want 50890", got)
	}
	// The hash is of the bytes: any edit changes it.
	m2, err := Parse("testdata/models/mnist_mlp.yaml", append(src, "# edited\n"...))
	if err != nil {
		t.Fatal(err)
	}
	if m2.SpecHash == m.SpecHash {
		t.Error("editing the spec did not change SpecHash")
	}
}

func TestOptimizerDefaults(t *testing.T) {
	// Keras's defaults (keras.optimizers.*, Keras 3).
	for _, tc := range []struct {
		spec string
		want ir.Optimizer
	}{
		{"", ir.Optimizer{Name: "adam", LR: 0.001, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7}},
		{"optimizer: adam\n", ir.Optimizer{Name: "adam", LR: 0.001, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7}},
		{"optimizer: Adam\n", ir.Optimizer{Name: "adam", LR: 0.001, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7}},
		{"optimizer: sgd\n", ir.Optimizer{Name: "sgd", LR: 0.01}},
		{"optimizer: adamw\n", ir.Optimizer{Name: "adamw", LR: 0.001, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, WeightDecay: 0.004}},
		{"optimizer: rmsprop\n", ir.Optimizer{Name: "rmsprop", LR: 0.001, Rho: 0.9, Epsilon: 1e-7}},
		{"optimizer: {name: SGD}\n", ir.Optimizer{Name: "sgd", LR: 0.01}},
	} {
		if got := parse(t, tiny(tc.spec)).Opt; got != tc.want {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.spec, got, tc.want)
		}
	}
}

func TestOptimizerOverrides(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want ir.Optimizer
	}{
		{"optimizer:\n  name: sgd\n  learning_rate: 0.1\n  momentum: 0.9\n  nesterov: true\n  weight_decay: 1e-4\n  clipnorm: 1\n",
			ir.Optimizer{Name: "sgd", LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4, ClipNorm: 1}},
		{"optimizer:\n  name: adam\n  learning_rate: 3e-4\n  beta_1: 0.5\n  beta_2: 0.99\n  epsilon: 1e-8\n  amsgrad: true\n",
			ir.Optimizer{Name: "adam", LR: 3e-4, Beta1: 0.5, Beta2: 0.99, Epsilon: 1e-8, AMSGrad: true}},
		{"optimizer: {name: adamw, weight_decay: 0.01}\n",
			ir.Optimizer{Name: "adamw", LR: 0.001, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, WeightDecay: 0.01}},
		{"optimizer: {name: rmsprop, rho: 0.95, momentum: 0.5, centered: true}\n",
			ir.Optimizer{Name: "rmsprop", LR: 0.001, Rho: 0.95, Momentum: 0.5, Epsilon: 1e-7, Centered: true}},
		{"optimizer: {name: sgd, schedule: {type: step, step_size: 10}}\n",
			ir.Optimizer{Name: "sgd", LR: 0.01, Schedule: "step", StepSize: 10, DecaySteps: 10, Gamma: 0.1}},
		{"optimizer: {name: sgd, schedule: {type: step, step_size: 10, gamma: 0.5}}\n",
			ir.Optimizer{Name: "sgd", LR: 0.01, Schedule: "step", StepSize: 10, DecaySteps: 10, Gamma: 0.5}},
		{"optimizer: {name: adam, schedule: {type: cosine, decay_steps: 100, alpha: 0.1}}\n",
			ir.Optimizer{Name: "adam", LR: 0.001, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, Schedule: "cosine", StepSize: 100, DecaySteps: 100, Gamma: 0.1, Alpha: 0.1}},
	} {
		if got := parse(t, tiny(tc.spec)).Opt; got != tc.want {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.spec, got, tc.want)
		}
	}
}

func TestOptimizerErrors(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"optimizer: adagrad\n", `t.yaml:8:12: unknown optimizer "adagrad" (one of: sgd, adam, adamw, rmsprop)`},
		{"optimizer: Adamm\n", `t.yaml:8:12: unknown optimizer "Adamm"; did you mean "adam"?`},
		{"optimizer: 3\n", `t.yaml:8:12: optimizer must be a string`},
		{"optimizer: [adam]\n", `t.yaml:8:12: optimizer must be a mapping`},
		{"optimizer: {learning_rate: 0.1}\n", `t.yaml:8:12: optimizer needs a name (one of: sgd, adam, adamw, rmsprop)`},
		{"optimizer: {name: adam, momentum: 0.9}\n", `t.yaml:8:25: momentum does not apply to optimizer adam`},
		{"optimizer: {name: sgd, beta_1: 0.9}\n", `t.yaml:8:24: beta_1 does not apply to optimizer sgd`},
		{"optimizer: {name: adam, beta_1: 1}\n", `t.yaml:8:19: beta_1, beta_2 and rho must be below 1`},
		{"optimizer: {name: adam, learning_rate: -1}\n", `t.yaml:8:40: learning_rate must not be negative`},
		{"optimizer: {name: adam, learning_rate: .nan}\n", `t.yaml:8:40: learning_rate must be a number, got .nan`},
		{"optimizer: {name: adam, amsgrad: yes}\n", `t.yaml:8:34: amsgrad must be true or false, got the string "yes"`},
		{"optimizer: {name: adam, lr: 0.1}\n", `t.yaml:8:25: unknown key "lr" in optimizer`},
		{"optimizer: {name: sgd, schedule: {type: step}}\n", `t.yaml:8:34: schedule step needs step_size`},
		{"optimizer: {name: sgd, schedule: {step_size: 3}}\n", `t.yaml:8:34: schedule needs a type (step or cosine)`},
		{"optimizer: {name: sgd, schedule: {type: linear}}\n", `t.yaml:8:41: unknown schedule "linear" (one of: step, cosine)`},
		{"optimizer: {name: sgd, schedule: {type: cosine, decay_steps: 0}}\n", `t.yaml:8:62: decay_steps must be positive`},
		{"optimizer: {name: sgd, schedule: {type: cosine, decay_steps: 9, gamma: 0.5}}\n", `t.yaml:8:65: gamma does not apply to schedule cosine (only to step)`},
	} {
		if got := parseErr(t, tiny(tc.spec)); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.spec, got, tc.want)
		}
	}
}

func TestAliases(t *testing.T) {
	m := parse(t, `name: aliased
input_shape: [4]
layers:
  - &hidden {type: Dense, units: 8, activation: relu}
  - *hidden
  - {type: Dense, units: 2, activation: softmax}
loss: categorical_crossentropy
`)
	if len(m.Nodes) != 4 || m.Nodes[2].Name != "dense_1" || m.Nodes[2].Int("units") != 8 || m.Nodes[2].Inputs[0] != m.Nodes[1] {
		t.Errorf("the aliased layer is not a second Dense(8) after the first")
	}
	// A recursive anchor is an error, not a hang.
	parseErr(t, "name: &a [*a]\ninput_shape: [4]\nlayers: &l [*l]\nloss: mse\n")
}

func TestErrorList(t *testing.T) {
	var l ErrorList
	if l.Err() != nil {
		t.Error("an empty ErrorList is not a nil error")
	}
	for i := 12; i >= 0; i-- {
		l = append(l, &Error{File: "f", Pos: ir.Pos{Line: i, Col: 1}, Msg: "m"})
	}
	err := l.Err()
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != MaxErrors+1 || lines[0] != "f: m" || lines[1] != "f:1:1: m" || lines[MaxErrors] != "(and 3 more errors)" {
		t.Errorf("ErrorList prints:\n%v", err)
	}
	var got ErrorList
	if !errors.As(err, &got) || len(got) != 13 {
		t.Error("Err does not return the ErrorList")
	}
}

func TestErrorsInLineOrder(t *testing.T) {
	got := parseErr(t, `name: 1model
input_shape: [4, 0]
layers:
  - type: Dense
    units: 3
    activation: sofmax
    bogus: 1
  - type: Dense
    inputs: later
  - type: Dense
    name: later
    units: 2
dtype: float8
loss: hing
metrics: [accuracy, auk]
optimizer: {name: sgd, nesterov: true}
`)
	want := `t.yaml:1:7: model name "1model" is not a valid Go identifier (letters, digits and _, not starting with a digit, not a Go keyword)
t.yaml:2:18: input_shape dimensions must be positive, got 0
t.yaml:6:17: dense.activation: unknown activation "sofmax"; did you mean "softmax"?
t.yaml:7:5: unknown field "bogus" of Dense
t.yaml:8:5: Dense layer dense_1 needs field "units"
t.yaml:9:13: inputs of dense_1: layer "later" is defined below, at line 11; a layer's inputs must come before it
t.yaml:13:8: dtype must be float32 or float64, got "float8"
t.yaml:14:7: unknown loss "hing"; did you mean "hinge"?
t.yaml:15:21: unknown metric "auk"; did you mean "auc"?
t.yaml:16:24: nesterov needs a momentum above 0`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestLayerErrors(t *testing.T) {
	layer := func(l string) string {
		return "name: t\ninput_shape: [4]\nlayers:\n" + l + "loss: mse\n"
	}
	for _, tc := range []struct{ spec, want string }{
		{layer("  - Dense\n"), `t.yaml:4:5: a layer must be a mapping with a type, got the string "Dense"`},
		{layer("  - {type: Dense, units: 3, units: 4}\n"), `t.yaml:4:29: duplicate key "units" in layer`},
		{layer("  - {type: Dense, units: 3, name: input}\n"), `t.yaml:4:35: layer name "input" is reserved for the model input`},
		{layer("  - {type: Dense, units: 3, inputs: []}\n"), `t.yaml:4:37: inputs must name at least one layer`},
		{layer("  - {type: Dense, units: 3, inputs: [input, input]}\n"), `t.yaml:4:5: Dense takes one input, got 2`},
		{layer("  - {type: Dense, units: 3, name: a, inputs: a}\n"), `t.yaml:4:46: inputs of a: a layer cannot take itself as input`},
		{layer("  - {type: Dense, units: 3, use_bias: 1}\n"), `t.yaml:4:39: dense.use_bias must be true or false, got 1`},
		{layer("  - {type: Dense, units: }\n"), `t.yaml:4:26: dense.units must be an integer, got nothing`},
		{layer("  - {type: Dense, units: 3}\n  - {type: Dense, units: 3}\noutput: input\n"), `t.yaml:6:9: output must be a layer, not the model input`},
		{layer("  - {type: Dense, units: 3000000000}\n"), `t.yaml:4:5: Dense dense: output shape [3000000000] has more than 2147483648 values per sample`},
		{layer("  - {type: Dense, units: 1000000000}\n"), `t.yaml:4:5: Dense dense: weight of shape [1000000000 4] has more than 2147483648 values`},
		{layer("  - {type: Dense, name: h, units: 3}\n  - {type: Dense, name: s1, units: 3}\n  - {type: Dense, name: s2, units: 3}\n  - {type: Dense, units: 3, inputs: h}\n"),
			"t.yaml:5:5: layer s1 does not contribute to the output dense\nt.yaml:6:5: layer s2 does not contribute to the output dense: no layer takes it as input"},
		// A broken layer keeps its name: the layers that use it get no second error.
		{layer("  - {type: Dens, name: h, units: 3}\n  - {type: Dense, units: 3, inputs: h}\n"), `t.yaml:4:12: unknown layer type "Dens"; did you mean "Dense"?`},
	} {
		if got := parseErr(t, tc.spec); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.spec, got, tc.want)
		}
	}
}

func TestYAMLErrors(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"", "t.yaml: the spec is empty"},
		{"# nothing\n", "t.yaml: the spec is empty"},
		{"name: a\n  b: c\n", "t.yaml:2:1: invalid YAML: mapping values are not allowed in this context"},
		{"name: t\nlayers:\n  - {type: Dense\nloss: mse\n", "t.yaml:3:5: invalid YAML: '{' is not closed: expected ',' or '}'"},
		{"name: t\nlayers:\n\t- type: Dense\n", "t.yaml:3:1: invalid YAML: tab in indentation; YAML indents with spaces only"},
		{"name: t\nlayers:\n  - type: Dense\n  \tunits: 3\n", "t.yaml:4:3: invalid YAML: tab in indentation; YAML indents with spaces only"},
		{"a: *nope\n", "t.yaml: invalid YAML: unknown anchor 'nope' referenced"},
		{"name: [\n", "t.yaml:2:1: invalid YAML: did not find expected node content"},
	} {
		if got := parseErr(t, tc.spec); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.spec, got, tc.want)
		}
	}
}

// TestLossOptions: a loss written as a mapping of its name and options
// gets them, the defaults filled in; a plain name gets the defaults.
func TestLossOptions(t *testing.T) {
	m := parse(t, "name: t\ninput_shape: [4]\nlayers:\n  - {type: Dense, units: 3}\nloss: {name: categorical_crossentropy, from_logits: true, label_smoothing: 0.1}\n")
	if m.Loss.Kind != "categorical_crossentropy" || !m.Loss.Bool("from_logits") || m.Loss.Float("label_smoothing") != 0.1 {
		t.Errorf("loss %+v", m.Loss)
	}
	m = parse(t, "name: t\ninput_shape: [4]\nlayers:\n  - {type: Dense, units: 3}\nloss: binary_focal_crossentropy\n")
	if m.Loss.Float("gamma") != 2 || m.Loss.Float("alpha") != 0.25 || m.Loss.Bool("apply_class_balancing") || m.Loss.Bool("from_logits") {
		t.Errorf("focal loss defaults %+v", m.Loss.Opts)
	}
}

// TestFieldAliasAndNull: Keras 2's alpha names LeakyReLU's negative_slope;
// ReLU's max_value may be null (Keras's None), its default.
func TestFieldAliasAndNull(t *testing.T) {
	m := parse(t, "name: t\ninput_shape: [4]\nlayers:\n  - {type: LeakyReLU, alpha: 0.1}\n  - {type: ReLU, max_value: null}\n  - {type: ReLU, max_value: 6.0}\n  - {type: LeakyReLU}\n  - {type: PReLU}\nloss: mse\n")
	if a := m.Nodes[1].Float("negative_slope"); a != 0.1 {
		t.Errorf("LeakyReLU alpha: 0.1 gave negative_slope %v", a)
	}
	if v := m.Nodes[2].Float("max_value"); !math.IsInf(v, 1) {
		t.Errorf("max_value: null gave %v", v)
	}
	if v := m.Nodes[3].Float("max_value"); v != 6 {
		t.Errorf("max_value: 6.0 gave %v", v)
	}
	if a := m.Nodes[4].Float("negative_slope"); a != 0.3 {
		t.Errorf("LeakyReLU's default slope is %v, not Keras 3's 0.3", a)
	}
}
