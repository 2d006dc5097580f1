package e2e

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
	"github.com/nngen/nngen/spec"
)

// The differential test's spec generator: random valid specs over the
// whole layer registry. It knows no kind by name except where a field's
// sensible range depends on it (fieldSamplers); which kind fits where is
// the registry's own Shape rule, and validity is spec.Parse's. The choice
// of kind, enum value, bool, loss and dtype is guided by coverage: the
// least used so far wins, ties broken at random, so that a fixed sample of
// seeds covers every value the registry accepts.

// coverage counts what the accepted models used: kinds, "Kind.field=value"
// for enum and bool fields (defaults included), losses, dtypes and
// gradient clipping keys.
type coverage map[string]int

// add counts the kinds and field values of a parsed model.
func (c coverage) add(m *ir.Model, loss string, choices []string) {
	c["loss="+loss]++
	for _, k := range choices {
		c[k]++
	}
	c["dtype="+m.DType]++
	for _, n := range m.Nodes[1:] {
		c[n.Kind]++
		k, _ := layers.Lookup(n.Kind)
		for _, f := range k.Fields {
			if in, ok := n.Attrs[f.Name].(*ir.Node); ok {
				c[fmt.Sprintf("%s.%s=%s", n.Kind, f.Name, in.Kind)]++
				continue
			}
			if len(f.Enum) > 0 || f.Type == layers.BoolField {
				c[fmt.Sprintf("%s.%s=%v", n.Kind, f.Name, n.Attrs[f.Name])]++
			} else {
				c[fmt.Sprintf("%s.%s", n.Kind, f.Name)]++
			}
		}
	}
}

// missing lists the registry's kinds, enum values and bools that c lacks.
func (c coverage) missing() []string {
	var out []string
	for _, name := range layers.Names() {
		if c[name] == 0 {
			out = append(out, name)
			continue
		}
		k, _ := layers.Lookup(name)
		for _, f := range k.Fields {
			for _, v := range fieldValues(f) {
				if key := fmt.Sprintf("%s.%s=%s", name, f.Name, v); c[key] == 0 {
					out = append(out, key)
				}
			}
		}
	}
	for _, l := range diffLosses() {
		if c["loss="+l] == 0 {
			out = append(out, "loss="+l)
		}
	}
	for _, d := range []string{"float32", "float64"} {
		if c["dtype="+d] == 0 {
			out = append(out, "dtype="+d)
		}
	}
	for _, k := range clipKeys {
		if c["clip="+k] == 0 {
			out = append(out, "clip="+k)
		}
	}
	return out
}

// fieldValues lists every value of an enum or bool field that the field's
// Check accepts, as strings.
func fieldValues(f layers.Field) []string {
	var vals []string
	switch {
	case len(f.Enum) > 0:
		for _, v := range f.Enum {
			if f.Check == nil || f.Check(v) == "" {
				vals = append(vals, v)
			}
		}
	case f.Type == layers.BoolField:
		for _, v := range []bool{false, true} {
			if f.Check == nil || f.Check(v) == "" {
				vals = append(vals, strconv.FormatBool(v))
			}
		}
	}
	return vals
}

// vaeLoss marks the losses of named terms among diffLosses.
const vaeLoss = "terms:"

// diffLosses are the losses the generator draws from: every loss name and
// alias, and the reconstruction terms of a loss mapping.
func diffLosses() []string {
	l := layers.LossNames()
	for _, t := range []string{"binary_crossentropy", "mse", "mean_squared_error"} {
		l = append(l, vaeLoss+t)
	}
	return l
}

// genLayer is one layer of a generated spec.
type genLayer struct {
	kind   string
	name   string      // the name the spec writes, if named
	fields [][2]string // written in order: field, YAML value
	attrs  map[string]any
	inputs []*genLayer // nil: the previous layer
	named  bool        // the spec writes name:
	wired  bool        // the spec writes inputs:
	shape  []int
	shares *genLayer // the layer whose weights it applies (written shares:, no fields)
}

// generator draws random specs from one seed.
type generator struct {
	r      *rand.Rand
	cov    coverage // what the accepted models used so far
	layers []*genLayer
	input  *genLayer
	vae    bool
	tokens bool
	wide   bool // larger layers
	budget int  // tries left for this spec
	// choices are the coverage keys of the spec's settings that its IR
	// does not tell (the clipping key it writes).
	choices []string
}

// errBudget ends a spec whose layers kept failing to fit.
var errBudget = fmt.Errorf("the generator ran out of tries")

// maxValues bounds the values per sample of every layer's output; a wide
// model (one in four) may have wideValues, and up to 24 units, filters or
// channels, so that the vectorized kernels' main loops and the Winograd
// convolution (16 or more channels and filters) run too.
const (
	maxValues  = 160
	wideValues = 1600
)

// limit is the bound on the values per sample of this spec's layers.
func (g *generator) limit() int {
	if g.wide {
		return wideValues
	}
	return maxValues
}

