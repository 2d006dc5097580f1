// Package ckpt saves and loads model checkpoints in the safetensors format
// (https://github.com/huggingface/safetensors), which PyTorch and most other
// frameworks read: an 8-byte little-endian header length, a JSON header that
// gives every tensor's dtype, shape and data offsets plus a "__metadata__"
// map of strings, then the raw little-endian tensor data.
//
// Tensors are F32 or F64. Save writes byte-for-byte the same file for the
// same input: header keys are sorted and the data is laid out by descending
// alignment, then by name, as the reference implementation does, so every
// F64 tensor is 8-byte aligned and every F32 tensor 4-byte aligned.
package ckpt

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nlpodyssey/safetensors"
)

// Tensor is a named tensor of a checkpoint.
type Tensor struct {
	Name  string
	Shape []int
	Data  any // []float32 or []float64: a view into the caller's arrays; Load fills it in place
	// Image, when set to [H, W, C], says that the last axis of Data is a
	// flattened NHWC image and that of the file the NCHW one (PyTorch's
	// nn.Flatten after a convolution): Save and Load permute it.
	Image []int
}

// permuteImage returns a copy of data (rows of a flattened image img,
// [H, W, C]) with each row's values moved from NHWC to NCHW order, or
// back with toNHWC.
func permuteImage[T float32 | float64](data []T, img []int, toNHWC bool) []T {
	h, w, c := img[0], img[1], img[2]
	n := h * w * c
	out := make([]T, len(data))
	for r := 0; r+n <= len(data); r += n {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				for k := 0; k < c; k++ {
					hwc, chw := r+(y*w+x)*c+k, r+(k*h+y)*w+x
					if toNHWC {
						out[hwc] = data[chw]
					} else {
						out[chw] = data[hwc]
					}
				}
			}
		}
	}
	return out
}

// reorder returns a copy of t's data with the image axis permuted from
// NHWC to NCHW order (the file's), or back with toNHWC; t.Data itself where
// t has no Image.
func (t Tensor) reorder(toNHWC bool) any {
	if len(t.Image) != 3 {
		return t.Data
	}
	switch d := t.Data.(type) {
	case []float32:
		return permuteImage(d, t.Image, toNHWC)
	case []float64:
		return permuteImage(d, t.Image, toNHWC)
	}
	return t.Data
}

// checkImage reports whether t's Image, if any, divides its last axis.
func (t Tensor) checkImage() error {
	if t.Image == nil {
		return nil
	}
	if len(t.Image) != 3 || len(t.Shape) == 0 || t.Image[0]*t.Image[1]*t.Image[2] != t.Shape[len(t.Shape)-1] {
		return fmt.Errorf("image %v does not match the last axis of shape %v", t.Image, t.Shape)
	}
	return nil
}

// OptimizerPrefix starts the names of tensors that hold optimizer state;
// Load does not require them to be requested.
const OptimizerPrefix = "optimizer."

// Save writes the tensors ts and the metadata meta to path as a safetensors
// file. It writes a temporary file in the same directory, syncs it and renames
// it to path, so on error an existing file at path is left untouched.
func Save(path string, ts []Tensor, meta map[string]string) error {
	views := make(map[string]view, len(ts))
	for _, t := range ts {
		dt, n, err := dtypeOf(t.Data)
		if err == nil {
			err = checkShape(t.Shape, n)
		}
		if err == nil {
			err = t.checkImage()
		}
		switch {
		case err != nil:
			return fmt.Errorf("ckpt: %s: tensor %q: %w", path, t.Name, err)
		case t.Name == "" || t.Name == "__metadata__":
			return fmt.Errorf("ckpt: %s: invalid tensor name %q", path, t.Name)
		}
		if _, dup := views[t.Name]; dup {
			return fmt.Errorf("ckpt: %s: tensor %q given twice", path, t.Name)
		}
		shape := make([]uint64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = uint64(d)
		}
		views[t.Name] = view{dt, shape, t.reorder(false), n}
	}
	err := writeAtomic(path, func(w io.Writer) error { return safetensors.SerializeToWriter(views, meta, w) })
	if err != nil {
		return fmt.Errorf("ckpt: %s: %w", path, err)
	}
	return nil
}

