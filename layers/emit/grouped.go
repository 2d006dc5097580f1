package emit

import (
	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
)

// A grouped convolution (groups > 1) runs group by group: for group i, the
// im2col copy of its channels, a product with its block of the kernel,
// and the copy of the result into its filters' columns of the output.
// Backward gathers each group's columns of the output gradient and runs
// the products of Conv2D's im2col path on them.

// groupGeom returns the geometry of one group of a grouped convolution
// (its channels), and the groups, filters and columns (window values) of
// a group.
func groupGeom(n *ir.Node, g convGeom) (gg convGeom, groups, fg, kg int) {
	groups = n.Int("groups")
	gg = g
	gg.C = g.C / groups
	return gg, groups, n.Int("filters") / groups, gg.C * g.KH * g.KW
}

// groupBufs records the scratch buffers of a grouped convolution: one
// group's windows, its kernel in [filters][kh][kw][channels/groups] order
// (a group's block contiguous), and one group's columns of the output.
func (e *Emitter) groupBufs(n *ir.Node, g convGeom) (col, wt, part string) {
	_, _, fg, kg := groupGeom(n, g)
	ohw, f := g.OH*g.OW, n.Int("filters")
	col, wt, part = n.Name+"_gcol", n.Name+"_gwt", n.Name+"_gpart"
	e.Use(col, ohw*kg, "im2col windows of one group of one sample of layer "+n.Name)
	e.Use(wt, f*kg, "kernel of layer "+n.Name+" in [filters][kh][kw][channels/groups] order")
	e.Use(part, ohw*fg, "one group's columns of the output (or its gradient) of one sample of layer "+n.Name)
	return col, wt, part
}

// groupIm2col emits the copy of group gi's channels of input sample x
// (a slice variable) into the column buffer.
func groupIm2col(gg convGeom, cin int, col string) Code {
	run := func(buf string, off Code) *Statement {
		return Id(buf).Index(Add(off).Op(":")).Index(Op(":").Lit(gg.C))
	}
	return Block(
		Id("col").Op(":=").Id("m").Dot(col).Index(Op(":")),
		windowsIn(gg, cin, func(row, tap, in Code) []Code {
			return []Code{Copy(run("col", Add(row).Op("+").Add(tap).Op("*").Lit(gg.C)), run("x", Add(in).Op("+").Id("gi").Op("*").Lit(gg.C)))}
		}, func(row, tap Code) []Code {
			return []Code{Clear(run("col", Add(row).Op("+").Add(tap).Op("*").Lit(gg.C)))}
		}),
	)
}

// groupColumns emits the copy between part ([OH·OW][fg]) and group gi's
// columns of the [OH·OW][f] sample out, both slice variables: into out, or
// from it with gather.
func groupColumns(rows, f, fg int, out, part string, gather bool) Code {
	o := Id(out).Index(Id("r").Op("*").Lit(f).Op("+").Id("gi").Op("*").Lit(fg).Op(":")).Index(Op(":").Lit(fg))
	p := Id(part).Index(Id("r").Op("*").Lit(fg).Op(":")).Index(Op(":").Lit(fg))
	if gather {
		o, p = p, o
	}
	return For(Id("r").Op(":=").Lit(0), Id("r").Op("<").Lit(rows), Id("r").Op("++")).Block(Copy(o, p))
}

// inSample declares x, sample b of n's input.
func (e *Emitter) inSample(n *ir.Node) Code {
	inSize := n.Inputs[0].Size()
	return Id("x").Op(":=").Id("m").Dot(e.OutName(n.Inputs[0])).Index(Id("b").Op("*").Lit(inSize).Op(":").Parens(Id("b").Op("+").Lit(1)).Op("*").Lit(inSize))
}

