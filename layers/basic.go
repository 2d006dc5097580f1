package layers

import (
	"fmt"
	"math"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

const rngPkg = "github.com/nngen/nngen/runtime/rng"

func sameShape(n *ir.Node, in [][]int) ([]int, error) { return append([]int(nil), in[0]...), nil }

// addInto emits dst (+)= src over n values, both slice expressions.
func (e *Emitter) addInto(dst, src Code, acc bool) {
	op := "="
	if acc {
		op = "+="
	}
	e.Block(
		Id("dst").Op(":=").Add(dst),
		Id("src").Op(":=").Add(src).Index(Op(":").Len(Id("dst"))),
		For(Id("i").Op(":=").Range().Id("dst")).Block(Id("dst").Index(Id("i")).Op(op).Id("src").Index(Id("i"))),
	)
}

func init() {
	Register(&Kind{
		Name:        "Activation",
		Featurewise: true,
		Doc:         "Applies an activation function to its input.",
		Fields:      []Field{actField(nil)},
		Shape:       sameShape,
		Act:         func(n *ir.Node) string { return n.Str("activation") },
		Summary: func(n *ir.Node) string {
			return "Activation " + n.Str("activation")
		},
		Forward: func(e *Emitter, n *ir.Node) {
			e.Add(Copy(e.Out(n), e.Out(n.Inputs[0])))
			e.Activate(n, n.Str("activation"))
		},
		Backward: func(e *Emitter, n *ir.Node) {
			e.ActBackward(n, n.Str("activation"))
			if dx, acc, ok := e.GradIn(n, 0); ok {
				e.addInto(Parens(dx).Index(Op(":")), e.Grad(n), acc)
			}
		},
	})
	Register(&Kind{
		Name:        "Dropout",
		Inference:   &Inference{},
		Featurewise: true,
		Doc:         "Sets each input to zero with probability rate during training and scales the others by 1/(1−rate); the identity at inference. Masks come from the model's seeded generator, one stream per step.",
		Fields: []Field{{Name: "rate", Type: FloatField, Doc: "Fraction of the inputs to drop.", Check: func(v any) string {
			if r := v.(float64); r < 0 || r >= 1 {
				return "must be in [0, 1)"
			}
			return ""
		}}},
		Alias: AliasInference,
		Shape: sameShape,
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("Dropout %g", n.Float("rate"))
		},
		Forward: func(e *Emitter, n *ir.Node) {
			rate := n.Float("rate")
			mask := n.Name + "_mask"
			e.Use(mask, e.Batch*n.Size(), "dropout mask of layer "+n.Name)
			// Each 64-bit draw decides two elements, 32 bits each: kept
			// where the bits are at least rate·2³². The select is branch
			// free (a borrow out of the subtraction), since a branch on a
			// random bit mispredicts half the time.
			bits, from, ut := "Float32bits", "Float32frombits", "uint32"
			if e.Model.DType == "float64" {
				bits, from, ut = "Float64bits", "Float64frombits", "uint64"
			}
			e.Block(
				Id("r").Op(":=").Qual(rngPkg, "New").Call(Id("m").Dot("seed"), e.Stream(n)),
				Id("mask").Op(":=").Id("m").Dot(mask).Index(Op(":")),
				Id("in").Op(":=").Add(e.Out(n.Inputs[0])).Index(Op(":").Len(Id("mask"))),
				Id("out").Op(":=").Add(e.Out(n)).Index(Op(":").Len(Id("mask"))),
				Id("scale").Op(":=").Qual(mathPkg, bits).Call(e.Lit(1/(1-rate))),
				Var().Id("u").Uint64(),
				For(Id("i").Op(":=").Range().Id("mask")).Block(
					If(Id("i").Op("&").Lit(1).Op("==").Lit(0)).Block(Id("u").Op("=").Id("r").Dot("Uint64").Call()).Else().Block(Id("u").Op(">>=").Lit(32)),
					Id("keep").Op(":=").Lit(1).Op("-").Parens(Parens(Id("u").Op("&").Lit(0xffffffff).Op("-").Lit(uint64(math.Round(rate*(1<<32))))).Op(">>").Lit(63)),
					Id("k").Op(":=").Qual(mathPkg, from).Call(Id("scale").Op("&").Op("-").Id(ut).Call(Id("keep"))),
					Id("mask").Index(Id("i")).Op("=").Id("k"),
					Id("out").Index(Id("i")).Op("=").Id("in").Index(Id("i")).Op("*").Id("k"),
				),
			)
		},
		Backward: func(e *Emitter, n *ir.Node) {
			dx, acc, ok := e.GradIn(n, 0)
			if !ok {
				return
			}
			op := "="
			if acc {
				op = "+="
			}
			e.Block(
				Id("mask").Op(":=").Id("m").Dot(n.Name+"_mask").Index(Op(":")),
				Id("d").Op(":=").Add(e.Grad(n)).Index(Op(":").Len(Id("mask"))),
				Id("dx").Op(":=").Parens(dx).Index(Op(":").Len(Id("mask"))),
				For(Id("i").Op(":=").Range().Id("mask")).Block(
					Id("dx").Index(Id("i")).Op(op).Id("d").Index(Id("i")).Op("*").Id("mask").Index(Id("i")),
				),
			)
		},
	})
	Register(&Kind{
		Name:  "Flatten",
		Doc:   "Flattens each sample to one axis. Costs nothing: the output is the input's memory.",
		Alias: AliasAlways,
		Shape: func(n *ir.Node, in [][]int) ([]int, error) { return []int{ir.Prod(in[0])}, nil },
		Summary: func(n *ir.Node) string {
			return fmt.Sprintf("Flatten %v→[%d]", n.Inputs[0].Shape, n.Size())
		},
		Forward:  func(e *Emitter, n *ir.Node) {},
		Backward: func(e *Emitter, n *ir.Node) {},
	})
}