// count draws a number of units, filters or the like.
func (g *generator) count() int {
	if g.wide && g.r.IntN(2) == 0 {
		return 5 + g.r.IntN(20)
	}
	return 1 + g.r.IntN(4)
}

// pick returns the least covered of keys (by cov[prefix+key]), ties
// broken at random.
func (g *generator) pick(prefix string, keys []string) string {
	best, bestN := "", math.MaxInt
	for _, i := range g.r.Perm(len(keys)) {
		n := g.cov[prefix+keys[i]]
		if n < bestN {
			best, bestN = keys[i], n
		}
	}
	return best
}

// pickKind returns the least used of the kinds names with an enum or bool
// value the sample has not used yet (a kind with many, as Conv2D's
// initializers, needs more layers than the others), else of all of them.
func (g *generator) pickKind(names []string) string {
	var open []string
	for _, name := range names {
		k, _ := layers.Lookup(name)
		for _, f := range k.Fields {
			for _, v := range fieldValues(f) {
				if g.cov[fmt.Sprintf("%s.%s=%s", name, f.Name, v)] == 0 && !slices.Contains(open, name) {
					open = append(open, name)
				}
			}
		}
	}
	if len(open) == 0 {
		open = names
	}
	return g.pick("", open)
}

// spec draws one candidate spec (not yet validated) named name.
func (g *generator) spec(name string) (src string, loss string) {
	g.layers, g.choices = nil, nil
	loss = g.pick("loss=", diffLosses())
	g.vae = strings.HasPrefix(loss, vaeLoss)
	g.wide = g.r.IntN(4) == 0
	// The input: flat, an image or a sequence, one that the least used
	// kind takes.
	shapes := []func() []int{
		func() []int { return []int{2 + g.r.IntN(7)} },
		func() []int {
			if g.wide {
				return []int{4 + g.r.IntN(5), 4 + g.r.IntN(5), []int{1 + g.r.IntN(15), 16 + g.r.IntN(3)}[g.r.IntN(2)]}
			}
			return []int{3 + g.r.IntN(4), 3 + g.r.IntN(4), 1 + g.r.IntN(3)}
		},
		func() []int { return []int{2 + g.r.IntN(4), 1 + g.r.IntN(4)} },
	}
	in := shapes[0]()
	if !g.vae {
		in = shapes[g.r.IntN(3)]()
		k, _ := layers.Lookup(g.pickKind(layers.Names()))
		for _, i := range g.r.Perm(len(shapes)) {
			s := shapes[i]()
			if lo, _ := k.Inputs(); lo > 1 || g.try(k, []*genLayer{{kind: "Input", name: "input", shape: s}}) != nil {
				in = s
				break
			}
		}
	}
	g.input = &genLayer{kind: "Input", name: "input", shape: in}
	g.tokens = false
	cur := g.input
	// At times a flat input is two named inputs (the spec's inputs), which
	// a Concatenate joins again.
	var split []*genLayer
	if !g.vae && len(in) == 1 && in[0] >= 2 && g.r.IntN(5) == 0 {
		k := 1 + g.r.IntN(in[0]-1)
		split = []*genLayer{{kind: "InputSlice", name: "in_a", shape: []int{k}}, {kind: "InputSlice", name: "in_b", shape: []int{in[0] - k}}}
		cur = g.add(&genLayer{kind: "Concatenate", attrs: map[string]any{"axis": -1}, inputs: split, shape: in}, nil)
		g.choices = append(g.choices, "inputs")
	}
	body := 1 + g.r.IntN(4)
	for i := 0; i < body; i++ {
		if g.vae && i == body/2 {
			cur = g.merge(cur, latentKind())
			continue
		}
		cur = g.layer(cur)
	}
	var out *genLayer
	if g.vae {
		out = g.head(cur, in, loss)
	} else {
		out = g.head(cur, nil, loss)
	}
	dtype := g.pick("dtype=", []string{"float32", "float64"})
	var b strings.Builder
	for i, l := range g.layers {
		if l.named {
			l.name = fmt.Sprintf("h%d_%s", i, snakeCase(l.kind))
		}
	}
	if split != nil {
		fmt.Fprintf(&b, "name: %s\ninputs:\n  - {name: in_a, shape: %s}\n  - {name: in_b, shape: %s}\n", name, yamlInts(split[0].shape), yamlInts(split[1].shape))
	} else {
		fmt.Fprintf(&b, "name: %s\ninput_shape: %s\n", name, yamlInts(in))
	}
	fmt.Fprintf(&b, "batch_size: %d\nseed: %d\ndtype: %s\nlayers:\n", 2+g.r.IntN(4), g.r.IntN(100), dtype)
	for _, l := range g.layers {
		if l.shares != nil {
			fmt.Fprintf(&b, "  - shares: %s\n", l.shares.name)
		} else {
			fmt.Fprintf(&b, "  - type: %s\n", l.kind)
		}
		if l.named {
			fmt.Fprintf(&b, "    name: %s\n", l.name)
		}
		if l.wired {
			var names []string
			for _, x := range l.inputs {
				names = append(names, x.name)
			}
			if len(names) == 1 && g.r.IntN(2) == 0 {
				fmt.Fprintf(&b, "    inputs: %s\n", names[0])
			} else {
				fmt.Fprintf(&b, "    inputs: [%s]\n", strings.Join(names, ", "))
			}
		}
		for _, f := range l.fields {
			if l.shares == nil {
				fmt.Fprintf(&b, "    %s: %s\n", f[0], f[1])
			}
		}
	}
	if out.named && g.r.IntN(2) == 0 {
		fmt.Fprintf(&b, "output: %s\n", out.name)
	}
	if g.vae {
		fmt.Fprintf(&b, "loss:\n  reconstruction: %s\n", strings.TrimPrefix(loss, vaeLoss))
		if s := g.sampling(); s != nil && g.r.IntN(5) > 0 {
			fmt.Fprintf(&b, "  kl: {mu: %s, logvar: %s}\n", s.inputs[0].name, s.inputs[1].name)
			if g.r.IntN(2) == 0 {
				fmt.Fprintf(&b, "  beta: %s\n", yamlFloat(0.1+2*g.r.Float64()))
			}
		}
	} else if opts := g.lossOptions(loss); opts != "" {
		fmt.Fprintf(&b, "loss: {name: %s%s}\n", loss, opts)
	} else {
		fmt.Fprintf(&b, "loss: %s\n", loss)
	}
	// SGD is w − lr·g, after the gradient clipping of each of Keras's
	// keys (0 turns it off; a recurrent model clips by default), which
	// the twin replicates.
	fmt.Fprintf(&b, "optimizer:\n  name: sgd\n  learning_rate: %s\n", yamlFloat(0.05+0.4*g.r.Float64()))
	clip := g.pick("clip=", clipKeys)
	g.choices = append(g.choices, "clip="+clip)
	switch clip {
	case "default":
	case "off":
		fmt.Fprintf(&b, "  %s: 0\n", []string{"clipnorm", "global_clipnorm", "clipvalue"}[g.r.IntN(3)])
	case "clipvalue":
		fmt.Fprintf(&b, "  clipvalue: %s\n", yamlFloat(0.01+0.3*g.r.Float64()))
	default:
		fmt.Fprintf(&b, "  %s: %s\n", clip, yamlFloat(0.05+g.r.Float64()))
	}
	return b.String(), loss
}