// convForwardGrouped: out[:, group i] = im2col(x[:, :, group i])·W_iᵀ.
func convForwardGrouped(e *Emitter, n *ir.Node, g convGeom) {
	gg, groups, fg, kg := groupGeom(n, g)
	f, ohw := n.Int("filters"), g.OH*g.OW
	col, wt, part := e.groupBufs(n, g)
	w, _ := e.Param(n, "weight")
	e.Add(permute(gg, f, w, e.Arr(wt), orderTaps, false))
	outName, outSize := e.OutName(n), n.Size()
	k := GEMM{Layout: NT, M: ohw, N: fg, K: kg}
	body := []Code{
		e.inSample(n),
		Id("out").Op(":=").Id("m").Dot(outName).Index(Id("b").Op("*").Lit(outSize).Op(":").Parens(Id("b").Op("+").Lit(1)).Op("*").Lit(outSize)),
		For(Id("gi").Op(":=").Lit(0), Id("gi").Op("<").Lit(groups), Id("gi").Op("++")).Block(
			groupIm2col(gg, g.C, col),
			e.gemmCall(k, e.Arr(part), e.Arr(col), view("m."+wt, Id("gi").Op("*").Lit(fg*kg), fg*kg)),
			Id("p").Op(":=").Id("m").Dot(part).Index(Op(":")),
			groupColumns(ohw, f, fg, "out", "p", false),
		),
	}
	e.batchLoop(append(body, e.biasAct(n, g, outName)...)...)
	if act := n.Str("activation"); Batched(act) {
		e.Activate(n, act)
	}
}

// convBackwardGrouped: per group i, dW_i += dy_iᵀ·im2col(x_i) and
// dx_i += col2im(dy_i·W_i), dy_i group i's columns of the output gradient.
func convBackwardGrouped(e *Emitter, n *ir.Node, g convGeom) {
	gg, groups, fg, kg := groupGeom(n, g)
	f, ohw := n.Int("filters"), g.OH*g.OW
	dy, body := e.gradPrologue(n, ohw)
	col, wt, part := e.groupBufs(n, g)
	dw, _ := e.ParamGrad(n, "weight")
	dwt := n.Name + "_gdwt"
	e.Use(dwt, f*kg, "kernel gradient of layer "+n.Name+" in [filters][kh][kw][channels/groups] order")
	e.Add(Op("*").Add(e.Arr(dwt)).Op("=").Index(Lit(f * kg)).Id("Float").Values())
	perGroup := []Code{
		Id("p").Op(":=").Id("m").Dot(part).Index(Op(":")),
		groupColumns(ohw, f, fg, "dy", "p", true),
		groupIm2col(gg, g.C, col),
		e.gemmCall(GEMM{Layout: TN, M: fg, N: kg, K: ohw, Acc: true}, view("m."+dwt, Id("gi").Op("*").Lit(fg*kg), fg*kg), e.Arr(part), e.Arr(col)),
	}
	body = append(body, e.inSample(n), Id("dy").Op(":=").Parens(dy).Index(Op(":")))
	if dx, acc, ok := e.GradIn(n, 0); ok {
		w, _ := e.Param(n, "weight")
		e.Add(permute(gg, f, w, e.Arr(wt), orderTaps, false))
		inSize := n.Inputs[0].Size()
		body = append(body, Id("dx").Op(":=").Parens(dx).Index(Id("b").Op("*").Lit(inSize).Op(":").Parens(Id("b").Op("+").Lit(1)).Op("*").Lit(inSize)))
		if !acc {
			body = append(body, Clear(Id("dx")))
		}
		run := func(buf string, off Code) *Statement {
			return Id(buf).Index(Add(off).Op(":")).Index(Op(":").Lit(gg.C))
		}
		// The windows' gradient overwrites the windows, then col2im adds
		// each back into the group's channels of dx.
		perGroup = append(perGroup,
			e.gemmCall(GEMM{Layout: NN, M: ohw, N: kg, K: fg}, e.Arr(col), e.Arr(part), view("m."+wt, Id("gi").Op("*").Lit(fg*kg), fg*kg)),
			Block(
				Id("col").Op(":=").Id("m").Dot(col).Index(Op(":")),
				windowsIn(gg, g.C, func(row, tap, in Code) []Code {
					return []Code{
						Id("px").Op(":=").Add(run("dx", Add(in).Op("+").Id("gi").Op("*").Lit(gg.C))),
						Id("pc").Op(":=").Add(run("col", Add(row).Op("+").Add(tap).Op("*").Lit(gg.C))),
						For(Id("c").Op(":=").Range().Id("px")).Block(Id("px").Index(Id("c")).Op("+=").Id("pc").Index(Id("c"))),
					}
				}, nil),
			),
		)
	}
	body = append(body, For(Id("gi").Op(":=").Lit(0), Id("gi").Op("<").Lit(groups), Id("gi").Op("++")).Block(perGroup...))
	e.batchLoop(body...)
	e.Add(permute(gg, f, dw, e.Arr(dwt), orderTaps, true))
}
