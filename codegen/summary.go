package codegen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strconv"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
	"github.com/nngen/nngen/layers/emit"
	"github.com/nngen/nngen/runtime/optim"
)

// Summary is what the compiler decides for a model, layer by layer and in
// total: its parameters, the kernels of one train step and their FLOPs,
// and the memory of the generated Model. It is plain data, printed by
// nngen summary; Summarize fills it from what the code generator records
// while it emits, and a plan pass can fill it before emission instead.
type Summary struct {
	Model, Spec string // the model's name and the spec's path
	Batch       int
	Shards      int // a train step runs its batch in shards, each a pass of Batch/Shards samples
	ShardBytes  int // with several shards: the batch's inputs and targets, which the shards copy, and the gradients of shards 1 and up
	DType       string
	FloatBytes  int // bytes of one value of DType
	Optimizer   string
	StateNames  []string // the optimizer's state arrays, each one value per parameter
	// Rows are the model input, the layers in spec order and the loss.
	Rows []Row
	// Params and Fixed are the numbers of trainable and non-trainable
	// (buffer) parameter values; ParamBytes are the bytes of the
	// parameters, their gradients, the optimizer state and the buffers.
	Params, Fixed, ParamBytes int
	// TrainBytes are the bytes of the buffers a train step uses (the sum
	// of the rows' Bytes), InferBytes those of the buffers only inference
	// uses (Forward, Predict1 and the autoencoder's methods).
	TrainBytes, InferBytes int
	// ModelBytes is the size of the generated Model struct.
	ModelBytes int
	// The memory plan, over the workspaces of the shards: SharedBytes are
	// the bytes of the buffers (of TrainBytes and InferBytes) that share
	// memory, ArenaBytes those of the arenas they share, Pinned the
	// buffers that keep memory of their own (the caller's inputs, targets
	// and outputs, state kept from one pass to the next).
	SharedBytes, ArenaBytes int
	Pinned                  []string
}

// Row is one layer of a Summary (or the model input, or the loss).
type Row struct {
	Name, Kind string // kind: registry key, "Input", or the loss's name
	Line       int    // line in the spec (0: none)
	Shape      []int  // per-sample output shape (nil for the loss)
	// Params and Fixed are the layer's trainable and non-trainable values.
	Params, Fixed int
	// Forward and Backward are the kernel calls of one train step's
	// forward and backward pass for this layer.
	Forward, Backward []KernelCall
	// Buffers are the buffers of the Model a train step uses for this
	// layer (its output, its gradient, its scratch), Bytes their size.
	Buffers []string
	Bytes   int
}

// KernelCall is one kernel run Count times per train step, Flops per run.
type KernelCall struct {
	Kernel string
	Count  int
	Flops  int
}

// Flops sums the FLOPs of calls.
func Flops(calls []KernelCall) int {
	s := 0
	for _, c := range calls {
		s += c.Count * c.Flops
	}
	return s
}

// Flops returns the FLOPs of one train step's forward and backward passes.
func (s *Summary) Flops() (forward, backward int) {
	for _, r := range s.Rows {
		forward += Flops(r.Forward)
		backward += Flops(r.Backward)
	}
	return forward, backward
}

// Summarize runs the code generator on m without writing anything and
// returns what it decided.
func Summarize(m *ir.Model, opt Config) (*Summary, error) {
	if opt.Unroll < 0 {
		return nil, fmt.Errorf("codegen: unroll must not be negative")
	}
	g, err := planned(m, opt)
	if err != nil {
		return nil, err
	}
	g.uses = emit.NewUses()
	g.modelFile()
	h := g.hyper()
	s := &Summary{Model: m.Name, Spec: m.SpecPath, Batch: m.Batch, Shards: g.shards, DType: m.DType, FloatBytes: int(floatType(m.DType).Size()),
		Optimizer: m.Opt.Name, StateNames: optim.StateNames(m.Opt.Name, h),
		Params: m.NumParams(), Fixed: m.NumBuffers()}
	s.ParamBytes = ((2+optim.StateSlots(m.Opt.Name, h))*s.Params + s.Fixed) * s.FloatBytes
	rows := s.layerRows(m)
	g.summarizeBuffers(s, rows)
	if err := g.summarizeCalls(rows); err != nil {
		return nil, err
	}
	return s, nil
}

