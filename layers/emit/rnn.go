package emit

import (
	"fmt"

	. "github.com/dave/jennifer/jen"

	"github.com/nngen/nngen/ir"
	"github.com/nngen/nngen/layers"
)

// The recurrent layers (SimpleRNN, LSTM, GRU) share one scheme. The input
// [batch, T, F] is copied time-major, [T, batch, F], so that every step's
// rows are contiguous; the input projections of all steps are one GEMM,
// [T·batch, F]·W_ihᵀ (an outer product over a transposed copy of the
// weights, as is the recurrent one), into the gates buffer [T, batch, G·H] (G gates of H
// units); each step adds h_{t−1}·W_hhᵀ with one more GEMM and runs the
// element-wise gate math. The time loop is unrolled at generation time: all
// offsets are constants. Hidden states are kept time-major in
// [T+1, batch, H] with h_0 = 0, so that backward gets dW_hh from one GEMM
// over all steps, as it gets dW_ih and the input gradient. The gates buffer
// starts as b_ih + b_hh and the input GEMM adds to it; with the default
// activations, LSTM's element-wise backward step is the LSTMGrad kernel.
//
// Parameters follow PyTorch's nn.RNN/nn.LSTM/nn.GRU: weight_ih_l0 [G·H, F],
// weight_hh_l0 [G·H, H], bias_ih_l0 and bias_hh_l0 [G·H], gates in the
// order i, f, g, o (LSTM) and r, z, n (GRU).

// cell is the part of a layers.Cell that the code reads.
type cell struct {
	name  string
	gates int
}

func init() {
	for _, lc := range layers.Cells {
		c := cell{lc.Name, lc.Gates}
		Register(c.name, &Kind{
			Forward:  func(e *Emitter, n *ir.Node) { e.rnnForward(c, n) },
			Backward: func(e *Emitter, n *ir.Node) { e.rnnBackward(c, n) },
		})
	}
}

// rnn holds the sizes and buffer names of one recurrent node in a variant.
type rnn struct {
	c                cell
	n                *ir.Node
	T, F, H, B, G    int // steps, features, units, batch, gate rows G·H
	act, gact        string
	seq              bool
	xt, gates, h     string // time-major input, gates, states
	cs, tc, hp, hn   string // LSTM cells and tanh of them; GRU scratch and W_hn·h+b_hn
	dg, dgh, dh, dc  string // gradients
	wihT, whhT       string // the weights transposed, [in, G·H]
	wih, whh, bi, bh Code
	// Dropout in training: the masks of the input features and of the
	// state (scaled factors, one per sample and feature or unit), the
	// masked states h_t·mask that enter the recurrent products, and
	// GRU's scratch for the masked part of the state gradient.
	xm, hm, hd, dhr string
	// GRU with reset_after false (Keras's original formula): the reset
	// gate applies to h_{t−1} before the product with W_hn, whose copy
	// transposed whnT is; rh holds r·h_{t−1} of every step and dn the
	// gradients of the n rows, both [T, batch, H]; drh is one step's
	// gradient of r·h_{t−1}.
	rb                bool
	whnT, rh, dn, drh string
	// init marks a layer that starts from the states its inputs after
	// the first give (Keras's initial_state), not from zeros: step 0's
	// recurrent product counts, and backward hands on the gradients of
	// h_0 and c_0. hOut and cOut are the Output nodes that read the
	// final states (return_state), nil where no layer does.
	init       bool
	hOut, cOut *ir.Node
	// With a mask (mask_zero of an Embedding), ids are its token ids,
	// [batch, T]: a step whose id is 0 keeps the state and repeats the
	// previous output. mh and mc keep, in backward, the gradients of
	// h_t and c_t of the masked samples of a step, which pass to
	// h_{t−1} and c_{t−1} unchanged.
	ids    Code
	mh, mc string
}

func (e *Emitter) rnnOf(c cell, n *ir.Node) *rnn {
	r := &rnn{c: c, n: n, T: n.Inputs[0].Shape[0], F: n.Inputs[0].Shape[1], H: n.Int("units"), B: e.Batch,
		act: n.Str("activation"), gact: "sigmoid", seq: n.Bool("return_sequences"),
		init: layers.InitialState(n), hOut: e.OutputOf(n, "state_h"), cOut: e.OutputOf(n, "state_c")}
	if n.Mask != nil {
		r.ids = e.Out(n.Mask.Inputs[0])
	}
	if c.gates > 1 {
		r.gact = n.Str("recurrent_activation")
	}
	r.G = c.gates * r.H
	use := func(what string, size int, doc string) string {
		name := n.Name + "_" + what + e.Suffix
		e.Use(name, size, doc+" of layer "+n.Name)
		return name
	}
	T, B, F, H, G := r.T, r.B, r.F, r.H, r.G
	r.xt = use("xt", T*B*F, "time-major input [T, batch, F]")
	r.gates = use("gates", T*B*G, "gate values [T, batch, G·H]")
	r.h = use("h", (T+1)*B*H, "hidden states h_0..h_T [T+1, batch, H]")
	if c.name == "LSTM" {
		r.cs = use("c", (T+1)*B*H, "cell states c_0..c_T [T+1, batch, H]")
		r.tc = use("tc", T*B*H, "activation of the cell states [T, batch, H]")
	}
	if c.name == "GRU" && !n.Bool("reset_after") {
		r.rb = true
		r.whnT = use("whnT", H*H, "W_hn, rows 2H..3H of weight_hh, transposed [H, H]")
		r.rh = use("rh", T*B*H, "reset states r·h_{t−1} [T, batch, H]")
	}
	if c.name == "GRU" {
		r.hp = use("hp", B*G, "recurrent product of one step [batch, G·H]")
		r.hn = use("hn", T*B*H, "W_hn·h_{t−1} + b_hn [T, batch, H]")
	}
	if e.Train && n.Float("dropout") > 0 {
		r.xm = use("xmask", B*F, "dropout mask of the input features [batch, F]")
	}
	if e.Train && n.Float("recurrent_dropout") > 0 {
		r.hm = use("hmask", B*H, "recurrent dropout mask of the state [batch, H]")
		r.hd = use("hd", T*B*H, "masked states h_t·hmask, t < T, [T, batch, H]")
	}
	r.wihT = use("wihT", F*G, "weight_ih transposed, [F, G·H]")
	r.whhT = use("whhT", H*G, "weight_hh transposed, [H, G·H]")
	r.wih, _ = e.Param(n, "weight_ih_l0")
	r.whh, _ = e.Param(n, "weight_hh_l0")
	if n.Bool("use_bias") {
		r.bi, _ = e.Param(n, "bias_ih_l0")
		if !r.rb {
			r.bh, _ = e.Param(n, "bias_hh_l0")
		}
	}
	return r
}