// lossOptions draws the options of loss, each written at times: ", key:
// value" for each, or "" (then the loss is written as its name).
func (g *generator) lossOptions(loss string) string {
	l, ok := layers.LookupLoss(loss)
	if !ok || len(l.Fields) == 0 || g.r.IntN(3) == 0 {
		return ""
	}
	var b strings.Builder
	for _, f := range l.Fields {
		if g.r.IntN(2) == 0 {
			continue
		}
		v := ""
		switch f.Name {
		case "from_logits", "apply_class_balancing":
			v = strconv.FormatBool(g.r.IntN(2) == 0)
			g.choices = append(g.choices, "loss."+f.Name+"="+v)
		case "label_smoothing":
			v = yamlFloat(0.3 * g.r.Float64())
		case "delta":
			v = yamlFloat(0.1 + g.r.Float64())
		case "alpha":
			v = yamlFloat(g.r.Float64())
		case "gamma":
			v = yamlFloat(3 * g.r.Float64())
		default:
			panic("diffgen: no draw for loss option " + f.Name)
		}
		fmt.Fprintf(&b, ", %s: %s", f.Name, v)
	}
	return b.String()
}

// clipKeys are the generator's choices of gradient clipping.
var clipKeys = []string{"default", "off", "clipnorm", "global_clipnorm", "clipvalue"}

// latentKind is the kind whose output is an autoencoder's latent code.
func latentKind() string {
	for _, name := range layers.Names() {
		if k, _ := layers.Lookup(name); k.Latent {
			return name
		}
	}
	panic("no latent kind in the registry")
}

func (g *generator) sampling() *genLayer {
	for _, l := range g.layers {
		if k, _ := layers.Lookup(l.kind); k.Latent {
			return l
		}
	}
	return nil
}

// add appends l after prev (its only input unless l.inputs is set).
// Names are given when the spec is written: a layer that another one names
// in its inputs gets one, others at times.
func (g *generator) add(l *genLayer, prev *genLayer) *genLayer {
	if l.inputs == nil {
		l.inputs = []*genLayer{prev}
		// Wire it by name now and then; always when prev is not the
		// layer above it in the list.
		l.wired = g.last() != prev || g.r.IntN(4) == 0
	} else {
		l.wired = true
	}
	for _, in := range l.inputs {
		if l.wired && in != g.input {
			in.named = true
		}
	}
	if g.r.IntN(3) == 0 {
		l.named = true
	}
	g.layers = append(g.layers, l)
	return l
}

// last is the last layer so far (the input before any).
func (g *generator) last() *genLayer {
	if len(g.layers) == 0 {
		return g.input
	}
	return g.layers[len(g.layers)-1]
}

