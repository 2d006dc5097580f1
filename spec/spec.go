package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/token"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
	"github.com/nngen/nngen/pass"
	"github.com/nngen/nngen/runtime/metric"
	"github.com/nngen/nngen/runtime/optim"
)

// Parse reads the spec in src (named file in messages), builds its raw
// graph and compiles it with pass.Compile: it returns the validated,
// shape-inferred model, or an ErrorList naming every problem, those of the
// passes included.
func Parse(file string, src []byte) (*ir.Model, error) {
	p := &parser{file: file}
	m := p.parse(src)
	if m != nil && m.Nodes != nil {
		p.compile(m)
	}
	if err := p.errs.Err(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(src)
	m.SpecHash = hex.EncodeToString(sum[:8])
	m.SpecPath = file
	return m, nil
}

type parser struct {
	file      string
	errs      ErrorList
	named     map[string]int    // layer name → line, for the names given explicitly
	autoNamed map[*ir.Node]bool // the layers named by default
	// placeholder marks the nodes that stand for layers that could not
	// be read at all, left out of the names suggested.
	placeholder map[*ir.Node]bool
	// outputs holds the Output nodes (a layer's extra outputs, as
	// enc.state_h) that the layer being read names first: graph adds them
	// to the model before it. outputNames are their names in the spec.
	outputs     []*ir.Node
	outputNames []string
}

// compile runs the passes over the raw graph, even when the rest of the
// spec has problems, so that one run reports them all: the passes' errors
// join the parser's.
func (p *parser) compile(m *ir.Model) {
	err := pass.Compile(m)
	var list pass.ErrorList
	switch {
	case err == nil, errors.Is(err, pass.ErrIncomplete):
		// The parser reported why the graph is incomplete.
	case errors.As(err, &list):
		for _, e := range list {
			p.errs = append(p.errs, &Error{File: p.file, Pos: e.Pos, Msg: e.Msg})
		}
	default:
		p.errs = append(p.errs, &Error{File: p.file, Msg: err.Error()})
	}
}

func pos(n *yaml.Node) ir.Pos { return ir.Pos{Line: n.Line, Col: n.Column} }

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	e := &Error{File: p.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Pos = pos(n)
	}
	p.errs = append(p.errs, e)
}

// entry is one key of a mapping with its value.
type entry struct{ key, val *yaml.Node }

// mapping returns the entries of a mapping node, reporting duplicate keys
// and keys not in known (when known is not nil).
func (p *parser) mapping(n *yaml.Node, what string, known []string) map[string]entry {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping", what)
		return nil
	}
	out := map[string]entry{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := out[k.Value]; dup {
			p.errorf(k, "duplicate key %q in %s", k.Value, what)
			continue
		}
		if known != nil && !contains(known, k.Value) {
			p.errorf(k, "unknown key %q in %s%s", k.Value, what, suggest(k.Value, known))
			continue
		}
		out[k.Value] = entry{k, v}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// scalar decoders: each reports a type error at the node and returns ok.
func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		p.errorf(n, "%s must be a string", what)
		return "", false
	}
	return n.Value, true
}

func (p *parser) integer(n *yaml.Node, what string) (int, bool) {
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		p.errorf(n, "%s must be an integer, got %s", what, show(n))
		return 0, false
	}
	return v, true
}

func (p *parser) float(n *yaml.Node, what string) (float64, bool) {
	var v float64
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.errorf(n, "%s must be a number, got %s", what, show(n))
		return 0, false
	}
	return v, true
}

