package data

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNPYRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, shape := range [][]int{{2, 3}, {4}, {}, {0, 3}, {2, 1, 2}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(i)*1.5 - 2
		}
		if n > 0 {
			data[0] = float32(math.Inf(-1))
		}
		path := filepath.Join(dir, "a.npy")
		if err := WriteNPY(path, shape, data); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		if start := 10 + int(binary.LittleEndian.Uint16(b[8:])); start%64 != 0 || b[start-1] != '\n' {
			t.Errorf("shape %v: data starts at %d, want a multiple of 64 after a newline", shape, start)
		}
		gotShape, got, err := ReadNPY(path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gotShape, shape) || !slices.Equal(got, data) {
			t.Errorf("round trip of shape %v: got shape %v, data %v; want %v", shape, gotShape, got, data)
		}
	}
	if err := WriteNPY(filepath.Join(dir, "b.npy"), []int{2, 2}, make([]float32, 3)); err == nil {
		t.Error("WriteNPY with 3 values for shape [2 2]: no error")
	}
	if err := WriteNPY(filepath.Join(dir, "missing", "c.npy"), []int{1}, []float32{1}); err == nil {
		t.Error("WriteNPY into a missing directory: no error")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d files after the writes, want only a.npy", len(ents))
	}
}

// TestNPYHeader checks the header byte for byte against what numpy.save
// writes for np.zeros((2, 3), np.float32).
func TestNPYHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "z.npy")
	if err := WriteNPY(path, []int{2, 3}, make([]float32, 6)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
	want := "\x93NUMPY\x01\x00\x76\x00" + dict + strings.Repeat(" ", 128-11-len(dict)) + "\n"
	if got := string(b[:128]); got != want || len(b) != 128+24 {
		t.Errorf("file starts with %q (%d bytes), want %q and 24 data bytes", got, len(b), want)
	}
}

// npyFile encodes a version 1.0 .npy file with the given header dict.
func npyFile(dict string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint16([]byte("\x93NUMPY\x01\x00"), uint16(len(dict)+1))
	return append(append(b, dict+"\n"...), data...)
}

func TestReadNPYTypes(t *testing.T) {
	dir := t.TempDir()
	var f8, i4, i8 []byte
	for _, v := range []float64{0.5, -1e300, 3} {
		f8 = binary.LittleEndian.AppendUint64(f8, math.Float64bits(v))
	}
	for _, v := range []int32{-7, 1 << 20} {
		i4 = binary.LittleEndian.AppendUint32(i4, uint32(v))
	}
	for _, v := range []int64{-1 << 40, 9} {
		i8 = binary.LittleEndian.AppendUint64(i8, uint64(v))
	}
	for _, tc := range []struct {
		dict  string
		data  []byte
		shape []int
		want  []float32
	}{
		{"{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", f8, []int{3}, []float32{0.5, float32(math.Inf(-1)), 3}},
		{"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", []byte{0, 1, 128, 255}, []int{2, 2}, []float32{0, 1, 128, 255}},
		{"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", i4, []int{2}, []float32{-7, 1 << 20}},
		{"{'shape': (1, 2), 'fortran_order': False, 'descr': '<i8'}", i8, []int{1, 2}, []float32{-1 << 40, 9}},
		{"{'descr': '<f8', 'fortran_order': True, 'shape': (3,), }", f8, []int{3}, []float32{0.5, float32(math.Inf(-1)), 3}},
	} {
		path := filepath.Join(dir, "t.npy")
		os.WriteFile(path, npyFile(tc.dict, tc.data), 0o644)
		shape, got, err := ReadNPY(path)
		if err != nil {
			t.Errorf("%s: %v", tc.dict, err)
			continue
		}
		if !slices.Equal(shape, tc.shape) || !slices.Equal(got, tc.want) {
			t.Errorf("%s: got shape %v, data %v; want %v, %v", tc.dict, shape, got, tc.shape, tc.want)
		}
	}
}

func TestReadNPYErrors(t *testing.T) {
	dir := t.TempDir()
	good := npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", make([]byte, 8))
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "not a NumPy"},
		{"magic", append([]byte("\x93NUMPZ"), good[6:]...), "not a NumPy"},
		{"version", append([]byte("\x93NUMPY\x04\x00"), good[8:]...), "version 4.0"},
		{"header", good[:30], "truncated header"},
		{"truncated", good[:len(good)-1], "needs 8 data bytes, file has 7"},
		{"trailing", append(slices.Clone(good), 0), "file has 9"},
		{"fortran", npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", make([]byte, 16)), "Fortran order"},
		{"big-endian", npyFile("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", make([]byte, 8)), `">f4" not supported`},
		{"complex", npyFile("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)), `"<c8" not supported`},
		{"no shape", npyFile("{'descr': '<f4', 'fortran_order': False}", nil), "malformed header"},
		{"bad shape", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", nil), "bad shape"},
		{"huge shape", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", nil), "bad shape"},
	} {
		path := filepath.Join(dir, tc.name+".npy")
		os.WriteFile(path, tc.b, 0o644)
		if _, _, err := ReadNPY(path); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), path+": ") {
			t.Errorf("%s: got error %v, want one starting with the path and containing %q", tc.name, err, tc.want)
		}
	}
}

func FuzzReadNPY(f *testing.F) {
	f.Add(npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", make([]byte, 8)))
	f.Add(npyFile("{'descr': '|u1', 'fortran_order': False, 'shape': (), }", []byte{1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		shape, data, err := parseNPY(b)
		n := 1
		for _, d := range shape {
			n *= d
		}
		if err == nil && n != len(data) {
			t.Fatalf("shape %v but %d values", shape, len(data))
		}
	})
}
