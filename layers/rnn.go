package layers

import (
	"fmt"
	"strings"

	"github.com/nngen/nngen/ir"
)

// The recurrent layers (SimpleRNN, LSTM, GRU) share one scheme (see
// layers/emit/rnn.go for their code).
//
// Parameters follow PyTorch's nn.RNN/nn.LSTM/nn.GRU: weight_ih_l0 [G·H, F],
// weight_hh_l0 [G·H, H], bias_ih_l0 and bias_hh_l0 [G·H], gates in the
// order i, f, g, o (LSTM) and r, z, n (GRU).

// Cell describes one recurrent cell kind: its name, number of gates and doc.
type Cell struct {
	Name  string
	Gates int
	Doc   string
}

// Cells are the recurrent kinds, which share one scheme.
var Cells = []Cell{
	{"SimpleRNN", 1, "Fully connected recurrent layer: h_t = activation(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh), h_0 = 0."},
	{"LSTM", 4, "Long short-term memory: i, f, o = recurrent_activation(W_ih·x_t + W_hh·h_{t−1} + b) of their rows, g = activation(…), c_t = f·c_{t−1} + i·g, h_t = o·activation(c_t); h_0 = c_0 = 0. Gate order i, f, g, o as PyTorch's nn.LSTM."},
	{"GRU", 3, "Gated recurrent unit with Keras's reset_after (PyTorch's nn.GRU formula): r, z = recurrent_activation(W_i·x_t + b_i + W_h·h_{t−1} + b_h) of their rows, n = activation(W_in·x_t + b_in + r·(W_hn·h_{t−1} + b_hn)), h_t = (1−z)·n + z·h_{t−1}; h_0 = 0. Gate order r, z, n as PyTorch's nn.GRU."},
}

// RecurrentClipNorm is the default global gradient clipping norm of models
// with a recurrent layer (global_clipnorm: 1); the optimizer's clipnorm,
// global_clipnorm or clipvalue overrides it (0 turns clipping off).
const RecurrentClipNorm = 1.0

// rate checks a dropout rate.
func rate(v any) string {
	if r := v.(float64); r < 0 || r >= 1 {
		return "must be in [0, 1)"
	}
	return ""
}

// drops reports whether recurrent node n drops inputs or states in
// training.
func drops(n *ir.Node) bool { return n.Float("dropout") > 0 || n.Float("recurrent_dropout") > 0 }

// States names the states of a recurrent kind, in Keras's order of its
// return_state outputs and of its initial_state: state_h, and LSTM's
// state_c.
func States(kind string) []string {
	if kind == "LSTM" {
		return []string{"state_h", "state_c"}
	}
	return []string{"state_h"}
}

// InitialState reports whether recurrent node n starts from states its
// inputs after the first give (Keras's initial_state), not from zeros.
func InitialState(n *ir.Node) bool { return len(n.Inputs) > 1 }

// initialState says why the inputs after the first of recurrent node n
// are not its initial state: all of its states, each of shape [units].
func initialState(kind string, n *ir.Node, in [][]int) error {
	states := States(kind)
	if len(in) == 1 {
		return nil
	}
	if len(in) != 1+len(states) {
		return fmt.Errorf("initial_state needs %d states (%s), got %d", len(states), strings.Join(states, ", "), len(in)-1)
	}
	for i, s := range in[1:] {
		if len(s) != 1 || s[0] != n.Int("units") {
			return fmt.Errorf("initial_state: %s (%s) must have shape [%d] (units), got %v", states[i], RefName(n.Inputs[i+1]), n.Int("units"), s)
		}
	}
	return nil
}

// cellActs are the activations a cell supports (element-wise, with a
// derivative in terms of the output).
var cellActs = []string{"linear", "relu", "sigmoid", "tanh"}