// grads records the gradient buffers (training variant only).
func (e *Emitter) rnnGrads(r *rnn) {
	use := func(what string, size int, doc string) string {
		name := r.n.Name + "_" + what
		e.Use(name, size, doc+" of layer "+r.n.Name)
		return name
	}
	T, B, H, G := r.T, r.B, r.H, r.G
	r.dg = use("dg", T*B*G, "gradient of the gate pre-activations [T, batch, G·H]")
	if r.c.name == "GRU" {
		r.dgh = use("dgh", T*B*G, "gradient of the recurrent products [T, batch, G·H]")
	}
	r.dh = use("dh", B*H, "gradient of one step's state [batch, H]")
	if r.ids != nil {
		r.mh = use("mh", B*H, "gradient of the state of a step's masked samples [batch, H]")
		if r.c.name == "LSTM" {
			r.mc = use("mc", B*H, "gradient of the cell state of a step's masked samples [batch, H]")
		}
	}
	if r.c.name == "LSTM" {
		r.dc = use("dc", B*H, "gradient of one step's cell state [batch, H]")
	}
	if r.c.name == "GRU" && r.hm != "" {
		r.dhr = use("dhr", B*H, "gradient of one step's masked state [batch, H]")
	}
	if r.rb {
		r.dn = use("dn", T*B*H, "gradient of the n rows' pre-activations [T, batch, H]")
		r.drh = use("drh", B*H, "gradient of one step's r·h_{t−1} [batch, H]")
	}
}

// transposeW returns the copy of the row-major [rows, cols] matrix src
// (an expression indexable as a slice) into dst as [cols, rows].
func transposeW(src, dst Code, rows, cols int) Code {
	return Block(
		Id("src").Op(":=").Add(src),
		Id("dst").Op(":=").Add(dst),
		For(Id("i").Op(":=").Lit(0), Id("i").Op("<").Lit(rows), Id("i").Op("++")).Block(
			Id("row").Op(":=").Id("src").Index(Id("i").Op("*").Lit(cols).Op(":")).Index(Op(":").Lit(cols)),
			For(List(Id("j"), Id("v")).Op(":=").Range().Id("row")).Block(
				Id("dst").Index(Id("j").Op("*").Lit(rows).Op("+").Id("i")).Op("=").Id("v"))),
	)
}

// at is m.buf[off:off+n] as an array pointer.
func at(buf string, off, n int) *Statement {
	return Parens(Op("*").Index(Lit(n)).Id("Float")).Call(field(buf).Index(Lit(off).Op(":").Lit(off + n)))
}

// seg is m.buf[off:off+n] as a slice.
func seg(buf string, off, n int) *Statement { return field(buf).Index(Lit(off).Op(":").Lit(off + n)) }

const fastmathPkg = "github.com/nngen/nngen/runtime/fastmath"

// cellDer returns the statements multiplying variable d by the derivative
// of act at the point where it output y.
func cellDer(act, d, y string) []Code {
	switch act {
	case "tanh":
		return []Code{Id(d).Op("*=").Lit(1).Op("-").Id(y).Op("*").Id(y)}
	case "sigmoid":
		return []Code{Id(d).Op("*=").Id(y).Op("*").Parens(Lit(1).Op("-").Id(y))}
	case "relu":
		return []Code{If(Id(y).Op("<=").Lit(0)).Block(Id(d).Op("=").Lit(0))}
	}
	return nil
}

// loopBH emits for b < B { prologue; for j < H { body } }.
func loopBH(r *rnn, prologue []Code, body []Code) Code {
	return For(Id("b").Op(":=").Lit(0), Id("b").Op("<").Lit(r.B), Id("b").Op("++")).Block(
		append(prologue, For(Id("j").Op(":=").Lit(0), Id("j").Op("<").Lit(r.H), Id("j").Op("++")).Block(body...))...)
}

// rowAt is `name := m.buf[base + b*stride:][:n]`.
func rowAt(name, buf string, base, stride, n int) Code {
	return Id(name).Op(":=").Add(field(buf)).Index(Lit(base).Op("+").Id("b").Op("*").Lit(stride).Op(":")).Index(Op(":").Lit(n))
}

// transpose emits the copy between the batch-major [B, T, F] buffer bm and
// the time-major [T, B, F] buffer tm (to time-major unless back; acc adds).
func transpose(r *rnn, bm, tm Code, back, acc bool) Code {
	T, B, F := r.T, r.B, r.F
	bmRow := Id("bm").Index(Parens(Id("b").Op("*").Lit(T).Op("+").Id("t")).Op("*").Lit(F).Op(":")).Index(Op(":").Lit(F))
	tmRow := Id("tm").Index(Parens(Id("t").Op("*").Lit(B).Op("+").Id("b")).Op("*").Lit(F).Op(":")).Index(Op(":").Lit(F))
	var body Code
	switch {
	case !back:
		body = Copy(tmRow, bmRow)
	case !acc:
		body = Copy(bmRow, tmRow)
	default:
		body = Block(
			Id("d").Op(":=").Add(bmRow),
			For(List(Id("i"), Id("v")).Op(":=").Range().Add(tmRow)).Block(Id("d").Index(Id("i")).Op("+=").Id("v")),
		)
	}
	return Block(
		Id("bm").Op(":=").Add(bm),
		Id("tm").Op(":=").Add(tm),
		For(Id("b").Op(":=").Lit(0), Id("b").Op("<").Lit(B), Id("b").Op("++")).Block(
			For(Id("t").Op(":=").Lit(0), Id("t").Op("<").Lit(T), Id("t").Op("++")).Block(body)),
	)
}