// snakeCase is the parser's default layer name of a kind (Dense → dense,
// MaxPooling2D → max_pooling2d).
func snakeCase(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		up := c >= 'A' && c <= 'Z'
		if up && i > 0 && (r[i-1] >= 'a' && r[i-1] <= 'z' || i+1 < len(r) && r[i+1] >= 'a' && r[i+1] <= 'z') {
			b.WriteByte('_')
		}
		b.WriteString(strings.ToLower(string(c)))
	}
	return b.String()
}

// layer appends one layer of any kind that fits prev's shape.
func (g *generator) layer(prev *genLayer) *genLayer {
	names := layers.Names()
	for try := 0; try < 40; try++ {
		kind := g.pick("", names)
		if try < 10 {
			kind = g.pickKind(names)
		}
		k, _ := layers.Lookup(kind)
		if lo, _ := k.Inputs(); lo > 1 {
			if g.vae || try > 20 {
				continue
			}
			return g.merge(prev, kind)
		}
		if g.vae && (k.Tokens != nil || k.Latent) {
			continue
		}
		if l := g.try(k, []*genLayer{prev}); l != nil {
			if k.Tokens != nil {
				g.tokens = true
			}
			return g.add(l, prev)
		}
	}
	// Nothing fitted: a Dense always does.
	k, _ := layers.Lookup("Dense")
	for {
		if l := g.try(k, []*genLayer{prev}); l != nil {
			return g.add(l, prev)
		}
	}
}

// merge appends a layer of kind (which takes several inputs) over
// branches from prev: a Dense each, or two in a row, defined in a random
// interleaving. At times prev itself is the first input (a residual
// connection, the branches ending in its features), an input is named
// twice, and the branches of a kind that is not featurewise (Concatenate)
// end in sizes of their own.
func (g *generator) merge(prev *genLayer, kind string) *genLayer {
	k, _ := layers.Lookup(kind)
	dense, _ := layers.Lookup("Dense")
	lo, hi := k.Inputs()
	count := lo
	if hi != lo {
		count += g.r.IntN(2)
	}
	// Each branch ends in units outputs a row; prev's rows bound them.
	rows := ir.Prod(prev.shape[:len(prev.shape)-1])
	units := 1 + g.r.IntN(min(4, g.limit()/rows))
	residual := !k.Latent && g.r.IntN(3) == 0
	if residual {
		units = prev.shape[len(prev.shape)-1]
	}
	free := !k.Featurewise && g.r.IntN(2) == 0
	var branches [][]*genLayer
	for b := range count {
		if residual && b == 0 {
			branches = append(branches, nil)
			continue
		}
		var chain []*genLayer
		for d, depth := 0, 1+g.r.IntN(2); d < depth; d++ {
			l := g.try(dense, []*genLayer{prev})
			if l == nil {
				d--
				continue
			}
			chain = append(chain, l)
		}
		// The last layer of each branch has the merge's shape.
		last := chain[len(chain)-1]
		u := units
		if free {
			u = 1 + g.r.IntN(min(4, g.limit()/rows))
		}
		setField(last, "units", strconv.Itoa(u), u)
		branches = append(branches, chain)
	}
	// At times the branches after the first apply its first layer again
	// (shares): one weight, whose gradient adds up both uses.
	if !residual && !free && g.r.IntN(3) == 0 {
		owner := branches[0][0]
		for _, chain := range branches[1:] {
			if len(chain) > 1 || len(branches[0]) == 1 {
				chain[0].attrs, chain[0].fields = owner.attrs, owner.fields
				chain[0].shares, owner.named = owner, true
				g.choices = append(g.choices, "shares")
			}
		}
	}
	// Shapes: each branch's layers in order.
	for _, chain := range branches {
		in := prev
		for _, l := range chain {
			l.inputs = []*genLayer{in}
			s, err := dense.Shape(fakeNode(l), [][]int{in.shape})
			if err != nil {
				panic(err)
			}
			l.shape = s
			in = l
		}
	}
	// Interleave the branches' definitions.
	pos := make([]int, len(branches))
	added := map[*genLayer]bool{}
	for left := true; left; {
		left = false
		var open []int // a layer that shares comes after the one it shares
		for i, chain := range branches {
			if pos[i] < len(chain) && (chain[pos[i]].shares == nil || added[chain[pos[i]].shares]) {
				open = append(open, i)
			}
		}
		if len(open) == 0 {
			break
		}
		left = true
		i := open[g.r.IntN(len(open))]
		l := branches[i][pos[i]]
		in := prev
		if pos[i] > 0 {
			in = branches[i][pos[i]-1]
		}
		l.inputs = nil
		g.add(l, in)
		added[l] = true
		pos[i]++
	}
	var ins []*genLayer
	for _, chain := range branches {
		if len(chain) == 0 {
			ins = append(ins, prev)
		} else {
			ins = append(ins, chain[len(chain)-1])
		}
	}
	if hi == layers.Variadic && g.r.IntN(4) == 0 {
		ins = append(ins, ins[g.r.IntN(len(ins))])
	}
	for {
		if l := g.try(k, ins); l != nil {
			l.inputs = ins
			return g.add(l, nil)
		}
	}
}

