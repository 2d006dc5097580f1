package layers

import (
	"sort"

	"github.com/nngen/nngen/ir"
)

// Loss is a loss function of the spec vocabulary; its code is registered
// under the same name in package emit.
type Loss struct {
	Doc string
	// FusedAct is the output activation whose derivative the loss folds
	// into its gradient ("" for none).
	FusedAct string
	// Fields are the loss's options, written in a mapping with its name:
	// loss: {name: categorical_crossentropy, from_logits: true}.
	Fields []Field
	// Classifies marks a classifier's loss, whose targets name a class (a
	// one-hot row, or 0 and 1 for one output): class_weight applies.
	Classifies bool
}

// Options of the cross-entropies (Keras's).
var (
	fromLogits     = Field{Name: "from_logits", Type: BoolField, Default: false, Doc: "Whether the outputs are logits (the loss applies the softmax or sigmoid itself) rather than probabilities."}
	labelSmoothing = Field{Name: "label_smoothing", Type: FloatField, Default: 0.0, Doc: "Smooths the targets: t·(1 − s) + s/classes (categorical) or + s/2 (binary).", Check: func(v any) string {
		if s := v.(float64); s < 0 || s > 1 {
			return "must be in [0, 1]"
		}
		return ""
	}}
)

var losses = map[string]*Loss{
	"categorical_crossentropy": {
		Classifies: true,
		Doc:        "−Σ t·log p over the classes, averaged over the batch; labels one-hot (sparse integer labels are one-hot encoded when loaded). With a softmax output the softmax is fused into the gradient.",
		FusedAct:   "softmax",
		Fields:     []Field{fromLogits, labelSmoothing},
	},
	"binary_crossentropy": {
		Classifies: true,
		Doc:        "−(t·log p + (1−t)·log(1−p)), averaged over the outputs and the batch. With a sigmoid output the sigmoid is fused into the gradient.",
		FusedAct:   "sigmoid",
		Fields:     []Field{fromLogits, labelSmoothing},
	},
	"mse": {
		Doc: "(p − t)², averaged over the outputs and the batch (Keras's mean_squared_error).",
	},
	// Keras's other losses (keras/src/losses/losses.py): each a mean over
	// the last axis (a sum where said), averaged over the batch.
	"huber": {
		Doc:    "½·x² for |x| ≤ delta, else delta·|x| − ½·delta², x = p − t.",
		Fields: []Field{{Name: "delta", Type: FloatField, Default: 1.0, Doc: "Where the loss turns from quadratic to linear.", Check: positiveFloat}},
	},
	"mae":               {Doc: "|p − t| (Keras's mean_absolute_error)."},
	"mape":              {Doc: "100·|t − p| / max(|t|, 1e-7) (Keras's mean_absolute_percentage_error)."},
	"msle":              {Doc: "(log(max(p, 1e-7) + 1) − log(max(t, 1e-7) + 1))² (Keras's mean_squared_logarithmic_error)."},
	"hinge":             {Doc: "max(1 − t·p, 0), targets −1 or 1 (a target 0 counts as −1, as Keras converts 0/1 labels).", Classifies: true},
	"squared_hinge":     {Doc: "max(1 − t·p, 0)², targets −1 or 1 (a target 0 counts as −1).", Classifies: true},
	"categorical_hinge": {Doc: "max(max_j (1 − t_j)·p_j − Σ_j t_j·p_j + 1, 0) per sample, targets one-hot.", Classifies: true},
	"kl_divergence":     {Doc: "Σ t·log(t/p) over the last axis (a sum), t and p clipped to [1e-7, 1]."},
	"poisson":           {Doc: "p − t·log(p + 1e-7)."},
	"log_cosh":          {Doc: "log(cosh(p − t))."},
	"cosine_similarity": {Doc: "−Σ t̂·p̂ over the last axis, each l2-normalized (x/√max(Σx², 1e-12)); −1 when they point the same way."},
	"binary_focal_crossentropy": {
		Classifies: true,
		Doc:        "(1 − p_t)^gamma·bce with p_t = t·p + (1 − t)·(1 − p) and bce the binary cross-entropy, times t·alpha + (1 − t)·(1 − alpha) with apply_class_balancing; p clipped to [1e-7, 1 − 1e-7] in bce.",
		Fields: []Field{
			{Name: "apply_class_balancing", Type: BoolField, Default: false, Doc: "Weigh the classes by alpha and 1 − alpha."},
			{Name: "alpha", Type: FloatField, Default: 0.25, Doc: "The weight of class 1 with apply_class_balancing.", Check: func(v any) string {
				if a := v.(float64); a < 0 || a > 1 {
					return "must be in [0, 1]"
				}
				return ""
			}},
			{Name: "gamma", Type: FloatField, Default: 2.0, Doc: "The focusing exponent.", Check: func(v any) string {
				if v.(float64) < 0 {
					return "must not be negative"
				}
				return ""
			}},
			fromLogits, labelSmoothing,
		},
	},
}

func positiveFloat(v any) string {
	if v.(float64) <= 0 {
		return "must be positive"
	}
	return ""
}

// Classes returns the number of classes of m's output and the rows of
// them per sample, when m is a classifier (its loss Classifies, without
// named terms): the output's last axis, or 2 for one output (0 and 1);
// else 0, 0. class_weight weighs the samples by the class of their target:
// the largest value of a row, or for one output whether it is at least ½.
func Classes(m *ir.Model) (classes, rows int) {
	l, ok := LookupLoss(m.Loss.Kind)
	if !ok || !l.Classifies || m.Loss.Terms != nil || m.Output == nil || m.Output.Shape == nil {
		return 0, 0
	}
	c, rows := LossRows(m)
	return max(c, 2), rows
}

// LossFusedAct returns the output activation that m's loss folds into its
// gradient ("" for none): none when the loss takes logits.
func LossFusedAct(m *ir.Model) string {
	l, ok := LookupLoss(m.Loss.Kind)
	if !ok || m.Loss.Bool("from_logits") {
		return ""
	}
	return l.FusedAct
}

// LossAliases maps Keras's other names of a loss to its name here.
var LossAliases = map[string]string{
	"sparse_categorical_crossentropy": "categorical_crossentropy",
	"mean_squared_error":              "mse",
	"mean_absolute_error":             "mae",
	"mean_absolute_percentage_error":  "mape",
	"mean_squared_logarithmic_error":  "msle",
	"kld":                             "kl_divergence",
	"kullback_leibler_divergence":     "kl_divergence",
	"logcosh":                         "log_cosh",
}

// LookupLoss returns the loss with the given name or alias.
func LookupLoss(name string) (*Loss, bool) {
	if a, ok := LossAliases[name]; ok {
		name = a
	}
	l, ok := losses[name]
	return l, ok
}

// LossNames returns the loss names (aliases included), sorted.
func LossNames() []string {
	var l []string
	for k := range losses {
		l = append(l, k)
	}
	for k := range LossAliases {
		l = append(l, k)
	}
	sort.Strings(l)
	return l
}