func (e *Emitter) rnnForward(c cell, n *ir.Node) {
	r := e.rnnOf(c, n)
	T, B, F, H, G := r.T, r.B, r.F, r.H, r.G
	e.Add(transpose(r, e.Out(n.Inputs[0]), field(r.xt).Index(Op(":")), false, false))
	r.drawMasks(e)
	if r.xm != "" {
		e.Add(r.maskSteps(r.xt))
	}
	// The products run as outer products (NN) over [in, G·H] copies of
	// the weights: long rows of G·H values vectorize at any F and H.
	e.Add(transposeW(r.wih, field(r.wihT).Index(Op(":")), G, F), transposeW(r.whh, field(r.whhT).Index(Op(":")), G, H))
	if r.rb {
		e.Add(transposeW(Parens(r.whh).Index(Lit(2*H*H).Op(":")), field(r.whnT).Index(Op(":")), H, H))
	}
	if r.bi != nil {
		// Biases: every row of gates starts as b_ih + b_hh (but for
		// GRU's n rows, whose b_hn it adds inside the reset), copied
		// in doubling pieces, and the input products add to them.
		hhRows := G
		if c.name == "GRU" {
			hhRows = 2 * H
		}
		var s []Code
		if r.bh != nil { // GRU's reset before has b_ih only
			s = append(s, Id("bh").Op(":=").Add(r.bh))
		}
		s = append(s,
			Id("gs").Op(":=").Add(field(r.gates)).Index(Op(":")),
			Copy(Id("gs"), Add(r.bi).Index(Op(":"))))
		if r.bh != nil {
			s = append(s, For(Id("j").Op(":=").Lit(0), Id("j").Op("<").Lit(hhRows), Id("j").Op("++")).Block(
				Id("gs").Index(Id("j")).Op("+=").Id("bh").Index(Id("j"))))
		}
		e.Block(append(s,
			For(Id("n").Op(":=").Lit(G), Id("n").Op("<").Lit(T*B*G), Id("n").Op("*=").Lit(2)).Block(
				Copy(Id("gs").Index(Id("n").Op(":")), Id("gs").Index(Op(":").Id("n")))))...)
	}
	e.GEMM(GEMM{Layout: NN, M: T * B, N: G, K: F, Acc: r.bi != nil}, e.Arr(r.gates), e.Arr(r.xt), e.Arr(r.wihT))
	// h_0 and c_0: the initial state (batch-major [batch, H] is step 0's
	// slot of the time-major states), or zeros.
	for i, buf := range []string{r.h, r.cs} {
		switch {
		case buf == "":
		case r.init:
			e.Add(Copy(seg(buf, 0, B*H), e.Out(n.Inputs[1+i])))
		default:
			e.Add(Clear(seg(buf, 0, B*H)))
		}
	}
	out := e.OutName(n)
	for t := 0; t < T; t++ {
		e.Add(Commentf("step %d", t))
		e.Add(r.step(e, t, out)...)
		if r.ids != nil {
			e.Add(r.maskStep(t, out))
		}
	}
	if !r.seq {
		e.Add(Copy(field(out).Index(Op(":")), seg(r.h, T*B*H, B*H)))
		if r.ids != nil && r.init {
			// Keras's last output of a sequence of padding only is 0.
			e.Block(Id("ids").Op(":=").Add(r.ids), r.bLoop(If(r.lead(T)).Block(Clear(field(out).Index(Id("b").Op("*").Lit(H).Op(":")).Index(Op(":").Lit(H))))))
		}
	}
	// return_state: the final states h_T and c_T.
	if r.hOut != nil {
		e.Add(Copy(e.Out(r.hOut), seg(r.h, T*B*H, B*H)))
	}
	if r.cOut != nil {
		e.Add(Copy(e.Out(r.cOut), seg(r.cs, T*B*H, B*H)))
	}
}

// masked is the condition that sample b's step t is masked: its id is 0.
func (r *rnn) masked(t int) *Statement {
	return Id("ids").Index(Id("b").Op("*").Lit(r.T).Op("+").Lit(t)).Op("==").Lit(0)
}

// lead is the condition that sample b's steps before t are all masked,
// as a call of a literal function (true for t = 0).
func (r *rnn) lead(t int) *Statement {
	if t == 0 {
		return True()
	}
	return Func().Params().Bool().Block(
		For(Id("s").Op(":=").Lit(0), Id("s").Op("<").Lit(t), Id("s").Op("++")).Block(
			If(Id("ids").Index(Id("b").Op("*").Lit(r.T).Op("+").Id("s")).Op("!=").Lit(0)).Block(Return(False()))),
		Return(True())).Call()
}

// row is buf[off + b·H:][:H].
func (r *rnn) row(buf string, off int) *Statement {
	return field(buf).Index(Lit(off).Op("+").Id("b").Op("*").Lit(r.H).Op(":")).Index(Op(":").Lit(r.H))
}

// maskStep returns the code that undoes forward step t for its masked
// samples, as Keras's masking: h_t = h_{t−1}, c_t = c_{t−1}, and the
// output repeats the previous one (0 before the first unmasked step).
func (r *rnn) maskStep(t int, out string) Code {
	B, H, T := r.B, r.H, r.T
	s := []Code{Copy(r.row(r.h, (t+1)*B*H), r.row(r.h, t*B*H))}
	if r.cs != "" {
		s = append(s, Copy(r.row(r.cs, (t+1)*B*H), r.row(r.cs, t*B*H)))
	}
	if r.seq {
		o := field(out).Index(Parens(Id("b").Op("*").Lit(T).Op("+").Lit(t)).Op("*").Lit(H).Op(":")).Index(Op(":").Lit(H))
		if r.init {
			s = append(s, If(r.lead(t)).Block(Clear(o)).Else().Block(Copy(o, r.row(r.h, t*B*H))))
		} else {
			s = append(s, Copy(o, r.row(r.h, t*B*H)))
		}
	}
	return Block(
		Id("ids").Op(":=").Add(r.ids),
		r.bLoop(If(r.masked(t)).Block(s...)))
}

// maskSave returns the code that keeps, before backward step t, the
// gradients of h_t (the state's, and the output's unless it was the
// constant 0 of leading padding) and c_t of the step's masked samples.
func (r *rnn) maskSave(t int, dout string) Code {
	H, T := r.H, r.T
	s := []Code{Copy(r.row(r.mh, 0), r.row(r.dh, 0))}
	if r.mc != "" {
		s = append(s, Copy(r.row(r.mc, 0), r.row(r.dc, 0)))
	}
	if r.seq && dout != "" {
		add := Block(
			Id("d").Op(":=").Add(r.row(r.mh, 0)),
			For(List(Id("j"), Id("v")).Op(":=").Range().Add(field(dout)).Index(Parens(Id("b").Op("*").Lit(T).Op("+").Lit(t)).Op("*").Lit(H).Op(":")).Index(Op(":").Lit(H))).Block(
				Id("d").Index(Id("j")).Op("+=").Id("v")))
		if r.init {
			add = If(Op("!").Add(r.lead(t))).Block(add)
		}
		s = append(s, add)
	}
	return Block(Id("ids").Op(":=").Add(r.ids), r.bLoop(If(r.masked(t)).Block(s...)))
}