// regularizer decodes a weight regularizer: Keras's name (l1, l2, l1_l2)
// or a mapping of its factors l1 and l2, each a number at least 0.
func (p *parser) regularizer(n *yaml.Node, what string) (ir.Regularizer, bool) {
	names := slices.Sorted(maps.Keys(layers.Regularizers))
	if n.Kind == yaml.ScalarNode {
		r, ok := layers.Regularizers[n.Value]
		if !ok || n.Tag != "!!str" {
			p.errorf(n, "%s: unknown regularizer %q%s", what, n.Value, oneOf(n.Value, names))
		}
		return r, ok
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a regularizer (one of: %s) or a mapping of its factors l1 and l2, got %s", what, strings.Join(names, ", "), show(n))
		return ir.Regularizer{}, false
	}
	var r ir.Regularizer
	good := true
	for key, e := range p.mapping(n, what, []string{"l1", "l2"}) {
		v, ok := p.float(e.val, what+"."+key)
		if ok && v < 0 {
			p.errorf(e.val, "%s.%s must be at least 0, got %s", what, key, show(e.val))
			ok = false
		}
		good = good && ok
		if key == "l1" {
			r.L1 = v
		} else {
			r.L2 = v
		}
	}
	if len(n.Content) == 0 {
		p.errorf(n, "%s: a regularizer mapping needs l1 or l2", what)
		good = false
	}
	return r, good
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	var v bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&v) != nil {
		p.errorf(n, "%s must be true or false, got %s", what, show(n))
		return false, false
	}
	return v, true
}

func (p *parser) ints(n *yaml.Node, what string) ([]int, bool) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list of integers, got %s", what, show(n))
		return nil, false
	}
	var out []int
	ok := true
	for _, c := range n.Content {
		v, good := p.integer(c, what+" element")
		ok = ok && good
		out = append(out, v)
	}
	return out, ok
}

// sides reads a field of both ends of axes axes (layers.Field.Sides): an
// integer, a list of axes integers, or a list of axes pairs.
func (p *parser) sides(n *yaml.Node, what string, axes int) ([]int, bool) {
	if n.Kind == yaml.ScalarNode {
		v, ok := p.integer(n, what)
		return slices.Repeat([]int{v}, 2*axes), ok
	}
	msg := fmt.Sprintf("%s must be an integer, a list of %d integers or a list of %d pairs [before, after], got %s", what, axes, axes, show(n))
	if axes == 1 {
		msg = fmt.Sprintf("%s must be an integer or a pair [before, after], got %s", what, show(n))
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s", msg)
		return nil, false
	}
	if axes == 1 && len(n.Content) == 2 && n.Content[0].Kind == yaml.ScalarNode {
		return p.ints(n, what) // the pair of one axis
	}
	if len(n.Content) != axes {
		p.errorf(n, "%s", msg)
		return nil, false
	}
	var out []int
	for _, c := range n.Content {
		if c.Kind == yaml.ScalarNode {
			v, ok := p.integer(c, what+" element")
			if !ok {
				return nil, false
			}
			out = append(out, v, v)
			continue
		}
		pair, ok := p.ints(c, what+" element")
		if !ok {
			return nil, false
		}
		if len(pair) != 2 {
			p.errorf(c, "%s", msg)
			return nil, false
		}
		out = append(out, pair...)
	}
	return out, true
}

func (p *parser) strs(n *yaml.Node, what string) ([]string, []*yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		if s, ok := p.str(n, what); ok {
			return []string{s}, []*yaml.Node{n}
		}
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list of strings", what)
		return nil, nil
	}
	var out []string
	var nodes []*yaml.Node
	for _, c := range n.Content {
		if s, ok := p.str(c, what+" element"); ok {
			out = append(out, s)
			nodes = append(nodes, c)
		}
	}
	return out, nodes
}

func show(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!int", "!!float", "!!bool":
			return n.Value
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return "nothing"
}

var topKeys = []string{"name", "input_shape", "inputs", "batch_size", "seed", "dtype", "layers", "output", "target", "loss", "optimizer", "metrics", "class_weight"}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkIdent reports whether s is safe as a Go identifier part.
func (p *parser) checkIdent(n *yaml.Node, s, what string) bool {
	if !identRE.MatchString(s) || token.IsKeyword(s) {
		p.errorf(n, "%s %q is not a valid Go identifier (letters, digits and _, not starting with a digit, not a Go keyword)", what, s)
		return false
	}
	return true
}

