package codegen

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// The memory plan. A worker's workspace holds every activation, gradient
// and scratch buffer of the passes; most live for a few steps of one pass
// only (a layer's backward, the gradient of one layer's output). The plan
// places such buffers in one arena per element type, at offsets where no
// two buffers that are live at the same time overlap, as the buffer
// assignment of XLA or TVM does over a schedule.
//
// The schedule is the generated code itself. The generator emits the
// passes once, records the code of each step (a layer's forward or
// backward, the loss), and reads which buffers each step's code names; a
// program is a sequence of passes that run together on one workspace (a
// train step's forwardTrain, lossGrad and backward; Evaluate's
// forwardInfer and lossEval; Predict1's forward1). A buffer is live in a
// program from the first to the last step that names it. A buffer that code
// outside the passes names (the inputs and targets the caller fills, the
// outputs it reads) is pinned: it keeps memory of its own. The generator
// then emits the passes again with the plan, where a buffer in an arena is
// an array pointer into it.
//
// A test of every generated package (TestPoison) checks the plan: it fills
// each buffer with NaN after its last step and the whole arena before each
// program, and asserts that training and inference give the same bits.

// alignValues is the alignment of arena offsets, in values.
const alignValues = 16

// step is the code of one step of a pass.
type step struct {
	pass string
	code []Code
}

// record notes the code of step k of pass p, and in the final emission
// returns the statement that poisons the buffers it is the last step of.
func (g *gen) record(pass string, code []Code) Code {
	if g.steps == nil {
		g.steps = map[string][][]Code{}
	}
	k := len(g.steps[pass])
	g.steps[pass] = append(g.steps[pass], code)
	return g.poisonAfter(pass, k)
}

// programs are the sequences of passes that run together on a workspace.
func (g *gen) programs() [][]string {
	if g.progs != nil {
		return g.progs
	}
	infer := "forwardInfer"
	if g.inferIsTrain {
		infer = "forwardTrain"
	}
	ps := [][]string{{"forwardTrain", "lossGrad", "backward"}, {infer, "lossEval"}, {"forward1"}}
	for _, p := range []string{"forwardEncoder", "forwardDecoder"} {
		if _, ok := g.steps[p]; ok {
			ps = append(ps, []string{p})
		}
	}
	return ps
}

var refRE = regexp.MustCompile(`\.([A-Za-z_][A-Za-z0-9_]*)\b`)

// refs counts the references .name of each buffer in text.
func (g *gen) refs(text string, count map[string]int) {
	for _, m := range refRE.FindAllStringSubmatch(text, -1) {
		if _, ok := g.bufs.Size[m[1]]; ok {
			count[m[1]]++
		}
	}
}

func codeText(code []Code) string { return fmt.Sprintf("%#v", Block(code...)) }

func fileText(f *File) (string, error) {
	var b bytes.Buffer
	if err := f.Render(&b); err != nil {
		return "", err
	}
	return b.String(), nil
}

// planMemory emits the model once, without a plan, and returns the plan of
// its workspace.
func (g *gen) planMemory() (*ir.Plan, error) {
	g.steps = nil
	var texts []string
	for _, f := range []*File{g.modelFile(), g.testFile()} {
		t, err := fileText(f)
		if err != nil {
			return nil, fmt.Errorf("codegen: planning memory: %v", err)
		}
		texts = append(texts, t)
	}
	all := map[string]int{}
	g.refs(strings.Join(texts, "\n"), all)

	// The uses of each step; references outside the passes pin a buffer.
	inSteps := map[string]int{}
	uses := map[string][]map[string]bool{} // pass → step → buffers
	for pass, steps := range g.steps {
		for _, code := range steps {
			c := map[string]int{}
			g.refs(codeText(code), c)
			u := map[string]bool{}
			for b, n := range c {
				u[b] = true
				if !(pass == "forwardInfer" && g.inferIsTrain) { // not in the file: forwardTrain runs
					inSteps[b] += n
				}
			}
			uses[pass] = append(uses[pass], u)
		}
	}
	// The tile method holds a second copy of each split product's code.
	if g.tiles != nil {
		for _, body := range g.tiles.Bodies {
			g.refs(codeText(body), inSteps)
		}
	}
	plan := &ir.Plan{Arenas: map[string]int{}}
	programs := g.programs()
	g.progs = programs
	for _, prog := range programs {
		var names []string
		for _, pass := range prog {
			for k := range uses[pass] {
				names = append(names, fmt.Sprintf("%s:%d", pass, k))
			}
		}
		plan.Programs = append(plan.Programs, names)
	}
	for _, b := range g.bufs.Names {
		if all[b] == 0 {
			continue // named nowhere: no memory at all
		}
		t := ir.Tensor{Name: b, Size: g.bufs.Size[b], DType: g.bufs.Type[b], Doc: g.bufs.Doc[b], Role: g.bufs.Role[b]}
		if t.DType == "" {
			t.DType = "Float"
		}
		if t.Role == "" {
			t.Role = ir.Scratch
		}
		outside := all[b] > inSteps[b] // the caller reads or writes it
		t.Pinned = outside || g.bufs.State[b] || slices.Contains(g.opt.Pin, b)
		for _, prog := range programs {
			live := [2]int{-1, -1}
			pos := 0
			for _, pass := range prog {
				for _, u := range uses[pass] {
					if u[b] {
						if live[0] < 0 {
							live[0] = pos
						}
						live[1] = pos
					}
					pos++
				}
			}
			t.Live = append(t.Live, live)
		}
		if outside {
			t.Role = ir.IO
		}
		plan.Tensors = append(plan.Tensors, t)
	}
	place(plan)
	if err := checkPlan(plan); err != nil {
		return nil, err
	}
	return plan, nil
}