// maskZero returns the code that clears the gate gradients of step t's
// masked samples, which then add nothing to the weights' and the input's
// gradients.
func (r *rnn) maskZero(t int) Code {
	B, G, H := r.B, r.G, r.H
	row := func(buf string, off, n int) Code {
		return Clear(field(buf).Index(Lit(off).Op("+").Id("b").Op("*").Lit(n).Op(":")).Index(Op(":").Lit(n)))
	}
	s := []Code{row(r.dg, t*B*G, G)}
	if r.dgh != "" {
		s = append(s, row(r.dgh, t*B*G, G))
	}
	if r.dn != "" {
		s = append(s, row(r.dn, t*B*H, H))
	}
	return Block(Id("ids").Op(":=").Add(r.ids), r.bLoop(If(r.masked(t)).Block(s...)))
}

// post returns the code that ends backward step t: the gradient of
// h_{t−1} through the recurrent product (recBack, from the gate
// gradients dg); with a mask, the masked samples' gate gradients cleared
// first, and the gradients of h_{t−1} and c_{t−1} they kept after.
func (r *rnn) post(e *Emitter, t int, dg string) []Code {
	if r.ids == nil {
		return r.recBack(e, t, dg)
	}
	s := append([]Code{r.maskZero(t)}, r.recBack(e, t, dg)...)
	restore := []Code{Copy(r.row(r.dh, 0), r.row(r.mh, 0))}
	if r.mc != "" {
		restore = append(restore, Copy(r.row(r.dc, 0), r.row(r.mc, 0)))
	}
	return append(s, Block(Id("ids").Op(":=").Add(r.ids), r.bLoop(If(r.masked(t)).Block(restore...))))
}

// rec reports whether step t's recurrent product counts: h_{t−1} is not
// the zero state.
func (r *rnn) rec(t int) bool { return t > 0 || r.init }

// actSlice returns act applied in place to the slice expression x, by
// fastmath's slice functions (vectorized for float32).
func actSlice(act string, x Code) Code {
	switch act {
	case "tanh":
		return Qual(fastmathPkg, "TanhSlice").Call(x)
	case "sigmoid":
		return Qual(fastmathPkg, "SigmoidSlice").Call(x)
	case "relu":
		return Qual(fastmathPkg, "ReluSlice").Call(x)
	}
	return Null()
}

// part is name[lo:hi].
func part(name string, lo, hi int) *Statement { return Id(name).Index(Lit(lo).Op(":").Lit(hi)) }

// jLoop is for j := 0; j < n; j++ { body }.
func jLoop(n int, body ...Code) Code {
	return For(Id("j").Op(":=").Lit(0), Id("j").Op("<").Lit(n), Id("j").Op("++")).Block(body...)
}

// bLoop is for b := 0; b < B; b++ { body }.
func (r *rnn) bLoop(body ...Code) Code {
	return For(Id("b").Op(":=").Lit(0), Id("b").Op("<").Lit(r.B), Id("b").Op("++")).Block(body...)
}

// step returns the code of forward step t: the recurrent product, then the
// activations over whole gate rows (vectorized) and the element-wise cell
// update.
func (r *rnn) step(e *Emitter, t int, out string) []Code {
	B, H, G, T := r.B, r.H, r.G, r.T
	var s []Code
	gOff, hIn, hOut := t*B*G, t*B*H, (t+1)*B*H
	// The recurrent product; h_0 = 0 contributes nothing.
	hr := r.h // the state the product reads
	if r.hd != "" && r.rec(t) {
		hr = r.hd
		s = append(s, Block(
			Id("h").Op(":=").Add(seg(r.h, hIn, B*H)),
			Id("hd").Op(":=").Add(seg(r.hd, hIn, B*H)),
			For(List(Id("i"), Id("k")).Op(":=").Range().Add(field(r.hm))).Block(Id("hd").Index(Id("i")).Op("=").Id("h").Index(Id("i")).Op("*").Id("k")),
		))
	}
	if r.rec(t) && r.c.name != "GRU" {
		s = append(s, e.gemmCall(GEMM{Layout: NN, M: B, N: G, K: H, Acc: true}, at(r.gates, gOff, B*G), at(hr, hIn, B*H), e.Arr(r.whhT)))
	}
	if r.c.name == "GRU" {
		if r.rec(t) {
			s = append(s, e.gemmCall(GEMM{Layout: NN, M: B, N: G, K: H}, e.Arr(r.hp), at(hr, hIn, B*H), e.Arr(r.whhT)))
		} else {
			s = append(s, Clear(field(r.hp).Index(Op(":"))))
		}
	}
	var outRow []Code // the output row of sample b at step t
	if r.seq {
		outRow = []Code{Id("o").Op(":=").Add(field(out)).Index(Parens(Id("b").Op("*").Lit(T).Op("+").Lit(t)).Op("*").Lit(H).Op(":")).Index(Op(":").Lit(H))}
	}
	store := func(v Code) []Code {
		st := []Code{Id("h").Index(Id("j")).Op("=").Add(v)}
		if r.seq {
			st = []Code{Id("v").Op(":=").Add(v), Id("h").Index(Id("j")).Op("=").Id("v"), Id("o").Index(Id("j")).Op("=").Id("v")}
		}
		return st
	}
	switch r.c.name {
	case "SimpleRNN":
		s = append(s, Copy(seg(r.h, hOut, B*H), seg(r.gates, gOff, B*G)), actSlice(r.act, seg(r.h, hOut, B*H)))
		if r.seq {
			s = append(s, r.bLoop(append(outRow, Copy(Id("o"), field(r.h).Index(Lit(hOut).Op("+").Id("b").Op("*").Lit(H).Op(":")).Index(Op(":").Lit(H))))...))
		}
	case "LSTM":
		s = append(s, r.bLoop(
			rowAt("g", r.gates, gOff, G, G),
			actSlice(r.gact, part("g", 0, 2*H)),
			actSlice(r.act, part("g", 2*H, 3*H)),
			actSlice(r.gact, part("g", 3*H, 4*H)),
			rowAt("cp", r.cs, hIn, H, H),
			rowAt("c", r.cs, hOut, H, H),
			jLoop(H, Id("c").Index(Id("j")).Op("=").Id("g").Index(Lit(H).Op("+").Id("j")).Op("*").Id("cp").Index(Id("j")).Op("+").Id("g").Index(Id("j")).Op("*").Id("g").Index(Lit(2*H).Op("+").Id("j"))),
		))
		s = append(s, Copy(seg(r.tc, t*B*H, B*H), seg(r.cs, hOut, B*H)), actSlice(r.act, seg(r.tc, t*B*H, B*H)))
		s = append(s, r.bLoop(append(append([]Code{
			rowAt("g", r.gates, gOff, G, G),
			rowAt("tc", r.tc, t*B*H, H, H),
			rowAt("h", r.h, hOut, H, H),
		}, outRow...),
			jLoop(H, store(Id("g").Index(Lit(3*H).Op("+").Id("j")).Op("*").Id("tc").Index(Id("j")))...))...))
	case "GRU":
		if r.rb {
			return append(s, r.resetBefore(e, t, outRow, store)...)
		}
		q := Id("hp").Index(Lit(2 * H).Op("+").Id("j"))
		pro := []Code{rowAt("g", r.gates, gOff, G, G), rowAt("hp", r.hp, 0, G, G)}
		if r.bh != nil {
			pro = append(pro, Id("bh").Op(":=").Add(r.bh))
			q = q.Op("+").Id("bh").Index(Lit(2 * H).Op("+").Id("j"))
		}
		body := append(pro,
			jLoop(2*H, Id("g").Index(Id("j")).Op("+=").Id("hp").Index(Id("j"))),
			actSlice(r.gact, part("g", 0, 2*H)),
			rowAt("hn", r.hn, t*B*H, H, H),
			jLoop(H,
				Id("q").Op(":=").Add(q),
				Id("hn").Index(Id("j")).Op("=").Id("q"),
				Id("g").Index(Lit(2*H).Op("+").Id("j")).Op("+=").Id("g").Index(Id("j")).Op("*").Id("q")),
			actSlice(r.act, part("g", 2*H, 3*H)),
			rowAt("hq", r.h, hIn, H, H),
			rowAt("h", r.h, hOut, H, H),
		)
		body = append(body, outRow...)
		body = append(body, jLoop(H, append([]Code{Id("z").Op(":=").Id("g").Index(Lit(H).Op("+").Id("j"))},
			store(Parens(Lit(1).Op("-").Id("z")).Op("*").Id("g").Index(Lit(2*H).Op("+").Id("j")).Op("+").Id("z").Op("*").Id("hq").Index(Id("j")))...)...))
		s = append(s, r.bLoop(body...))
	}
	return s
}