func (p *parser) parse(src []byte) *ir.Model {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		p.yamlError(err, src)
		return nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		p.errorf(nil, "the spec is empty")
		return nil
	}
	resolveAliases(&doc)
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "the spec must be a mapping of keys (name, input_shape, layers, loss, ...), got %s", show(root))
		return nil
	}
	top := p.mapping(root, "the spec", topKeys)
	m := &ir.Model{Batch: 32, DType: "float32"}
	for _, k := range []string{"name", "input_shape", "layers", "loss"} {
		if _, ok := top[k]; !ok && (k != "input_shape" || top["inputs"].val == nil) {
			p.errorf(root, "missing required key %q", k)
		}
	}
	var named []namedInput
	if e, ok := top["inputs"]; ok {
		if s, both := top["input_shape"]; both {
			p.errorf(s.key, "input_shape and inputs are both set: a model with several inputs gives each its shape in inputs")
		}
		named = p.inputs(e.val)
	}
	if e, ok := top["name"]; ok {
		if s, ok := p.str(e.val, "name"); ok && p.checkIdent(e.val, s, "model name") {
			if s == "main" {
				p.errorf(e.val, "model name \"main\" is not allowed: the generated package cannot be a command (use -main for a binary)")
			}
			m.Name = s
		}
	}
	if e, ok := top["batch_size"]; ok {
		if v, ok := p.integer(e.val, "batch_size"); ok {
			if v <= 0 || v > 1<<16 {
				p.errorf(e.val, "batch_size must be in [1, 65536], got %d", v)
			}
			m.Batch = v
		}
	}
	if e, ok := top["seed"]; ok {
		if v, ok := p.integer(e.val, "seed"); ok {
			if v < 0 {
				p.errorf(e.val, "seed must not be negative")
			}
			m.Seed = uint64(v)
		}
	}
	if e, ok := top["dtype"]; ok {
		if s, ok := p.str(e.val, "dtype"); ok {
			if s != "float32" && s != "float64" {
				p.errorf(e.val, "dtype must be float32 or float64, got %q", s)
			}
			m.DType = s
		}
	}
	var inShape []int
	if e, ok := top["input_shape"]; ok {
		if v, ok := p.shape(e.val, "input_shape"); ok {
			inShape = v
		}
	}
	if e, ok := top["loss"]; ok && e.val.Kind == yaml.MappingNode && hasKey(e.val, "name") {
		p.lossOptions(m, e.val)
	} else if ok && e.val.Kind == yaml.MappingNode {
		p.lossTerms(m, e.val)
	} else if ok {
		if s, ok := p.str(e.val, "loss"); ok {
			if _, ok := layers.LookupLoss(s); !ok {
				p.errorf(e.val, "unknown loss %q%s", s, oneOf(s, layers.LossNames()))
			}
			m.Loss = ir.Loss{Kind: s, Pos: pos(e.val), Opts: lossDefaults(s)}
		}
	}
	if e, ok := top["metrics"]; ok {
		names, nodes := p.strs(e.val, "metrics")
		for i, s := range names {
			if s == "acc" {
				s = "accuracy"
			}
			switch {
			case !metric.Known(s):
				p.errorf(nodes[i], "unknown metric %q%s", s, oneOf(s, metric.Names))
			case metric.ForClassifier(s) && m.Loss.Kind != "" && !classifies(m.Loss.Kind):
				p.errorf(nodes[i], "metric %q needs a classifier, and loss %s is a regression's", s, m.Loss.Kind)
			}
			m.Metrics = append(m.Metrics, s)
		}
	}
	if e, ok := top["class_weight"]; ok {
		p.classWeight(m, e.val)
	}
	p.optimizer(m, top)
	if e, ok := top["layers"]; ok && (named != nil || top["inputs"].val == nil) {
		var out *yaml.Node
		if o, ok := top["output"]; ok {
			out = o.val
		}
		p.graph(m, e.val, inShape, named, out)
		defaultClipNorm(m, top)
	}
	p.target(m, top)
	return m
}

// target reads the key target: input, which makes the model's targets its
// inputs (an autoencoder, as Keras's fit(x, x)); the Validate pass checks
// that the output has the input's shape.
func (p *parser) target(m *ir.Model, top map[string]entry) {
	e, ok := top["target"]
	if !ok {
		return
	}
	if s, ok := p.str(e.val, "target"); !ok {
		return
	} else if s != "input" {
		p.errorf(e.val, "target must be input (the model's targets are its inputs), got %q", s)
		return
	}
	m.TargetIsInput, m.TargetPos = true, pos(e.val)
}

// parserProblems are the problems yaml.v3's parser (not its scanner)
// reports; for these it prints a 0-based line number.
var parserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"found undefined tag handle",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
}