func init() {
	for _, c := range Cells {
		c := c
		fields := []Field{
			{Name: "units", Type: IntField, Doc: "Number of hidden units H.", Check: positive},
			{Name: "activation", Type: StringField, Default: "tanh", Doc: "Activation of the state (and of LSTM's cell output).", Enum: cellActs},
		}
		if c.Gates > 1 {
			fields = append(fields, Field{Name: "recurrent_activation", Type: StringField, Default: "sigmoid", Doc: "Activation of the gates.", Enum: cellActs})
		}
		fields = append(fields,
			Field{Name: "use_bias", Type: BoolField, Default: true, Doc: "Whether the layer adds the biases b_ih and b_hh."},
			Field{Name: "return_sequences", Type: BoolField, Default: false, Doc: "Output every step's state, [T, units], instead of the last one, [units]."},
			Field{Name: "return_state", Type: BoolField, Default: false, Doc: "Also return the final state, as Keras's return_state: a spec reads it as <layer>.state_h (and LSTM's cell state as <layer>.state_c), [units] each; with return_sequences false the output is state_h."},
			Field{Name: "dropout", Type: FloatField, Default: 0.0, Doc: "Fraction of the input features to drop in training, by one mask per sequence (the same features at every step) and the others scaled by 1/(1−rate), as Keras does; none at inference.", Check: rate},
			Field{Name: "recurrent_dropout", Type: FloatField, Default: 0.0, Doc: "Fraction of the state h_{t−1} to drop where it enters the recurrent product W_hh·h_{t−1}, by one mask per sequence, in training (Keras's variational dropout).", Check: rate},
			Field{Name: "kernel_initializer", Type: StringField, Default: "glorot_uniform", Doc: "Initializer of weight_ih (fans F and G·H).", Enum: Initializers},
			Field{Name: "recurrent_initializer", Type: StringField, Default: "orthogonal", Doc: "Initializer of weight_hh (fans H and G·H); orthogonal gives it orthonormal columns, as Keras's recurrent kernel has orthonormal rows.", Enum: Initializers},
			Field{Name: "bias_initializer", Type: StringField, Default: "zeros", Doc: "Initializer of the biases.", Enum: Initializers},
		)
		if c.Name == "LSTM" {
			fields = append(fields, Field{Name: "unit_forget_bias", Type: BoolField, Default: true, Doc: "Start the forget gate's bias (in bias_ih) at 1, as Keras does; needs bias_initializer zeros."})
		}
		if c.Name == "GRU" {
			fields = append(fields, Field{Name: "reset_after", Type: BoolField, Default: true, Doc: "Apply the reset gate after the recurrent product (PyTorch's nn.GRU formula, two biases); false is Keras's original formula, n = activation(W_in·x_t + b_in + W_hn·(r·h_{t−1})), with one bias, bias_ih_l0 (no recurrent_dropout)."})
		}
		Register(&Kind{
			Name:      c.Name,
			MaxInputs: 1 + len(States(c.Name)),
			States:    States(c.Name),
			Outputs: func(n *ir.Node) []Output {
				if !n.Bool("return_state") {
					return nil
				}
				var l []Output
				for _, s := range States(c.Name) {
					l = append(l, Output{s, []int{n.Int("units")}})
				}
				return l
			},
			Weights:   []Weight{{Param: "weight_ih", Role: "kernel"}, {Param: "weight_hh", Role: "recurrent"}, {Param: "bias", Role: "bias"}},
			Inference: &Inference{Differs: drops},
			// Keras's masking: masked steps keep the state; the
			// sequences carry the mask on.
			Mask:   func(n *ir.Node) (uses, passes bool) { return true, n.Bool("return_sequences") },
			Doc:    c.Doc + " Input [T, F], T steps of F features; the time loop is unrolled at generation time. The initial state (h_0, and LSTM's c_0) is zeros, or Keras's initial_state: the layers that initial_state names, or the inputs after the first, each [units]. Checkpoints use PyTorch's names weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0. A model with a recurrent layer clips its gradient to a global norm of 1 (global_clipnorm: 1) unless the optimizer sets clipnorm, global_clipnorm or clipvalue (0 turns clipping off).",
			Fields: fields,
			Shape: func(n *ir.Node, in [][]int) ([]int, error) {
				if len(in[0]) != 2 {
					return nil, fmt.Errorf("needs an input of shape [steps, features], got %v", in[0])
				}
				if err := initialState(c.Name, n, in); err != nil {
					return nil, err
				}
				if c.Name == "GRU" && !n.Bool("reset_after") && n.Float("recurrent_dropout") > 0 {
					return nil, fmt.Errorf("recurrent_dropout needs reset_after: true")
				}
				if n.Bool("return_sequences") {
					return []int{in[0][0], n.Int("units")}, nil
				}
				return []int{n.Int("units")}, nil
			},
			Params: func(n *ir.Node) []ir.Param {
				f, h := n.Inputs[0].Shape[1], n.Int("units")
				gh := c.Gates * h
				ps := []ir.Param{
					{Name: "weight_ih_l0", Shape: []int{gh, f}, Init: n.Str("kernel_initializer"), FanIn: f, FanOut: gh},
					{Name: "weight_hh_l0", Shape: []int{gh, h}, Init: n.Str("recurrent_initializer"), FanIn: h, FanOut: gh},
				}
				if n.Bool("use_bias") {
					init := n.Str("bias_initializer")
					ihInit := init
					if c.Name == "LSTM" && n.Bool("unit_forget_bias") && init == "zeros" {
						ihInit = "unit_forget"
					}
					ps = append(ps, ir.Param{Name: "bias_ih_l0", Shape: []int{gh}, Init: ihInit, FanIn: f, FanOut: gh})
					if c.Name != "GRU" || n.Bool("reset_after") {
						ps = append(ps, ir.Param{Name: "bias_hh_l0", Shape: []int{gh}, Init: init, FanIn: h, FanOut: gh})
					}
				}
				return ps
			},
			Summary: func(n *ir.Node) string {
				in := n.Inputs[0].Shape
				s := fmt.Sprintf("%s %d steps, %d→%d, %s", c.Name, in[0], in[1], n.Int("units"), n.Str("activation"))
				if n.Bool("return_sequences") {
					s += ", sequences"
				}
				if InitialState(n) {
					s += ", initial state"
				}
				if n.Bool("return_state") {
					s += ", states"
				}
				return s
			},
			// Clipping by norm 1 is common practice for recurrent
			// models (exploding gradients through time).
			GlobalClipNorm: RecurrentClipNorm,
		})
	}
}