func (e *Emitter) rnnBackward(c cell, n *ir.Node) {
	r := e.rnnOf(c, n)
	e.rnnGrads(r)
	T, B, F, H, G := r.T, r.B, r.F, r.H, r.G
	// The gradient of the output: none when only its states are read.
	dout := ""
	if !OnlyOutputsRead(e.Model, n) {
		dout = e.GradName(n)
	}
	// dh_T and dc_T: the gradient of the last output (unless sequences),
	// plus those of the final states that return_state hands on.
	if r.seq || dout == "" {
		e.Add(Clear(field(r.dh).Index(Op(":"))))
	} else {
		e.Add(Copy(field(r.dh).Index(Op(":")), field(dout).Index(Op(":"))))
		if r.ids != nil && r.init {
			// The last output of a sequence of padding only is the constant 0.
			e.Block(Id("ids").Op(":=").Add(r.ids), r.bLoop(If(r.lead(T)).Block(Clear(r.row(r.dh, 0)))))
		}
	}
	if r.hOut != nil && e.GradWritten(r.hOut) {
		e.Block(Id("dh").Op(":=").Add(field(r.dh)).Index(Op(":")),
			For(List(Id("i"), Id("v")).Op(":=").Range().Add(e.Grad(r.hOut))).Block(Id("dh").Index(Id("i")).Op("+=").Id("v")))
	}
	if r.dc != "" {
		if r.cOut != nil && e.GradWritten(r.cOut) {
			e.Add(Copy(field(r.dc).Index(Op(":")), e.Grad(r.cOut)))
		} else {
			e.Add(Clear(field(r.dc).Index(Op(":"))))
		}
	}
	for t := T - 1; t >= 0; t-- {
		e.Add(Commentf("step %d", t))
		if r.ids != nil {
			e.Add(r.maskSave(t, dout))
		}
		e.Add(r.stepBack(e, t, dout)...)
		if r.ids != nil && !r.rec(t) {
			e.Add(r.maskZero(t))
		}
	}
	// initial_state: the gradients of h_0 and c_0, which the last step
	// (t = 0) left in dh and dc.
	for i, buf := range []string{r.dh, r.dc} {
		if !r.init || buf == "" {
			continue
		}
		if dx, acc, ok := e.GradIn(n, 1+i); ok {
			e.Add(addTo(Parens(dx).Index(Op(":")), field(buf).Index(Op(":")), acc))
		}
	}
	// Weight gradients over all steps at once.
	dwih, _ := e.ParamGrad(n, "weight_ih_l0")
	dwhh, whhSize := e.ParamGrad(n, "weight_hh_l0")
	// dW_ihᵀ = xtᵀ·dg runs along rows of G·H values, then turns around.
	dwihT := n.Name + "_dwihT"
	e.Use(dwihT, F*G, "gradient of weight_ih transposed, [F, G·H], of layer "+n.Name)
	e.GEMM(GEMM{Layout: TN, M: F, N: G, K: T * B}, e.Arr(dwihT), e.Arr(r.xt), e.Arr(r.dg))
	e.Add(transposeW(field(dwihT).Index(Op(":")), Parens(dwih).Index(Op(":")), F, G))
	dgh := r.dg
	if r.dgh != "" {
		dgh = r.dgh
	}
	if t0 := 1 - T; r.init || T > 1 {
		// Without an initial state, step 0 met h_0 = 0: steps 1..T−1
		// with states h_1..h_{T−1}.
		if t0 = 1; r.init {
			t0 = 0
		}
		hr := r.h
		if r.hd != "" {
			hr = r.hd
		}
		K := (T - t0) * B
		e.GEMM(GEMM{Layout: TN, M: G, N: H, K: K}, dwhh, at(dgh, t0*B*G, K*G), at(hr, t0*B*H, K*H))
		if r.rb {
			// dgh is 0 in the n rows: dW_hn = Σ dnᵀ·(r·h_{t−1}).
			dwhn := Parens(Op("*").Index(Lit(H * H)).Id("Float")).Call(Parens(dwhh).Index(Lit(2 * H * H).Op(":").Lit(3 * H * H)))
			e.GEMM(GEMM{Layout: TN, M: H, N: H, K: K, Acc: true}, dwhn, at(r.dn, t0*B*H, K*H), at(r.rh, t0*B*H, K*H))
		}
	} else {
		e.Add(Op("*").Add(dwhh).Op("=").Index(Lit(whhSize)).Id("Float").Values())
	}
	if r.bi != nil {
		dbi, _ := e.ParamGrad(n, "bias_ih_l0")
		// The column sums of the gate gradients, by the vectorized
		// kernel of Dense's bias gradient.
		colSums := func(db Code, buf string) Code {
			return Block(
				Op("*").Add(db).Op("=").Index(Lit(G)).Id("Float").Values(),
				e.funcCall(BiasGrad{Rows: T * B, F: G}, e.Arr(buf), db),
			)
		}
		e.Add(colSums(dbi, r.dg))
		switch {
		case r.bh == nil: // GRU's reset before: b_ih only
		case r.dgh == "":
			dbh, _ := e.ParamGrad(n, "bias_hh_l0")
			e.Add(Op("*").Add(dbh).Op("=").Op("*").Add(dbi))
		default:
			dbh, _ := e.ParamGrad(n, "bias_hh_l0")
			e.Add(colSums(dbh, r.dgh))
		}
	}
	if dx, acc, ok := e.GradIn(n, 0); ok {
		dxt := n.Name + "_dxt"
		e.Use(dxt, T*B*F, "time-major input gradient [T, batch, F] of layer "+n.Name)
		e.GEMM(GEMM{Layout: NN, M: T * B, N: F, K: G}, e.Arr(dxt), e.Arr(r.dg), r.wih)
		if r.xm != "" {
			e.Add(r.maskSteps(dxt))
		}
		e.Add(transpose(r, Parens(dx).Index(Op(":")), field(dxt).Index(Op(":")), true, acc))
	}
}