// setField sets (or adds) a written field of l and its attribute.
func setField(l *genLayer, name, yaml string, v any) {
	l.attrs[name] = v
	for i := range l.fields {
		if l.fields[i][0] == name {
			l.fields[i][1] = yaml
			return
		}
	}
	l.fields = append(l.fields, [2]string{name, yaml})
}

// head appends the output layers for the loss: a Dense to shape out (a
// reconstruction of the input) or, for a plain loss, one whose outputs the
// loss can take (probabilities for the cross-entropies), at times with the
// output activation as an Activation layer of its own.
func (g *generator) head(prev *genLayer, out []int, loss string) *genLayer {
	dense, _ := layers.Lookup("Dense")
	var acts []string
	switch strings.TrimPrefix(loss, vaeLoss) {
	case "categorical_crossentropy", "sparse_categorical_crossentropy":
		acts = []string{"softmax"}
	case "binary_crossentropy", "binary_focal_crossentropy":
		acts = []string{"sigmoid", "softmax"}
	case "poisson": // log(p + 1e-7) needs p > −1e-7
		acts = []string{"softplus", "exponential", "sigmoid", "softmax", "relu", "hard_sigmoid"}
	default:
		acts = layers.ActivationNames()
	}
	// The output activation as a layer of its own at times; the least
	// used of those the loss takes.
	split := g.r.IntN(3) == 0
	prefix := "Dense.activation="
	if split {
		prefix = "Activation.activation="
	}
	a := g.pick(prefix, acts)
	units := 1 + g.r.IntN(4)
	// A cosine of one value is ±1, whatever the weights.
	if strings.Contains(loss, "categorical") || a == "softmax" || loss == "cosine_similarity" {
		units = 2 + g.r.IntN(3)
	}
	if out != nil {
		if len(prev.shape) > 1 {
			fl, _ := layers.Lookup("Flatten")
			prev = g.add(g.try(fl, []*genLayer{prev}), prev)
		}
		units = ir.Prod(out)
	}
	if prev.kind != "Input" && !g.vae && strings.TrimPrefix(loss, vaeLoss) == "mse" && g.r.IntN(4) == 0 {
		return prev // the body's last layer is the output
	}
	for try := 0; ; try++ {
		if try == 10 && len(prev.shape) > 1 {
			fl, _ := layers.Lookup("Flatten")
			prev = g.add(g.try(fl, []*genLayer{prev}), prev)
		}
		l := g.try(dense, []*genLayer{prev})
		if l == nil {
			continue
		}
		setField(l, "units", strconv.Itoa(units), units)
		if split {
			setField(l, "activation", "linear", "linear")
		} else {
			setField(l, "activation", a, a)
		}
		s, err := dense.Shape(fakeNode(l), [][]int{prev.shape})
		if err != nil || ir.Prod(s) > g.limit() {
			continue
		}
		l.shape = s
		h := g.add(l, prev)
		if split {
			h = g.add(&genLayer{kind: "Activation", attrs: map[string]any{"activation": a}, fields: [][2]string{{"activation", a}}, shape: s}, h)
		}
		return h
	}
}

// try draws the fields of a layer of kind k over inputs and returns it
// when its shape rule accepts them, else nil.
func (g *generator) try(k *layers.Kind, inputs []*genLayer) *genLayer {
	if g.budget--; g.budget < 0 {
		panic(errBudget)
	}
	l := &genLayer{kind: k.Name, attrs: map[string]any{}, inputs: inputs}
	for _, f := range k.Fields {
		v, yaml, ok := g.field(k, f, inputs[0].shape)
		if !ok {
			return nil
		}
		l.attrs[f.Name] = v
		// Optional fields are written most of the time, required ones
		// always; an unwritten field takes its default.
		if f.Default == nil || g.r.IntN(4) > 0 || !sameValue(v, f.Default) {
			l.fields = append(l.fields, [2]string{f.Name, yaml})
		}
	}
	var in [][]int
	for _, x := range inputs {
		in = append(in, x.shape)
	}
	s, err := k.Shape(fakeNode(l), in)
	if err != nil || len(s) == 0 || len(s) > 3 || ir.Prod(s) > g.limit() || ir.Prod(s) == 0 {
		return nil
	}
	l.shape = s
	return l
}

func sameValue(a, b any) bool {
	if x, ok := a.([]int); ok {
		y, ok := b.([]int)
		return ok && slices.Equal(x, y)
	}
	return a == b
}

// fakeNode is the IR node a kind's Shape rule sees for l.
func fakeNode(l *genLayer) *ir.Node {
	n := &ir.Node{Kind: l.kind, Name: l.name, Attrs: l.attrs}
	for _, in := range l.inputs {
		n.Inputs = append(n.Inputs, &ir.Node{Kind: in.kind, Name: in.name, Shape: in.shape})
	}
	return n
}

