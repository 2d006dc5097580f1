// Package ir holds nngen's intermediate representation of a model: a DAG
// of layers with its loss and optimizer. It is plain data: spec builds the
// raw graph (kinds, fields, inputs), the passes of package pass validate it,
// infer its shapes, assign its parameters and record their fusion and
// kernel decisions on it, and codegen reads it.
package ir

import "fmt"

// Pos is a position in a spec file.
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Model is a whole model: its graph, loss, optimizer and training settings.
type Model struct {
	Name     string // Go package name
	SpecPath string // path of the spec, as given to nngen
	SpecHash string // hash of the spec's bytes
	Batch    int
	Seed     uint64
	DType    string  // "float32" or "float64"
	Nodes    []*Node // topological order; Nodes[0] is the input
	// Inputs are the model's named inputs, in the order of the spec's
	// inputs list, when it has several (nil: one input, Nodes[0]). A
	// sample's input is theirs side by side (Nodes[0], of their summed
	// size), and each is an InputSlice node that reads its values from it.
	Inputs []*Node
	// ClassWeight is the spec's class_weight: the weight of each class's
	// samples in the training loss (nil: 1 for every class).
	ClassWeight    []float64
	ClassWeightPos Pos
	Output         *Node // nil in a raw model whose output spec could not resolve
	Loss           Loss
	Opt            Optimizer
	Metrics        []string
	// TargetIsInput marks a model whose targets are its inputs (the spec's
	// target: input, at TargetPos), as an autoencoder's.
	TargetIsInput bool
	TargetPos     Pos
}

// Node is one layer of the graph.
type Node struct {
	Name      string
	Kind      string // registry key, e.g. "Dense"; "Input" for the model input; "?" for a layer spec could not read
	Pos       Pos
	Inputs    []*Node
	Consumers []*Node
	Attrs     map[string]any // every field of the kind, defaults filled in
	Shape     []int          // per-sample output shape
	Params    []Param
	// Shares is the node whose parameters this node applies, a shared
	// layer (a Keras layer called again on other inputs); nil when the
	// node has parameters of its own (in Params; a sharing node has none).
	Shares *Node
	Index  int // position in Model.Nodes
	// Fused is what the fuse pass decided about running parts of the node
	// inside other code.
	Fused Fusion
	// Method and BackMethod are how the node's forward and backward
	// passes are computed where its kind has several ways, chosen from
	// shapes by the kernel selection pass ("" for one way).
	Method, BackMethod Method
	// Mask is the Embedding with mask_zero whose padding (token id 0)
	// masks the steps of this node's first input, for a kind that honours
	// a mask (a recurrent layer skips those steps); nil for none. The mask
	// pass (pass.Masks) sets it.
	Mask *Node
}

// Fusion records, for one node, which of its computations run inside
// other code. The fuse pass decides; the emitters only read it.
type Fusion struct {
	// IntoLoss marks the model output whose activation's derivative the
	// loss folds into its gradient (softmax or sigmoid with a
	// cross-entropy): backward skips it.
	IntoLoss bool
	// Epilogue is the activation the node's own kernels apply to its
	// output as they store it ("relu" for a Conv2D), and whose derivative
	// they apply to the output's gradient unless IntoLoss; "" for none.
	Epilogue string
	// BackwardInto is the input in whose per-sample backward loop this
	// node's backward runs, just before that input's backward uses the
	// gradient (a MaxPooling2D whose windows tile the output of a Conv2D it
	// alone reads); nil when the node's backward runs on its own.
	BackwardInto *Node
}

// Method is a way of computing a node, chosen from its shapes.
type Method string