// Load reads the checkpoint at path into the tensors ts, which must all be in
// the file with the same dtype and shape, and returns its metadata. Every
// tensor of the file must be requested, except those whose names start with
// OptimizerPrefix: a weights-only load of a full checkpoint works. Load
// checks everything before it fills any tensor, so on error ts is unchanged.
func Load(path string, ts []Tensor) (meta map[string]string, err error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("ckpt: %s: "+format, append([]any{path}, args...)...)
	}
	requested := make(map[string]bool, len(ts))
	for _, t := range ts {
		info, ok := f.infos[t.Name]
		dt, n, err := dtypeOf(t.Data)
		if err == nil {
			err = checkShape(t.Shape, n)
		}
		if err == nil {
			err = t.checkImage()
		}
		switch {
		case err != nil:
			return nil, fail("tensor %q: %v", t.Name, err)
		case requested[t.Name]:
			return nil, fail("tensor %q requested twice", t.Name)
		case !ok:
			return nil, fail("tensor %q not in the file", t.Name)
		case info.DType != dt:
			return nil, fail("tensor %q is %v in the file, want %v", t.Name, info.DType, dt)
		case !slices.EqualFunc(info.Shape, t.Shape, func(a uint64, b int) bool { return a == uint64(b) }):
			return nil, fail("tensor %q has shape %v in the file, want %v", t.Name, info.Shape, t.Shape)
		}
		requested[t.Name] = true
	}
	var extra []string
	for name := range f.infos {
		if !requested[name] && !strings.HasPrefix(name, OptimizerPrefix) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return nil, fail("file holds tensors that were not requested: %s", strings.Join(extra, ", "))
	}
	for _, t := range ts {
		decode(t.Data, f.bytes(t.Name))
		if t.Image == nil {
			continue
		}
		switch d := t.reorder(true).(type) { // the file's order back to t's
		case []float32:
			copy(t.Data.([]float32), d)
		case []float64:
			copy(t.Data.([]float64), d)
		}
	}
	return f.meta, nil
}

// Read reads every tensor of the checkpoint at path into fresh slices, sorted
// by name, and returns them with the file's metadata.
func Read(path string) (ts []Tensor, meta map[string]string, err error) {
	f, err := open(path)
	if err != nil {
		return nil, nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(f.infos)) {
		info := f.infos[name]
		t := Tensor{Name: name, Shape: make([]int, len(info.Shape))}
		for i, d := range info.Shape {
			t.Shape[i] = int(d)
		}
		n := len(f.bytes(name)) / int(info.DType.Size())
		switch info.DType {
		case safetensors.F32:
			t.Data = make([]float32, n)
		case safetensors.F64:
			t.Data = make([]float64, n)
		default:
			return nil, nil, fmt.Errorf("ckpt: %s: tensor %q has dtype %v, want F32 or F64", path, name, info.DType)
		}
		decode(t.Data, f.bytes(name))
		ts = append(ts, t)
	}
	return ts, f.meta, nil
}

// file is a parsed safetensors file.
type file struct {
	infos map[string]*safetensors.TensorInfo
	meta  map[string]string
	data  []byte // the data section
}

// bytes returns the data of the tensor name.
func (f *file) bytes(name string) []byte {
	off := f.infos[name].DataOffsets
	return f.data[off[0]:off[1]]
}

// open reads and checks the safetensors file at path.
func open(path string) (*file, error) {
	b, err := os.ReadFile(path)
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		err = pe.Err
	}
	if err == nil {
		var f *file
		if f, err = parse(b); err == nil {
			return f, nil
		}
	}
	return nil, fmt.Errorf("ckpt: %s: %w", path, err)
}