// pool1DSize and pool1DStrides draw a 1-D pooling's window and step.
func pool1DSize(g *generator, in []int) any { return []int{1 + g.r.IntN(3)} }

func pool1DStrides(g *generator, in []int) any {
	if g.r.IntN(3) == 0 {
		return []int{}
	}
	return []int{1 + g.r.IntN(3)}
}

// groupsSampler draws a convolution's groups: one half of the time, else
// a divisor of the input's channels (the filters may still not be a
// multiple of it: then the shape rule rejects the draw).
func groupsSampler(g *generator, in []int) any {
	c := in[len(in)-1]
	if g.r.IntN(2) == 0 || c < 2 {
		return 1
	}
	var divs []int
	for d := 2; d <= c; d++ {
		if c%d == 0 {
			divs = append(divs, d)
		}
	}
	return divs[g.r.IntN(len(divs))]
}

// fieldSamplers draw the fields whose sensible values depend on the kind
// or on the input's shape; every other field is drawn from its type.
var fieldSamplers = map[string]func(g *generator, in []int) any{
	"Reshape.target_shape": func(g *generator, in []int) any {
		size := ir.Prod(in)
		var opts [][]int
		opts = append(opts, []int{-1}, []int{size})
		for a := 1; a <= size; a++ {
			if size%a != 0 {
				continue
			}
			opts = append(opts, []int{a, size / a}, []int{a, -1})
			for b := 1; b <= size/a; b++ {
				if (size/a)%b == 0 {
					opts = append(opts, []int{a, b, size / a / b}, []int{a, -1, size / a / b})
				}
			}
		}
		return opts[g.r.IntN(len(opts))]
	},
	"Normalization.axis":         func(g *generator, in []int) any { return -1 },
	"Dot.axes":                   func(g *generator, in []int) any { return []int{1 - 2*g.r.IntN(2), 1 - 2*g.r.IntN(2)} },
	"MaxPooling1D.pool_size":     pool1DSize,
	"MaxPooling1D.strides":       pool1DStrides,
	"AveragePooling1D.pool_size": pool1DSize,
	"AveragePooling1D.strides":   pool1DStrides,
	"Conv1D.kernel_size":         func(g *generator, in []int) any { return []int{1 + g.r.IntN(3)} },
	"Conv1D.strides":             func(g *generator, in []int) any { return []int{1 + g.r.IntN(2)} },
	"Conv1D.dilation_rate":       func(g *generator, in []int) any { return []int{1 + g.r.IntN(2)} },
	"Conv1D.groups":              groupsSampler,
	"Conv2D.groups":              groupsSampler,
	"ZeroPadding1D.padding":      func(g *generator, in []int) any { return []int{g.r.IntN(3), g.r.IntN(3)} },
	"Cropping1D.cropping":        func(g *generator, in []int) any { return []int{g.r.IntN(2), g.r.IntN(2)} },
	"SpatialDropout1D.rate":      func(g *generator, in []int) any { return 0.7 * g.r.Float64() },
	"SpatialDropout2D.rate":      func(g *generator, in []int) any { return 0.7 * g.r.Float64() },
	// Slice's begin is in the first half of each axis, its size −1 (the
	// rest) or at most the second half, so that every draw fits.
	"Slice.begin": func(g *generator, in []int) any {
		b := make([]int, len(in))
		for i, d := range in {
			b[i] = g.r.IntN((d-1)/2 + 1)
		}
		return b
	},
	"Slice.size": func(g *generator, in []int) any {
		s := make([]int, len(in))
		for i, d := range in {
			s[i] = -1
			if g.r.IntN(2) == 0 {
				s[i] = 1 + g.r.IntN(d-(d-1)/2)
			}
		}
		return s
	},
	"Permute.dims": func(g *generator, in []int) any {
		var dims []int
		for _, d := range g.r.Perm(len(in)) {
			dims = append(dims, d+1)
		}
		return dims
	},
	"UnitNormalization.axis": func(g *generator, in []int) any {
		if g.r.IntN(2) == 0 {
			return -1
		}
		a := 1 + g.r.IntN(len(in))
		return []int{a, a - len(in) - 1}[g.r.IntN(2)]
	},
	"Concatenate.axis": func(g *generator, in []int) any {
		opts := []int{-1}
		for a := 1; a <= len(in); a++ {
			opts = append(opts, a, -a)
		}
		return opts[g.r.IntN(len(opts))]
	},
	"Rescaling.scale":      func(g *generator, in []int) any { return []float64{1.0 / 255, 2, -1.5, 4 * g.r.Float64()}[g.r.IntN(4)] },
	"Rescaling.offset":     func(g *generator, in []int) any { return []float64{0, -1, 2*g.r.Float64() - 1}[g.r.IntN(3)] },
	"Embedding.input_dim":  func(g *generator, in []int) any { return 2 + g.r.IntN(8) },
	"Embedding.output_dim": func(g *generator, in []int) any { return g.count() },
	"Dropout.rate": func(g *generator, in []int) any {
		if g.r.IntN(6) == 0 {
			return 0.0
		}
		return 0.7 * g.r.Float64()
	},
	"BatchNormalization.momentum": func(g *generator, in []int) any {
		return []float64{0, 1, 0.99, 0.9, g.r.Float64()}[g.r.IntN(5)]
	},
	"BatchNormalization.epsilon": func(g *generator, in []int) any { return math.Pow(10, -4+3*g.r.Float64()) },
	// A wide model's convolutions are often 3x3 at stride 1 without
	// dilation, which the Winograd path serves.
	"Conv2D.dilation_rate": func(g *generator, in []int) any {
		if g.wide && g.r.IntN(6) > 0 {
			return []int{1, 1}
		}
		return []int{1 + g.r.IntN(2), 1 + g.r.IntN(2)}
	},
	"Conv2D.filters": func(g *generator, in []int) any {
		if g.wide && g.r.IntN(3) > 0 {
			return 16 + g.r.IntN(4)
		}
		return g.count()
	},
	"Conv2D.kernel_size": func(g *generator, in []int) any {
		if g.wide && g.r.IntN(3) > 0 {
			return []int{3, 3}
		}
		return []int{1 + g.r.IntN(3), 1 + g.r.IntN(3)}
	},
	// Less than the strides mostly (else the shape rule refuses it).
	"Conv2DTranspose.output_padding": func(g *generator, in []int) any {
		if g.r.IntN(2) == 0 {
			return []int{}
		}
		return []int{g.r.IntN(2), g.r.IntN(2)}
	},
	"Conv1DTranspose.output_padding": func(g *generator, in []int) any {
		if g.r.IntN(2) == 0 {
			return []int{}
		}
		return []int{g.r.IntN(2)}
	},
	"Conv1DTranspose.kernel_size":   func(g *generator, in []int) any { return []int{1 + g.r.IntN(3)} },
	"Conv1DTranspose.strides":       func(g *generator, in []int) any { return []int{1 + g.r.IntN(2)} },
	"Conv1DTranspose.dilation_rate": func(g *generator, in []int) any { return []int{1 + g.r.IntN(2)} },
	"Conv2D.strides": func(g *generator, in []int) any {
		if g.wide && g.r.IntN(6) > 0 {
			return []int{1, 1}
		}
		return []int{1 + g.r.IntN(2), 1 + g.r.IntN(2)}
	},
}

