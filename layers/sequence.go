package layers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nngen/nngen/ir"
)

// The sequence layers: RepeatVector, and the wrappers TimeDistributed and
// Bidirectional. A wrapper holds its inner layer in its field "layer" (a
// LayerField: the spec decodes it with the inner kind's own fields); the
// wrapper's rules call the inner kind's rules on nodes outside the model
// (Inner), and its emitters the inner kind's code on such nodes.

// Inner returns the layer that wrapper n holds, as a node outside the model
// named name that reads inputs, with its shape from its kind's rule, and
// that kind. It shares n's index, position, fusion and kernel decisions.
func Inner(n *ir.Node, name string, inputs ...*ir.Node) (*ir.Node, *Kind, error) {
	in := n.Attrs["layer"].(*ir.Node)
	k := registry[in.Kind]
	v := &ir.Node{Name: name, Kind: in.Kind, Pos: n.Pos, Inputs: inputs, Attrs: in.Attrs, Index: n.Index,
		Fused: n.Fused, Method: n.Method, BackMethod: n.BackMethod}
	var shapes [][]int
	for _, i := range inputs {
		shapes = append(shapes, i.Shape)
	}
	s, err := k.Shape(v, shapes)
	v.Shape = s
	return v, k, err
}

// layerField is the field "layer" of a wrapper; check, when not nil, says
// what is wrong with an inner layer of that kind.
func layerField(doc string, check func(k *Kind) string) Field {
	return Field{Name: "layer", Type: LayerField, Doc: doc, Check: func(v any) string {
		k := registry[v.(*ir.Node).Kind]
		// A recurrent layer's optional inputs are its initial state,
		// which a wrapper does not give it.
		if lo, _ := k.Inputs(); lo != 1 {
			return "must be a layer of one input"
		}
		if check != nil {
			return check(k)
		}
		return ""
	}}
}

// Step returns, for TimeDistributed n, the node outside the model that
// stands for one step of its input (its shape without the time axis, the
// same values as batch·T samples) and the inner layer on it, named as n.
func Step(n *ir.Node) (step, inner *ir.Node, k *Kind, err error) {
	x := n.Inputs[0]
	if len(x.Shape) < 2 {
		return nil, nil, nil, fmt.Errorf("needs an input with a time axis, [steps, ...], got %v", x.Shape)
	}
	step = &ir.Node{Name: x.Name, Kind: x.Kind, Pos: x.Pos, Shape: x.Shape[1:], Inputs: []*ir.Node{x}, Index: x.Index}
	inner, k, err = Inner(n, n.Name, step)
	return step, inner, k, err
}

// Directions returns, for Bidirectional n, the forward layer on n's input
// and the backward layer on the reversed input, nodes outside the model
// named <n>_forward and <n>_backward, each with its half of n's
// parameters under the inner kind's names, and the reversed input
// <n>_reversed.
func Directions(n *ir.Node) (fw, bw, rev *ir.Node, k *Kind, err error) {
	x := n.Inputs[0]
	rev = &ir.Node{Name: n.Name + "_reversed", Kind: n.Kind, Pos: n.Pos, Shape: x.Shape, Inputs: []*ir.Node{x}, Index: n.Index}
	if fw, k, err = Inner(n, n.Name+"_forward", x); err != nil {
		return nil, nil, nil, nil, err
	}
	bw, _, _ = Inner(n, n.Name+"_backward", rev)
	if len(n.Params) > 0 { // assigned
		h := len(n.Params) / 2
		fw.Params = n.Params[:h]
		for _, p := range n.Params[h:] {
			p.Name = strings.TrimSuffix(p.Name, "_reverse")
			bw.Params = append(bw.Params, p)
		}
	}
	return fw, bw, rev, k, nil
}

// MergeModes are Bidirectional's ways of combining its two directions.
var MergeModes = []string{"concat", "sum", "mul", "ave"}