// Methods of Conv2D and MaxPooling2D.
const (
	// Winograd runs a Conv2D as F(2×2, 3×3) forward and backward.
	Winograd Method = "winograd"
	// ConvKernel runs a Conv2D's forward pass without padding as one
	// ConvFwd kernel call per sample.
	ConvKernel Method = "kernel"
	// Direct runs a Conv2D as matrix products over shifted blocks per tap
	// (forward: stride 1, no dilation, valid padding, 8 or more channels),
	// and its backward pass with the ConvWGrad kernel.
	Direct Method = "direct"
	// Im2col runs a Conv2D as im2col copies and matrix products.
	Im2col Method = "im2col"
	// Grouped runs a grouped convolution (groups > 1) as im2col copies
	// and matrix products, group by group.
	Grouped Method = "grouped"
	// Tiles runs a MaxPooling2D whose windows tile its input with the
	// MaxPool kernels; backward finds each maximum again.
	Tiles Method = "tiles"
	// Argmax runs a MaxPooling2D by loops that record each maximum's
	// position in training, for backward.
	Argmax Method = "argmax"
)

// Param is one parameter tensor of a node.
type Param struct {
	Name   string // PyTorch's name within the layer: "weight", "bias"
	Shape  []int  // PyTorch's layout
	Init   string // initializer name
	FanIn  int
	FanOut int
	Offset int // offset in the model's flat parameter array (or buffer array)
	// Buffer marks a non-trainable tensor (BatchNormalization's running
	// statistics): it lives in the model's buffer array, is saved in
	// checkpoints, and neither the gradients nor the optimizer touch it.
	Buffer bool
	// Shared marks a parameter that several nodes apply (see Node.Shares):
	// its gradient is the sum of their contributions, the first written in
	// backward order and the others added to it, so no code may fuse the
	// optimizer's update into one contribution's product.
	Shared bool
	// Reg is the weight regularizer whose penalty the training loss adds
	// (Keras's kernel_regularizer and the like; zero: none).
	Reg Regularizer
}

// Regularizer is Keras's L1L2 weight penalty: L1·Σ|w| + L2·Σw², added to
// the loss, its gradient L1·sign(w) + 2·L2·w to the weights' gradient.
type Regularizer struct{ L1, L2 float64 }

// IsZero reports whether the regularizer adds no penalty.
func (r Regularizer) IsZero() bool { return r.L1 == 0 && r.L2 == 0 }

// String writes the regularizer as a spec would: l1, l2, {l1: a, l2: b}.
func (r Regularizer) String() string {
	switch {
	case r.IsZero():
		return "null"
	case r.L2 == 0:
		return fmt.Sprintf("{l1: %g}", r.L1)
	case r.L1 == 0:
		return fmt.Sprintf("{l2: %g}", r.L2)
	}
	return fmt.Sprintf("{l1: %g, l2: %g}", r.L1, r.L2)
}

// Loss is the model's loss function.
type Loss struct {
	Kind string // categorical_crossentropy, binary_crossentropy, mse
	Pos  Pos
	// Terms is set when the loss is a mapping of named terms (a VAE's
	// negative ELBO): Kind is then its reconstruction term.
	Terms *Terms
	// Opts are the loss's options (its fields in package layers, defaults
	// included), written in a mapping with its name.
	Opts map[string]any
}

// Bool returns loss option name (false when unset).
func (l Loss) Bool(name string) bool { b, _ := l.Opts[name].(bool); return b }

// Float returns loss option name (0 when unset).
func (l Loss) Float(name string) float64 { f, _ := l.Opts[name].(float64); return f }

// Terms describes a loss of named terms: a reconstruction of the model's
// input, summed over the values of each sample, plus Beta times the KL
// divergence of N(KLMu, exp(KLLogVar)) from N(0, I).
type Terms struct {
	KLMu, KLLogVar *Node   // nil when the loss has no KL term
	Beta           float64 // weight of the KL term
	// KL is the spec's kl entry, which the loss pass resolves into KLMu
	// and KLLogVar; nil when the loss has no KL term.
	KL *KLRefs
}

// KLRefs are the layers a loss's kl entry names, and where.
type KLRefs struct {
	Pos        Pos // the kl mapping
	Mu, LogVar Ref
}

// Ref is a spec's reference to a layer by name.
type Ref struct {
	Name string
	Pos  Pos
}

