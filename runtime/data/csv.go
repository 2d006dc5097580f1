package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// CSV is a table of samples, one a line: numeric feature columns and one or
// more label columns. The file may be gzipped; its cells are separated by
// commas, tabs or semicolons (whichever the first line has, in that order)
// or else by runs of spaces.
//
// The first line is a header when one of its cells is not a number where
// the next line has a number. scikit-learn's bundled tables (iris.csv,
// wine_data.csv, breast_cancer.csv) start with a line of their own
// instead, the sample and feature counts and the class names
// ("150,4,setosa,versicolor,virginica"): it is recognized, skipped, and
// its names name the classes.
//
// A label column of class names (any cell not a number) gives class ids in
// order of first appearance, the names in ClassNames; a numeric one gives
// class ids for a model whose output has several classes, and target values
// for a one-output model (regression, or 0/1 for binary classification).
// Several label columns are the values of as many outputs.
type CSV struct {
	Path string
	// LabelColumns name the label columns by header name or 0-based index
	// (negative: from the end); none: the last column.
	LabelColumns []string
	// Labels, if set, is a file of the targets instead (.csv or .npy):
	// then every column of Path is a feature.
	Labels string
}

func (c CSV) String() string { return c.Path }

// Load reads the table; it has no test split.
func (c CSV) Load(s Shapes) (train, test *Set, err error) {
	// A model without targets reads no labels: the table's columns are
	// all features unless label columns are named, which it skips.
	t := &table{path: c.Path, labels: c.LabelColumns}
	t.noLabels = c.Labels != "" || s.Output == nil && len(c.LabelColumns) == 0
	sh := s
	if t.noLabels {
		sh.Output = nil
	}
	set, err := t.read(sh)
	if err != nil {
		return nil, nil, err
	}
	if c.Labels != "" && s.Output != nil {
		if err := set.readLabels(c.Labels, c.Path, s); err != nil {
			return nil, nil, err
		}
	}
	return set, nil, nil
}

// readLabels gives s the targets of the file path (.csv or .npy), one row
// per sample of the data file data.
func (s *Set) readLabels(path, data string, sh Shapes) error {
	var y *Set
	if formExt(path) == ".npy" {
		var err error
		if y, err = readNPYLabels(path, sh); err != nil {
			return err
		}
	} else {
		t := &table{path: path, allLabels: true}
		var err error
		if y, err = t.read(Shapes{Output: sh.Output}); err != nil {
			return err
		}
	}
	if y.N != s.N {
		return fmt.Errorf("%s: %d rows of labels for the %d samples of %s", path, y.N, s.N, data)
	}
	s.Labels, s.Classes, s.Steps, s.Y, s.Width, s.ClassNames = y.Labels, y.Classes, y.Steps, y.Y, y.Width, y.ClassNames
	return nil
}

// A table is one read of a CSV file.
type table struct {
	path      string
	labels    []string // label columns as given
	noLabels  bool     // every column is a feature
	allLabels bool     // every column is a label
	noDesc    bool     // the first line is not a scikit-learn descriptor

	descRows int      // the sample count of a descriptor line, else -1
	skip     int      // lines before the data: a descriptor, a header
	header   []string // column names, if the file has a header
	names    []string // class names of a scikit-learn descriptor line
	cols     int
	isLabel  []bool // by column
	nLabels  int
	named    bool // the one label column holds class names
	rows     int
}