// field draws a value of field f of kind k over an input of shape in,
// with its YAML, and reports whether the field's Check accepts it.
func (g *generator) field(k *layers.Kind, f layers.Field, in []int) (any, string, bool) {
	var v any
	if f.Type == layers.LayerField {
		return g.inner(k, f, in)
	}
	if f.Type == layers.RegularizerField {
		// None: the twin adds no weight penalty (the gradient check
		// tests regularizers). No draw, so that the other fields' are
		// those of a registry without them.
		return f.Default, "null", true
	}
	s, isSampled := fieldSamplers[k.Name+"."+f.Name]
	if isSampled {
		v = s(g, in)
	} else if f.Default != nil && !slices.Equal(f.Enum, layers.Initializers) && g.r.IntN(5) < 2-len(f.Enum)/8 {
		// The defaults together are the common case, which some kernels
		// serve alone (LSTMGrad). (An initializer only sets values the
		// test replaces; a long enum, the activations, needs the draws.)
		v = f.Default
	} else {
		switch f.Type {
		case layers.StringField:
			if len(f.Enum) == 0 {
				return nil, "", false // no sensible random string
			}
			v = g.pick(k.Name+"."+f.Name+"=", fieldValues(f))
		case layers.BoolField:
			v = g.pick(k.Name+"."+f.Name+"=", fieldValues(f)) == "true"
		case layers.IntField:
			v = g.count()
		case layers.FloatField:
			opts := []float64{g.r.Float64(), 0, 1}
			if d, ok := f.Default.(float64); ok {
				opts = append(opts, d, d*math.Pow(10, 2*g.r.Float64()-1))
			}
			v = opts[g.r.IntN(len(opts))]
		case layers.IntsField:
			if f.Default != nil && len(f.Default.([]int)) == 0 && g.r.IntN(3) == 0 {
				v = []int{}
			} else {
				v = []int{1 + g.r.IntN(3), 1 + g.r.IntN(3)}
			}
		}
	}
	if f.Sides > 0 && !isSampled {
		v = g.sides(f.Sides)
	}
	if f.Check != nil && f.Check(v) != "" {
		return nil, "", false
	}
	switch x := v.(type) {
	case []int:
		if f.Sides > 0 {
			return v, g.sidesYAML(x), true
		}
		return v, yamlInts(x), true
	case float64:
		if math.IsInf(x, 1) { // a Nullable field's none (ReLU's max_value)
			return v, "null", true
		}
		return v, yamlFloat(x), true
	case string:
		return v, x, true
	}
	return v, fmt.Sprint(v), true
}

