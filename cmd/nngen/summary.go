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
	batch := fs.Int("batch", 0, "report for batches of N samples instead of the spec's batch_size")
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
	head := []string{"Layer (type)", "Line", "Output shape", "With batch", "Params", "FLOPs fwd", "FLOPs bwd", "Memory"}
	right := []bool{false, true, false, false, true, true, true, true}
	type line struct {
		cells  []string
		kernel bool // cells[0] spans the first five columns
	}
	var lines []line
	for _, r := range s.Rows {
		c := []string{fmt.Sprintf("%s (%s)", r.Name, r.Kind), "", "", "", "", flops(codegen.Flops(r.Forward)), flops(codegen.Flops(r.Backward)), "-"}
		if r.Bytes > 0 {
			c[7] = byteSize(r.Bytes)
		}
		if r.Line > 0 {
			c[1] = strconv.Itoa(r.Line)
		}
		if r.Shape != nil {
			c[2], c[3] = shape(r.Shape), shape(append([]int{s.Batch}, r.Shape...))
			c[4] = count(r.Params + r.Fixed)
		}
		lines = append(lines, line{cells: c})
		for pass, calls := range [][]codegen.KernelCall{r.Forward, r.Backward} {
			for i, k := range calls {
				label := ""
				if i == 0 {
					label = [...]string{"fwd", "bwd"}[pass]
				}
				kc := []string{fmt.Sprintf("  %-3s  %s ×%d", label, k.Kernel, k.Count), "", "", "", "", "", "", ""}
				kc[5+pass] = flops(k.Count * k.Flops)
				lines = append(lines, line{cells: kc, kernel: true})
			}
		}
	}

	// Column widths: the widest cell; a kernel line's text spans the first
	// five columns, which the first column widens to hold.
	const gap = 2
	width := make([]int, len(head))
	for i, h := range head {
		width[i] = utf8.RuneCountInString(h)
	}
	for _, l := range lines {
		for i, c := range l.cells {
			if !l.kernel || i > 0 {
				width[i] = max(width[i], utf8.RuneCountInString(c))
			}
		}
	}
	for _, l := range lines {
		if span := width[0] + width[1] + width[2] + width[3] + width[4] + 4*gap; l.kernel {
			width[0] += max(0, utf8.RuneCountInString(l.cells[0])-span)
		}
	}
	total := (len(head) - 1) * gap
	for _, w := range width {
		total += w
	}
	pad := func(s string, w int, right bool) string {
		n := max(0, w-utf8.RuneCountInString(s))
		if right {
			return strings.Repeat(" ", n) + s
		}
		return s + strings.Repeat(" ", n)
	}
	row := func(cells []string, kernel bool) string {
		var b strings.Builder
		first := 0
		if kernel {
			span := width[0] + width[1] + width[2] + width[3] + width[4] + 4*gap
			b.WriteString(pad(cells[0], span, false))
			first = 5
		}
		for i := first; i < len(cells); i++ {
			if i > 0 {
				b.WriteString(strings.Repeat(" ", gap))
			}
			b.WriteString(pad(cells[i], width[i], right[i]))
		}
		return strings.TrimRight(b.String(), " ") + "\n"
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Model: %s (%s), batch %d, %s, %s\n", s.Model, s.Spec, s.Batch, s.DType, s.Optimizer)
	b.WriteString(strings.Repeat("━", total) + "\n")
	b.WriteString(row(head, false))
	b.WriteString(strings.Repeat("━", total) + "\n")
	for i, l := range lines {
		if i > 0 && !l.kernel {
			b.WriteString(strings.Repeat("─", total) + "\n")
		}
		b.WriteString(row(l.cells, l.kernel))
	}
	b.WriteString(strings.Repeat("━", total) + "\n")

	fb := s.FloatBytes
	fwd, bwd := s.Flops()
	parts := []string{"the parameters", "their gradients"}
	if len(s.StateNames) > 0 {
		parts = append(parts, s.Optimizer+"'s state ("+strings.Join(s.StateNames, ", ")+")")
	}
	if s.Fixed > 0 {
		parts = append(parts, "the non-trainable parameters")
	}
	held := strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
	fmt.Fprintf(&b, "Total params: %s (%s)\n", count(s.Params+s.Fixed), byteSize((s.Params+s.Fixed)*fb))
	fmt.Fprintf(&b, "Trainable params: %s (%s)\n", count(s.Params), byteSize(s.Params*fb))
	fmt.Fprintf(&b, "Non-trainable params: %s (%s)\n", count(s.Fixed), byteSize(s.Fixed*fb))
	fmt.Fprintf(&b, "Parameter memory: %s (%s)\n", byteSize(s.ParamBytes), held)
	fmt.Fprintf(&b, "FLOPs per train step: %s forward + %s backward = %s (%s per sample)\n",
		flops(fwd), flops(bwd), flops(fwd+bwd), flops((fwd+bwd)/s.Batch))
	fmt.Fprintf(&b, "Activation memory: %s in training, %s more for inference only\n", byteSize(s.TrainBytes), byteSize(s.InferBytes))
	fmt.Fprintf(&b, "Model struct: %s in all\n", byteSize(s.ModelBytes))
	b.WriteString(wrap("FLOPs count the matrix products (2·M·N·K a GEMM) and the kernels; the element-wise work "+
		"outside kernels (activations, biases, dropout, normalization, the loss, the optimizer update) is left out. "+
		"Memory is that of the buffers a train step uses for the layer: its output, its gradient and its scratch.", total))
	return b.String()
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
