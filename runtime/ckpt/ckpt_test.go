package ckpt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sample returns tensors of both dtypes, a scalar and an empty tensor.
func sample() []Tensor {
	return []Tensor{
		{Name: "fc1.weight", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, float32(math.Inf(1)), float32(math.NaN()), math.SmallestNonzeroFloat32}},
		{Name: "fc1.bias", Shape: []int{2}, Data: []float64{math.Pi, math.Copysign(0, -1)}},
		{Name: "scale", Shape: []int{}, Data: []float32{7}},
		{Name: "empty", Shape: []int{0, 4}, Data: []float32{}},
	}
}

// zeroed returns ts with fresh zero data of the same types and lengths.
func zeroed(ts []Tensor) []Tensor {
	out := slices.Clone(ts)
	for i, t := range out {
		switch d := t.Data.(type) {
		case []float32:
			out[i].Data = make([]float32, len(d))
		case []float64:
			out[i].Data = make([]float64, len(d))
		}
	}
	return out
}

// sameBits reports whether a and b hold bit-identical values.
func sameBits(a, b any) bool {
	switch a := a.(type) {
	case []float32:
		b, ok := b.([]float32)
		return ok && slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
	case []float64:
		b, ok := b.([]float64)
		return ok && slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
	}
	return false
}

func sortedByName(ts []Tensor) []Tensor {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	return ts
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.safetensors")
	meta := map[string]string{"spec_hash": "abc", "step": "120", "quote": `"<&>"`}
	if err := Save(path, sample(), meta); err != nil {
		t.Fatal(err)
	}
	ts, gotMeta, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	want := sortedByName(sample())
	if len(ts) != len(want) {
		t.Fatalf("Read returned %d tensors, want %d", len(ts), len(want))
	}
	for i, w := range want {
		if ts[i].Name != w.Name || !slices.Equal(ts[i].Shape, w.Shape) || !sameBits(ts[i].Data, w.Data) {
			t.Errorf("Read tensor %d = %+v, want %+v", i, ts[i], w)
		}
	}
	load := zeroed(sample())
	loadMeta, err := Load(path, load)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range sample() {
		if !sameBits(load[i].Data, w.Data) {
			t.Errorf("Load %s = %v, want %v", w.Name, load[i].Data, w.Data)
		}
	}
	for _, m := range []map[string]string{gotMeta, loadMeta} {
		if len(m) != len(meta) || m["spec_hash"] != "abc" || m["quote"] != meta["quote"] {
			t.Errorf("metadata = %v, want %v", m, meta)
		}
	}
}

// TestFormat pins the file layout byte for byte: sorted header keys, header
// padded with spaces to 8 bytes, F64 data before F32 data.
func TestFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.safetensors")
	err := Save(path, []Tensor{{Name: "a", Shape: []int{2}, Data: []float32{1, 2}}, {Name: "b", Shape: []int{1}, Data: []float64{3}}}, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	header := `{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"b":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`
	header += strings.Repeat(" ", (8-len(header)%8)%8)
	want := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	want = append(want, header...)
	want = binary.LittleEndian.AppendUint64(want, math.Float64bits(3))
	want = binary.LittleEndian.AppendUint32(want, math.Float32bits(1))
	want = binary.LittleEndian.AppendUint32(want, math.Float32bits(2))
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Errorf("file =\n%q\nwant\n%q", got, want)
	}
}

func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	meta := map[string]string{}
	for _, k := range strings.Fields("a b c d e f g h i j k l m n o p") {
		meta[k] = k + k
	}
	ts := sample()
	for i := range 20 {
		ts = append(ts, Tensor{Name: string(rune('z' - i)), Shape: []int{1}, Data: []float64{float64(i)}})
	}
	var files [][]byte
	for i := range 5 {
		path := filepath.Join(dir, "m.safetensors")
		slices.Reverse(ts) // the input order must not matter either
		if err := Save(path, ts, meta); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		if files = append(files, b); !bytes.Equal(b, files[0]) {
			t.Fatalf("save %d differs from save 0", i)
		}
	}
}