func init() {
	Register(&Kind{
		Name: "RepeatVector",
		Doc:  "Repeats its input vector n times: [F] → [n, F], as Keras's RepeatVector (an encoder's code fed to every step of a recurrent decoder).",
		Fields: []Field{
			{Name: "n", Type: IntField, Doc: "Number of repetitions, the output's steps.", Check: positive},
		},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			if len(in[0]) != 1 {
				return nil, fmt.Errorf("needs an input of shape [features], got %v", in[0])
			}
			return []int{n.Int("n"), in[0][0]}, nil
		},
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("RepeatVector %d×%d", n.Int("n"), n.Inputs[0].Shape[0])
		},
	})
	Register(&Kind{
		Name: "TimeDistributed",
		Doc:  "Applies its inner layer to every step of a sequence: input [T, ...], the inner layer maps each [...] alone, with the same parameters at every step (Keras's TimeDistributed). Dense already applies to the last axis, so TimeDistributed(Dense) computes what Dense on the sequence does. The parameters are the inner layer's, under its names.",
		Fields: []Field{layerField("The layer applied at every step (a mapping with its type and fields).", func(k *Kind) string {
			switch {
			case k.Batchwise:
				return "cannot wrap a layer whose training couples the samples"
			case k.Alias != NoAlias || k.Tokens != nil || k.Latent || k.Adapts:
				return "must wrap a layer that computes on its own memory, from its input alone (Dense, Conv2D, a recurrent layer, …)"
			}
			return ""
		})},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			_, inner, _, err := Step(n)
			if err != nil {
				return nil, err
			}
			return append([]int{in[0][0]}, inner.Shape...), nil
		},
		Params: func(n *ir.Node) []ir.Param {
			_, inner, _, _ := Step(n)
			return ParamsOf(inner)
		},
		Inference: &Inference{
			Differs: func(n *ir.Node) bool { _, inner, _, err := Step(n); return err == nil && DiffersAtInference(inner) },
			Draws:   func(n *ir.Node) bool { _, inner, _, err := Step(n); return err == nil && DrawsAtInference(inner) },
		},
		Act: func(n *ir.Node) string {
			_, inner, k, _ := Step(n)
			if k.Act == nil {
				return "linear"
			}
			return k.Act(inner)
		},
		Select: func(n *ir.Node) (ir.Method, ir.Method) {
			_, inner, k, _ := Step(n)
			if k.Select == nil {
				return "", ""
			}
			return k.Select(inner)
		},
		Summary: func(n *ir.Node) string {
			_, inner, k, _ := Step(n)
			return fmt.Sprintf("TimeDistributed(%s) over %d steps", k.Summary(inner), n.Shape[0])
		},
	})
	Register(&Kind{
		Name: "Bidirectional",
		Doc:  "Runs its recurrent layer forward over the sequence and a copy of it (its own parameters) backward, over the sequence reversed, and merges the two outputs (Keras's Bidirectional). With return_sequences (the inner layer's), the backward direction's outputs are re-reversed, so that step t of both is aligned. Checkpoints use PyTorch's names of a bidirectional nn.LSTM/nn.GRU/nn.RNN: weight_ih_l0, … for the forward direction and weight_ih_l0_reverse, … for the backward one. With the inner layer's return_state, a spec reads each direction's final states as <layer>.forward_h, .forward_c (LSTM), .backward_h and .backward_c, as Keras returns them.",
		Fields: []Field{
			layerField("The recurrent layer (SimpleRNN, LSTM or GRU, with its fields).", func(k *Kind) string {
				if !slices.ContainsFunc(Cells, func(c Cell) bool { return c.Name == k.Name }) {
					return "must be a recurrent layer (SimpleRNN, LSTM or GRU)"
				}
				return ""
			}),
			{Name: "merge_mode", Type: StringField, Default: "concat", Doc: "How the outputs of the two directions combine: concat (along the last axis, forward first), sum, mul or ave.", Enum: MergeModes},
		},
		Shape: func(n *ir.Node, in [][]int) ([]int, error) {
			fw, _, _, _, err := Directions(n)
			if err != nil {
				return nil, err
			}
			s := slices.Clone(fw.Shape)
			if n.Str("merge_mode") == "concat" {
				s[len(s)-1] *= 2
			}
			return s, nil
		},
		Params: func(n *ir.Node) []ir.Param {
			fw, _, _, _, _ := Directions(n)
			ps := ParamsOf(fw)
			for _, p := range slices.Clone(ps) {
				p.Name += "_reverse"
				ps = append(ps, p)
			}
			return ps
		},
		// Keras's return_state of a Bidirectional: each direction's
		// final states, forward_h (forward_c), backward_h (backward_c).
		Outputs: func(n *ir.Node) []Output {
			in := n.Attrs["layer"].(*ir.Node)
			if !in.Bool("return_state") {
				return nil
			}
			var l []Output
			for _, dir := range []string{"forward", "backward"} {
				for _, s := range States(in.Kind) {
					l = append(l, Output{dir + strings.TrimPrefix(s, "state"), []int{in.Int("units")}})
				}
			}
			return l
		},
		Inference: &Inference{Differs: func(n *ir.Node) bool {
			fw, _, _, _, err := Directions(n)
			return err == nil && DiffersAtInference(fw)
		}},
		Summary: func(n *ir.Node) string {
			fw, _, _, k, _ := Directions(n)
			return fmt.Sprintf("Bidirectional(%s), %s", k.Summary(fw), n.Str("merge_mode"))
		},
		GlobalClipNorm: RecurrentClipNorm,
	})
}