// layerRows fills s.Rows with a row per node and one for the loss, and
// returns them by node (nil: the loss).
func (s *Summary) layerRows(m *ir.Model) map[*ir.Node]*Row {
	for _, n := range m.Nodes {
		r := Row{Name: n.Name, Kind: n.Kind, Line: n.Pos.Line, Shape: n.Shape}
		if n.Kind == "Input" {
			r.Line = 0 // the input has no line of its own
		}
		for _, p := range n.Params {
			if p.Buffer {
				r.Fixed += ir.Prod(p.Shape)
			} else {
				r.Params += ir.Prod(p.Shape)
			}
		}
		s.Rows = append(s.Rows, r)
	}
	loss := m.Loss.Kind
	if t := m.Loss.Terms; t != nil && t.KLMu != nil {
		loss += " + KL"
	}
	s.Rows = append(s.Rows, Row{Name: "loss", Kind: loss, Line: m.Loss.Pos.Line})
	rows := map[*ir.Node]*Row{nil: &s.Rows[len(s.Rows)-1]}
	for i, n := range m.Nodes {
		rows[n] = &s.Rows[i]
	}
	return rows
}

// summarizeBuffers gives each training buffer to its row and measures the
// buffers and the Model.
func (g *gen) summarizeBuffers(s *Summary, rows map[*ir.Node]*Row) {
	types := map[string]reflect.Type{"": floatType(g.m.DType), "float64": reflect.TypeFor[float64](),
		"float32": reflect.TypeFor[float32](), "int32": reflect.TypeFor[int32](), "int": reflect.TypeFor[int](), "uint64": reflect.TypeFor[uint64]()}
	elem := func(typ string) reflect.Type {
		if typ == "Float" {
			typ = ""
		}
		t, ok := types[typ]
		if !ok {
			panic("codegen: buffers of unknown type " + typ)
		}
		return t
	}
	bufType := func(name string) reflect.Type { return reflect.ArrayOf(g.bufs.Size[name], elem(g.bufs.Type[name])) }
	for _, b := range g.bufs.Names {
		t := g.plan.Tensor(b)
		if t == nil {
			continue // named by no code: no memory
		}
		size := int(bufType(b).Size()) * g.shards // a workspace each
		if t.Pinned {
			s.Pinned = append(s.Pinned, b)
		} else {
			s.SharedBytes += size
		}
		if owner, ok := g.uses.Owner[b]; ok {
			r := rows[owner]
			r.Buffers = append(r.Buffers, b)
			r.Bytes += size
			s.TrainBytes += size
		} else {
			s.InferBytes += size
		}
	}
	for _, typ := range arenaTypes(g.plan) {
		s.ArenaBytes += int(elem(typ).Size()) * g.plan.Arenas[typ] * g.shards
	}
	s.ModelBytes = int(g.modelType(bufType, elem).Size())
	if g.shards > 1 {
		m := g.m
		s.ShardBytes = (m.Batch*(m.Nodes[0].Size()+m.Output.Size()) + (g.shards-1)*m.NumParams()) * s.FloatBytes
	}
}