// read reads the table in two passes: the first counts the rows and
// checks their shape, the second parses them into arrays of that size.
func (t *table) read(s Shapes) (*Set, error) {
	if err := t.scan(); err != nil {
		return nil, err
	}
	tg, err := targetOf(t.nLabels, s.Output, t.named)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v", t.path, t.describeLabels(), err)
	}
	if err := tg.checkClasses(t.names); err != nil {
		return nil, fmt.Errorf("%s: %v", t.path, err)
	}
	f := t.cols - t.nLabels
	if f == 0 && !t.allLabels {
		return nil, fmt.Errorf("%s: no feature columns: the table has %d columns, all labels", t.path, t.cols)
	}
	set := &Set{N: t.rows, Shape: []int{f}}
	if err := checkInput(set.Shape, s.Input); err != nil {
		return nil, fmt.Errorf("%s: %d feature columns: %v", t.path, f, err)
	}
	set.X = make([]float32, t.rows*f)
	var vals []float32
	var ids []int32
	switch {
	case tg.kind == noTargets:
	case t.named:
		ids = make([]int32, t.rows)
	default:
		vals = make([]float32, t.rows*t.nLabels)
	}
	classes := map[string]int32{}
	var names []string
	err = t.each(t.skip, func(r *records, rec []string, row int) error {
		if len(rec) != t.cols {
			return fmt.Errorf("%s:%d: %d columns, want %d", t.path, r.line(), len(rec), t.cols)
		}
		x, y := set.X[row*f:], vals
		if y != nil {
			y = vals[row*t.nLabels:]
		}
		for i, cell := range rec {
			switch {
			case !t.isLabel[i]:
				v, err := parseCell(cell)
				if err != nil {
					return t.cellError(r, i, err)
				}
				x[0], x = float32(v), x[1:]
			case tg.kind == noTargets:
			case t.named:
				name := strings.TrimSpace(cell)
				if name == "" {
					return t.cellError(r, i, errors.New("empty cell, want a class label"))
				}
				id, ok := classes[name]
				if !ok {
					id = int32(len(names))
					classes[name], names = id, append(names, name)
					if err := tg.checkClasses(names); err != nil {
						return t.cellError(r, i, fmt.Errorf("class %q: %v", name, err))
					}
				}
				ids[row] = id
			default:
				v, err := parseCell(cell)
				if err == nil && tg.kind == idTargets {
					_, err = tg.classID(v)
				}
				if err != nil {
					return t.cellError(r, i, err)
				}
				y[0], y = float32(v), y[1:]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case tg.kind == noTargets:
	case t.named:
		set.setClassTargets(tg, ids, names)
	default:
		if err := set.setTargets(tg, vals, nil); err != nil {
			return nil, fmt.Errorf("%s: %v", t.path, err) // unreachable: the cells are checked
		}
		if t.names != nil && (tg.kind == idTargets || tg.width == 1) {
			set.ClassNames = t.names
		}
	}
	return set, nil
}

// describeLabels names the label columns for a message.
func (t *table) describeLabels() string {
	var l []string
	for i, is := range t.isLabel {
		if is {
			l = append(l, t.colName(i))
		}
	}
	if len(l) == 1 {
		return "label " + l[0]
	}
	return "labels " + strings.Join(l, ", ")
}

// colName names column i: its header name, else its index.
func (t *table) colName(i int) string {
	if t.header != nil {
		return fmt.Sprintf("column %q", strings.TrimSpace(t.header[i]))
	}
	return fmt.Sprintf("column %d", i)
}

// cellError positions err at cell i of the current record of r.
func (t *table) cellError(r *records, i int, err error) error {
	line, col := r.pos(i)
	return fmt.Errorf("%s:%d:%d: %s: %v", t.path, line, col, t.colName(i), err)
}

// scan is the first pass: it finds the header, the label columns and the
// number of rows, and checks that every row has as many cells.
func (t *table) scan() error {
	t.descRows = -1
	var first [][]string // the first three records, which tell the header
	var lines []int
	detected := false
	begin := func() error {
		if err := t.detect(first, lines); err != nil {
			return err
		}
		for _, rec := range first[t.skip:] {
			t.row(rec)
		}
		detected = true
		return nil
	}
	err := t.each(0, func(r *records, rec []string, _ int) error {
		if !detected {
			first, lines = append(first, slices.Clone(rec)), append(lines, r.line())
			if len(first) < 3 {
				return nil
			}
			return begin()
		}
		if len(rec) != t.cols {
			return fmt.Errorf("%s:%d: %d columns, want %d", t.path, r.line(), len(rec), t.cols)
		}
		t.row(rec)
		return nil
	})
	if err != nil {
		return err
	}
	if !detected {
		if len(first) == 0 {
			return fmt.Errorf("%s: no samples: the file is empty", t.path)
		}
		if err := begin(); err != nil {
			return err
		}
	}
	if t.descRows >= 0 && t.descRows != t.rows {
		// Not a descriptor after all: a data line that looked like one.
		*t = table{path: t.path, labels: t.labels, noLabels: t.noLabels, allLabels: t.allLabels, noDesc: true}
		return t.scan()
	}
	if t.rows == 0 {
		return fmt.Errorf("%s: no samples, only a header", t.path)
	}
	return nil
}

// row counts one data record of the first pass and notes a label cell that
// is not a number: then the one label column holds class names.
func (t *table) row(rec []string) {
	t.rows++
	if !t.named && t.nLabels == 1 {
		for i, is := range t.isLabel {
			if is && !isNumber(rec[i]) && strings.TrimSpace(rec[i]) != "" {
				t.named = true
			}
		}
	}
}

// detect finds the descriptor and header lines among the first records and
// resolves the label columns.
func (t *table) detect(first [][]string, lines []int) error {
	if n, ok := descriptor(first); ok && !t.noDesc {
		t.descRows = n
		for _, name := range first[0][2:] {
			if name = strings.TrimSpace(name); name != "" {
				t.names = append(t.names, name)
			}
		}
		t.skip = 1
	}
	if rest := first[t.skip:]; len(rest) > 0 && isHeader(rest) {
		t.header = rest[0]
		t.skip++
	}
	for i, rec := range first[t.skip:] {
		if i == 0 {
			t.cols = len(rec)
		} else if len(rec) != t.cols {
			return fmt.Errorf("%s:%d: %d columns, want %d", t.path, lines[t.skip+i], len(rec), t.cols)
		}
	}
	if t.header != nil && len(t.header) != t.cols && t.cols > 0 {
		return fmt.Errorf("%s:%d: a header of %d columns, want %d", t.path, lines[t.skip-1], len(t.header), t.cols)
	}
	if t.cols == 0 {
		t.cols = len(first[len(first)-1])
	}
	return t.resolve()
}

// descriptor reports whether the first line of first looks like a
// scikit-learn descriptor, and returns its sample count: the sample count,
// the feature count and maybe class names, the feature count one less than
// the columns of the next line. (scan checks the sample count.)
func descriptor(first [][]string) (n int, ok bool) {
	if len(first) < 2 || len(first[0]) < 2 {
		return 0, false
	}
	n0, err0 := strconv.ParseUint(strings.TrimSpace(first[0][0]), 10, 31)
	f, err1 := strconv.ParseUint(strings.TrimSpace(first[0][1]), 10, 31)
	if err0 != nil || err1 != nil || int(f)+1 != len(first[1]) {
		return 0, false
	}
	for _, c := range first[0][2:] {
		if isNumber(c) {
			return 0, false
		}
	}
	return int(n0), true
}

// isHeader reports whether the first of the records is a header: one of its
// cells is text where the next record has a number. A lone record is a
// header if none of its cells is a number.
func isHeader(rec [][]string) bool {
	if len(rec) == 1 {
		return !slices.ContainsFunc(rec[0], isNumber)
	}
	for i, c := range rec[0] {
		if i < len(rec[1]) && !isNumber(c) && strings.TrimSpace(c) != "" && isNumber(rec[1][i]) {
			return true
		}
	}
	return false
}

// resolve finds the label columns.
func (t *table) resolve() error {
	t.isLabel = make([]bool, t.cols)
	switch {
	case t.allLabels:
		for i := range t.isLabel {
			t.isLabel[i] = true
		}
		t.nLabels = t.cols
		return nil
	case t.noLabels:
		return nil
	case len(t.labels) == 0:
		t.isLabel[t.cols-1], t.nLabels = true, 1
		return nil
	}
	for _, l := range t.labels {
		i, err := t.column(l)
		if err != nil {
			return err
		}
		if t.isLabel[i] {
			return fmt.Errorf("%s: label column %s given twice", t.path, l)
		}
		t.isLabel[i] = true
		t.nLabels++
	}
	return nil
}

// column returns the index of the column named or numbered l.
func (t *table) column(l string) (int, error) {
	name := strings.TrimSpace(l)
	for i, h := range t.header {
		if strings.TrimSpace(h) == name {
			return i, nil
		}
	}
	i, err := strconv.Atoi(name)
	switch {
	case err == nil && i >= -t.cols && i < t.cols:
		return (i + t.cols) % t.cols, nil
	case err == nil:
		return 0, fmt.Errorf("%s: no label column %d: the table has %d columns, 0 to %d (or -%d to -1 from the end)", t.path, i, t.cols, t.cols-1, t.cols)
	case t.header == nil:
		return 0, fmt.Errorf("%s: no label column %q: the table has no header to name its columns; give a 0-based index", t.path, name)
	default:
		var hs []string
		for _, h := range t.header {
			hs = append(hs, strings.TrimSpace(h))
		}
		return 0, fmt.Errorf("%s: no label column %q; the header has %s", t.path, name, listNames(hs))
	}
}

// each calls f with every record of the file after the first skip, and its
// row number from 0.
func (t *table) each(skip int, f func(r *records, rec []string, row int) error) error {
	r, err := openRecords(t.path)
	if err != nil {
		return err
	}
	defer r.close()
	for n := 0; ; n++ {
		rec, err := r.read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if n >= skip {
			if err := f(r, rec, n-skip); err != nil {
				return err
			}
		}
	}
}

// records reads the records of a table file.
type records struct {
	path  string
	f     *os.File
	zr    *gzip.Reader
	csv   *csv.Reader   // for a separator character
	lines *bufio.Reader // for runs of spaces
	n     int           // line number of the last line read
	cols  []int         // columns of the fields of the last line (spaces)
	rec   []string
}

func openRecords(path string) (*records, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := &records{path: path, f: f}
	br := bufio.NewReaderSize(f, 1<<16)
	var in io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		if r.zr, err = gzip.NewReader(br); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		in = r.zr
	}
	lr := bufio.NewReaderSize(in, 1<<16)
	if bom, _ := lr.Peek(3); string(bom) == "\ufeff" {
		lr.Discard(3) // a byte order mark, as spreadsheets write
	}
	head, _ := lr.Peek(1 << 16)
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	for _, sep := range []rune{',', '\t', ';'} {
		if bytes.ContainsRune(head, sep) {
			r.csv = csv.NewReader(lr)
			r.csv.Comma = sep
			r.csv.FieldsPerRecord = -1
			r.csv.ReuseRecord = true
			return r, nil
		}
	}
	r.lines = lr
	return r, nil
}

func (r *records) close() {
	if r.zr != nil {
		r.zr.Close()
	}
	r.f.Close()
}

// read returns the next record, skipping empty lines; io.EOF at the end.
func (r *records) read() ([]string, error) {
	if r.csv != nil {
		rec, err := r.csv.Read()
		if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
			return nil, fmt.Errorf("%s:%d:%d: %v", r.path, pe.Line, pe.Column, pe.Err)
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: %v", r.path, noEOF(err))
		}
		return rec, err
	}
	for {
		line, err := r.lines.ReadString('\n')
		if line == "" && err == io.EOF {
			return nil, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: %v", r.path, noEOF(err))
		}
		r.n++
		r.rec, r.cols = r.rec[:0], r.cols[:0]
		for i := 0; i < len(line); {
			for i < len(line) && isSpace(line[i]) {
				i++
			}
			j := i
			for j < len(line) && !isSpace(line[j]) {
				j++
			}
			if j > i {
				r.rec, r.cols = append(r.rec, line[i:j]), append(r.cols, i+1)
			}
			i = j
		}
		if len(r.rec) > 0 {
			return r.rec, nil
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// line is the line of the last record read.
func (r *records) line() int {
	l, _ := r.pos(0)
	return l
}

// pos is the line and column of field i of the last record read.
func (r *records) pos(i int) (line, col int) {
	if r.csv != nil {
		return r.csv.FieldPos(i)
	}
	return r.n, r.cols[i]
}

// isNumber reports whether cell is a number, NaN, infinite or out of range
// ones included.
func isNumber(cell string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}

// parseCell parses a numeric cell: a finite number in float32's range.
func parseCell(cell string) (float64, error) {
	c := strings.TrimSpace(cell)
	if c == "" {
		return 0, errors.New("empty cell, want a number (missing values are not supported)")
	}
	v, err := strconv.ParseFloat(c, 64)
	switch {
	case err == nil && (math.IsNaN(v) || math.IsInf(v, 0)):
		return 0, finite(v)
	case errors.Is(err, strconv.ErrRange) || err == nil && math.Abs(v) > math.MaxFloat32:
		return 0, fmt.Errorf("%s is out of float32's range", c)
	case err != nil:
		return 0, fmt.Errorf("%q is not a number", c)
	}
	return v, nil
}

// finite reports an error if v is NaN or infinite.
func finite(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%v is not a finite number", v)
	}
	return nil
}
