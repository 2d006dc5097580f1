package emit

import (
	"math"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

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

// dropMask returns the statements that fill the slice mask with inverted
// dropout factors from the generator r: 0 with probability rate, else
// 1/(1−rate); more runs after each, with the factor in k.
func (e *Emitter) dropMask(rate float64, more ...Code) []Code {
	// Each 64-bit draw decides two elements, 32 bits each: kept where the
	// bits are at least rate·2³². The select is branch free (a borrow out
	// of the subtraction), since a branch on a random bit mispredicts half
	// the time.
	bits, from, ut := "Float32bits", "Float32frombits", "uint32"
	if e.Model.DType == "float64" {
		bits, from, ut = "Float64bits", "Float64frombits", "uint64"
	}
	return []Code{
		Id("scale").Op(":=").Qual(mathPkg, bits).Call(e.Lit(1 / (1 - rate))),
		Var().Id("u").Uint64(),
		For(Id("i").Op(":=").Range().Id("mask")).Block(append([]Code{
			If(Id("i").Op("&").Lit(1).Op("==").Lit(0)).Block(Id("u").Op("=").Id("r").Dot("Uint64").Call()).Else().Block(Id("u").Op(">>=").Lit(32)),
			Id("keep").Op(":=").Lit(1).Op("-").Parens(Parens(Id("u").Op("&").Lit(0xffffffff).Op("-").Lit(uint64(math.Round(rate * (1 << 32))))).Op(">>").Lit(63)),
			Id("k").Op(":=").Qual(mathPkg, from).Call(Id("scale").Op("&").Op("-").Id(ut).Call(Id("keep"))),
			Id("mask").Index(Id("i")).Op("=").Id("k"),
		}, more...)...),
	}
}

func init() {
	Register("Activation", &Kind{
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
	Register("Dropout", &Kind{
		Forward: func(e *Emitter, n *ir.Node) {
			rate := n.Float("rate")
			mask := n.Name + "_mask"
			e.Use(mask, e.Batch*n.Size(), "dropout mask of layer "+n.Name)
			e.Block(append([]Code{
				Id("r").Op(":=").Qual(rngPkg, "New").Call(Id("m").Dot("seed"), e.Stream(n)),
				Id("mask").Op(":=").Id("m").Dot(mask).Index(Op(":")),
				Id("in").Op(":=").Add(e.Out(n.Inputs[0])).Index(Op(":").Len(Id("mask"))),
				Id("out").Op(":=").Add(e.Out(n)).Index(Op(":").Len(Id("mask"))),
			}, e.dropMask(rate, Id("out").Index(Id("i")).Op("=").Id("in").Index(Id("i")).Op("*").Id("k"))...)...)
		},
		Backward: dropoutBackward,
	})
	Register("Flatten", &Kind{
		Forward:  func(e *Emitter, n *ir.Node) {},
		Backward: func(e *Emitter, n *ir.Node) {},
	})
}

// dropoutBackward is the backward pass of a dropout layer: dx (+)= d·mask,
// the mask holding 0 or 1/(1−rate) per value of the batch.
func dropoutBackward(e *Emitter, n *ir.Node) {
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
}
