package data

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The NPY header is a Python dict literal, as numpy.save writes it:
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
var (
	npyDescr   = regexp.MustCompile(`['"]descr['"]\s*:\s*['"]([^'"]*)['"]`)
	npyFortran = regexp.MustCompile(`['"]fortran_order['"]\s*:\s*(True|False)`)
	npyShape   = regexp.MustCompile(`['"]shape['"]\s*:\s*\(([^)]*)\)`)
)

// ReadNPY reads a little-endian, C-order NumPy array of float32, float64,
// uint8, int8, int16, uint16, int32, int64 or bool elements and returns its
// shape and its values converted to float32. It reads the file in blocks
// into the one array it returns.
func ReadNPY(path string) (shape []int, data []float32, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	shape, data, err = readNPY(f, fi.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return shape, data, nil
}

func parseNPY(b []byte) (shape []int, data []float32, err error) {
	return readNPY(bytes.NewReader(b), int64(len(b)))
}

// readNPY reads an .npy file of n bytes from r.
func readNPY(r io.Reader, n int64) (shape []int, data []float32, err error) {
	br := bufio.NewReaderSize(r, 1<<16)
	b, _ := br.Peek(12)
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, nil, fmt.Errorf("not a NumPy .npy file")
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, nil, fmt.Errorf("truncated header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:])), 12
	default:
		return nil, nil, fmt.Errorf("unsupported .npy format version %d.%d", b[6], b[7])
	}
	if int64(hlen) > n-int64(start) {
		return nil, nil, fmt.Errorf("truncated header")
	}
	hb := make([]byte, start+hlen)
	if _, err := io.ReadFull(br, hb); err != nil {
		return nil, nil, fmt.Errorf("truncated header")
	}
	header := string(hb[start:])
	descr, fortran, shp := npyDescr.FindStringSubmatch(header), npyFortran.FindStringSubmatch(header), npyShape.FindStringSubmatch(header)
	if descr == nil || fortran == nil || shp == nil {
		return nil, nil, fmt.Errorf("malformed header %q", strings.TrimSpace(header))
	}
	count := 1
	for f := range strings.SplitSeq(shp[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 || d > math.MaxInt32 || count*d > math.MaxInt32 {
			return nil, nil, fmt.Errorf("bad shape (%s)", shp[1])
		}
		shape, count = append(shape, d), count*d
	}
	if shape == nil {
		shape = []int{}
	}
	if fortran[1] == "True" && len(shape) > 1 {
		return nil, nil, fmt.Errorf("arrays in Fortran order are not supported; save a C-order array (numpy.ascontiguousarray)")
	}
	el, ok := npyTypes[descr[1]]
	if !ok {
		return nil, nil, fmt.Errorf("element type %q not supported (want <f4, <f8, |u1, |i1, <i2, <u2, <i4, <i8 or |b1)", descr[1])
	}
	if raw := n - int64(start+hlen); raw != int64(count*el.size) {
		return nil, nil, fmt.Errorf("shape %v needs %d data bytes, file has %d", shape, count*el.size, raw)
	}
	data = make([]float32, count)
	buf := make([]byte, 1<<16/el.size*el.size)
	for i := 0; i < count; {
		k := min(count-i, len(buf)/el.size)
		if _, err := io.ReadFull(br, buf[:k*el.size]); err != nil {
			return nil, nil, fmt.Errorf("reading data: %v", noEOF(err))
		}
		for j := range k {
			data[i+j] = el.conv(buf[j*el.size:])
		}
		i += k
	}
	return shape, data, nil
}

// An npyType is an element type of .npy files: its size in bytes and its
// conversion to float32.
type npyType struct {
	size int
	conv func([]byte) float32
}

var npyTypes = map[string]npyType{
	"<f4": {4, func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }},
	"<f8": {8, func(b []byte) float32 { return float32(math.Float64frombits(binary.LittleEndian.Uint64(b))) }},
	"|u1": {1, func(b []byte) float32 { return float32(b[0]) }},
	"<u1": {1, func(b []byte) float32 { return float32(b[0]) }},
	"u1":  {1, func(b []byte) float32 { return float32(b[0]) }},
	"|i1": {1, func(b []byte) float32 { return float32(int8(b[0])) }},
	"|b1": {1, func(b []byte) float32 { return float32(min(b[0], 1)) }},
	"<i2": {2, func(b []byte) float32 { return float32(int16(binary.LittleEndian.Uint16(b))) }},
	"<u2": {2, func(b []byte) float32 { return float32(binary.LittleEndian.Uint16(b)) }},
	"<i4": {4, func(b []byte) float32 { return float32(int32(binary.LittleEndian.Uint32(b))) }},
	"<i8": {8, func(b []byte) float32 { return float32(int64(binary.LittleEndian.Uint64(b))) }},
}

// NPY is an array of samples in a NumPy .npy file, [n, input...] (or
// [n, prod(input)]), with its targets in a file of their own: a .npy array
// of class ids [n] (or [n, rows] for per-step labels), of one-hot rows or
// of target values [n, output...], or a .csv table of them.
type NPY struct {
	Path   string
	Labels string // the targets; none for a model that takes none
}

func (p NPY) String() string { return p.Path }

// Load reads the arrays; they have no test split.
func (p NPY) Load(s Shapes) (train, test *Set, err error) {
	shape, x, err := ReadNPY(p.Path)
	if err != nil {
		return nil, nil, err
	}
	if len(shape) < 1 {
		return nil, nil, fmt.Errorf("%s: a scalar, want an array of samples [n, input...]", p.Path)
	}
	set := &Set{N: shape[0], Shape: shape[1:], X: x}
	if len(set.Shape) == 0 {
		set.Shape = []int{1}
	}
	if err := checkSampleShape(shape, s.Input); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", p.Path, err)
	}
	w := set.SampleSize()
	for i, v := range x {
		if err := finite(float64(v)); err != nil {
			return nil, nil, fmt.Errorf("%s: sample %d: value %d: %v", p.Path, i/w, i%w, err)
		}
	}
	switch {
	case s.Output == nil:
	case p.Labels == "":
		return nil, nil, fmt.Errorf("%s: no labels: give the file of the targets (--labels y.npy)", p.Path)
	default:
		if err := set.readLabels(p.Labels, p.Path, s); err != nil {
			return nil, nil, err
		}
	}
	return set, nil, nil
}

