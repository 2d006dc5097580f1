// Package layers is nngen's layer registry: each layer kind is described
// once, with its fields, defaults, documentation, shape rule, parameters and
// fusion rules, as plain data and functions of the IR. Parsing (spec), the
// compiler's passes (pass), code generation (codegen, through the kinds'
// code in layers/emit) and the reference docs (nngen doc) all read it. It
// does not depend on the code generator: `nngen check` links no jennifer.
package layers

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/nngen/nngen/ir"
)

// FieldType is the type of a field's value.
type FieldType int

// Field value types.
const (
	IntField FieldType = iota
	FloatField
	StringField
	BoolField
	IntsField
	// LayerField holds a layer (a mapping with a type and that kind's
	// fields), as the *ir.Node of a wrapper's inner layer (see Inner).
	LayerField
	// RegularizerField holds a weight regularizer, an ir.Regularizer:
	// Keras's name (l1, l2, l1_l2, their factors 0.01) or a mapping of
	// the factors ({l2: 0.001}, {l1: 0.01, l2: 0.01}).
	RegularizerField
)

func (t FieldType) String() string {
	return [...]string{"int", "float", "string", "bool", "list of ints", "layer", "regularizer"}[t]
}

// Field is one configurable field of a layer kind.
type Field struct {
	Name    string
	Type    FieldType
	Default any // nil: required
	Doc     string
	Enum    []string           // allowed values of a String field
	Check   func(v any) string // extra check; returns a message or ""
	// Broadcast, for an Ints field, lets one integer stand for that many
	// copies of it, as Keras's "an integer or a tuple of 2 integers".
	Broadcast int
	// Aliases are other names of the field that the spec accepts (Keras
	// 2's names).
	Aliases []string
	// Nullable lets the spec write null for the default (Keras's None).
	Nullable bool
	// Sides, for an Ints field, is the number of axes whose two ends the
	// value sets, as Keras's padding and cropping: one integer (every
	// end), a list of Sides integers (both ends of each axis), or a list
	// of Sides pairs [before, after] (with one axis, also the pair
	// itself); the value is stored as [before₀, after₀, before₁, ...].
	Sides int
}

// Alias says when a kind's output is its input's buffer, with no copy.
type Alias int

// Aliasing modes.
const (
	NoAlias        Alias = iota
	AliasAlways          // Flatten, Reshape: same memory, new shape
	AliasInference       // Dropout: identity at inference
)

// Kind describes one layer kind.
type Kind struct {
	Name   string
	Doc    string
	Fields []Field
	Alias  Alias
	// MinInputs and MaxInputs bound the number of inputs the kind takes
	// (0: one); MaxInputs Variadic takes any number from MinInputs on, as
	// an argLength of -1 marks a variadic op in Go's SSA rules.
	MinInputs, MaxInputs int
	// Shape infers the per-sample output shape from the input shapes, or
	// says why the inputs do not fit.
	Shape func(n *ir.Node, in [][]int) ([]int, error)
	// Params lists the node's parameters (nil for none).
	Params func(n *ir.Node) []ir.Param
	// Act is the name of the activation the kind applies last ("linear" for
	// none); the loss may fuse it into its gradient.
	Act func(n *ir.Node) string
	// Summary is the one-line description used in generated comments.
	Summary func(n *ir.Node) string
	// Tokens is the vocabulary size of a kind that reads token ids from
	// the model input (Embedding), nil for the others: such a model is a
	// token model, trained on text.
	Tokens func(n *ir.Node) int
	// Inference says how the kind's inference differs from its training:
	// nil when it computes the same function (see DiffersAtInference and
	// DrawsAtInference).
	Inference *Inference
	// Latent marks the kind whose output is an autoencoder's latent code
	// (Sampling): Encode ends there and Decode starts from it.
	Latent bool
	// FlatInput names the parameters whose last axis runs over the node's
	// input features (Dense's weight, BatchNormalization's vectors): after
	// a Flatten of an image, PyTorch orders those NCHW where nngen has
	// NHWC, and checkpoints follow PyTorch (see FlatImage).
	FlatInput []string
	// Featurewise marks a kind whose inputs and output share one shape and
	// that treats every feature alike (element-wise, per feature with
	// FlatInput parameters, or symmetrically as softmax): permuting the
	// features of its inputs permutes its output's the same way. A flattened
	// image's order is followed through such kinds to the layer that mixes
	// its features (see FlatImage).
	Featurewise bool
	// Batchwise marks a kind that couples the samples of a batch in
	// training (BatchNormalization's batch statistics): the train step of a
	// model with such a kind is not split in shards (see Batchwise).
	Batchwise bool
	// Select returns how a node of the kind is computed, forward and
	// backward, for a kind with several ways (nil: one way): the kernel
	// selection pass (pass.SelectKernels) records it in ir.Node.Method and
	// BackMethod.
	Select func(n *ir.Node) (fwd, back ir.Method)
	// Fuse records in n.Fused which of n's computations run inside other
	// code (nil: none); the fuse pass (pass.Fuse) calls it after Select and
	// after deciding the loss's fusion.
	Fuse func(n *ir.Node)
	// Adapts marks a kind whose buffers are computed from the training
	// inputs before the first epoch (Normalization, as Keras's adapt()):
	// the generated package's Adapt runs the emitter's Adapt code.
	Adapts bool
	// Internal marks a kind the compiler makes and a spec cannot name
	// (InputSlice, each of several model inputs): it is left out of Names
	// and of the reference.
	Internal bool
	// Outputs lists node n's outputs besides its output proper (nil or
	// empty: none), in Keras's order of a layer's outputs: a recurrent
	// layer's final states with return_state. A spec reads output name of
	// layer l as l.name, an Output node (see OutputOf) whose buffers n's
	// code writes and reads.
	Outputs func(n *ir.Node) []Output
	// States names the states a recurrent kind starts from, which a spec
	// may give as its initial_state (Keras's), the inputs after the first
	// (nil: none).
	States []string
	// Mask says how the kind treats a mask of its input's steps (Keras's
	// masking, from an Embedding with mask_zero): whether node n honours
	// it (its code reads ir.Node.Mask) and whether its output carries it
	// on; nil: the kind cannot take a masked input, and the spec is
	// refused.
	Mask func(n *ir.Node) (uses, passes bool)
	// MasksZero reports whether node n's output is masked where its token
	// id is 0 (an Embedding with mask_zero); nil: never.
	MasksZero func(n *ir.Node) bool
	// GlobalClipNorm is the global gradient clipping norm a model with
	// this kind gets when its optimizer sets none of clipnorm,
	// global_clipnorm and clipvalue (0: none).
	GlobalClipNorm float64
	// Weights names the roles of the kind's trainable parameters in
	// Keras's vocabulary (kernel, recurrent, bias, ...): Register adds a
	// field <role>_regularizer per role, and ParamsOf gives each parameter
	// the regularizer of its role.
	Weights []Weight
}