// summarizeCalls counts the kernel calls in each node's training code and
// gives them to the rows of the nodes they compute for.
func (g *gen) summarizeCalls(rows map[*ir.Node]*Row) error {
	flops := map[string]int{}
	for _, k := range g.kernels.List() {
		flops[k.Name()] = 2 * k.M * k.N * k.K
	}
	for _, r := range g.kernels.Routines() {
		flops[r.Name()] = r.Flops()
	}
	for _, reg := range g.regions {
		counts, order, err := countCalls(reg.code, flops)
		if err != nil {
			return fmt.Errorf("codegen: summary of layer %s: %v", rowName(reg.node), err)
		}
		for _, k := range order {
			n, ok := g.uses.Calls[emit.Site{Region: reg.node, Kernel: k}]
			if !ok {
				n = reg.node
			}
			// Each shard runs the training code once.
			r, c := rows[n], KernelCall{Kernel: k, Count: counts[k] * g.shards, Flops: flops[k]}
			if reg.backward {
				r.Backward = append(r.Backward, c)
			} else {
				r.Forward = append(r.Forward, c)
			}
		}
	}
	return nil
}

func rowName(n *ir.Node) string {
	if n == nil {
		return "loss"
	}
	return n.Name
}

func floatType(dtype string) reflect.Type {
	if dtype == "float64" {
		return reflect.TypeFor[float64]()
	}
	return reflect.TypeFor[float32]()
}

// modelType is a struct type of the same layout as the generated Model
// (see modelFile: worker 0's workspace, the shared params, the worker
// count, the pool and the further workspaces), to measure it.
func (g *gen) modelType(bufType, elem func(string) reflect.Type) reflect.Type {
	m := g.m
	float := floatType(m.DType)
	slots := optim.StateSlots(m.Opt.Name, g.hyper())
	np := m.NumParams()
	row := g.stateRow()
	var shared []reflect.Type
	for range 2 { // p, g and their padding
		shared = append(shared, reflect.ArrayOf(np, float))
		if b := (row - np) * int(float.Size()); b > 0 {
			shared = append(shared, reflect.ArrayOf(b, reflect.TypeFor[byte]()))
		}
	}
	shared = append(shared,
		reflect.ArrayOf(slots, reflect.ArrayOf(row, float)), // s
		reflect.TypeFor[uint64](),                           // seed
		reflect.TypeFor[int](),                              // step
		reflect.TypeFor[optim.Optimizer[float32]](),         // opt (its size does not depend on Float)
		reflect.TypeFor[float64](),                          // lr
	)
	if g.tileUpdates() {
		shared = append(shared, reflect.TypeFor[bool]()) // tileUpdate
	}
	if emit.Weighted(m) {
		classes, _ := layers.Classes(m)
		shared = append(shared, reflect.ArrayOf(classes, reflect.TypeFor[float64]())) // classWeight
	}
	if nb := m.NumBuffers(); nb > 0 {
		shared = append(shared, reflect.ArrayOf(nb, float))
	}
	params := structOf(shared)
	ws := []reflect.Type{reflect.PointerTo(params), reflect.TypeFor[int](), reflect.PointerTo(reflect.ArrayOf(np, float)), // params, shard, g
		reflect.TypeFor[float64](), reflect.TypeFor[int](), reflect.ArrayOf(g.shardSize(), reflect.TypeFor[int]())} // loss, correct, idx
	if g.tiled() {
		ws = append(ws, reflect.TypeFor[*int](), reflect.TypeFor[int](), reflect.TypeFor[func(int, int)]()) // tilePool, tileOp, tileFn
	}
	for _, b := range g.bufs.Names {
		switch t := g.plan.Tensor(b); {
		case t == nil:
		case t.Pinned:
			ws = append(ws, bufType(b))
		default:
			ws = append(ws, reflect.PointerTo(bufType(b)))
		}
	}
	for _, typ := range arenaTypes(g.plan) {
		ws = append(ws, reflect.ArrayOf(g.plan.Arenas[typ], elem(typ)))
	}
	workspace := structOf(ws)
	model := []reflect.Type{params, workspace}
	if g.shards > 1 {
		in, out := m.Nodes[0].Size(), m.Output.Size()
		model = append(model, reflect.ArrayOf(m.Batch*in, float), reflect.ArrayOf(m.Batch*out, float), // xb, yb
			reflect.ArrayOf(g.shards-1, workspace), reflect.ArrayOf(g.shards-1, reflect.ArrayOf(np, float)), // spaces, gs
			reflect.TypeFor[func(int, int)]()) // reduceFn
		if g.reduceUpdates() {
			model = append(model, reflect.TypeFor[bool]()) // stepUpdate
		}
	}
	fn := reflect.TypeFor[func(int, int)]()
	model = append(model, reflect.TypeFor[int](), reflect.TypeFor[*int](), fn, fn, // workers, pool, shardFn, updateFn
		reflect.SliceOf(reflect.PointerTo(workspace)))
	return structOf(model)
}