// overlap reports whether tensors a and b are live at the same time.
func overlap(a, b *ir.Tensor) bool {
	if a.Pinned || b.Pinned {
		return true
	}
	for p := range a.Live {
		x, y := a.Live[p], b.Live[p]
		if x[0] >= 0 && y[0] >= 0 && x[0] <= y[1] && y[0] <= x[1] {
			return true
		}
	}
	return false
}

func alignUp(n int) int { return (n + alignValues - 1) / alignValues * alignValues }

// place gives each tensor that is not pinned an offset in its arena:
// largest first, at the lowest offset that overlaps no tensor placed
// before it whose lifetime overlaps its own.
func place(plan *ir.Plan) {
	var order []int
	for i, t := range plan.Tensors {
		if !t.Pinned {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := plan.Tensors[order[i]], plan.Tensors[order[j]]
		if a.Size != b.Size {
			return a.Size > b.Size
		}
		return a.Name < b.Name
	})
	var placed []*ir.Tensor
	for _, i := range order {
		t := &plan.Tensors[i]
		var busy [][2]int
		for _, o := range placed {
			if o.DType == t.DType && overlap(t, o) {
				busy = append(busy, [2]int{o.Offset, o.Offset + alignUp(o.Size)})
			}
		}
		slices.SortFunc(busy, func(a, b [2]int) int { return a[0] - b[0] })
		off := 0
		for _, r := range busy {
			if off+t.Size <= r[0] {
				break
			}
			off = max(off, r[1])
		}
		t.Offset = off
		plan.Arenas[t.DType] = max(plan.Arenas[t.DType], alignUp(off+t.Size))
		placed = append(placed, t)
	}
}

// checkPlan reports two tensors of an arena that are live at the same time
// and share memory.
func checkPlan(plan *ir.Plan) error {
	for i := range plan.Tensors {
		a := &plan.Tensors[i]
		if a.Pinned {
			continue
		}
		if a.Offset < 0 || a.Offset+a.Size > plan.Arenas[a.DType] {
			return fmt.Errorf("codegen: memory plan: %s [%d, %d) is outside its arena of %d", a.Name, a.Offset, a.Offset+a.Size, plan.Arenas[a.DType])
		}
		for j := range i {
			b := &plan.Tensors[j]
			if !b.Pinned && a.DType == b.DType && overlap(a, b) && a.Offset < b.Offset+b.Size && b.Offset < a.Offset+a.Size {
				return fmt.Errorf("codegen: memory plan: %s and %s are live at the same time and share memory", a.Name, b.Name)
			}
		}
	}
	return nil
}

// arenaName is the workspace field of dtype's arena.
func arenaName(dtype string) string {
	if dtype == "Float" {
		return "mem"
	}
	return "mem_" + dtype
}

// arenaTypes lists the plan's arena types in order.
func arenaTypes(plan *ir.Plan) []string {
	var ts []string
	for t, n := range plan.Arenas {
		if n > 0 {
			ts = append(ts, t)
		}
	}
	sort.Strings(ts)
	return ts
}

// planned reports whether the workspace has an arena.
func (g *gen) planned() bool { return g.plan != nil && len(arenaTypes(g.plan)) > 0 }