// Weight is the Keras role of the parameters whose PyTorch names start
// with Param (the longest such prefix wins): weight is Dense's kernel,
// weight_hh an LSTM's recurrent kernel.
type Weight struct{ Param, Role string }

// ParamsOf returns the parameters of node n of its kind (nil for none),
// each with the regularizer its role's field sets.
func ParamsOf(n *ir.Node) []ir.Param {
	k := registry[n.Kind]
	if k == nil || k.Params == nil {
		return nil
	}
	ps := k.Params(n)
	for i := range ps {
		best := -1
		for j, w := range k.Weights {
			if strings.HasPrefix(ps[i].Name, w.Param) && (best < 0 || len(w.Param) > len(k.Weights[best].Param)) {
				best = j
			}
		}
		if best >= 0 && !ps[i].Buffer {
			if r, ok := n.Attrs[k.Weights[best].Role+"_regularizer"].(ir.Regularizer); ok {
				ps[i].Reg = r
			}
		}
	}
	return ps
}

// Regularizers are Keras's weight regularizer names, with the factors the
// name alone gives (Keras 2's l1(0.01), l2(0.01), l1_l2(0.01, 0.01)).
var Regularizers = map[string]ir.Regularizer{"l1": {L1: 0.01}, "l2": {L2: 0.01}, "l1_l2": {L1: 0.01, L2: 0.01}}

// weightFields are the fields Register adds for the roles of k.Weights.
func weightFields(k *Kind) []Field {
	var fs []Field
	for _, w := range k.Weights {
		name := w.Role + "_regularizer"
		if slices.ContainsFunc(fs, func(f Field) bool { return f.Name == name }) {
			continue
		}
		fs = append(fs, Field{Name: name, Type: RegularizerField, Default: ir.Regularizer{}, Nullable: true,
			Doc: fmt.Sprintf("Penalty on the %s weights added to the training loss (Keras's): l1 (L1·Σ|w|, 0.01), l2 (L2·Σw², 0.01), l1_l2 (both 0.01), or a mapping of the factors, {l2: 0.001}, {l1: .., l2: ..}; null for none. Evaluate's loss includes it, as Keras's.", w.Role)})
	}
	return fs
}

// Output is one of a node's extra outputs: its name and per-sample shape.
type Output struct {
	Name  string
	Shape []int
}

// OutputOf returns the extra output name of node n, and whether n has it.
func OutputOf(n *ir.Node, name string) (Output, bool) {
	k := registry[n.Kind]
	if k == nil || k.Outputs == nil {
		return Output{}, false
	}
	for _, o := range k.Outputs(n) {
		if o.Name == name {
			return o, true
		}
	}
	return Output{}, false
}

