package data

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
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
// uint8, int32 or int64 elements and returns its shape and its values
// converted to float32.
func ReadNPY(path string) (shape []int, data []float32, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	shape, data, err = parseNPY(b)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return shape, data, nil
}

func parseNPY(b []byte) (shape []int, data []float32, err error) {
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
	if hlen > len(b)-start {
		return nil, nil, fmt.Errorf("truncated header")
	}
	header, raw := string(b[start:start+hlen]), b[start+hlen:]
	descr, fortran, shp := npyDescr.FindStringSubmatch(header), npyFortran.FindStringSubmatch(header), npyShape.FindStringSubmatch(header)
	if descr == nil || fortran == nil || shp == nil {
		return nil, nil, fmt.Errorf("malformed header %q", strings.TrimSpace(header))
	}
	n := 1
	for f := range strings.SplitSeq(shp[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 || d > math.MaxInt32 || n*d > math.MaxInt32 {
			return nil, nil, fmt.Errorf("bad shape (%s)", shp[1])
		}
		shape, n = append(shape, d), n*d
	}
	if shape == nil {
		shape = []int{}
	}
	if fortran[1] == "True" && len(shape) > 1 {
		return nil, nil, fmt.Errorf("arrays in Fortran order are not supported; save a C-order array (numpy.ascontiguousarray)")
	}
	var size int
	var conv func([]byte) float32
	switch descr[1] {
	case "<f4":
		size, conv = 4, func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }
	case "<f8":
		size, conv = 8, func(b []byte) float32 { return float32(math.Float64frombits(binary.LittleEndian.Uint64(b))) }
	case "|u1", "<u1", "u1":
		size, conv = 1, func(b []byte) float32 { return float32(b[0]) }
	case "<i4":
		size, conv = 4, func(b []byte) float32 { return float32(int32(binary.LittleEndian.Uint32(b))) }
	case "<i8":
		size, conv = 8, func(b []byte) float32 { return float32(int64(binary.LittleEndian.Uint64(b))) }
	default:
		return nil, nil, fmt.Errorf("element type %q not supported (want <f4, <f8, |u1, <i4 or <i8)", descr[1])
	}
	if len(raw) != n*size {
		return nil, nil, fmt.Errorf("shape %v needs %d data bytes, file has %d", shape, n*size, len(raw))
	}
	data = make([]float32, n)
	for i := range data {
		data[i] = conv(raw[i*size:])
	}
	return shape, data, nil
}

// WriteNPY writes data, of the given shape, as a float32 ('<f4') NumPy array.
// It writes a temporary file next to path and renames it, so path is either
// left untouched or holds the complete array.
func WriteNPY(path string, shape []int, data []float32) error {
	n := 1
	dims := make([]string, len(shape))
	for i, d := range shape {
		if d < 0 {
			return fmt.Errorf("data: %s: negative dimension in shape %v", path, shape)
		}
		n *= d
		dims[i] = strconv.Itoa(d)
	}
	if n != len(data) {
		return fmt.Errorf("data: %s: shape %v holds %d values, have %d", path, shape, n, len(data))
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
		return fmt.Errorf("data: %w", err)
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