// structOf is a struct type of fields of the types ts, in order.
func structOf(ts []reflect.Type) reflect.Type {
	var sf []reflect.StructField
	for i, t := range ts {
		sf = append(sf, reflect.StructField{Name: "F" + strconv.Itoa(i), Type: t})
	}
	return reflect.StructOf(sf)
}

// countCalls returns how many times code calls each kernel of kernels, and
// the kernels called in order of first call. Every loop around a call
// must have a constant trip count: for i := a; i < b; i++ (or i += c).
func countCalls(code []Code, kernels map[string]int) (map[string]int, []string, error) {
	src := "package p\nfunc f() " + fmt.Sprintf("%#v", Block(code...))
	f, err := parser.ParseFile(token.NewFileSet(), "", src, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("generated code does not parse: %v", err)
	}
	counts := map[string]int{}
	var order []string
	var walk func(n ast.Node, times int)
	walk = func(n ast.Node, times int) {
		ast.Inspect(n, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ForStmt:
				if t := tripCount(n); t >= 0 && times >= 0 {
					walk(n.Body, times*t)
				} else {
					walk(n.Body, -1)
				}
				return false
			case *ast.RangeStmt:
				walk(n.Body, -1)
				return false
			case *ast.CallExpr:
				id, ok := n.Fun.(*ast.Ident)
				if !ok {
					return true
				}
				if _, kernel := kernels[id.Name]; !kernel {
					return true
				}
				if times < 0 {
					err = fmt.Errorf("kernel %s is called in a loop of unknown trip count", id.Name)
				}
				if _, seen := counts[id.Name]; !seen {
					order = append(order, id.Name)
				}
				counts[id.Name] += times
			}
			return true
		})
	}
	walk(f, 1)
	return counts, order, err
}

// tripCount is the number of iterations of loop `for v := a; v < b; v++`
// (or v += c) with constants a, b, c; -1 for any other loop.
func tripCount(l *ast.ForStmt) int {
	lit := func(e ast.Expr) (int, bool) {
		b, ok := e.(*ast.BasicLit)
		if !ok || b.Kind != token.INT {
			return 0, false
		}
		v, err := strconv.Atoi(b.Value)
		return v, err == nil
	}
	init, ok := l.Init.(*ast.AssignStmt)
	if !ok || init.Tok != token.DEFINE || len(init.Rhs) != 1 {
		return -1
	}
	a, ok1 := lit(init.Rhs[0])
	cond, ok2 := l.Cond.(*ast.BinaryExpr)
	if !ok1 || !ok2 || cond.Op != token.LSS {
		return -1
	}
	b, ok := lit(cond.Y)
	if !ok {
		return -1
	}
	step := 0
	switch p := l.Post.(type) {
	case *ast.IncDecStmt:
		if p.Tok == token.INC {
			step = 1
		}
	case *ast.AssignStmt:
		if p.Tok == token.ADD_ASSIGN && len(p.Rhs) == 1 {
			step, _ = lit(p.Rhs[0])
		}
	}
	if step <= 0 {
		return -1
	}
	return max(0, (b-a+step-1)/step)
}