var registry = map[string]*Kind{}

// Register adds a kind to the registry. It panics on a duplicate name: the
// registry is built at init time by this package.
func Register(k *Kind) {
	if _, dup := registry[k.Name]; dup {
		panic("layers: duplicate kind " + k.Name)
	}
	k.Fields = append(k.Fields, weightFields(k)...)
	registry[k.Name] = k
}

// Lookup returns the kind with the given name.
func Lookup(name string) (*Kind, bool) {
	k, ok := registry[name]
	return k, ok
}

// Names returns the registered kind names, sorted.
func Names() []string {
	var names []string
	for n, k := range registry {
		if !k.Internal {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Variadic is the MaxInputs of a kind that takes any number of inputs.
const Variadic = -1

// Inputs returns the least and the most inputs the kind takes; max is
// Variadic for any number from min on.
func (k *Kind) Inputs() (min, max int) {
	min, max = k.MinInputs, k.MaxInputs
	if min == 0 {
		min = 1
	}
	if max == 0 {
		max = min
	}
	return min, max
}

// InputsText says how many inputs the kind takes: "one input", "2 inputs",
// "2 or more inputs", "2 to 4 inputs".
func (k *Kind) InputsText() string {
	lo, hi := k.Inputs()
	switch {
	case lo == 1 && hi == 1:
		return "one input"
	case lo == hi:
		return fmt.Sprintf("%d inputs", lo)
	case hi == Variadic:
		return fmt.Sprintf("%d or more inputs", lo)
	}
	return fmt.Sprintf("%d to %d inputs", lo, hi)
}

// Field returns the field with the given name.
func (k *Kind) Field(name string) (*Field, bool) {
	for i := range k.Fields {
		if k.Fields[i].Name == name {
			return &k.Fields[i], true
		}
	}
	return nil, false
}

// Doc writes the reference documentation of every kind, activation and loss
// as Markdown.
func Doc() string {
	var b strings.Builder
	b.WriteString("### Layers\n\n")
	for _, name := range Names() {
		k := registry[name]
		fmt.Fprintf(&b, "#### %s\n\n%s\n\n", k.Name, k.Doc)
		if len(k.Fields) > 0 {
			b.WriteString("| field | type | default | description |\n|---|---|---|---|\n")
			for _, f := range k.Fields {
				def := "required"
				if f.Default != nil {
					def = fmt.Sprintf("`%v`", f.Default)
				}
				doc := f.Doc
				if len(f.Enum) > 0 {
					doc += " One of: " + strings.Join(f.Enum, ", ") + "."
				}
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, f.Type, def, doc)
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("### Activations\n\n")
	for _, a := range ActivationNames() {
		fmt.Fprintf(&b, "- `%s`: %s\n", a, activations[a].Doc)
	}
	b.WriteString("\n### Losses\n\n")
	b.WriteString("Keras's reduction: each loss is the mean over the batch of a per-sample value, the mean over the last axis of the formula below unless it sums (Σ). With from_logits the output is logits and no activation is fused.\n\n")
	for _, l := range LossNames() {
		if a, ok := LossAliases[l]; ok {
			fmt.Fprintf(&b, "- `%s`: another Keras name of `%s`.\n", l, a)
			continue
		}
		fmt.Fprintf(&b, "- `%s`: %s", l, losses[l].Doc)
		var opts []string
		for _, f := range losses[l].Fields {
			opts = append(opts, fmt.Sprintf("`%s` (%s, `%v`)", f.Name, f.Type, f.Default))
		}
		if len(opts) > 0 {
			fmt.Fprintf(&b, " Options: %s.", strings.Join(opts, ", "))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n### Initializers\n\n")
	for _, i := range Initializers {
		fmt.Fprintf(&b, "- `%s`\n", i)
	}
	return b.String()
}

// Initializers are the weight initializer names (Keras's).
var Initializers = []string{"glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "random_normal", "random_uniform", "zeros", "ones", "orthogonal", "truncated_normal", "variance_scaling"}

// passMask is the Mask of a kind that passes a mask on unchanged, as
// Keras's Dense and Dropout do: it computes every step alike.
func passMask(*ir.Node) (uses, passes bool) { return false, true }

// Common field checks.
func positive(v any) string {
	if v.(int) <= 0 {
		return "must be positive"
	}
	return ""
}

// FlatImage returns the [height, width, channels] image whose flattened
// NHWC order the last axis of parameter p of n follows, when p is a
// FlatInput parameter and n's input is an image flattened by an aliasing
// layer (Flatten, or Reshape to one axis), possibly through Featurewise
// layers (BatchNormalization, Dropout, Activation) and reshapes to the
// same single axis; else nil. Checkpoints store such a parameter with that
// axis in NCHW order, as PyTorch's nn.Flatten after a convolution sees it.
func FlatImage(n *ir.Node, p string) []int {
	k := registry[n.Kind]
	if k == nil || !slices.Contains(k.FlatInput, p) || len(n.Inputs) != 1 {
		return nil
	}
	img, _ := flatOrigin(n.Inputs[0])
	return img
}

// flatOrigin returns the image (with more than one pixel and more than one
// channel) whose NHWC flattening node t's output is, and the flattening
// node itself; nil when t's output is not one. A Featurewise node of
// several inputs (Sampling) has that origin when all its inputs have it.
func flatOrigin(t *ir.Node) ([]int, *ir.Node) {
	k := registry[t.Kind]
	if k == nil || len(t.Shape) != 1 || len(t.Inputs) == 0 {
		return nil, nil
	}
	if in := t.Inputs[0]; k.Alias == AliasAlways {
		switch s := in.Shape; {
		case len(s) == 3 && s[2] > 1 && s[0]*s[1] > 1:
			return s, t // a flattening alias: Flatten, or Reshape to one axis
		case len(s) == 1:
			return flatOrigin(in)
		}
		return nil, nil
	}
	if !k.Featurewise {
		return nil, nil
	}
	img, flat := flatOrigin(t.Inputs[0])
	for _, in := range t.Inputs[1:] {
		if other, _ := flatOrigin(in); !slices.Equal(other, img) {
			return nil, nil
		}
	}
	return img, flat
}

// TorchLayout reports, as an error naming the layer, a model whose
// parameters PyTorch's layout cannot express: a flattened image (NHWC
// order in nngen, NCHW after torch.flatten) reaches a layer that mixes its
// features other than through FlatInput parameters, such as a Reshape to
// several axes. Export refuses such a model rather than write a checkpoint
// that PyTorch would read as another model. A model output that is a
// flattened image is not such a case: it is in NHWC order, as its targets.
func TorchLayout(m *ir.Model) error {
	for _, t := range m.Nodes {
		img, flat := flatOrigin(t)
		if img == nil {
			continue
		}
		for _, c := range t.Consumers {
			k := registry[c.Kind]
			if cimg, _ := flatOrigin(c); k == nil || len(c.Inputs) == 1 && len(k.FlatInput) > 0 || slices.Equal(cimg, img) {
				continue
			}
			return fmt.Errorf("%s: PyTorch's layout cannot express layer %s (%s): it reads the image %v that layer %s (line %d) flattens in NHWC order, where torch.flatten gives NCHW, and only the parameters of a Dense or a featurewise layer can be reordered to match",
				c.Pos, c.Name, c.Kind, img, flat.Name, flat.Pos.Line)
		}
	}
	return nil
}

// NeedsGrad reports whether backward must compute the gradient of n's
// output: whether n or anything upstream of it has parameters.
func NeedsGrad(n *ir.Node) bool {
	if len(n.Params) > 0 || n.Shares != nil {
		return true
	}
	for _, in := range n.Inputs {
		if NeedsGrad(in) {
			return true
		}
	}
	return false
}

// Inference describes a kind that computes another function at inference
// than in training (Dropout, BatchNormalization's moving statistics,
// Sampling's mean).
type Inference struct {
	// Draws reports whether node n still draws random numbers at
	// inference (nil: never), so that two inference passes differ.
	Draws func(n *ir.Node) bool
	// Differs reports whether node n computes another function at
	// inference (nil: always), for a kind whose fields decide it (a
	// recurrent layer's dropout).
	Differs func(n *ir.Node) bool
}

// DiffersAtInference reports whether n computes another function at
// inference than in training.
func DiffersAtInference(n *ir.Node) bool {
	k := registry[n.Kind]
	return k != nil && k.Inference != nil && (k.Inference.Differs == nil || k.Inference.Differs(n))
}

// DrawsAtInference reports whether n draws random numbers at inference.
func DrawsAtInference(n *ir.Node) bool {
	k := registry[n.Kind]
	return k != nil && k.Inference != nil && k.Inference.Draws != nil && k.Inference.Draws(n)
}

// IsLatent reports whether n's output is an autoencoder's latent code.
func IsLatent(n *ir.Node) bool {
	k := registry[n.Kind]
	return k != nil && k.Latent
}

// Batchwise reports whether a node of m couples the samples of a batch in
// training, so that its train step cannot be split in shards of samples.
func Batchwise(m *ir.Model) bool {
	for _, n := range m.Nodes {
		if k := registry[n.Kind]; k != nil && k.Batchwise {
			return true
		}
	}
	return false
}