// yamlError turns a yaml.v3 syntax error into a positioned error.
func (p *parser) yamlError(err error, src []byte) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if te, ok := err.(*yaml.TypeError); ok {
		msg = strings.Join(te.Errors, "; ")
	}
	line := 0
	if _, e := fmt.Sscanf(msg, "line %d:", &line); e == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	if contains(parserProblems, msg) {
		line++
	}
	e := &Error{File: p.file, Pos: ir.Pos{Line: line, Col: 1}, Msg: "invalid YAML: " + msg}
	if line == 0 {
		e.Pos.Col = 0
	}
	if lines := strings.Split(string(src), "\n"); line > 0 && line <= len(lines) {
		text := lines[line-1]
		switch {
		case strings.Contains(msg, "tab character") || msg == "found character that cannot start any token":
			// The tab may be on a line below the one yaml.v3 names.
			for i := line - 1; i < len(lines); i++ {
				text := lines[i]
				indent := text[:len(text)-len(strings.TrimLeft(text, " \t"))]
				if t := strings.IndexByte(indent, '\t'); t >= 0 {
					e.Pos = ir.Pos{Line: i + 1, Col: t + 1}
					e.Msg = "invalid YAML: tab in indentation; YAML indents with spaces only"
					break
				}
			}
		case msg == "did not find expected ',' or ']'" || msg == "did not find expected ',' or '}'":
			open, shut := "[", "]"
			if strings.HasSuffix(msg, "'}'") {
				open, shut = "{", "}"
			}
			if i := strings.Index(text, open); i >= 0 {
				e.Pos.Col = i + 1
			}
			e.Msg = fmt.Sprintf("invalid YAML: '%s' is not closed: expected ',' or '%s'", open, shut)
		}
	}
	p.errs = append(p.errs, e)
}

// resolveAliases replaces every alias in the tree under n by the node it
// names, so that the rest of the parser never sees an alias. It follows no
// alias, so it visits each node once, even for a recursive anchor.
func resolveAliases(n *yaml.Node) {
	for i, c := range n.Content {
		if c.Kind == yaml.AliasNode && c.Alias != nil {
			n.Content[i] = c.Alias
		} else {
			resolveAliases(c)
		}
	}
}

// MaxSize bounds the values of one tensor, per sample.
const MaxSize = ir.MaxSize

// size is the product of dims, and whether it is at most MaxSize.
var size = ir.Fits

var optimizers = []string{"sgd", "adam", "adamw", "rmsprop"}

