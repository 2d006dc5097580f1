package train

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/nngen/nngen/runtime/data"
)

// The size of one panel of the training curves, in pixels, and the
// panels in a row.
const (
	panelWidth, panelHeight = 480, 320
	panelsPerRow            = 2
	plotDPI                 = 96
)

// plotSize returns the size in pixels of the picture of n panels.
func plotSize(n int) (w, h int) {
	cols := min(n, panelsPerRow)
	rows := (n + panelsPerRow - 1) / panelsPerRow
	return cols * panelWidth, rows * panelHeight
}

// panels are the quantities of the history, one panel each: loss and
// each metric, without the val_ and test_ prefixes, in report order.
func (h *history) panels() []string {
	var l []string
	for _, k := range h.keys {
		base := strings.TrimPrefix(strings.TrimPrefix(k, "val_"), "test_")
		if !contains(l, base) {
			l = append(l, base)
		}
	}
	return l
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// The lines of a panel: the training set's, the validation set's and the
// test split's, each with its colour.
var curves = []struct {
	prefix, legend string
	colour         color.RGBA
}{
	{"", "train", color.RGBA{31, 119, 180, 255}},
	{"val_", "validation", color.RGBA{255, 127, 14, 255}},
	{"test_", "test", color.RGBA{44, 160, 44, 255}},
}

// writePNG draws the training curves of the history into the PNG file
// path, atomically: a panel per quantity with a line per set against the
// epoch, titled, with a legend and labelled axes.
func (h *history) writePNG(path, model string) error {
	names := h.panels()
	w, ht := plotSize(len(names))
	img := vgimg.NewWith(vgimg.UseWH(vg.Length(w)*vg.Inch/plotDPI, vg.Length(ht)*vg.Inch/plotDPI), vgimg.UseDPI(plotDPI))
	dc := vgdraw.New(img)
	cols := min(len(names), panelsPerRow)
	tiles := vgdraw.Tiles{Rows: (len(names) + cols - 1) / cols, Cols: cols, PadX: vg.Millimeter * 2, PadY: vg.Millimeter * 2,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	for i, name := range names {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s: %s", model, name)
		p.X.Label.Text = "epoch"
		p.Y.Label.Text = name
		p.Add(plotter.NewGrid())
		p.Legend.Top = !monitorMode(name) // clear of curves that rise to 1
		for _, c := range curves {
			epochs, vals := h.series(c.prefix + name)
			if epochs == nil {
				continue
			}
			pts := make(plotter.XYs, len(epochs))
			for j := range epochs {
				pts[j].X, pts[j].Y = epochs[j], vals[j]
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return fmt.Errorf("--plot: %s: %v", c.prefix+name, err)
			}
			line.Color, points.Color = c.colour, c.colour
			line.Width = vg.Points(1.5)
			points.Shape = vgdraw.CircleGlyph{}
			points.Radius = vg.Points(2)
			p.Add(line, points)
			p.Legend.Add(c.legend, line, points)
		}
		if len(h.rows) == 1 { // one epoch: a visible x range
			p.X.Min, p.X.Max = p.X.Min-0.5, p.X.Max+0.5
		}
		p.X.Tick.Marker = epochTicks{}
		p.Draw(tiles.At(dc, i%cols, i/cols))
	}
	return data.WriteFile(path, func(out io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(out)
		return err
	})
}

// epochTicks marks whole epochs only, every 1, 2, 5, 10, 20, 50, …, at
// most about 10 of them.
type epochTicks struct{}

func (epochTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 1
	for i := 0; (hi-lo)/float64(step) > 10; i++ {
		step = []int{2, 5, 10}[i%3] * pow10(i/3)
	}
	var t []plot.Tick
	for e := step * int(math.Ceil(lo/float64(step))); float64(e) <= hi; e += step {
		if e >= 1 {
			t = append(t, plot.Tick{Value: float64(e), Label: strconv.Itoa(e)})
		}
	}
	return t
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}