// bufferFields returns the workspace's fields of the buffers: an array
// each for the pinned ones, an array pointer into an arena for the others,
// and the arenas.
func (g *gen) bufferFields() []Code {
	var fields []Code
	for _, b := range g.bufs.Names {
		typ := "Float"
		if t := g.bufs.Type[b]; t != "" {
			typ = t
		}
		if g.plan == nil {
			fields = append(fields, Id(b).Index(Lit(g.bufs.Size[b])).Id(typ).Comment(g.bufs.Doc[b]))
			continue
		}
		t := g.plan.Tensor(b)
		switch {
		case t == nil:
			// Named by no code.
		case t.Pinned:
			fields = append(fields, Id(b).Index(Lit(t.Size)).Id(typ).Comment(t.Doc))
		default:
			fields = append(fields, Id(b).Op("*").Index(Lit(t.Size)).Id(typ).Comment(fmt.Sprintf("%s (%s[%d:])", t.Doc, arenaName(t.DType), t.Offset)))
		}
	}
	if g.planned() {
		for _, typ := range arenaTypes(g.plan) {
			fields = append(fields, Id(arenaName(typ)).Index(Lit(g.plan.Arenas[typ])).Id(typ).Comment("the memory of the buffers above that point into it"))
		}
	}
	return fields
}

// placeMethod emits workspace.place, which points the buffers into the
// arenas, and the poison helpers of the plan's test.
func (g *gen) placeMethod(f *File) {
	if !g.planned() {
		return
	}
	var body []Code
	for _, t := range g.plan.Tensors {
		if !t.Pinned {
			body = append(body, m_(t.Name).Op("=").Parens(Op("*").Index(Lit(t.Size)).Id(t.DType)).Parens(m_(arenaName(t.DType)).Index(Lit(t.Offset).Op(":").Lit(t.Offset+t.Size))))
		}
	}
	f.Add(g.pass("place points the buffers that share memory into the arenas (see the\nmemory plan in the package's tests).", "place", nil, nil, body...))
	f.Comment("poison, set by a test, makes every pass fill each buffer of an arena with\nNaN (an index buffer with -1) once its last step is done, and each\nprogram fill the arenas first: a buffer read after another's use of its\nmemory gives another result.")
	f.Var().Id("poison").Bool()
	var all []Code
	for _, typ := range arenaTypes(g.plan) {
		v := Id("Float").Call(Qual("math", "NaN").Call())
		if typ != "Float" {
			v = Lit(-1)
		}
		all = append(all, For(Id("i").Op(":=").Range().Add(m_(arenaName(typ)))).Block(m_(arenaName(typ)).Index(Id("i")).Op("=").Add(v)))
		f.Add(g.pass(fmt.Sprintf("poison_%s fills n values of the %s arena from off.", typ, typ), "poison_"+typ, []Code{List(Id("off"), Id("n")).Int()}, nil,
			Id("s").Op(":=").Add(m_(arenaName(typ))).Index(Id("off").Op(":").Id("off").Op("+").Id("n")),
			For(Id("i").Op(":=").Range().Id("s")).Block(Id("s").Index(Id("i")).Op("=").Add(v))))
	}
	f.Add(g.pass("poisonAll fills the arenas.", "poisonAll", nil, nil, all...))
}

// poisonStart is the statement that starts a program's first pass.
func (g *gen) poisonStart(pass string) []Code {
	if !g.planned() {
		return nil
	}
	for _, prog := range g.programs() {
		if prog[0] == pass {
			return []Code{If(Id("poison")).Block(m_("poisonAll").Call())}
		}
	}
	return nil
}

// poisonAfter is the statement that poisons the buffers whose last step,
// in every program that runs pass, is step k of it (nil: none).
func (g *gen) poisonAfter(pass string, k int) Code {
	if !g.planned() {
		return Null()
	}
	var stmts []Code
	for _, t := range g.plan.Tensors {
		if t.Pinned || !g.lastStep(&t, pass, k) {
			continue
		}
		stmts = append(stmts, m_("poison_"+t.DType).Call(Lit(t.Offset), Lit(t.Size)).Comment(t.Name))
	}
	if len(stmts) == 0 {
		return Null()
	}
	return If(Id("poison")).Block(stmts...)
}

// lastStep reports whether step k of pass is t's last in a program that
// runs pass, and no program that runs pass uses t after it.
func (g *gen) lastStep(t *ir.Tensor, pass string, k int) bool {
	last := false
	for p, prog := range g.programs() {
		at := slices.Index(g.plan.Programs[p], fmt.Sprintf("%s:%d", pass, k))
		if at < 0 || !slices.Contains(prog, pass) {
			continue
		}
		live := t.Live[p]
		if live[0] < 0 {
			continue
		}
		if live[1] > at {
			return false
		}
		if live[1] == at {
			last = true
		}
	}
	return last
}