// stepBack returns the code of backward step t: the gate gradients of step
// t into dg (and dgh), and the gradient of h_{t−1} into dh.
func (r *rnn) stepBack(e *Emitter, t int, dout string) []Code {
	B, H, G, T := r.B, r.H, r.G, r.T
	gOff, hIn, hOut := t*B*G, t*B*H, (t+1)*B*H
	pro := []Code{
		rowAt("dg", r.dg, gOff, G, G),
		rowAt("dh", r.dh, 0, H, H),
	}
	if r.c.name != "SimpleRNN" {
		pro = append(pro, rowAt("g", r.gates, gOff, G, G))
	}
	d := Id("dh").Index(Id("j"))
	if r.seq && dout != "" {
		pro = append(pro, Id("do").Op(":=").Add(field(dout)).Index(Parens(Id("b").Op("*").Lit(T).Op("+").Lit(t)).Op("*").Lit(H).Op(":")).Index(Op(":").Lit(H)))
		d = d.Op("+").Id("do").Index(Id("j"))
	}
	body := []Code{Id("d").Op(":=").Add(d)}
	switch r.c.name {
	case "SimpleRNN":
		if der := cellDer(r.act, "d", "y"); der != nil { // linear: none
			pro = append(pro, rowAt("h", r.h, hOut, H, H))
			body = append(append(body, Id("y").Op(":=").Id("h").Index(Id("j"))), der...)
		}
		body = append(body, Id("dg").Index(Id("j")).Op("=").Id("d"))
	case "LSTM":
		if r.act == "tanh" && r.gact == "sigmoid" && (!r.seq || dout == "") {
			// The default activations: the vectorized kernel.
			s := []Code{e.funcCall(LSTMGrad{B: B, H: H}, at(r.dg, gOff, B*G), e.Arr(r.dc), e.Arr(r.dh),
				at(r.gates, gOff, B*G), at(r.cs, hIn, B*H), at(r.tc, t*B*H, B*H))}
			if r.rec(t) {
				s = append(s, r.post(e, t, r.dg)...)
			}
			return s
		}
		pro = append(pro, rowAt("cp", r.cs, hIn, H, H), rowAt("tc", r.tc, t*B*H, H, H), rowAt("dc", r.dc, 0, H, H))
		body = append(body, lstmGradBody(r.act, r.gact, H)...)
	case "GRU":
		if r.rb {
			s := r.resetBeforeBack(e, t, pro, body)
			if !r.rec(t) {
				return s
			}
			return append(s, r.post(e, t, r.dgh)...)
		}
		pro = append(pro, rowAt("dgh", r.dgh, gOff, G, G), rowAt("hq", r.h, hIn, H, H), rowAt("hn", r.hn, t*B*H, H, H))
		body = append(body,
			List(Id("rg"), Id("z"), Id("nv")).Op(":=").List(Id("g").Index(Id("j")), Id("g").Index(Lit(H).Op("+").Id("j")), Id("g").Index(Lit(2*H).Op("+").Id("j"))),
			Id("dn").Op(":=").Id("d").Op("*").Parens(Lit(1).Op("-").Id("z")))
		body = append(body, cellDer(r.act, "dn", "nv")...)
		body = append(body, Id("dz").Op(":=").Id("d").Op("*").Parens(Id("hq").Index(Id("j")).Op("-").Id("nv")))
		body = append(body, cellDer(r.gact, "dz", "z")...)
		body = append(body, Id("dr").Op(":=").Id("dn").Op("*").Id("hn").Index(Id("j")))
		body = append(body, cellDer(r.gact, "dr", "rg")...)
		body = append(body,
			Id("dg").Index(Id("j")).Op(",").Id("dg").Index(Lit(H).Op("+").Id("j")).Op(",").Id("dg").Index(Lit(2*H).Op("+").Id("j")).
				Op("=").List(Id("dr"), Id("dz"), Id("dn")),
			Id("dgh").Index(Id("j")).Op(",").Id("dgh").Index(Lit(H).Op("+").Id("j")).Op(",").Id("dgh").Index(Lit(2*H).Op("+").Id("j")).
				Op("=").List(Id("dr"), Id("dz"), Id("dn").Op("*").Id("rg")),
			Id("dh").Index(Id("j")).Op("=").Id("d").Op("*").Id("z"),
		)
	}
	s := []Code{loopBH(r, pro, body)}
	if !r.rec(t) {
		return s // nothing flows into h_0 = 0
	}
	if r.c.name == "GRU" {
		return append(s, r.post(e, t, r.dgh)...)
	}
	return append(s, r.post(e, t, r.dg)...)
}