// parse parses a safetensors file and checks that its tensors' data exactly
// tile the data section.
func parse(b []byte) (*file, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("truncated file: %d bytes, no header", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("header length %d exceeds the %d bytes that follow it (truncated file?)", n, len(b)-8)
	}
	var md safetensors.Metadata
	if err := json.Unmarshal(b[8:8+n], &md); err != nil {
		return nil, fmt.Errorf("bad header: %w", err)
	}
	f := &file{infos: md.Tensors(), meta: md.Metadata(), data: b[8+n:]}
	names := slices.SortedFunc(maps.Keys(f.infos), func(a, b string) int {
		oa, ob := f.infos[a].DataOffsets, f.infos[b].DataOffsets
		return cmp.Or(cmp.Compare(oa[0], ob[0]), cmp.Compare(oa[1], ob[1]), strings.Compare(a, b))
	})
	end := uint64(0)
	for _, name := range names {
		info := f.infos[name]
		begin, stop := info.DataOffsets[0], info.DataOffsets[1]
		size := info.DType.Size()
		for _, d := range info.Shape {
			hi, lo := bits.Mul64(size, d)
			if hi != 0 || d > math.MaxInt32 {
				return nil, fmt.Errorf("tensor %q: shape %v too large", name, info.Shape)
			}
			size = lo
		}
		switch {
		case stop > uint64(len(f.data)):
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] beyond the %d data bytes (truncated file?)", name, begin, stop, len(f.data))
		case begin != end || stop < begin:
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] do not start at the end of the previous tensor, %d", name, begin, stop, end)
		case stop-begin != size:
			return nil, fmt.Errorf("tensor %q: %v with shape %v is %d bytes, data_offsets [%d, %d] give %d", name, info.DType, info.Shape, size, begin, stop, stop-begin)
		}
		end = stop
	}
	if end != uint64(len(f.data)) {
		return nil, fmt.Errorf("%d stray bytes after the last tensor", uint64(len(f.data))-end)
	}
	return f, nil
}

// dtypeOf returns the dtype and length of a tensor's data.
func dtypeOf(data any) (safetensors.DType, int, error) {
	switch d := data.(type) {
	case []float32:
		return safetensors.F32, len(d), nil
	case []float64:
		return safetensors.F64, len(d), nil
	}
	return 0, 0, fmt.Errorf("data is %T, want []float32 or []float64", data)
}

// checkShape reports whether shape holds n values.
func checkShape(shape []int, n int) error {
	size := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", shape)
		}
		size *= d
	}
	if size != n {
		return fmt.Errorf("shape %v holds %d values, data has %d", shape, size, n)
	}
	return nil
}

// decode fills dst, a []float32 or []float64, from little-endian bytes.
func decode(dst any, b []byte) {
	switch d := dst.(type) {
	case []float32:
		for i := range d {
			d[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case []float64:
		for i := range d {
			d[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
	}
}

// view is a tensor as the safetensors serializer sees it. It encodes its
// data only when asked, so Save holds at most one tensor's bytes at a time.
type view struct {
	dt    safetensors.DType
	shape []uint64
	data  any
	n     int
}

func (v view) DType() safetensors.DType { return v.dt }
func (v view) Shape() []uint64          { return v.shape }
func (v view) DataLen() uint64          { return uint64(v.n) * v.dt.Size() }

func (v view) Data() []byte {
	b := make([]byte, 0, v.DataLen())
	switch d := v.data.(type) {
	case []float32:
		for _, x := range d {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	case []float64:
		for _, x := range d {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
	}
	return b
}

// writeAtomic writes a file through write into a temporary file in the
// directory of path, syncs it and renames it to path. On error path is left
// untouched and the temporary file is removed.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
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
		return err
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
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable; best effort
		d.Sync()
		d.Close()
	}
	return nil
}