var optKeys = []string{"name", "learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "epsilon", "weight_decay", "amsgrad", "rho", "centered", "clipnorm", "global_clipnorm", "clipvalue", "schedule"}

func (p *parser) optimizer(m *ir.Model, top map[string]entry) {
	name := "adam"
	var fields map[string]entry
	var at *yaml.Node
	if e, ok := top["optimizer"]; ok {
		at = e.val
		good := true
		if e.val.Kind == yaml.ScalarNode {
			name, good = p.str(e.val, "optimizer")
		} else {
			fields = p.mapping(e.val, "optimizer", optKeys)
			if n, ok := fields["name"]; ok {
				name, good = p.str(n.val, "optimizer name")
				at = n.val
			} else if fields != nil {
				p.errorf(e.val, "optimizer needs a name (one of: %s)", strings.Join(optimizers, ", "))
				return
			}
		}
		if !good || fields == nil && e.val.Kind != yaml.ScalarNode {
			return
		}
	}
	h, ok := optim.Defaults(strings.ToLower(name))
	if !ok {
		p.errorf(at, "unknown optimizer %q%s", name, oneOf(name, optimizers))
		return
	}
	name = strings.ToLower(name)
	o := &m.Opt
	o.Name = name
	floats := map[string]*float64{"learning_rate": &h.LR, "momentum": &h.Momentum, "beta_1": &h.Beta1, "beta_2": &h.Beta2, "epsilon": &h.Epsilon, "weight_decay": &h.WeightDecay, "rho": &h.Rho, "clipnorm": &o.ClipNorm, "global_clipnorm": &o.GlobalClipNorm, "clipvalue": &o.ClipValue}
	bools := map[string]*bool{"nesterov": &h.Nesterov, "amsgrad": &h.AMSGrad, "centered": &h.Centered}
	for k, e := range fields {
		if f, ok := floats[k]; ok {
			if v, ok := p.float(e.val, k); ok {
				if v < 0 {
					p.errorf(e.val, "%s must not be negative", k)
				}
				*f = v
			}
		} else if b, ok := bools[k]; ok {
			*b, _ = p.boolean(e.val, k)
		}
	}
	applies := map[string][]string{"momentum": {"sgd", "rmsprop"}, "nesterov": {"sgd"}, "beta_1": {"adam", "adamw"}, "beta_2": {"adam", "adamw"}, "amsgrad": {"adam", "adamw"}, "rho": {"rmsprop"}, "centered": {"rmsprop"}, "epsilon": {"adam", "adamw", "rmsprop"}}
	for k, e := range fields {
		if on, ok := applies[k]; ok && !contains(on, name) {
			p.errorf(e.key, "%s does not apply to optimizer %s", k, name)
		}
	}
	if h.Beta1 >= 1 || h.Beta2 >= 1 || h.Rho >= 1 {
		p.errorf(at, "beta_1, beta_2 and rho must be below 1")
	}
	var clips []string
	for _, k := range []string{"clipnorm", "global_clipnorm", "clipvalue"} {
		if e, ok := fields[k]; ok && *floats[k] > 0 {
			if clips = append(clips, k); len(clips) == 2 {
				p.errorf(e.key, "%s and %s are both set; as in Keras, an optimizer takes only one of clipnorm, global_clipnorm and clipvalue", clips[0], k)
			}
		}
	}
	if h.Nesterov && h.Momentum == 0 {
		p.errorf(fields["nesterov"].key, "nesterov needs a momentum above 0")
	}
	o.LR, o.Momentum, o.Beta1, o.Beta2, o.Rho, o.Epsilon, o.WeightDecay = h.LR, h.Momentum, h.Beta1, h.Beta2, h.Rho, h.Epsilon, h.WeightDecay
	o.Nesterov, o.AMSGrad, o.Centered = h.Nesterov, h.AMSGrad, h.Centered
	if e, ok := fields["schedule"]; ok {
		s := p.mapping(e.val, "schedule", []string{"type", "step_size", "gamma", "decay_steps", "alpha"})
		t, ok := s["type"]
		if !ok {
			if s != nil {
				p.errorf(e.val, "schedule needs a type (step or cosine)")
			}
			return
		}
		if o.Schedule, ok = p.str(t.val, "schedule type"); !ok {
			return
		}
		need := map[string]string{"step": "step_size", "cosine": "decay_steps"}[o.Schedule]
		if need == "" {
			p.errorf(t.val, "unknown schedule %q%s", o.Schedule, oneOf(o.Schedule, []string{"step", "cosine"}))
			return
		}
		if _, ok := s[need]; !ok {
			p.errorf(e.val, "schedule %s needs %s", o.Schedule, need)
		}
		o.Gamma = 0.1
		for k, f := range s {
			if other := map[string]string{"step_size": "step", "gamma": "step", "decay_steps": "cosine", "alpha": "cosine"}[k]; other != "" && other != o.Schedule {
				p.errorf(f.key, "%s does not apply to schedule %s (only to %s)", k, o.Schedule, other)
				continue
			}
			switch k {
			case "step_size", "decay_steps":
				if v, ok := p.integer(f.val, k); ok {
					if v <= 0 {
						p.errorf(f.val, "%s must be positive", k)
					}
					o.StepSize, o.DecaySteps = v, v
				}
			case "gamma", "alpha":
				if v, ok := p.float(f.val, k); ok {
					if k == "gamma" {
						o.Gamma = v
					} else {
						o.Alpha = v
					}
				}
			}
		}
	}
}

// snake turns a kind name into Keras's default layer name: Dense → dense,
// MaxPooling2D → max_pooling2d.
func snake(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 && (unicode.IsLower(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// classifies reports whether the loss is a classifier's (a cross-entropy),
// whose outputs are probabilities.
func classifies(loss string) bool {
	if a, ok := layers.LossAliases[loss]; ok {
		loss = a
	}
	return loss != "mse"
}