// rawFile builds a safetensors file from a header and a data section.
func rawFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	goodPath := filepath.Join(dir, "good.safetensors")
	if err := Save(goodPath, sample(), nil); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(goodPath)
	hlen := 8 + int(binary.LittleEndian.Uint64(good))
	huge := slices.Clone(good)
	binary.LittleEndian.PutUint64(huge, math.MaxUint64)
	f32 := func(n int) []byte { return make([]byte, 4*n) }
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "truncated file: 0 bytes"},
		{"short", good[:5], "truncated file: 5 bytes"},
		{"header cut", good[:hlen-3], "exceeds the"},
		{"header length huge", huge, "header length 18446744073709551615 exceeds"},
		{"data cut", good[:len(good)-1], "data_offsets [40, 44] beyond the 43 data bytes (truncated file?)"},
		{"stray bytes", append(slices.Clone(good), 0, 0, 0, 0), "4 stray bytes"},
		{"bad JSON", rawFile(`{"a":`, nil), "bad header"},
		{"not an object", rawFile(`[1, 2]`, nil), "bad header"},
		{"bad dtype", rawFile(`{"a":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}}`, f32(1)), "bad header"},
		{"missing offsets", rawFile(`{"a":{"dtype":"F32","shape":[1]}}`, f32(1)), "bad header"},
		{"negative shape", rawFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, f32(1)), "bad header"},
		{"metadata not strings", rawFile(`{"__metadata__":{"step":3}}`, nil), "bad header"},
		{"offsets out of range", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32(1)), `tensor "a": data_offsets [0, 8] beyond the 4 data bytes`},
		{"offsets gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f32(3)), `tensor "b": data_offsets [8, 12] do not start at the end of the previous tensor, 4`},
		{"offsets overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32(3)), `tensor "b": data_offsets [4, 12] do not start`},
		{"offsets reversed", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, f32(1)), `tensor "a": data_offsets [4, 0]`},
		{"size mismatch", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, f32(2)), `tensor "a": F32 with shape [3] is 12 bytes, data_offsets [0, 8] give 8`},
		{"shape overflow", rawFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil), "too large"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
		os.WriteFile(path, tc.b, 0o644)
		for _, err := range []error{loadErr(path, zeroed(sample())), readErr(path)} {
			if err == nil || !strings.HasPrefix(err.Error(), "ckpt: "+path+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: got error %v, want one starting with the path and containing %q", tc.name, err, tc.want)
			}
		}
	}
	missing := filepath.Join(dir, "missing")
	if err := loadErr(missing, sample()); err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "ckpt: "+missing+": ") {
		t.Errorf("missing file: got error %v", err)
	}
}

func loadErr(path string, ts []Tensor) error { _, err := Load(path, ts); return err }
func readErr(path string) error              { _, _, err := Read(path); return err }

func TestLoadMismatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	full := append(sample(), Tensor{Name: "optimizer.m.fc1.weight", Shape: []int{2, 3}, Data: make([]float32, 6)})
	if err := Save(path, full, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func([]Tensor) []Tensor
		want string
	}{
		{"shape", func(ts []Tensor) []Tensor { ts[1].Shape = []int{2, 1}; return ts }, `tensor "fc1.bias" has shape [2] in the file, want [2 1]`},
		{"dtype", func(ts []Tensor) []Tensor { ts[1].Data = make([]float32, 2); return ts }, `tensor "fc1.bias" is F64 in the file, want F32`},
		{"missing", func(ts []Tensor) []Tensor { ts[2].Name = "nope"; return ts }, `tensor "nope" not in the file`},
		{"extra", func(ts []Tensor) []Tensor { return ts[1:] }, "not requested: fc1.weight"},
		{"twice", func(ts []Tensor) []Tensor { return append(ts, ts[0]) }, `tensor "fc1.weight" requested twice`},
		{"length", func(ts []Tensor) []Tensor { ts[1].Data = make([]float64, 3); return ts }, `tensor "fc1.bias": shape [2] holds 2 values, data has 3`},
		{"type", func(ts []Tensor) []Tensor { ts[1].Data = []int{1, 2}; return ts }, "data is []int"},
	} {
		ts := tc.edit(zeroed(sample()))
		if err := loadErr(path, ts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.want)
		}
		if d, ok := ts[0].Data.([]float32); ok && slices.ContainsFunc(d, func(v float32) bool { return v != 0 }) {
			t.Errorf("%s: Load failed but filled %s", tc.name, ts[0].Name)
		}
	}
	// A weights-only load of a full checkpoint skips the optimizer state.
	if err := loadErr(path, zeroed(sample())); err != nil {
		t.Errorf("weights-only load: %v", err)
	}
	if err := loadErr(path, zeroed(full)); err != nil {
		t.Errorf("full load: %v", err)
	}
}

func TestSaveErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	os.WriteFile(path, []byte("old"), 0o644)
	for _, tc := range []struct {
		ts   []Tensor
		want string
	}{
		{[]Tensor{{Name: "a", Shape: []int{3}, Data: []float32{1, 2}}}, `tensor "a": shape [3] holds 3 values, data has 2`},
		{[]Tensor{{Name: "a", Shape: []int{-1, -2}, Data: []float32{1, 2}}}, "negative dimension"},
		{[]Tensor{{Name: "a", Shape: []int{1}, Data: []int32{1}}}, "data is []int32"},
		{[]Tensor{{Name: "", Shape: []int{1}, Data: []float32{1}}}, `invalid tensor name ""`},
		{[]Tensor{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}}, "invalid tensor name"},
		{[]Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float64{1}}}, `tensor "a" given twice`},
	} {
		if err := Save(path, tc.ts, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got error %v, want one containing %q", err, tc.want)
		}
	}
	checkUntouched(t, dir, path)
}

// checkUntouched checks that path still holds "old" and is alone in dir.
func checkUntouched(t *testing.T, dir, path string) {
	t.Helper()
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("%s now holds %q, want the old content", path, b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%s holds %d entries, want 1 (a temporary file left behind?)", dir, len(ents))
	}
}

func TestAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	os.WriteFile(path, []byte("old"), 0o644)
	boom := errors.New("disk full")
	err := writeAtomic(path, func(w io.Writer) error {
		w.Write(make([]byte, 1<<20)) // more than the buffer: reaches the file
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("writeAtomic error = %v, want %v", err, boom)
	}
	checkUntouched(t, dir, path)

	// Renaming onto a non-empty directory fails after the data was written.
	sub := filepath.Join(t.TempDir(), "sub")
	os.MkdirAll(filepath.Join(sub, "x"), 0o755)
	if err := Save(sub, sample(), nil); err == nil {
		t.Error("Save onto a directory: no error")
	}
	if ents, _ := os.ReadDir(filepath.Dir(sub)); len(ents) != 1 {
		t.Errorf("a failed Save left %d entries, want 1", len(ents))
	}

}

func TestSaveUnwritableDir(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	os.WriteFile(path, []byte("old"), 0o644)
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	if f, err := os.CreateTemp(dir, "probe"); err == nil {
		f.Close()
		os.Remove(f.Name())
		t.Skip("directory permissions are not enforced (running as root?)")
	}
	if err := Save(path, sample(), nil); err == nil {
		t.Error("Save into an unwritable directory: no error")
	}
	checkUntouched(t, dir, path)
}

func FuzzLoad(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.safetensors")
	if err := Save(path, sample(), map[string]string{"k": "v"}); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(rawFile(`{"__metadata__":{"k":"v"}}`, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		os.WriteFile(path, b, 0o644)
		Load(path, zeroed(sample()))
		ts, meta, err := Read(path)
		if err != nil {
			return
		}
		// Whatever Read accepts, Save must write and Read give back.
		out := filepath.Join(dir, "out.safetensors")
		if err := Save(out, ts, meta); err != nil {
			t.Fatalf("Save of what Read returned: %v", err)
		}
		ts2, _, err := Read(out)
		if err != nil || len(ts2) != len(ts) {
			t.Fatalf("Read after Save: %d tensors, %v; want %d", len(ts2), err, len(ts))
		}
		for i := range ts {
			if ts2[i].Name != ts[i].Name || !slices.Equal(ts2[i].Shape, ts[i].Shape) || !sameBits(ts2[i].Data, ts[i].Data) {
				t.Fatalf("tensor %q changed in a Save/Read round trip", ts[i].Name)
			}
		}
	})
}

// TestImage checks that a tensor with an Image is written with its last
// axis in NCHW order, read back into NHWC order, and that a bad Image is
// refused.
func TestImage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "img.safetensors")
	// Two rows of a 1×2×3 image (h, w, c): value 100·row + 10·w + c.
	hwc := []float32{0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112}
	if err := Save(path, []Tensor{{Name: "w", Shape: []int{2, 6}, Data: hwc, Image: []int{1, 2, 3}}}, nil); err != nil {
		t.Fatal(err)
	}
	ts, _, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	chw := []float32{0, 10, 1, 11, 2, 12, 100, 110, 101, 111, 102, 112}
	if got := ts[0].Data.([]float32); !slices.Equal(got, chw) {
		t.Errorf("file holds %v, want %v (NCHW)", got, chw)
	}
	back := make([]float32, 12)
	if _, err := Load(path, []Tensor{{Name: "w", Shape: []int{2, 6}, Data: back, Image: []int{1, 2, 3}}}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back, hwc) {
		t.Errorf("Load gives %v, want %v (NHWC)", back, hwc)
	}
	if !slices.Equal(hwc, []float32{0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112}) {
		t.Errorf("Save changed its input: %v", hwc)
	}
	err = Save(path, []Tensor{{Name: "w", Shape: []int{2, 6}, Data: hwc, Image: []int{2, 2, 3}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "image [2 2 3] does not match") {
		t.Errorf("Save with a wrong Image: %v", err)
	}
}
