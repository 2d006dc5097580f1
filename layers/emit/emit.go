package emit

import (
	"fmt"
	"slices"
	"sort"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// Buffers records the fixed-size arrays the generated code uses, in order of
// first use; codegen turns them into the fields of the model struct.
type Buffers struct {
	Names []string
	Size  map[string]int
	Doc   map[string]string
	Type  map[string]string // element type, "Float" unless UseTyped said
	// State marks a buffer that carries values from one call of the passes
	// to the next (a count of draws): the memory plan never shares it.
	State map[string]bool
	// Role is what each buffer holds, as its first use declared it: a
	// layer's output (OutName), its gradient (GradName), else scratch.
	Role map[string]ir.Role
}

// UseTyped records buffer name of size values of the Go type typ (int32 for
// indices, say).
func (b *Buffers) UseTyped(name string, size int, typ, doc string) {
	b.Use(name, size, doc)
	b.Type[name] = typ
}

// Use records buffer name of size values; a later use must agree on the size.
func (b *Buffers) Use(name string, size int, doc string) {
	if b.Size == nil {
		b.Size, b.Doc, b.Type = map[string]int{}, map[string]string{}, map[string]string{}
	}
	if s, ok := b.Size[name]; ok {
		if s != size {
			panic(fmt.Sprintf("layers: buffer %s used with sizes %d and %d", name, s, size))
		}
		return
	}
	b.Names = append(b.Names, name)
	b.Size[name], b.Doc[name] = size, doc
}

// Uses records, while a training variant is emitted, which layer each
// buffer and kernel call belongs to, for nngen summary. Until a plan pass
// decides buffers and kernels ahead of emission, this is the one place
// where emission reports them: Emitter.use and Emitter.call.
type Uses struct {
	// Owner maps each buffer a training variant uses to its node: the node
	// whose output or gradient it holds, else the node being emitted at
	// its first use (nil: the loss).
	Owner map[string]*ir.Node
	// Calls maps each kernel called in a node's code (Site) to the node the
	// call computes for: the same node, but for a consumer whose backward
	// runs inside its input's per-sample loop (a MaxPooling2D after a
	// Conv2D), whose calls are in its input's code.
	Calls map[Site]*ir.Node
}

// Site is a kernel called in the code of node Region (nil: the loss).
type Site struct {
	Region *ir.Node
	Kernel string
}

// NewUses returns an empty record.
func NewUses() *Uses { return &Uses{Owner: map[string]*ir.Node{}, Calls: map[Site]*ir.Node{}} }

// Emitter collects the statements of one generated function and knows where
// every node's values live for one variant (batch size, training or not).
type Emitter struct {
	Model *ir.Model
	Batch int // rows processed by this variant
	// Mean is the number of samples a training loss averages over: the
	// whole batch, of which this variant runs one shard (0: Batch).
	Mean int
	// Shards is the number of shards of the train step (0 or 1: one);
	// with several, a shard's random draws depend on its index m.shard.
	Shards  int
	Train   bool   // dropout active, activations kept for backward
	Suffix  string // buffer name suffix of the variant
	Unroll  int    // loops of at most this many iterations are unrolled
	Bufs    *Buffers
	Kernels *Kernels
	// Uses, when set, records what a training variant's code uses.
	Uses *Uses
	// Tiles, when set, collects the large products of a train step that
	// run split in tiles on the workers (see TopGEMM).
	Tiles *Tiles
	// Plan is the workspace's memory plan (nil: every buffer an array of
	// its own): a buffer that lives in an arena is an array pointer.
	Plan *ir.Plan
	// node is the node whose code is being emitted (nil: the loss) and
	// region the node whose code the statements go to: they differ in
	// deferred code (see deferGrad). Begin sets both.
	node, region *ir.Node
	// sampleGrad holds, for a node, a consumer's backward code deferred
	// into the node's own per-sample backward loop: it writes the gradient
	// of sample b of the node's output to dst.
	sampleGrad map[*ir.Node]func(dst Code) Code
	// bound maps a node outside the model that stands for a model node's
	// values seen as other samples (a TimeDistributed's step of a
	// sequence: batch·T samples of one step) to that node, whose buffers
	// it uses (see Bind).
	bound map[*ir.Node]*ir.Node
	// substream maps a node outside the model to the substream of its
	// model node's random streams it draws from (see Substream).
	substream map[*ir.Node]uint64
	// outputs maps a node outside the model (a Bidirectional's direction)
	// and the name of one of its extra outputs to the model's Output node
	// that stands for it (see BindOutput).
	outputs map[*ir.Node]map[string]*ir.Node
	code    []Code
	written map[string]bool
	// gradBy maps the offset of each shared parameter to the node that
	// first wrote its gradient, and adds lists the contributions the node
	// being emitted wrote apart (see sharedGrad).
	gradBy map[int]*ir.Node
	adds   []paramAdd
}

// Begin starts the code of node n (nil: the loss).
func (e *Emitter) Begin(n *ir.Node) { e.node, e.region = n, n }

// Use records buffer name of size values of the model's float type, for
// the node being emitted.
func (e *Emitter) Use(name string, size int, doc string) {
	e.use(e.node, name, size, "", doc, ir.Scratch)
}

// UseTyped records buffer name of size values of the Go type typ (int32 for
// indices, say), for the node being emitted.
func (e *Emitter) UseTyped(name string, size int, typ, doc string) {
	e.use(e.node, name, size, typ, doc, ir.Scratch)
}

// use records buffer name of node owner, holding role; a node outside the
// model (a wrapper's inner layer) is owned by the node being emitted.
func (e *Emitter) use(owner *ir.Node, name string, size int, typ, doc string, role ir.Role) {
	if owner != nil && e.Model != nil && (owner.Index >= len(e.Model.Nodes) || e.Model.Nodes[owner.Index] != owner) {
		owner = e.node
	}
	if typ == "" {
		e.Bufs.Use(name, size, doc)
	} else {
		e.Bufs.UseTyped(name, size, typ, doc)
	}
	if e.Bufs.Role == nil {
		e.Bufs.Role = map[string]ir.Role{}
	}
	if _, ok := e.Bufs.Role[name]; !ok {
		e.Bufs.Role[name] = role
	}
	if e.Uses == nil || !e.Train {
		return
	}
	if _, ok := e.Uses.Owner[name]; !ok {
		e.Uses.Owner[name] = owner
	}
}

// UseState records buffer name like UseTyped, as a buffer whose values
// persist from one call of the passes to the next: it keeps memory of its
// own.
func (e *Emitter) UseState(name string, size int, typ, doc string) {
	e.use(e.node, name, size, typ, doc, ir.Scratch)
	if e.Bufs.State == nil {
		e.Bufs.State = map[string]bool{}
	}
	e.Bufs.State[name] = true
}

// call records a call of kernel name for the node being emitted.
func (e *Emitter) call(name string) {
	if e.Uses == nil || !e.Train {
		return
	}
	if s := (Site{e.region, name}); !e.called(s) {
		e.Uses.Calls[s] = e.node
	}
}

func (e *Emitter) called(s Site) bool {
	_, ok := e.Uses.Calls[s]
	return ok
}

// deferGrad defers consumer n's backward code into the per-sample backward
// loop of its input x (see sampleGrad): write runs there, as n's code.
func (e *Emitter) deferGrad(x, n *ir.Node, write func(dst Code) Code) {
	if e.sampleGrad == nil {
		e.sampleGrad = map[*ir.Node]func(Code) Code{}
	}
	e.sampleGrad[x] = func(dst Code) Code {
		node := e.node
		e.node = n
		defer func() { e.node = node }()
		return write(dst)
	}
}

// Code returns the statements emitted so far.
func (e *Emitter) Code() []Code { return e.code }

// Take returns the statements emitted so far and starts a new list; what
// the emitter knows of written gradients carries over (the loss writes
// gradients that backward then adds to).
func (e *Emitter) Take() []Code {
	c := e.code
	e.code = nil
	return c
}

// Add appends statements.
func (e *Emitter) Add(c ...Code) { e.code = append(e.code, c...) }

// Block appends statements in their own block, so local names do not clash.
func (e *Emitter) Block(c ...Code) { e.code = append(e.code, Block(c...)) }

// MeanBatch is the number of samples a training loss averages over.
func (e *Emitter) MeanBatch() int {
	if e.Mean > 0 {
		return e.Mean
	}
	return e.Batch
}

// Stream is the random stream of node n's draws in this train step: one
// per step and node and, with several shards, per shard.
func (e *Emitter) Stream(n *ir.Node) *Statement {
	s := Uint64().Call(Id("m").Dot("step")).Op("<<").Lit(8).Op("|").Lit(n.Index)
	if e.Shards > 1 {
		s = Parens(s).Op("<<").Lit(8).Op("|").Uint64().Call(Id("m").Dot("shard"))
	}
	if k := e.substream[n]; k > 0 {
		s = Parens(s).Op("^").Lit(k << 56)
	}
	return s
}

// BindOutput makes Output node o, of the model, stand for extra output
// name of node v, outside the model (a Bidirectional's direction): v's
// code writes o's values and reads its gradient.
func (e *Emitter) BindOutput(v *ir.Node, name string, o *ir.Node) {
	if e.outputs == nil {
		e.outputs = map[*ir.Node]map[string]*ir.Node{}
	}
	if e.outputs[v] == nil {
		e.outputs[v] = map[string]*ir.Node{}
	}
	e.outputs[v][name] = o
}

// OutputOf returns the Output node that reads extra output name of n (a
// model node's, or one BindOutput bound), or nil when none does.
func (e *Emitter) OutputOf(n *ir.Node, name string) *ir.Node {
	if o := e.outputs[n][name]; o != nil {
		return o
	}
	return OutputNode(n, name)
}

// Substream makes node v, outside the model (the backward direction of a
// Bidirectional), draw from substream k (1 to 255) of the streams of the
// model node whose index it has, so that its draws differ from the other
// direction's.
func (e *Emitter) Substream(v *ir.Node, k uint64) {
	if e.substream == nil {
		e.substream = map[*ir.Node]uint64{}
	}
	e.substream[v] = k
}

// field is m.<name>.
func field(name string) *Statement { return Id("m").Dot(name) }

// Arr is buffer name as an array pointer: &m.<name>, or m.<name> when the
// memory plan places it in an arena.
func (e *Emitter) Arr(name string) *Statement {
	if e.Plan.Shared(name) {
		return field(name)
	}
	return Op("&").Add(field(name))
}

// Lit returns v as a literal of the model's float type.
func (e *Emitter) Lit(v float64) *Statement { return Id("Float").Call(Lit(v)) }

// Aliased reports whether n's output is its input's buffer in this variant, so
// that n emits no code.
func (e *Emitter) Aliased(n *ir.Node) bool {
	k, ok := layers.Lookup(n.Kind)
	return ok && (k.Alias == layers.AliasAlways || k.Alias == layers.AliasInference && !e.Train)
}

// Bind makes node v, outside the model, use the output and gradient
// buffers of model node n: v holds the same values as n, as samples of
// another size (v.Size() values of e.Batch samples while v's code runs).
func (e *Emitter) Bind(v, n *ir.Node) {
	if e.bound == nil {
		e.bound = map[*ir.Node]*ir.Node{}
	}
	e.bound[v] = n
}

// boundName is the name that buffer of n's bound model node has.
func (e *Emitter) boundName(n *ir.Node, name func(*ir.Node) string) (string, bool) {
	b, ok := e.bound[n]
	if !ok {
		return "", false
	}
	batch := e.Batch
	defer func() { e.Batch = batch }()
	e.Batch = e.Batch * n.Size() / b.Size()
	return name(b), true
}

// OutName is the buffer holding node n's output in this variant.
func (e *Emitter) OutName(n *ir.Node) string {
	if s, ok := e.boundName(n, e.OutName); ok {
		return s
	}
	if n.Kind == "Input" {
		name := "x" + e.Suffix
		e.use(n, name, e.Batch*n.Size(), "", "model input", ir.IO)
		return name
	}
	if e.Aliased(n) {
		return e.OutName(n.Inputs[0])
	}
	name := n.Name + "_out" + e.Suffix
	e.use(n, name, e.Batch*n.Size(), "", "output of layer "+n.Name, ir.Activation)
	return name
}

// Out is node n's output as a slice expression.
func (e *Emitter) Out(n *ir.Node) *Statement { return field(e.OutName(n)).Index(Op(":")) }

// OutArr is node n's output as an array pointer.
func (e *Emitter) OutArr(n *ir.Node) *Statement { return e.Arr(e.OutName(n)) }

// GradName is the buffer holding the gradient of node n's output.
func (e *Emitter) GradName(n *ir.Node) string {
	if s, ok := e.boundName(n, e.GradName); ok {
		return s
	}
	if e.Aliased(n) {
		return e.GradName(n.Inputs[0])
	}
	name := n.Name + "_grad"
	e.use(n, name, e.Batch*n.Size(), "", "gradient of the output of layer "+n.Name, ir.Gradient)
	return name
}

// Grad is the gradient of node n's output as a slice expression.
func (e *Emitter) Grad(n *ir.Node) *Statement { return field(e.GradName(n)).Index(Op(":")) }

// GradArr is the gradient of node n's output as an array pointer.
func (e *Emitter) GradArr(n *ir.Node) *Statement { return e.Arr(e.GradName(n)) }

// GradIn returns the gradient buffer of input i of n (an array pointer),
// whether the caller must add to it (another consumer wrote it first), and
// whether it is needed at all. The first call for a buffer marks it written.
func (e *Emitter) GradIn(n *ir.Node, i int) (buf *Statement, acc, ok bool) {
	in := n.Inputs[i]
	if !NeedsGrad(in) {
		return nil, false, false
	}
	name := e.GradName(in)
	if e.written == nil {
		e.written = map[string]bool{}
	}
	acc = e.written[name]
	e.written[name] = true
	return e.Arr(name), acc, true
}

// GradWritten reports whether backward has written the gradient of n's
// output so far (a consumer did): a layer output that nothing reads (a
// recurrent layer read through its states only) has none, which is 0.
func (e *Emitter) GradWritten(n *ir.Node) bool { return e.written[e.GradName(n)] }

// MarkWritten records that the gradient of n's output has been written (by
// the loss).
func (e *Emitter) MarkWritten(n *ir.Node) {
	if e.written == nil {
		e.written = map[string]bool{}
	}
	e.written[e.GradName(n)] = true
}

// Param returns parameter name of n as an array pointer into the flat
// parameter array, and its size.
func (e *Emitter) Param(n *ir.Node, name string) (*Statement, int) {
	return e.flat("p", n, name)
}

// ParamGrad is the gradient of parameter name of n, like Param.
func (e *Emitter) ParamGrad(n *ir.Node, name string) (*Statement, int) {
	return e.flat("g", n, name)
}

func (e *Emitter) flat(arr string, n *ir.Node, name string) (*Statement, int) {
	user := n
	if n.Shares != nil {
		n = n.Shares
	}
	for _, p := range n.Params {
		if p.Name == name {
			if p.Buffer {
				if arr == "g" {
					panic("layers: buffer " + n.Name + "." + name + " has no gradient")
				}
				arr = "buf"
			}
			size := ir.Prod(p.Shape)
			if arr == "g" && p.Shared {
				if s := e.sharedGrad(user, n, p); s != nil {
					return s, size
				}
			}
			return Parens(Op("*").Index(Lit(size)).Id("Float")).Call(
				field(arr).Index(Lit(p.Offset).Op(":").Lit(p.Offset + size))), size
		}
	}
	panic("layers: node " + n.Name + " has no parameter " + name)
}

// paramAdd is a contribution to the gradient of a shared parameter that
// backward adds to it at the end of the contributing node's code.
type paramAdd struct {
	buf          string
	offset, size int
}

// sharedGrad returns where node user writes its contribution to the
// gradient of parameter p (of owner), which several nodes apply: nil for
// the gradient itself, when user is the first in backward order to write
// it; else a buffer of user's own, which AddSharedGrads then adds to it.
func (e *Emitter) sharedGrad(user, owner *ir.Node, p ir.Param) *Statement {
	if e.gradBy == nil {
		e.gradBy = map[int]*ir.Node{}
	}
	if first, ok := e.gradBy[p.Offset]; !ok || first == user {
		e.gradBy[p.Offset] = user
		return nil
	}
	buf := user.Name + "_" + p.Name + "_dshare"
	e.Use(buf, ir.Prod(p.Shape), fmt.Sprintf("layer %s's contribution to the gradient of %s.%s, which it shares", user.Name, owner.Name, p.Name))
	if !slices.ContainsFunc(e.adds, func(a paramAdd) bool { return a.buf == buf }) {
		e.adds = append(e.adds, paramAdd{buf, p.Offset, ir.Prod(p.Shape)})
	}
	return e.Arr(buf)
}

// AddSharedGrads adds the contributions to the gradients of shared
// parameters that the node just emitted wrote apart (see sharedGrad): codegen
// calls it after each node's backward code.
func (e *Emitter) AddSharedGrads() {
	for _, a := range e.adds {
		e.Block(
			Id("g").Op(":=").Add(field("g")).Index(Lit(a.offset).Op(":").Lit(a.offset+a.size)),
			For(List(Id("i"), Id("v")).Op(":=").Range().Add(field(a.buf)).Index(Op(":"))).Block(
				Id("g").Index(Id("i")).Op("+=").Id("v")))
	}
	e.adds = nil
}

// For emits `for i := 0; i < n; i++ { body(i) }`, or the body n times with
// constant indices when n is at most the unroll threshold.
func (e *Emitter) For(i string, n int, body func(i Code) []Code) Code {
	if n <= e.Unroll {
		// Each copy of a multi-statement body gets its own block, so that
		// variables it declares do not clash.
		var stmts []Code
		for k := 0; k < n; k++ {
			if b := body(Lit(k)); len(b) == 1 {
				stmts = append(stmts, b...)
			} else {
				stmts = append(stmts, Block(b...))
			}
		}
		return Block(stmts...)
	}
	return For(Id(i).Op(":=").Lit(0), Id(i).Op("<").Lit(n), Id(i).Op("++")).Block(body(Id(i))...)
}

// Layout names which operands of a GEMM are transposed.
type Layout string

// GEMM layouts; C is always M×N row-major.
const (
	NT Layout = "NT" // A is M×K, B is N×K: C = A·Bᵀ
	NN Layout = "NN" // A is M×K, B is K×N: C = A·B
	TN Layout = "TN" // A is K×M, B is K×N: C = Aᵀ·B
)

// GEMM is one matrix product shape of a model.
type GEMM struct {
	Layout  Layout
	M, N, K int
	Acc     bool // C += A·B instead of C = A·B
}

// Name is the Go name of the kernel.
func (g GEMM) Name() string {
	s := fmt.Sprintf("gemm%s_%dx%dx%d", g.Layout, g.M, g.N, g.K)
	if g.Acc {
		s += "_acc"
	}
	return s
}

// Kernels collects the distinct GEMM shapes a model uses.
type Kernels struct {
	set   map[GEMM]bool
	funcs map[string]Routine
}

// Add records a kernel shape.
func (k *Kernels) Add(g GEMM) {
	if k.set == nil {
		k.set = map[GEMM]bool{}
	}
	k.set[g] = true
}

// List returns the recorded shapes in a deterministic order.
func (k *Kernels) List() []GEMM {
	var l []GEMM
	for g := range k.set {
		l = append(l, g)
	}
	sort.Slice(l, func(i, j int) bool { return l[i].Name() < l[j].Name() })
	return l
}

// GEMM emits a call of the kernel for g with array-pointer operands.
func (e *Emitter) GEMM(g GEMM, c, a, b Code) { e.Add(e.gemmCall(g, c, a, b)) }

// gemmCall records kernel g and returns its call.
func (e *Emitter) gemmCall(g GEMM, c, a, b Code) Code {
	e.Kernels.Add(g)
	e.call(g.Name())
	return Id(g.Name()).Call(c, a, b)
}

// Routine is a model kernel other than a GEMM (a fused convolution, a
// pooling pass): a function of fixed-size Float arrays with a pure-Go twin
// and assembly versions that asmgen emits for each concrete type.
type Routine interface {
	// Name is the Go name of the kernel; the twin is Name()+"Go".
	Name() string
	// Args lists the operands in call order.
	Args() []Arg
	// Doc is the twin's doc comment: what the kernel computes.
	Doc() string
	// Twin returns the body of the pure-Go twin; operands are named as in
	// Args.
	Twin() []Code
	// Flops is the floating-point work of one call (for benchmarks), and
	// Terms the most terms summed into one output (for test tolerances).
	Flops() int
	Terms() int
}

// Arg is an operand of a Routine: Size values; Out operands are written (and
// may be read first), the others only read. Out operands come first.
type Arg struct {
	Name string
	Size int
	Out  bool
}

// AddRoutine records kernel f; kernels of equal names must be equal.
func (k *Kernels) AddRoutine(f Routine) {
	if k.funcs == nil {
		k.funcs = map[string]Routine{}
	}
	k.funcs[f.Name()] = f
}

// Routines returns the recorded Routine kernels sorted by name.
func (k *Kernels) Routines() []Routine {
	var l []Routine
	for _, f := range k.funcs {
		l = append(l, f)
	}
	sort.Slice(l, func(i, j int) bool { return l[i].Name() < l[j].Name() })
	return l
}

// funcCall records kernel f and returns its call with the operands args.
func (e *Emitter) funcCall(f Routine, args ...Code) Code {
	e.Kernels.AddRoutine(f)
	e.call(f.Name())
	return Id(f.Name()).Call(args...)
}