// sides draws the value of a field of both ends of axes axes
// (layers.Field.Sides): small sizes, at times equal at both ends or
// everywhere, so that every form of the field is written.
func (g *generator) sides(axes int) []int {
	v := make([]int, 2*axes)
	for i := range v {
		v[i] = g.r.IntN(3)
	}
	switch g.r.IntN(3) {
	case 0: // one integer
		for i := range v {
			v[i] = v[0]
		}
	case 1: // one per axis
		for a := 0; a < axes; a++ {
			v[2*a+1] = v[2*a]
		}
	}
	return v
}

// sidesYAML writes the value v of a Sides field in its shortest form.
func (g *generator) sidesYAML(v []int) string {
	axes, same, sym := len(v)/2, true, true
	for a := 0; a < axes; a++ {
		same = same && v[2*a] == v[0] && v[2*a+1] == v[0]
		sym = sym && v[2*a] == v[2*a+1]
	}
	switch {
	case same && g.r.IntN(2) == 0:
		return strconv.Itoa(v[0])
	case sym && axes > 1 && g.r.IntN(2) == 0:
		var l []int
		for a := 0; a < axes; a++ {
			l = append(l, v[2*a])
		}
		return yamlInts(l)
	}
	var pairs []string
	for a := 0; a < axes; a++ {
		pairs = append(pairs, yamlInts(v[2*a:2*a+2]))
	}
	if axes == 1 {
		return pairs[0]
	}
	return "[" + strings.Join(pairs, ", ") + "]"
}

// inner draws the layer that field f of wrapper k holds (of the kinds f
// accepts, the least used inside k), with its fields, as the node the
// spec's inner layer is and its YAML flow mapping.
func (g *generator) inner(k *layers.Kind, f layers.Field, in []int) (any, string, bool) {
	var kinds []string
	for _, name := range layers.Names() {
		if f.Check(&ir.Node{Kind: name}) == "" {
			kinds = append(kinds, name)
		}
	}
	ik, _ := layers.Lookup(g.pick(k.Name+"."+f.Name+"=", kinds))
	n := &ir.Node{Kind: ik.Name, Attrs: map[string]any{}}
	yaml := []string{"type: " + ik.Name}
	for _, inf := range ik.Fields {
		v, y, ok := g.field(ik, inf, in)
		if !ok {
			return nil, "", false
		}
		n.Attrs[inf.Name] = v
		yaml = append(yaml, inf.Name+": "+y)
	}
	return n, "{" + strings.Join(yaml, ", ") + "}", true
}

func yamlInts(l []int) string {
	var s []string
	for _, v := range l {
		s = append(s, strconv.Itoa(v))
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func yamlFloat(v float64) string {
	s := strconv.FormatFloat(v, 'g', 6, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// draw is spec, or !ok when it ran out of tries.
func (g *generator) draw(name string) (src, loss string, ok bool) {
	defer func() {
		if e := recover(); e != nil {
			if e != errBudget {
				panic(e)
			}
			ok = false
		}
	}()
	g.budget = 2000
	src, loss = g.spec(name)
	return src, loss, true
}

// diffModel is one generated, validated model.
type diffModel struct {
	name, src, loss string
	m               *ir.Model
	fixed           bool // a spec of testdata/diff, not of the sample
}

// generateSpecs draws n valid specs from seed, each redrawn until
// spec.Parse accepts it, and returns them with the coverage they reach,
// what the generator tried (the skipped models too) and the count of
// candidates rejected, by reason. skip rejects a parsed model the test
// must not use yet (a known bug).
func generateSpecs(seed uint64, n int, skip func(*ir.Model) string) (models []diffModel, cov, tried coverage, rejected map[string]int) {
	g := &generator{r: rand.New(rand.NewPCG(seed, 19)), cov: coverage{}}
	rejected, cov = map[string]int{}, coverage{}
	var out []diffModel
	for i := 0; len(out) < n; i++ {
		name := fmt.Sprintf("d%03d", len(out))
		src, loss, ok := g.draw(name)
		if !ok {
			rejected["the generator ran out of tries"]++
			continue
		}
		m, err := spec.Parse(name+".yaml", []byte(src))
		if err != nil {
			msg := err.Error()
			if _, after, ok := strings.Cut(msg, ": "); ok {
				msg = after
			}
			rejected[firstWords(msg)]++
			continue
		}
		// The guide counts the skipped models too, or it would draw
		// their values forever.
		g.cov.add(m, loss, g.choices)
		if why := skip(m); why != "" {
			rejected["skipped: "+why]++
			continue
		}
		cov.add(m, loss, g.choices)
		out = append(out, diffModel{name: name, src: src, loss: loss, m: m})
	}
	return out, cov, g.cov, rejected
}

// firstWords is a rejection message cut to its kind of problem.
func firstWords(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	f := strings.Fields(s)
	if len(f) > 6 {
		f = f[:6]
	}
	return strings.Join(f, " ")
}

// sortedKeys returns m's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}
