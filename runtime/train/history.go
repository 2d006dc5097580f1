package train

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/nngen/nngen/runtime/data"
)

// history is what a run of train reports, one row per epoch, as Keras's
// History and CSVLogger keep it.
type history struct {
	keys []string // the report's names, in its order: loss, accuracy, val_loss, …
	rows []epochRow
}

type epochRow struct {
	epoch   int
	vals    []float64 // by keys
	lr      float64   // the learning rate at the epoch's start; NaN: unknown
	seconds float64
}

func (h *history) add(epoch int, s *scores, lr, seconds float64) {
	if h.keys == nil {
		h.keys = s.keys
	}
	h.rows = append(h.rows, epochRow{epoch, s.vals, lr, seconds})
}

// series returns the epochs and the values of key.
func (h *history) series(key string) (epochs, vals []float64) {
	for i, k := range h.keys {
		if k != key {
			continue
		}
		for _, r := range h.rows {
			epochs, vals = append(epochs, float64(r.epoch)), append(vals, r.vals[i])
		}
	}
	return epochs, vals
}

// writeCSV writes the history to path, atomically: a header of epoch,
// the report's names, lr and seconds, then a row per epoch.
func (h *history) writeCSV(path string) error {
	return data.WriteFile(path, func(w io.Writer) error {
		cols := append(append([]string{"epoch"}, h.keys...), "lr", "seconds")
		if _, err := fmt.Fprintln(w, strings.Join(cols, ",")); err != nil {
			return err
		}
		for _, r := range h.rows {
			cells := []string{strconv.Itoa(r.epoch)}
			for _, v := range r.vals {
				cells = append(cells, strconv.FormatFloat(v, 'g', 8, 64))
			}
			lr := ""
			if !math.IsNaN(r.lr) {
				lr = strconv.FormatFloat(r.lr, 'g', 8, 64)
			}
			cells = append(cells, lr, strconv.FormatFloat(r.seconds, 'f', 3, 64))
			if _, err := fmt.Fprintln(w, strings.Join(cells, ",")); err != nil {
				return err
			}
		}
		return nil
	})
}
