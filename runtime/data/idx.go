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
		return nil, err
	}
	defer f.Close()
	m, err := readIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func readIDX(f io.Reader) (*IDX, error) {
	m, r, err := readIDXHeader(f)
	if err != nil {
		return nil, err
	}
	n := size(m.Dims)
	// Read at most one byte more than the header promises: a corrupt header
	// cannot make us allocate more than the file holds.
	data, err := io.ReadAll(io.LimitReader(r, int64(n)+1))
	if err != nil {
		return nil, fmt.Errorf("reading data: %v", noEOF(err))
	}
	if err := idxLength(m.Dims, len(data), len(data) > n); err != nil {
		return nil, err
	}
	m.Data = data
	return m, nil
}

// readIDXHeader reads the header of an IDX file from f and returns it, with
// no Data, and the reader of the data that follows.
func readIDXHeader(f io.Reader) (*IDX, io.Reader, error) {
	br := bufio.NewReaderSize(f, 1<<16)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		r = zr
	}
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, nil, fmt.Errorf("not an IDX file: %v", noEOF(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, nil, fmt.Errorf("not an IDX file: bad magic % x", head)
	}
	m := &IDX{Type: head[2], Dims: make([]int, head[3])}
	if m.Type != 0x08 {
		name, ok := idxTypeNames[m.Type]
		if !ok {
			return nil, nil, fmt.Errorf("not an IDX file: unknown element type %#02x", m.Type)
		}
		return nil, nil, fmt.Errorf("element type %#02x (%s) not supported, only 0x08 (unsigned byte)", m.Type, name)
	}
	dims := make([]byte, 4*len(m.Dims))
	if _, err := io.ReadFull(r, dims); err != nil {
		return nil, nil, fmt.Errorf("truncated header: %v", noEOF(err))
	}
	n := int64(1)
	for i := range m.Dims {
		m.Dims[i] = int(binary.BigEndian.Uint32(dims[4*i:]))
		if n *= int64(m.Dims[i]); n > math.MaxInt32 {
			return nil, nil, fmt.Errorf("dimensions %v too large", m.Dims[:i+1])
		}
	}
	return m, r, nil
}

// idxLength reports an error if the read bytes of data, more if there are
// more, do not match the dimensions dims.
func idxLength(dims []int, read int, more bool) error {
	n := size(dims)
	switch {
	case read < n:
		return fmt.Errorf("truncated: dimensions %v need %d data bytes, file has %d", dims, n, read)
	case more:
		return fmt.Errorf("trailing bytes after the %d data bytes of dimensions %v", n, dims)
	}
	return nil
}

// eachIDX reads the IDX file path and calls f with its dimensions and then
// with its data in blocks, from the offset off.
func eachIDX(path string, dims func([]int) error, f func(off int, b []byte) error) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	err = func() error {
		m, r, err := readIDXHeader(file)
		if err != nil {
			return err
		}
		if err := dims(m.Dims); err != nil {
			return err
		}
		n, off := size(m.Dims), 0
		buf := make([]byte, 1<<16)
		for off <= n {
			k, err := io.ReadFull(r, buf[:min(len(buf), n+1-off)])
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				if err := idxLength(m.Dims, off+k, false); err != nil {
					return err
				}
				return f(off, buf[:k])
			}
			if err != nil {
				return fmt.Errorf("reading data: %v", noEOF(err))
			}
			if off+k > n {
				return idxLength(m.Dims, off+k, true)
			}
			if err := f(off, buf[:k]); err != nil {
				return err
			}
			off += k
		}
		return nil
	}()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// noEOF turns the end-of-file errors of a short read into a readable one.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of file")
	}
	return err
}

// MNIST is the MNIST data set in the folder Dir: train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
// t10k-labels-idx1-ubyte, each optionally gzipped (.gz). Pixels are scaled
// to [0, 1]; the labels 0 to 9 are class ids.
type MNIST struct{ Dir string }

func (m MNIST) String() string { return m.Dir }

// Load reads the training set and the test set (t10k).
func (m MNIST) Load(s Shapes) (train, test *Set, err error) {
	t, err := targetOf(1, s.Output, false)
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("%s: MNIST labels: %v", m.Dir, err)
	case t.kind == valueTargets:
		return nil, nil, fmt.Errorf("%s: MNIST has 10 classes, but the model's output %s is not one of classes", m.Dir, shapeString(s.Output))
	case t.kind == noTargets:
		t = target{kind: idTargets, classes: 10, rows: 1}
	}
	if t.rows != 1 || t.classes < 10 {
		return nil, nil, fmt.Errorf("%s: MNIST has 10 classes, but the model's output %s has %d", m.Dir, shapeString(s.Output), t.classes)
	}
	if train, err = loadMNIST(m.Dir, "train", t.classes); err != nil {
		return nil, nil, err
	}
	if err := checkInput(train.Shape, s.Input); err != nil {
		return nil, nil, fmt.Errorf("%s: MNIST images: %v", m.Dir, err)
	}
	if test, err = loadMNIST(m.Dir, "t10k", t.classes); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// isMNIST reports whether the folder dir holds MNIST's first file.
func isMNIST(dir string) bool {
	_, err := findGz(filepath.Join(dir, "train-images-idx3-ubyte"))
	return err == nil
}

// LoadMNIST loads the MNIST training and test sets from dir (see MNIST):
// samples of Shape [rows*cols] (784) and 10 classes.
func LoadMNIST(dir string) (train, test *Set, err error) {
	return MNIST{Dir: dir}.Load(Shapes{})
}

// loadMNIST reads the images and labels of one split with the given number
// of classes, converting them into the set as they are read.
func loadMNIST(dir, prefix string, classes int) (*Set, error) {
	ipath, err := findGz(filepath.Join(dir, prefix+"-images-idx3-ubyte"))
	if err != nil {
		return nil, err
	}
	lpath, err := findGz(filepath.Join(dir, prefix+"-labels-idx1-ubyte"))
	if err != nil {
		return nil, err
	}
	s := &Set{Classes: classes}
	err = eachIDX(ipath, func(dims []int) error {
		if len(dims) != 3 {
			return fmt.Errorf("%d dimensions, want 3 (images, rows, columns)", len(dims))
		}
		s.N, s.Shape = dims[0], []int{dims[1] * dims[2]}
		s.X = make([]float32, size(dims))
		return nil
	}, func(off int, b []byte) error {
		for i, v := range b {
			s.X[off+i] = float32(v) / 255
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachIDX(lpath, func(dims []int) error {
		if len(dims) != 1 {
			return fmt.Errorf("%d dimensions, want 1 (labels)", len(dims))
		}
		if dims[0] != s.N {
			return fmt.Errorf("%d labels, but %s holds %d images", dims[0], ipath, s.N)
		}
		s.Labels = make([]int32, s.N)
		return nil
	}, func(off int, b []byte) error {
		for i, v := range b {
			if v > 9 {
				return fmt.Errorf("label %d of sample %d not in [0, 9]", v, off+i)
			}
			s.Labels[off+i] = int32(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
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
	return "", fmt.Errorf("%s[.gz]: no such file", path)
}