// Optimizer is the optimizer with its hyper-parameters.
type Optimizer struct {
	Name                                                  string
	LR, Momentum, Beta1, Beta2, Rho, Epsilon, WeightDecay float64
	Nesterov, AMSGrad, Centered                           bool
	// Gradient clipping as Keras's optimizers do it (0: none; at most one
	// is set): ClipNorm clips each parameter tensor's gradient to that L2
	// norm, GlobalClipNorm the norm of all of them together, ClipValue
	// each value to [−ClipValue, ClipValue].
	ClipNorm, GlobalClipNorm, ClipValue float64
	Schedule                            string // "", "step", "cosine"
	StepSize                            int
	Gamma                               float64
	DecaySteps                          int
	Alpha                               float64
}

// Size is the number of values of one sample of the node's output.
func (n *Node) Size() int { return Prod(n.Shape) }

// Int, Float, Str and Bool return a typed attribute.
func (n *Node) Int(k string) int       { return n.Attrs[k].(int) }
func (n *Node) Float(k string) float64 { return n.Attrs[k].(float64) }
func (n *Node) Str(k string) string    { return n.Attrs[k].(string) }
func (n *Node) Bool(k string) bool     { return n.Attrs[k].(bool) }

// MaxSize bounds the values of one tensor, per sample.
const MaxSize = 1 << 31

// Fits returns the product of dims, and whether it is at most MaxSize.
func Fits(dims []int) (int, bool) {
	n := 1
	for _, d := range dims {
		if d < 0 || d > 0 && n > MaxSize/d {
			return 0, false
		}
		n *= d
	}
	return n, n <= MaxSize
}

// Prod is the product of dims (1 for none).
func Prod(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}

// NumParams is the total number of trainable parameter values.
func (m *Model) NumParams() int { return m.count(false) }

// NumBuffers is the total number of non-trainable buffer values.
func (m *Model) NumBuffers() int { return m.count(true) }

func (m *Model) count(buffer bool) int {
	n := 0
	for _, nd := range m.Nodes {
		for _, p := range nd.Params {
			if p.Buffer == buffer {
				n += Prod(p.Shape)
			}
		}
	}
	return n
}

// Role says what a tensor of the plan holds.
type Role string

// Tensor roles.
const (
	Activation Role = "activation" // a layer's output
	Gradient   Role = "gradient"   // the gradient of a layer's output
	Scratch    Role = "scratch"    // a pass's temporary values
	IO         Role = "io"         // read or written by the caller (inputs, targets, outputs)
)

// Tensor is one buffer of a worker's workspace in the memory plan.
type Tensor struct {
	Name  string
	Size  int    // values
	DType string // Go element type: "Float" (the model's), "int32", …
	Role  Role
	Doc   string
	// Pinned marks a tensor that keeps its own memory: the caller reads or
	// writes it between passes. The others live at Offset in the arena of
	// their DType, shared with tensors whose lifetimes do not overlap.
	Pinned bool
	Offset int
	// Live lists, for each program (a sequence of passes run together,
	// such as a train step's forward, loss and backward), the first and
	// last step of it that use the tensor; nil for a program that does not.
	Live [][2]int
}

// Plan is the memory plan of a worker's workspace: where each tensor lives.
type Plan struct {
	Tensors []Tensor
	// Arenas holds the size, in values, of each DType's shared memory.
	Arenas map[string]int
	// Programs names each program's steps, as Pass:Step.
	Programs [][]string
}

// Shared reports whether the tensor name lives in an arena: the generated
// code then reaches it through an array pointer.
func (p *Plan) Shared(name string) bool {
	if p == nil {
		return false
	}
	t := p.Tensor(name)
	return t != nil && !t.Pinned
}

// Tensor returns the tensor of the given name, or nil.
func (p *Plan) Tensor(name string) *Tensor {
	for i := range p.Tensors {
		if p.Tensors[i].Name == name {
			return &p.Tensors[i]
		}
	}
	return nil
}
