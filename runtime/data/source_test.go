package data

import (
	"encoding/binary"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/nngen/nngen/internal/sklearn"
)

// writeNPY writes data of the given shape to name in dir as float32.
func writeNPY(t *testing.T, dir, name string, shape []int, data []float32) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := WriteNPY(path, shape, data); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeInt64NPY writes labels as an int64 array of shape [n].
func writeInt64NPY(t *testing.T, dir, name string, labels []int64) string {
	t.Helper()
	var raw []byte
	for _, l := range labels {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(l))
	}
	path := filepath.Join(dir, name)
	header := fmt.Sprintf("{'descr': '<i8', 'fortran_order': False, 'shape': (%d,), }", len(labels))
	if err := os.WriteFile(path, npyFile(header, raw), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNPYSource(t *testing.T) {
	dir := t.TempDir()
	x := writeNPY(t, dir, "x.npy", []int{3, 2, 2}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	ids := writeInt64NPY(t, dir, "ids.npy", []int64{2, 0, 1})
	onehot := writeNPY(t, dir, "onehot.npy", []int{3, 3}, []float32{0, 0, 1, 1, 0, 0, 0, 1, 0})
	soft := writeNPY(t, dir, "soft.npy", []int{3, 3}, []float32{0, 0.5, 0.5, 1, 0, 0, 0, 1, 0})
	reg := writeNPY(t, dir, "reg.npy", []int{3}, []float32{0.5, -1, 2})
	for _, tc := range []struct {
		labels string
		in     []int
		out    []int
		want   Set
	}{
		{ids, []int{2, 2, 1}, []int{3}, Set{Labels: []int32{2, 0, 1}, Classes: 3}},
		{onehot, []int{4}, []int{3}, Set{Labels: []int32{2, 0, 1}, Classes: 3}},
		{soft, []int{2, 2}, []int{3}, Set{Y: []float32{0, 0.5, 0.5, 1, 0, 0, 0, 1, 0}, Width: 3}},
		{reg, []int{1, 2, 2}, []int{1}, Set{Y: []float32{0.5, -1, 2}, Width: 1}},
		{"", nil, nil, Set{}},
	} {
		s, test, err := NPY{Path: x, Labels: tc.labels}.Load(Shapes{Input: tc.in, Output: tc.out})
		if err != nil {
			t.Errorf("%s: %v", tc.labels, err)
			continue
		}
		tc.want.N, tc.want.Shape, tc.want.X = 3, []int{2, 2}, s.X
		if err := s.Validate(); err != nil || test != nil || !sameSet(s, &tc.want) || s.X[11] != 12 {
			t.Errorf("%s: got %+v (%v), want %+v", tc.labels, *s, err, tc.want)
		}
	}
}

func TestNPYSourceErrors(t *testing.T) {
	dir := t.TempDir()
	x := writeNPY(t, dir, "x.npy", []int{3, 2}, []float32{1, 2, 3, 4, 5, 6})
	nan := writeNPY(t, dir, "nan.npy", []int{3, 2}, []float32{1, 2, 3, float32(math.NaN()), 5, 6})
	y3 := writeInt64NPY(t, dir, "y3.npy", []int64{0, 1, 3})
	y2 := writeInt64NPY(t, dir, "y2.npy", []int64{0, 1})
	half := writeNPY(t, dir, "half.npy", []int{3}, []float32{0, 0.5, 1})
	inf := writeNPY(t, dir, "inf.npy", []int{3}, []float32{0, float32(math.Inf(1)), 1})
	wide := writeNPY(t, dir, "wide.npy", []int{3, 2}, make([]float32, 6))
	chw := writeNPY(t, dir, "chw.npy", []int{1, 3, 2, 2}, make([]float32, 12))
	for _, tc := range []struct {
		x, labels string
		in, out   []int
		want      string
	}{
		{x, "", []int{2}, []int{3}, x + ": no labels: give the file of the targets (--labels y.npy)"},
		{x, y3, []int{3}, []int{3}, x + ": shape [3,2] does not fit the model's input: want [n,3]"},
		{chw, y3, []int{2, 2, 3}, []int{3}, chw + ": shape [1,3,2,2] does not fit the model's input: want [n,2,2,3] (or [n,12] flat)"},
		{nan, y3, []int{2}, []int{4}, nan + ": sample 1: value 1: NaN is not a finite number"},
		{x, y3, []int{2}, []int{3}, y3 + ": sample 2: label 3 is not a class of the model's output, 0 to 2"},
		{x, half, []int{2}, []int{3}, half + ": sample 1: label 0.5 is not a class id (an integer)"},
		{x, inf, []int{2}, []int{1}, inf + ": sample 1: target +Inf is not a finite number"},
		{x, y2, []int{2}, []int{3}, y2 + ": 2 rows of labels for the 3 samples of " + x},
		{x, wide, []int{2}, []int{3}, wide + ": labels of shape [3,2]: 2 targets per sample, but the model's output [3] takes one class id or 3 values"},
		{x, filepath.Join(dir, "missing.npy"), []int{2}, []int{3}, "open " + filepath.Join(dir, "missing.npy") + ": no such file"},
	} {
		_, _, err := NPY{Path: tc.x, Labels: tc.labels}.Load(Shapes{Input: tc.in, Output: tc.out})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("got error %v, want %q…", err, tc.want)
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "mnist"), 0o755)
	writeMNIST(t, filepath.Join(dir, "mnist"), []byte{1, 2, 3})
	os.MkdirAll(filepath.Join(dir, "images", "cat"), 0o755)
	for _, f := range []string{"t.csv", "t.CSV.gz", "t.tsv", "x.npy", "t.json"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct {
		path string
		o    Options
		want Source
	}{
		{p("mnist"), Options{}, MNIST{Dir: p("mnist")}},
		{p("images"), Options{}, ImageFolder{Dir: p("images")}},
		{p("t.csv"), Options{LabelColumns: []string{"y"}}, CSV{Path: p("t.csv"), LabelColumns: []string{"y"}}},
		{p("t.CSV.gz"), Options{Labels: "y.npy"}, CSV{Path: p("t.CSV.gz"), Labels: "y.npy"}},
		{p("t.tsv"), Options{}, CSV{Path: p("t.tsv")}},
		{p("x.npy"), Options{Labels: "y.npy"}, NPY{Path: p("x.npy"), Labels: "y.npy"}},
	} {
		src, err := Open(tc.path, tc.o)
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		if g, w := src, tc.want; src.String() != tc.path || !sameSource(g, w) {
			t.Errorf("%s: got %#v, want %#v", tc.path, g, w)
		}
	}
	for _, tc := range []struct {
		path string
		o    Options
		want string
	}{
		{p("missing"), Options{}, p("missing") + ": no such file or directory"},
		{p("t.json"), Options{}, p("t.json") + `: unknown form of data ".json"`},
		{p("images"), Options{Labels: "y.npy"}, p("images") + ": a directory's labels come with it"},
		{p("x.npy"), Options{LabelColumns: []string{"1"}}, p("x.npy") + ": --label-column is for a .csv table"},
		{p("t.csv"), Options{Labels: "y.npy", LabelColumns: []string{"1"}}, p("t.csv") + ": the labels are either in a column"},
	} {
		if _, err := Open(tc.path, tc.o); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want %q…", tc.path, err, tc.want)
		}
	}
}

func sameSource(a, b Source) bool {
	switch a := a.(type) {
	case CSV:
		b, ok := b.(CSV)
		return ok && a.Path == b.Path && a.Labels == b.Labels && slices.Equal(a.LabelColumns, b.LabelColumns)
	default:
		return a == b
	}
}

func TestSplit(t *testing.T) {
	s := &Set{N: 5, Shape: []int{1}, X: []float32{0, 1, 2, 3, 4}, Labels: []int32{0, 1, 0, 1, 0}, Classes: 2, ClassNames: []string{"a", "b"}}
	a, b := s.Split(0.2)
	if a.N != 4 || b.N != 1 || !slices.Equal(a.X, s.X[:4]) || !slices.Equal(b.Labels, []int32{0}) || b.Classes != 2 || b.ClassNames[1] != "b" {
		t.Errorf("Split(0.2): %+v and %+v", *a, *b)
	}
	if err := a.Validate(); err != nil {
		t.Error(err)
	}
	if err := b.Validate(); err != nil {
		t.Error(err)
	}
	// Keras: the first floor(5·(1−0.5)) = 2 samples train.
	if a, b := s.Split(0.5); a.N != 2 || b.N != 3 {
		t.Errorf("Split(0.5): %d and %d samples, want 2 and 3", a.N, b.N)
	}
	r := &Set{N: 2, Shape: []int{1}, X: []float32{0, 1}, Y: []float32{1, 2, 3, 4}, Width: 2}
	if a, b := r.Split(0.5); !slices.Equal(a.Y, []float32{1, 2}) || !slices.Equal(b.Y, []float32{3, 4}) {
		t.Errorf("Split of targets: %v and %v", a.Y, b.Y)
	}
}

// TestScikitLearn loads scikit-learn's bundled data sets, quirks and all.
func TestScikitLearn(t *testing.T) {
	dir, err := sklearn.Dir()
	if err != nil {
		t.Skip(err)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct {
		src      Source
		in, out  []int
		n, width int
		classes  []string
		x0, y0   float32 // the first feature and target
	}{
		{CSV{Path: p("iris.csv")}, []int{4}, []int{3}, 150, 0, []string{"setosa", "versicolor", "virginica"}, 5.1, 0},
		{CSV{Path: p("wine_data.csv")}, []int{13}, []int{3}, 178, 0, []string{"class_0", "class_1", "class_2"}, 14.23, 0},
		{CSV{Path: p("breast_cancer.csv")}, []int{30}, []int{1}, 569, 1, []string{"malignant", "benign"}, 17.99, 0},
		{CSV{Path: p("digits.csv.gz")}, []int{8, 8, 1}, []int{10}, 1797, 0, nil, 0, 0},
		{CSV{Path: p("diabetes_data_raw.csv.gz"), Labels: p("diabetes_target.csv.gz")}, []int{10}, []int{1}, 442, 1, nil, 59, 151},
		{CSV{Path: p("boston_house_prices.csv"), LabelColumns: []string{"MEDV"}}, []int{13}, []int{1}, 506, 1, nil, 0.00632, 24},
	} {
		s, _, err := tc.src.Load(Shapes{Input: tc.in, Output: tc.out})
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", tc.src, err)
		}
		y0 := float32(-1)
		if s.Labels != nil {
			y0 = float32(s.Labels[0])
		} else if s.Y != nil {
			y0 = s.Y[0]
		}
		if s.N != tc.n || s.SampleSize() != size(tc.in) || s.Width != tc.width || !slices.Equal(s.ClassNames, tc.classes) || s.X[0] != tc.x0 || y0 != tc.y0 {
			t.Errorf("%s: %d samples of %d values, width %d, classes %q, x0 %v, y0 %v; want %d, %d, %d, %q, %v, %v",
				tc.src, s.N, s.SampleSize(), s.Width, s.ClassNames, s.X[0], y0, tc.n, size(tc.in), tc.width, tc.classes, tc.x0, tc.y0)
		}
	}
	// The photos, as two classes of one image each.
	images := t.TempDir()
	for _, name := range []string{"china", "flower"} {
		os.MkdirAll(filepath.Join(images, name), 0o755)
		if err := os.Symlink(filepath.Join(dir, "..", "images", name+".jpg"), filepath.Join(images, name, name+".jpg")); err != nil {
			t.Fatal(err)
		}
	}
	s, _, err := ImageFolder{Dir: images}.Load(Shapes{Input: []int{32, 48, 3}, Output: []int{2}})
	if err != nil {
		t.Fatal(err)
	}
	var mean [2][3]float64
	for i, v := range s.X {
		mean[i/(32*48*3)][i%3] += float64(v) / (32 * 48)
	}
	if s.N != 2 || !slices.Equal(s.ClassNames, []string{"china", "flower"}) || mean[0] == mean[1] || slices.Max(s.X) > 1 || slices.Min(s.X) < 0 {
		t.Errorf("photos: %d samples, classes %v, mean colours %.3f", s.N, s.ClassNames, mean)
	}
	t.Logf("mean RGB of the photos resized to 32×48: china %.3f, flower %.3f", mean[0], mean[1])
}

// TestImageFolderMNIST writes MNIST test images into class folders as PNG
// files and checks that ImageFolder reads them as the IDX files give them,
// pixel for pixel, for a flat input and for an image input.
func TestImageFolderMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	_, test, err := LoadMNIST(mnistDir(t))
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	dir := t.TempDir()
	want := map[int32][]float32{} // the pixels of each class, in file order
	for i := range n {
		im := image.NewGray(image.Rect(0, 0, 28, 28))
		for j, v := range test.X[i*784 : (i+1)*784] {
			im.Pix[j] = uint8(math.Round(float64(v) * 255))
		}
		l := test.Labels[i]
		writeImage(t, filepath.Join(dir, fmt.Sprint(l), fmt.Sprintf("%05d.png", i)), im)
		want[l] = append(want[l], test.X[i*784:(i+1)*784]...)
	}
	for _, in := range [][]int{{784}, {28, 28, 1}} {
		s, _, err := ImageFolder{Dir: dir}.Load(Shapes{Input: in, Output: []int{10}})
		if err != nil {
			t.Fatal(err)
		}
		var x []float32
		var labels []int32
		for l := range int32(10) {
			x = append(x, want[l]...)
			for range len(want[l]) / 784 {
				labels = append(labels, l)
			}
		}
		if s.N != n || !slices.Equal(s.X, x) || !slices.Equal(s.Labels, labels) || s.ClassNames[9] != "9" {
			t.Errorf("input %v: the PNG files do not read as the IDX files", in)
		}
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestLoadMemory checks that loading holds one copy of the data: the
// sources read in blocks into the arrays they return.
func TestLoadMemory(t *testing.T) {
	dir := t.TempDir()
	const n, w = 4000, 250 // 4 MB of float32
	x := writeNPY(t, dir, "x.npy", []int{n, w}, make([]float32, n*w))
	y := writeNPY(t, dir, "y.npy", []int{n}, make([]float32, n))
	var err error
	got := allocated(func() { _, _, err = NPY{Path: x, Labels: y}.Load(Shapes{Output: []int{3}}) })
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(4*n*w + 4*n*2 + 1<<20); got > want { // 4 buffers of 64 KB
		t.Errorf("NPY: %d bytes allocated to load %d, want at most %d", got, 4*n*w, want)
	}
	pixels := make([]byte, n*w)
	writeFile(t, dir, "train-images-idx3-ubyte", idxBytes(0x08, []int{n, 10, 25}, pixels))
	writeFile(t, dir, "train-labels-idx1-ubyte", idxBytes(0x08, []int{n}, make([]byte, n)))
	writeFile(t, dir, "t10k-images-idx3-ubyte", idxBytes(0x08, []int{1, 10, 25}, make([]byte, w)))
	writeFile(t, dir, "t10k-labels-idx1-ubyte", idxBytes(0x08, []int{1}, []byte{0}))
	got = allocated(func() { _, _, err = LoadMNIST(dir) })
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(4*n*w + 4*n + 1<<20); got > want { // 8 buffers of 64 KB
		t.Errorf("MNIST: %d bytes allocated to load %d, want at most %d", got, 4*n*w, want)
	}
}
