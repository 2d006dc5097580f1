package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nngen/nngen/codegen"
)

func summary(args []string, stdout, stderr io.Writer) error {
	fs := flags("summary", "-spec model.yaml [-batch N]", stdout, stderr)
	specPath := fs.String("spec", "", "the model spec (YAML)")
	batch := fs.Int("batch", 0, "report for batches of `N` samples instead of the spec's batch_size")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	setBatch := false
	fs.Visit(func(f *flag.Flag) { setBatch = setBatch || f.Name == "batch" })
	switch {
	case *specPath == "":
		return usageError(fs, "missing -spec")
	case setBatch && (*batch < 1 || *batch > 1<<16):
		return usageError(fs, "-batch must be in [1, 65536], got %d", *batch)
	}
	m, err := load(*specPath)
	if err != nil {
		return err
	}
	if setBatch {
		m.Batch = *batch
	}
	s, err := codegen.Summarize(m, codegen.Config{Unroll: codegen.DefaultUnroll})
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, formatSummary(s))
	return err
}

// formatSummary prints s as a fixed-width table in the manner of Keras's
// model.summary(): a line per layer with a line per kernel below it, then
// the totals.
func formatSummary(s *codegen.Summary) string {
	t := &table{head: []string{"Layer (type)", "Line", "Output shape", "With batch", "Params"}, right: []bool{false, true, false, false, true}}
	if s.Fixed > 0 {
		t.head, t.right = append(t.head, "Non-trainable"), append(t.right, true)
	}
	t.span = len(t.head) // a kernel's line spans the columns so far
	t.head, t.right = append(t.head, "FLOPs fwd", "FLOPs bwd", "Memory"), append(t.right, true, true, true)
	for _, r := range s.Rows {
		c := []string{fmt.Sprintf("%s (%s)", r.Name, r.Kind), "", "", "", ""}
		if r.Line > 0 {
			c[1] = strconv.Itoa(r.Line)
		}
		if r.Shape != nil {
			c[2], c[3], c[4] = shape(r.Shape), shape(append([]int{s.Batch}, r.Shape...)), count(r.Params+r.Fixed)
			if s.Fixed > 0 {
				c = append(c, count(r.Fixed))
			}
		} else if s.Fixed > 0 {
			c = append(c, "")
		}
		mem := "-"
		if r.Bytes > 0 {
			mem = byteSize(r.Bytes)
		}
		t.add(append(c, flops(codegen.Flops(r.Forward)), flops(codegen.Flops(r.Backward)), mem)...)
		for pass, calls := range [][]codegen.KernelCall{r.Forward, r.Backward} {
			for i, k := range calls {
				label := ""
				if i == 0 {
					label = [...]string{"fwd", "bwd"}[pass]
				}
				kc := []string{fmt.Sprintf("  %-3s  %s ×%d", label, k.Kernel, k.Count), "", ""}
				kc[1+pass] = flops(k.Count * k.Flops)
				t.addSpan(kc...)
			}
		}
	}
	var b strings.Builder
	shards := ""
	if s.Shards > 1 {
		shards = fmt.Sprintf(" in %d shards of %d", s.Shards, s.Batch/s.Shards)
	}
	fmt.Fprintf(&b, "Model: %s (%s), batch %d%s, %s, %s\n", s.Model, s.Spec, s.Batch, shards, s.DType, s.Optimizer)
	t.write(&b)

	fb := s.FloatBytes
	fwd, bwd := s.Flops()
	held := []string{"parameters", "gradients"}
	if len(s.StateNames) > 0 {
		held = append(held, s.Optimizer+"'s "+strings.Join(s.StateNames, " + "))
	}
	if s.Fixed > 0 {
		held = append(held, "non-trainable parameters")
	}
	fmt.Fprintf(&b, "Total params: %s (%s)\n", count(s.Params+s.Fixed), byteSize((s.Params+s.Fixed)*fb))
	fmt.Fprintf(&b, "Trainable params: %s (%s)\n", count(s.Params), byteSize(s.Params*fb))
	fmt.Fprintf(&b, "Non-trainable params: %s (%s)\n", count(s.Fixed), byteSize(s.Fixed*fb))
	fmt.Fprintf(&b, "Parameter memory: %s (%s)\n", byteSize(s.ParamBytes), strings.Join(held, ", "))
	fmt.Fprintf(&b, "FLOPs per train step: %s forward + %s backward = %s (%s per sample)\n",
		flops(fwd), flops(bwd), flops(fwd+bwd), flops((fwd+bwd)/s.Batch))
	fmt.Fprintf(&b, "Activation and scratch memory: %s in training, %s more for inference only\n", byteSize(s.TrainBytes), byteSize(s.InferBytes))
	if s.Shards > 1 {
		fmt.Fprintf(&b, "Shards: %d workspaces of %d samples (counted above), and %s for the batch they copy and the gradients of shards 1 and up\n", s.Shards, s.Batch/s.Shards, byteSize(s.ShardBytes))
	}
	if s.ArenaBytes > 0 {
		fmt.Fprintf(&b, "Memory plan: %s of those buffers share %s, where no two live at the same time; %s keep their own\n",
			byteSize(s.SharedBytes), byteSize(s.ArenaBytes), plural(len(s.Pinned), "buffer"))
	}
	fmt.Fprintf(&b, "Model struct: %s in all\n", byteSize(s.ModelBytes))
	b.WriteString(wrap("FLOPs are those of the kernels (2·M·N·K for a GEMM of M×K by K×N); element-wise work "+
		"outside kernels (activations, biases, dropout, normalization, the loss, the optimizer update) is left out. "+
		"Memory is that of the buffers a train step uses for the layer: its output, its gradient and its scratch.", t.width()))
	return b.String()
}