// recBack returns the code of step t's gradient of h_{t−1} through the
// recurrent product, from the gradients dg of its G·H outputs: into dh
// (GRU adds it to the gradient of its z·h_{t−1} term), times the
// recurrent dropout mask.
func (r *rnn) recBack(e *Emitter, t int, dg string) []Code {
	B, H, G := r.B, r.H, r.G
	gru := r.c.name == "GRU"
	if r.hm == "" {
		return []Code{e.gemmCall(GEMM{Layout: NN, M: B, N: H, K: G, Acc: gru}, e.Arr(r.dh), at(dg, t*B*G, B*G), r.whh)}
	}
	if !gru {
		return []Code{
			e.gemmCall(GEMM{Layout: NN, M: B, N: H, K: G}, e.Arr(r.dh), at(dg, t*B*G, B*G), r.whh),
			For(List(Id("i"), Id("k")).Op(":=").Range().Add(field(r.hm))).Block(field(r.dh).Index(Id("i")).Op("*=").Id("k")),
		}
	}
	return []Code{
		e.gemmCall(GEMM{Layout: NN, M: B, N: H, K: G}, e.Arr(r.dhr), at(dg, t*B*G, B*G), r.whh),
		For(List(Id("i"), Id("k")).Op(":=").Range().Add(field(r.hm))).Block(field(r.dh).Index(Id("i")).Op("+=").Add(field(r.dhr)).Index(Id("i")).Op("*").Id("k")),
	}
}

// drawMasks emits the draws of the dropout masks of a training step: the
// input mask, then the state's, from the node's stream.
func (r *rnn) drawMasks(e *Emitter) {
	if r.xm == "" && r.hm == "" {
		return
	}
	s := []Code{Id("r").Op(":=").Qual(rngPkg, "New").Call(Id("m").Dot("seed"), e.Stream(r.n))}
	for _, m := range []struct {
		buf  string
		rate float64
	}{{r.xm, r.n.Float("dropout")}, {r.hm, r.n.Float("recurrent_dropout")}} {
		if m.buf != "" {
			s = append(s, Block(append([]Code{Id("mask").Op(":=").Add(field(m.buf)).Index(Op(":"))}, e.dropMask(m.rate)...)...))
		}
	}
	e.Block(s...)
}

// maskSteps returns the product of every step of the time-major [T, batch,
// F] buffer buf with the input mask [batch, F].
func (r *rnn) maskSteps(buf string) Code {
	return Block(
		Id("mk").Op(":=").Add(field(r.xm)).Index(Op(":")),
		Id("x").Op(":=").Add(field(buf)).Index(Op(":")),
		For(Id("o").Op(":=").Lit(0), Id("o").Op("<").Lit(r.T*r.B*r.F), Id("o").Op("+=").Lit(r.B*r.F)).Block(
			Id("xs").Op(":=").Id("x").Index(Id("o").Op(":")).Index(Op(":").Lit(r.B*r.F)),
			For(List(Id("i"), Id("k")).Op(":=").Range().Id("mk")).Block(Id("xs").Index(Id("i")).Op("*=").Id("k"))),
	)
}

// lstmGradBody returns the statements of LSTM's backward step for unit j
// of a row, from d (the gradient of h_t) and the rows dg, g, cp, tc, dc.
func lstmGradBody(act, gact string, H int) []Code {
	body := []Code{
		List(Id("i"), Id("f"), Id("gg"), Id("og")).Op(":=").List(Id("g").Index(Id("j")), Id("g").Index(Lit(H).Op("+").Id("j")), Id("g").Index(Lit(2*H).Op("+").Id("j")), Id("g").Index(Lit(3*H).Op("+").Id("j"))),
		Id("tv").Op(":=").Id("tc").Index(Id("j")),
		Id("dt").Op(":=").Id("d").Op("*").Id("og"),
	}
	body = append(body, cellDer(act, "dt", "tv")...)
	body = append(body,
		Id("dcv").Op(":=").Id("dc").Index(Id("j")).Op("+").Id("dt"),
		Id("di").Op(":=").Id("dcv").Op("*").Id("gg"))
	body = append(body, cellDer(gact, "di", "i")...)
	body = append(body, Id("df").Op(":=").Id("dcv").Op("*").Id("cp").Index(Id("j")))
	body = append(body, cellDer(gact, "df", "f")...)
	body = append(body, Id("dgg").Op(":=").Id("dcv").Op("*").Id("i"))
	body = append(body, cellDer(act, "dgg", "gg")...)
	body = append(body, Id("dog").Op(":=").Id("d").Op("*").Id("tv"))
	body = append(body, cellDer(gact, "dog", "og")...)
	return append(body,
		Id("dg").Index(Id("j")).Op(",").Id("dg").Index(Lit(H).Op("+").Id("j")).Op(",").Id("dg").Index(Lit(2*H).Op("+").Id("j")).Op(",").Id("dg").Index(Lit(3*H).Op("+").Id("j")).
			Op("=").List(Id("di"), Id("df"), Id("dgg"), Id("dog")),
		Id("dc").Index(Id("j")).Op("=").Id("dcv").Op("*").Id("f"),
	)
}

// LSTMGrad is the element-wise backward step of an LSTM with tanh and
// sigmoid over B rows of H units: from the gradients dh of h_t and dc of
// c_t, the gates gt (i, f, g, o after their activations, rows of 4·H), the
// previous cell state cp and the tanh of the cell state tc, it writes the
// gradients of the gate pre-activations into dg and that of c_{t−1} into dc.
type LSTMGrad struct{ B, H int }

// Name is the kernel's Go name.
func (k LSTMGrad) Name() string { return fmt.Sprintf("lstmGrad_%dx%d", k.B, k.H) }

// Args: dg, dc, dh, gt (the gates; g names a register in Go's assembly),
// cp, tc.
func (k LSTMGrad) Args() []Arg {
	bh, bg := k.B*k.H, k.B*4*k.H
	return []Arg{{"dg", bg, true}, {"dc", bh, true}, {"dh", bh, false}, {"gt", bg, false}, {"cp", bh, false}, {"tc", bh, false}}
}

// Doc says what the kernel computes.
func (k LSTMGrad) Doc() string {
	return fmt.Sprintf("is LSTM's backward step (tanh, sigmoid) over %d rows of %d units:\n"+
		"with i, f, g, o = gt[j], gt[H+j], gt[2H+j], gt[3H+j] and t = tc[j] of a row,\n"+
		"dcv = dc[j] + dh[j]·o·(1−t²); dg[j], dg[H+j], dg[2H+j], dg[3H+j] =\n"+
		"dcv·g·i(1−i), dcv·cp[j]·f(1−f), dcv·i·(1−g²), dh[j]·t·o(1−o); dc[j] = dcv·f.", k.B, k.H)
}