// checkSampleShape reports an error if an array of shape [n, sample...]
// does not hold samples of the model's input shape in: the same shape up to
// axes of 1, or the same size with either flat.
func checkSampleShape(shape, in []int) error {
	sample := shape[1:]
	if in == nil || size(sample) == size(in) && (len(sample) <= 1 || len(in) <= 1 || slices.Equal(squeeze(sample), squeeze(in))) {
		return nil
	}
	want := strings.Replace(shapeString(append([]int{-1}, in...)), "-1", "n", 1)
	if len(in) > 1 {
		want += fmt.Sprintf(" (or [n,%d] flat)", size(in))
	}
	return fmt.Errorf("shape %s does not fit the model's input: want %s", shapeString(shape), want)
}

// squeeze drops the axes of 1 of shape.
func squeeze(shape []int) []int {
	var s []int
	for _, d := range shape {
		if d != 1 {
			s = append(s, d)
		}
	}
	return s
}

// readNPYLabels reads the targets of the .npy file path: its first axis is
// the samples.
func readNPYLabels(path string, s Shapes) (*Set, error) {
	shape, y, err := ReadNPY(path)
	if err != nil {
		return nil, err
	}
	if len(shape) < 1 {
		return nil, fmt.Errorf("%s: a scalar, want an array of labels [n] or targets [n, output...]", path)
	}
	set := &Set{N: shape[0]}
	m := size(shape[1:])
	t, err := targetOf(m, s.Output, false)
	if err != nil {
		return nil, fmt.Errorf("%s: labels of shape %s: %v", path, shapeString(shape), err)
	}
	if err := set.setTargets(t, y, func(i int) string { return fmt.Sprintf("%s: sample %d", path, i) }); err != nil {
		return nil, err
	}
	return set, nil
}

// WriteNPY writes data, of the given shape, as a float32 ('<f4') NumPy array.
// It writes a temporary file next to path and renames it, so path is either
// left untouched or holds the complete array.
func WriteNPY(path string, shape []int, data []float32) error {
	n := 1
	dims := make([]string, len(shape))
	for i, d := range shape {
		if d < 0 {
			return fmt.Errorf("%s: negative dimension in shape %v", path, shape)
		}
		n *= d
		dims[i] = strconv.Itoa(d)
	}
	if n != len(data) {
		return fmt.Errorf("%s: shape %v holds %d values, have %d", path, shape, n, len(data))
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", tuple)
	version, prefix := byte(1), 10
	if len(header) > math.MaxUint16-64 {
		version, prefix = 2, 12 // a 4-byte header length
	}
	// Pad with spaces so that the data starts at a multiple of 64 bytes,
	// exactly as numpy.save does.
	header += strings.Repeat(" ", 64-(prefix+len(header)+1)%64) + "\n"
	head := append([]byte("\x93NUMPY"), version, 0)
	if version == 1 {
		head = binary.LittleEndian.AppendUint16(head, uint16(len(header)))
	} else {
		head = binary.LittleEndian.AppendUint32(head, uint32(len(header)))
	}
	head = append(head, header...)
	err := writeAtomic(path, func(w io.Writer) error {
		if _, err := w.Write(head); err != nil {
			return err
		}
		var buf [4]byte
		for _, v := range data {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			if _, err := w.Write(buf[:]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return nil
}

// writeAtomic writes a file through write into a temporary file in the
// directory of path, syncs it and renames it to path. On error path is left
// untouched and the temporary file is removed.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriter(f)
	if err = write(w); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// WriteFile writes a file through write atomically: into a temporary file
// next to path, renamed to path once complete. On error path is left
// untouched.
func WriteFile(path string, write func(io.Writer) error) error { return writeAtomic(path, write) }