// table is a fixed-width text table whose rows are layers, and below each
// a row per kernel whose first cell spans the first span columns.
type table struct {
	head  []string
	right []bool // right-aligned columns
	span  int
	rows  [][]string
	spans []bool // rows[i] is a kernel's
	w     []int
}

const gap = 2 // spaces between columns

func (t *table) add(cells ...string) { t.rows, t.spans = append(t.rows, cells), append(t.spans, false) }
func (t *table) addSpan(cells ...string) {
	t.rows, t.spans = append(t.rows, cells), append(t.spans, true)
}

// widths sets each column's width to its widest cell, the first widened
// to hold the widest spanning cell.
func (t *table) widths() {
	t.w = make([]int, len(t.head))
	for i, h := range t.head {
		t.w[i] = utf8.RuneCountInString(h)
	}
	for r, cells := range t.rows {
		if !t.spans[r] {
			for i, c := range cells {
				t.w[i] = max(t.w[i], utf8.RuneCountInString(c))
			}
		} else {
			for i, c := range cells[1:] {
				t.w[t.span+i] = max(t.w[t.span+i], utf8.RuneCountInString(c))
			}
		}
	}
	for r, cells := range t.rows {
		if t.spans[r] {
			t.w[0] += max(0, utf8.RuneCountInString(cells[0])-t.spanWidth())
		}
	}
}

func (t *table) spanWidth() int {
	w := (t.span - 1) * gap
	for _, x := range t.w[:t.span] {
		w += x
	}
	return w
}

// width is the width of the whole table.
func (t *table) width() int {
	if t.w == nil {
		t.widths()
	}
	w := (len(t.w) - 1) * gap
	for _, x := range t.w {
		w += x
	}
	return w
}

func (t *table) write(b *strings.Builder) {
	rule := func(r string) { b.WriteString(strings.Repeat(r, t.width()) + "\n") }
	line := func(cells []string, spans bool) {
		var l strings.Builder
		col := 0
		for i, c := range cells {
			w, right := 0, false
			switch {
			case spans && i == 0:
				w = t.spanWidth()
			case spans:
				col = t.span + i - 1
				w, right = t.w[col], t.right[col]
			default:
				col = i
				w, right = t.w[col], t.right[col]
			}
			if i > 0 {
				l.WriteString(strings.Repeat(" ", gap))
			}
			n := max(0, w-utf8.RuneCountInString(c))
			if right {
				l.WriteString(strings.Repeat(" ", n) + c)
			} else {
				l.WriteString(c + strings.Repeat(" ", n))
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
	rule("━")
	line(t.head, false)
	rule("━")
	for r, cells := range t.rows {
		if r > 0 && !t.spans[r] {
			rule("─")
		}
		line(cells, t.spans[r])
	}
	rule("━")
}

// wrap breaks text into lines of at most width runes.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for _, w := range strings.Fields(text) {
		l := utf8.RuneCountInString(w)
		if n > 0 && n+1+l > width {
			b.WriteString("\n")
			n = 0
		}
		if n > 0 {
			b.WriteString(" ")
			n++
		}
		b.WriteString(w)
		n += l
	}
	return b.String() + "\n"
}

func shape(dims []int) string {
	var l []string
	for _, d := range dims {
		l = append(l, strconv.Itoa(d))
	}
	if len(l) == 1 {
		return "(" + l[0] + ",)"
	}
	return "(" + strings.Join(l, ", ") + ")"
}

// count writes n with thousands separators.
func count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// flops writes n with three significant digits and an SI prefix; 0 as "-".
func flops(n int) string {
	if n == 0 {
		return "-"
	}
	return si(float64(n), 1000, []string{"", " k", " M", " G", " T", " P"})
}

// byteSize writes n bytes with three significant digits and a binary prefix.
func byteSize(n int) string {
	return si(float64(n), 1024, []string{" B", " KiB", " MiB", " GiB", " TiB"})
}

func si(v, base float64, units []string) string {
	u := 0
	for v >= 999.5 && u < len(units)-1 {
		v /= base
		u++
	}
	switch {
	case u == 0:
		return fmt.Sprintf("%.0f%s", v, units[0])
	case v < 9.995:
		return fmt.Sprintf("%.2f%s", v, units[u])
	case v < 99.95:
		return fmt.Sprintf("%.1f%s", v, units[u])
	}
	return fmt.Sprintf("%.0f%s", v, units[u])
}

// plural is "n word" or "n words".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
