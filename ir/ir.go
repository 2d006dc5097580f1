// Package ir holds nngen's intermediate representation of a model: a
// validated, shape-inferred DAG of layers with its loss and optimizer. It is
// plain data; spec builds it and codegen reads it.
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
	Output   *Node
	Loss     Loss
	Opt      Optimizer
	Metrics  []string
}

// Node is one layer of the graph.
type Node struct {
	Name      string
	Kind      string // registry key, e.g. "Dense"; "Input" for the model input
	Pos       Pos
	Inputs    []*Node
	Consumers []*Node
	Attrs     map[string]any // every field of the kind, defaults filled in
	Shape     []int          // per-sample output shape
	Params    []Param
	Index     int // position in Model.Nodes
}

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
}

// Loss is the model's loss function.
type Loss struct {
	Kind string // categorical_crossentropy, binary_crossentropy, mse
	Pos  Pos
	// Terms is set when the loss is a mapping of named terms (a VAE's
	// negative ELBO): Kind is then its reconstruction term.
	Terms *Terms
}

// Terms describes a loss of named terms: a reconstruction of the model's
// input, summed over the values of each sample, plus Beta times the KL
// divergence of N(KLMu, exp(KLLogVar)) from N(0, I).
type Terms struct {
	KLMu, KLLogVar *Node   // nil when the loss has no KL term
	Beta           float64 // weight of the KL term
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
