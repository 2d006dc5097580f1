package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

// IDX is an array in the IDX format of the MNIST files.
type IDX struct {
	Dims []int // dimensions, outermost first
	Type byte  // element type code: 0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
	Data []byte
}

var idxTypeNames = map[byte]string{0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16", 0x0C: "int32", 0x0D: "float32", 0x0E: "float64"}

// ReadIDX reads an IDX file, gzip-compressed or not. Only the unsigned byte
// element type (0x08) is supported.
func ReadIDX(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	m, err := readIDX(f)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return m, nil
}

func readIDX(f io.Reader) (*IDX, error) {
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		r = zr
	}
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("not an IDX file: %v", noEOF(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("not an IDX file: bad magic % x", head)
	}
	m := &IDX{Type: head[2], Dims: make([]int, head[3])}
	if m.Type != 0x08 {
		name, ok := idxTypeNames[m.Type]
		if !ok {
			return nil, fmt.Errorf("not an IDX file: unknown element type %#02x", m.Type)
		}
		return nil, fmt.Errorf("element type %#02x (%s) not supported, only 0x08 (unsigned byte)", m.Type, name)
	}
	dims := make([]byte, 4*len(m.Dims))
	if _, err := io.ReadFull(r, dims); err != nil {
		return nil, fmt.Errorf("truncated header: %v", noEOF(err))
	}
	n := int64(1)
	for i := range m.Dims {
		m.Dims[i] = int(binary.BigEndian.Uint32(dims[4*i:]))
		if n *= int64(m.Dims[i]); n > math.MaxInt32 {
			return nil, fmt.Errorf("dimensions %v too large", m.Dims[:i+1])
		}
	}
	// Read at most one byte more than the header promises: a corrupt header
	// cannot make us allocate more than the file holds.
	data, err := io.ReadAll(io.LimitReader(r, n+1))
	if err != nil {
		return nil, fmt.Errorf("reading data: %v", noEOF(err))
	}
	switch {
	case int64(len(data)) < n:
		return nil, fmt.Errorf("truncated: dimensions %v need %d data bytes, file has %d", m.Dims, n, len(data))
	case int64(len(data)) > n:
		return nil, fmt.Errorf("trailing bytes after the %d data bytes of dimensions %v", n, m.Dims)
	}
	m.Data = data
	return m, nil
}

// noEOF turns the end-of-file errors of a short read into a readable one.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of file")
	}
	return err
}

// LoadMNIST loads the MNIST training and test sets from dir, which holds
// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
// and t10k-labels-idx1-ubyte, each optionally gzipped (.gz). Pixels are
// scaled to [0, 1]; samples have Shape [rows*cols] (784) and 10 classes.
func LoadMNIST(dir string) (train, test *Set, err error) {
	if train, err = loadMNIST(dir, "train"); err != nil {
		return nil, nil, err
	}
	if test, err = loadMNIST(dir, "t10k"); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

func loadMNIST(dir, prefix string) (*Set, error) {
	ipath, err := findGz(filepath.Join(dir, prefix+"-images-idx3-ubyte"))
	if err != nil {
		return nil, err
	}
	lpath, err := findGz(filepath.Join(dir, prefix+"-labels-idx1-ubyte"))
	if err != nil {
		return nil, err
	}
	im, err := ReadIDX(ipath)
	if err != nil {
		return nil, err
	}
	lb, err := ReadIDX(lpath)
	if err != nil {
		return nil, err
	}
	if len(im.Dims) != 3 {
		return nil, fmt.Errorf("data: %s: %d dimensions, want 3 (images, rows, columns)", ipath, len(im.Dims))
	}
	if len(lb.Dims) != 1 {
		return nil, fmt.Errorf("data: %s: %d dimensions, want 1 (labels)", lpath, len(lb.Dims))
	}
	if im.Dims[0] != lb.Dims[0] {
		return nil, fmt.Errorf("data: %s holds %d images but %s holds %d labels", ipath, im.Dims[0], lpath, lb.Dims[0])
	}
	s := &Set{N: im.Dims[0], Shape: []int{im.Dims[1] * im.Dims[2]}, Classes: 10,
		X: make([]float32, len(im.Data)), Labels: make([]int32, len(lb.Data))}
	for i, v := range im.Data {
		s.X[i] = float32(v) / 255
	}
	for i, v := range lb.Data {
		if v > 9 {
			return nil, fmt.Errorf("data: %s: label %d of sample %d not in [0, 9]", lpath, v, i)
		}
		s.Labels[i] = int32(v)
	}
	return s, nil
}

// findGz returns path if it exists, else path+".gz" if that exists.
func findGz(path string) (string, error) {
	for _, p := range []string{path, path + ".gz"} {
		if _, err := os.Stat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
	}
	return "", fmt.Errorf("data: %s[.gz]: no such file", path)
}
