package emit

import (
	"fmt"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// Slice: a box of each sample, copied run by run (a run is the box's extent
// along the last axis).

func init() {
	Register("Slice", &Kind{Forward: sliceForward, Backward: sliceBackward})
}

// sliceRuns returns the loops over every run of n's box, body receiving the
// offsets of the run in the output and in the input sample, and the run's
// length.
func sliceRuns(n *ir.Node, body func(out, src Code, length int) Code) Code {
	in, out, begin := n.Inputs[0].Shape, n.Shape, n.Attrs["begin"].([]int)
	r := len(in)
	stride := make([]int, r)
	for i, s := r-1, 1; i >= 0; i-- {
		stride[i], s = s, s*in[i]
	}
	var o *Statement // the output run's offset
	src := Lit(begin[r-1])
	for i := 0; i < r-1; i++ {
		v := Id(fmt.Sprint("o", i))
		if i == 0 {
			o = v.Clone()
		} else {
			o = Parens(o).Op("*").Lit(out[i]).Op("+").Add(v.Clone())
		}
		src = src.Op("+").Parens(v.Clone().Op("+").Lit(begin[i])).Op("*").Lit(stride[i])
	}
	if r > 1 {
		o = Parens(o).Op("*").Lit(out[r-1])
	} else {
		o = Lit(0)
	}
	loop := body(o, src, out[r-1])
	for i := r - 2; i >= 0; i-- {
		v := fmt.Sprint("o", i)
		loop = For(Id(v).Op(":=").Lit(0), Id(v).Op("<").Lit(out[i]), Id(v).Op("++")).Block(loop)
	}
	return loop
}

// sliceForward: y[o] = x[begin + o] for every index o of the box.
func sliceForward(e *Emitter, n *ir.Node) {
	e.batchLoop(append(e.fwdSamples(n), sliceRuns(n, func(out, src Code, length int) Code {
		return Copy(Id("y").Index(Add(out).Op(":")).Index(Op(":").Lit(length)), Id("x").Index(Add(src).Op(":")).Index(Op(":").Lit(length)))
	}))...)
}

// sliceBackward: dx[begin + o] (+)= d[o], zero outside the box.
func sliceBackward(e *Emitter, n *ir.Node) {
	body, acc, ok := e.bwdSamples(n)
	if !ok {
		return
	}
	if !acc && n.Size() < n.Inputs[0].Size() {
		body = append(body, Clear(Id("dx")))
	}
	e.batchLoop(append(body, sliceRuns(n, func(out, src Code, length int) Code {
		return addRun(Id("dx").Index(Add(src).Op(":")).Index(Op(":").Lit(length)), Id("d").Index(Add(out).Op(":")).Index(Op(":").Lit(length)), acc)
	}))...)
}