// placeCall is the call of place on workspace w (nothing without arenas).
func (g *gen) placeCall(w *Statement) Code {
	if !g.planned() {
		return Null()
	}
	return w.Dot("place").Call()
}

// poisonTest emits TestPoison: with the buffers of the arenas poisoned
// after their last step (see poison), three train steps, a pass of the
// loss at inference, Predict1 and an autoencoder's Encode and Decode give
// the same bits as without.
func (g *gen) poisonTest(f *File) {
	if !g.planned() {
		return
	}
	floats := func(name string, src Code) Code {
		return Id("r").Dot(name).Op("=").Append(Id("r").Dot(name), Add(src).Index(Op(":")).Op("..."))
	}
	body := []Code{
		Id("poison").Op("=").Id("p"),
		Defer().Func().Params().Block(Id("poison").Op("=").False()).Call(),
		Id("m").Op(":=").Id("New").Call(Lit(1)),
		Id("m").Dot("SetWorkers").Call(Lit(1)),
		Id("fillBatch").Call(Id("m")),
		For(Id("i").Op(":=").Lit(0), Id("i").Op("<").Lit(3), Id("i").Op("++")).Block(Id("m").Dot("TrainStep").Call()),
		floats("f", Id("m").Dot("p")),
		Comment("Inference on shard 0's batch, still in its buffers."),
		Id("m").Dot("forwardInfer").Call(),
		List(Id("loss"), Id("_")).Op(":=").Id("m").Dot("lossEval").Call(Id("ShardSize")),
		Id("r").Dot("f").Op("=").Append(Id("r").Dot("f"), Id("Float").Call(Id("loss"))),
		floats("f", Id("m").Dot(g.outB)),
		Var().Id("x").Index(Id("InputSize")).Id("Float"),
		Copy(Id("x").Index(Op(":")), Id("m").Dot("x").Index(Op(":"))),
		Var().Id("o").Index(Id("OutputSize")).Id("Float"),
		Id("m").Dot("Predict1").Call(Op("&").Id("x"), Op("&").Id("o")),
		floats("f", Id("o")),
	}
	if s, _, _ := g.latent(); s != nil {
		body = append(body,
			Id("xs").Op(":=").Make(Index().Float32(), Id("InputSize")),
			For(Id("i").Op(":=").Range().Id("xs")).Block(Id("xs").Index(Id("i")).Op("=").Float32().Call(Id("x").Index(Id("i")))),
			Id("mu").Op(":=").Make(Index().Float32(), Lit(2).Op("*").Id("LatentSize")),
			Id("out").Op(":=").Make(Index().Float32(), Id("OutputSize")),
			Id("m").Dot("Encode").Call(Id("xs"), Id("mu").Index(Op(":").Id("LatentSize")), Id("mu").Index(Id("LatentSize").Op(":"))),
			Id("m").Dot("Decode").Call(Id("mu").Index(Op(":").Id("LatentSize")), Id("out")),
			For(Id("_").Op(",").Id("v").Op(":=").Range().Append(Id("mu"), Id("out").Op("..."))).Block(
				Id("r").Dot("f").Op("=").Append(Id("r").Dot("f"), Id("Float").Call(Id("v")))))
	}
	body = append(body, Return())
	f.Comment("TestPoison checks the memory plan: with every buffer that shares memory\npoisoned after its last step, training and inference give the same bits.")
	f.Func().Id("TestPoison").Params(Id("t").Op("*").Qual("testing", "T")).Block(
		Type().Id("result").Struct(Id("f").Index().Id("Float")),
		Id("run").Op(":=").Func().Params(Id("p").Bool()).Params(Id("r").Id("result")).Block(body...),
		List(Id("want"), Id("got")).Op(":=").List(Id("run").Call(False()), Id("run").Call(True())),
		For(Id("i").Op(":=").Range().Id("want").Dot("f")).Block(
			If(Qual("math", "Float64bits").Call(Float64().Call(Id("got").Dot("f").Index(Id("i")))).Op("!=").Qual("math", "Float64bits").Call(Float64().Call(Id("want").Dot("f").Index(Id("i"))))).Block(
				Id("t").Dot("Fatalf").Call(Lit("value %d of the results is %v with poisoned buffers, %v without"), Id("i"), Id("got").Dot("f").Index(Id("i")), Id("want").Dot("f").Index(Id("i"))))),
	)
}