// Flops of one call.
func (k LSTMGrad) Flops() int { return 24 * k.B * k.H }

// Terms summed into one output.
func (k LSTMGrad) Terms() int { return 4 }

// Twin returns the Go loops.
func (k LSTMGrad) Twin() []Code {
	H, G := k.H, 4*k.H
	row := func(name string, n int) Code {
		src := name
		if name == "g" {
			src = "gt"
		}
		return Id(name).Op(":=").Id(src).Index(Id("b").Op("*").Lit(n).Op(":")).Index(Op(":").Lit(n))
	}
	body := append([]Code{Id("d").Op(":=").Id("dh").Index(Id("j"))}, lstmGradBody("tanh", "sigmoid", H)...)
	return []Code{loop("b", k.B, row("dg", G), row("dc", H), row("dh", H), row("g", G), row("cp", H), row("tc", H), loop("j", H, body...))}
}

// resetBefore returns the code of forward step t of a GRU with reset_after
// false: r, z from the products' first 2H rows, rh = r·h_{t−1}, then
// n = activation(W_in·x_t + b_in + W_hn·rh) and h_t = (1−z)·n + z·h_{t−1}.
func (r *rnn) resetBefore(e *Emitter, t int, outRow []Code, store func(Code) []Code) []Code {
	B, H, G := r.B, r.H, r.G
	gOff, hIn, hOut := t*B*G, t*B*H, (t+1)*B*H
	s := []Code{r.bLoop(
		rowAt("g", r.gates, gOff, G, G),
		rowAt("hp", r.hp, 0, G, G),
		jLoop(2*H, Id("g").Index(Id("j")).Op("+=").Id("hp").Index(Id("j"))),
		actSlice(r.gact, part("g", 0, 2*H)),
		rowAt("hq", r.h, hIn, H, H),
		rowAt("rh", r.rh, t*B*H, H, H),
		jLoop(H, Id("rh").Index(Id("j")).Op("=").Id("g").Index(Id("j")).Op("*").Id("hq").Index(Id("j"))),
	)}
	if r.rec(t) {
		s = append(s, e.gemmCall(GEMM{Layout: NN, M: B, N: H, K: H}, at(r.hn, t*B*H, B*H), at(r.rh, t*B*H, B*H), e.Arr(r.whnT)))
	} else {
		s = append(s, Clear(seg(r.hn, 0, B*H)))
	}
	body := append([]Code{
		rowAt("g", r.gates, gOff, G, G),
		rowAt("hn", r.hn, t*B*H, H, H),
		jLoop(H, Id("g").Index(Lit(2*H).Op("+").Id("j")).Op("+=").Id("hn").Index(Id("j"))),
		actSlice(r.act, part("g", 2*H, 3*H)),
		rowAt("hq", r.h, hIn, H, H),
		rowAt("h", r.h, hOut, H, H),
	}, outRow...)
	body = append(body, jLoop(H, append([]Code{Id("z").Op(":=").Id("g").Index(Lit(H).Op("+").Id("j"))},
		store(Parens(Lit(1).Op("-").Id("z")).Op("*").Id("g").Index(Lit(2*H).Op("+").Id("j")).Op("+").Id("z").Op("*").Id("hq").Index(Id("j")))...)...))
	return append(s, r.bLoop(body...))
}

// resetBeforeBack returns the code of backward step t of a GRU with
// reset_after false, but for the gradient through the products of the r
// and z rows (recBack, from dgh, which is 0 in the n rows): the gradients
// of n and z, then drh = dn·W_hn, the gradient of r and dh += drh·r.
func (r *rnn) resetBeforeBack(e *Emitter, t int, pro, body []Code) []Code {
	B, H, G := r.B, r.H, r.G
	gOff, hIn := t*B*G, t*B*H
	pro = append(pro, rowAt("dgh", r.dgh, gOff, G, G), rowAt("hq", r.h, hIn, H, H), rowAt("dn", r.dn, t*B*H, H, H))
	body = append(body,
		List(Id("z"), Id("nv")).Op(":=").List(Id("g").Index(Lit(H).Op("+").Id("j")), Id("g").Index(Lit(2*H).Op("+").Id("j"))),
		Id("dnv").Op(":=").Id("d").Op("*").Parens(Lit(1).Op("-").Id("z")))
	body = append(body, cellDer(r.act, "dnv", "nv")...)
	body = append(body, Id("dz").Op(":=").Id("d").Op("*").Parens(Id("hq").Index(Id("j")).Op("-").Id("nv")))
	body = append(body, cellDer(r.gact, "dz", "z")...)
	body = append(body,
		Id("dg").Index(Lit(H).Op("+").Id("j")).Op(",").Id("dg").Index(Lit(2*H).Op("+").Id("j")).Op("=").List(Id("dz"), Id("dnv")),
		Id("dgh").Index(Lit(H).Op("+").Id("j")).Op(",").Id("dgh").Index(Lit(2*H).Op("+").Id("j")).Op("=").List(Id("dz"), Lit(0)),
		Id("dn").Index(Id("j")).Op("=").Id("dnv"),
		Id("dh").Index(Id("j")).Op("=").Id("d").Op("*").Id("z"),
	)
	whn := Parens(Op("*").Index(Lit(H * H)).Id("Float")).Call(Parens(r.whh).Index(Lit(2 * H * H).Op(":").Lit(3 * H * H)))
	dr := []Code{Id("dr").Op(":=").Id("drh").Index(Id("j")).Op("*").Id("hq").Index(Id("j"))}
	dr = append(dr, cellDer(r.gact, "dr", "rg")...)
	return []Code{
		loopBH(r, pro, body),
		e.gemmCall(GEMM{Layout: NN, M: B, N: H, K: H}, e.Arr(r.drh), at(r.dn, t*B*H, B*H), whn),
		loopBH(r, []Code{
			rowAt("dg", r.dg, gOff, G, G), rowAt("dgh", r.dgh, gOff, G, G), rowAt("g", r.gates, gOff, G, G),
			rowAt("dh", r.dh, 0, H, H), rowAt("hq", r.h, hIn, H, H), rowAt("drh", r.drh, 0, H, H),
		}, append(append([]Code{Id("rg").Op(":=").Id("g").Index(Id("j"))}, dr...),
			Id("dg").Index(Id("j")).Op(",").Id("dgh").Index(Id("j")).Op("=").List(Id("dr"), Id("dr")),
			Id("dh").Index(Id("j")).Op("+=").Id("drh").Index(Id("j")).Op("*").Id("rg"))),
	}
}
