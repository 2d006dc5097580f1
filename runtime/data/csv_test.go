package data

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeText writes text to the file name in a new temporary folder,
// gzipped when name ends in .gz, and returns its path.
func writeText(t *testing.T, name, text string) string {
	t.Helper()
	b := []byte(text)
	if strings.HasSuffix(name, ".gz") {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		b = buf.Bytes()
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCSV(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		labels     []string
		out        []int
		want       Set
	}{
		{"header, label by name", "x1, label, x2\n1.5, 0, 2\n-3, 2, 4e1\n", []string{"label"}, []int{3},
			Set{N: 2, Shape: []int{2}, X: []float32{1.5, 2, -3, 40}, Labels: []int32{0, 2}, Classes: 3}},
		{"no header, last column", "1,2,1\n3,4,0\n", nil, []int{2},
			Set{N: 2, Shape: []int{2}, X: []float32{1, 2, 3, 4}, Labels: []int32{1, 0}, Classes: 2}},
		{"label by negative index", "1,2,1\n3,4,0\n", []string{"-3"}, []int{4},
			Set{N: 2, Shape: []int{2}, X: []float32{2, 1, 4, 0}, Labels: []int32{1, 3}, Classes: 4}},
		{"class names", "a,b,species\n1,2,setosa\n3,4,virginica\n5,6,setosa\n", nil, []int{3},
			Set{N: 3, Shape: []int{2}, X: []float32{1, 2, 3, 4, 5, 6}, Labels: []int32{0, 1, 0}, Classes: 3, ClassNames: []string{"setosa", "virginica"}}},
		{"class names without a header", "1,2,b\n3,4,a\n5,6,b\n", nil, []int{2},
			Set{N: 3, Shape: []int{2}, X: []float32{1, 2, 3, 4, 5, 6}, Labels: []int32{0, 1, 0}, Classes: 2, ClassNames: []string{"b", "a"}}},
		{"binary class names", "x,y\n1,yes\n2,no\n3,yes\n", nil, []int{1},
			Set{N: 3, Shape: []int{1}, X: []float32{1, 2, 3}, Y: []float32{0, 1, 0}, Width: 1, ClassNames: []string{"yes", "no"}}},
		{"scikit-learn descriptor", "3,2,cat,dog\n1,2,0\n3,4,1\n5,6,1\n", nil, []int{2},
			Set{N: 3, Shape: []int{2}, X: []float32{1, 2, 3, 4, 5, 6}, Labels: []int32{0, 1, 1}, Classes: 2, ClassNames: []string{"cat", "dog"}}},
		{"descriptor, then a header", "2,2,,\n\"A\",\"B\",\"T\"\n1,2,3.5\n4,5,6.5\n", []string{"T"}, []int{1},
			Set{N: 2, Shape: []int{2}, X: []float32{1, 2, 4, 5}, Y: []float32{3.5, 6.5}, Width: 1}},
		{"several targets", "1,2,3\n4,5,6\n", []string{"0", "2"}, []int{2},
			Set{N: 2, Shape: []int{1}, X: []float32{2, 5}, Y: []float32{1, 3, 4, 6}, Width: 2}},
		{"one-hot targets", "7,1,0\n8,0,1\n", []string{"1", "2"}, []int{2},
			Set{N: 2, Shape: []int{1}, X: []float32{7, 8}, Labels: []int32{0, 1}, Classes: 2}},
		{"spaces", "59 2  32.1\n 48 1 21.6\n\n", nil, []int{1},
			Set{N: 2, Shape: []int{2}, X: []float32{59, 2, 48, 1}, Y: []float32{32.1, 21.6}, Width: 1}},
		{"tabs", "a\tb\n1\t2\n", nil, []int{1},
			Set{N: 1, Shape: []int{1}, X: []float32{1}, Y: []float32{2}, Width: 1}},
		{"semicolons", "1;2;0\n", nil, []int{2},
			Set{N: 1, Shape: []int{2}, X: []float32{1, 2}, Labels: []int32{0}, Classes: 2}},
		{"no targets", "1,2\n3,4\n", nil, nil,
			Set{N: 2, Shape: []int{2}, X: []float32{1, 2, 3, 4}}},
		{"no targets, a label column skipped", "a,b,c\n1,x,2\n3,y,4\n", []string{"b"}, nil,
			Set{N: 2, Shape: []int{2}, X: []float32{1, 2, 3, 4}}},
		{"byte order mark, CRLF", "\ufeffx,y\r\n1,2\r\n", []string{"x"}, []int{1},
			Set{N: 1, Shape: []int{1}, X: []float32{2}, Y: []float32{1}, Width: 1}},
	} {
		for _, name := range []string{"d.csv", "d.csv.gz"} {
			path := writeText(t, name, tc.text)
			s, test, err := CSV{Path: path, LabelColumns: tc.labels}.Load(Shapes{Output: tc.out})
			if err != nil {
				t.Errorf("%s, %s: %v", tc.name, name, err)
				continue
			}
			if err := s.Validate(); err != nil {
				t.Errorf("%s, %s: %v", tc.name, name, err)
			}
			if test != nil || !sameSet(s, &tc.want) {
				t.Errorf("%s, %s: got %+v, test %v;\nwant %+v", tc.name, name, *s, test, tc.want)
			}
		}
	}
}

// sameSet reports whether a and b hold the same samples and targets.
func sameSet(a, b *Set) bool {
	return a.N == b.N && slices.Equal(a.Shape, b.Shape) && slices.Equal(a.X, b.X) &&
		slices.Equal(a.Labels, b.Labels) && a.Classes == b.Classes && a.Steps == b.Steps &&
		slices.Equal(a.Y, b.Y) && a.Width == b.Width && slices.Equal(a.ClassNames, b.ClassNames)
}

func TestCSVLabelsFile(t *testing.T) {
	x := writeText(t, "x.csv", "a,b\n1,2\n3,4\n5,6\n")
	y := writeText(t, "y.csv.gz", "1.5e2\n75\n141\n")
	s, _, err := CSV{Path: x, Labels: y}.Load(Shapes{Input: []int{2}, Output: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	want := Set{N: 3, Shape: []int{2}, X: []float32{1, 2, 3, 4, 5, 6}, Y: []float32{150, 75, 141}, Width: 1}
	if !sameSet(s, &want) {
		t.Errorf("got %+v, want %+v", *s, want)
	}
	yn := filepath.Join(t.TempDir(), "y.npy")
	if err := WriteNPY(yn, []int{3}, []float32{2, 0, 1}); err != nil {
		t.Fatal(err)
	}
	if s, _, err = (CSV{Path: x, Labels: yn}).Load(Shapes{Output: []int{3}}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Labels, []int32{2, 0, 1}) || s.Classes != 3 {
		t.Errorf("labels from .npy: got %+v", *s)
	}
	names := writeText(t, "names.csv", "b\na\nb\n")
	if s, _, err = (CSV{Path: x, Labels: names}).Load(Shapes{Output: []int{3}}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Labels, []int32{0, 1, 0}) || !slices.Equal(s.ClassNames, []string{"b", "a"}) {
		t.Errorf("class names from a labels file: got %+v", *s)
	}
}

// TestCSVErrors checks the message of each kind of bad table.
func TestCSVErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		labels     []string
		in, out    []int
		want       string // after the path
	}{
		{"ragged row", "a,b,c,d\n1,2,3,4\n1,2,3,4,5\n", nil, nil, []int{1}, ":3: 5 columns, want 4"},
		{"ragged early", "1,2,3,4\n1,2,3\n", nil, nil, []int{1}, ":2: 3 columns, want 4"},
		{"ragged spaces", "1 2\n3 4\n5 6\n7\n", nil, nil, []int{1}, ":4: 1 columns, want 2"},
		{"long header", "a,b,c\n1,2\n3,4\n", nil, nil, []int{1}, ":1: a header of 3 columns, want 2"},
		{"non-numeric", "a,b,c\n1,2,0\n4,x,1\n", nil, nil, []int{2}, `:3:3: column "b": "x" is not a number`},
		{"non-numeric no header", "1,2,0\n4, abc,1\n", nil, nil, []int{2}, `:2:3: column 1: "abc" is not a number`},
		{"non-numeric spaces", "1 2\n x 4\n", nil, nil, []int{1}, `:2:2: column 0: "x" is not a number`},
		{"NaN", "1,2,0\n4,NaN,1\n", nil, nil, []int{2}, ":2:3: column 1: NaN is not a finite number"},
		{"Inf", "1,2,0\n-inf,3,1\n", nil, nil, []int{2}, ":2:1: column 0: -Inf is not a finite number"},
		{"NaN target", "1,2\n3,nan\n", nil, nil, []int{1}, ":2:3: column 1: NaN is not a finite number"},
		{"huge", "1,2,0\n1e40,3,1\n", nil, nil, []int{2}, ":2:1: column 0: 1e40 is out of float32's range"},
		{"empty cell", "1,2,0\n4,,1\n", nil, nil, []int{2}, ":2:3: column 1: empty cell, want a number"},
		{"empty class", "a,b\n1,x\n2,\n", nil, nil, []int{2}, `:3:3: column "b": empty cell, want a class label`},
		{"bare quote", "1,2\n3,4\"\n", nil, nil, []int{1}, `:2:4: bare " in non-quoted-field`},
		{"no such column name", "a,b,species\n1,2,x\n", []string{"specie"}, nil, []int{2}, `: no label column "specie"; the header has a, b, species`},
		{"no header for a name", "1,2,3\n", []string{"species"}, nil, []int{2}, `: no label column "species": the table has no header`},
		{"no such column index", "1,2,3\n", []string{"7"}, nil, []int{2}, ": no label column 7: the table has 3 columns, 0 to 2"},
		{"column twice", "1,2,3\n", []string{"2", "-1"}, nil, []int{2}, ": label column -1 given twice"},
		{"label out of range", "1,2,0\n3,4,3\n", nil, nil, []int{3}, ":2:5: column 2: label 3 is not a class of the model's output, 0 to 2"},
		{"negative label", "1,2,-1\n", nil, nil, []int{3}, ":1:5: column 2: label -1 is not a class"},
		{"fractional label", "1,2,0.5\n", nil, nil, []int{3}, ":1:5: column 2: label 0.5 is not a class id (an integer)"},
		{"too many classes", "1,a\n2,b\n3,c\n4,d\n", nil, nil, []int{3}, `:4:3: column 1: class "d": 4 classes (a, b, c, d), but the model's output has 3`},
		{"too many binary classes", "1,a\n2,b\n3,c\n", nil, nil, []int{1}, `:3:3: column 1: class "c": 3 classes (a, b, c), but the model's one output tells two apart`},
		{"descriptor classes", "2,1,a,b,c\n1,0\n2,1\n", nil, nil, []int{2}, ": 3 classes (a, b, c), but the model's output has 2"},
		{"names for a regression", "1,2,x\n", []string{"1", "2"}, nil, []int{2}, `:1:5: column 2: "x" is not a number`},
		{"target count", "1,2,3\n", []string{"1", "2"}, nil, []int{3}, ": labels column 1, column 2: 2 targets per sample, but the model's output [3] takes one class id or 3 values"},
		{"class names for regression", "1,x\n", nil, nil, []int{2, 2}, ": label column 1: class labels need a classifier"},
		{"input shape", "1,2,0\n", nil, []int{4}, []int{2}, ": 2 feature columns: samples of shape [2] (2 values) do not fit the model's input [4] (4 values)"},
		{"no features", "1\n2\n", nil, nil, []int{2}, ": no feature columns: the table has 1 columns, all labels"},
		{"empty", "", nil, nil, []int{2}, ": no samples: the file is empty"},
		{"header only", "a,b,c\n", nil, nil, []int{2}, ": no samples, only a header"},
	} {
		path := writeText(t, "d.csv", tc.text)
		_, _, err := CSV{Path: path, LabelColumns: tc.labels}.Load(Shapes{Input: tc.in, Output: tc.out})
		if err == nil || !strings.HasPrefix(err.Error(), path+tc.want) {
			t.Errorf("%s: got error %v, want %q", tc.name, err, path+tc.want+"…")
		}
	}
	x := writeText(t, "x.csv", "1,2\n3,4\n")
	y := writeText(t, "y.csv", "1\n")
	if _, _, err := (CSV{Path: x, Labels: y}).Load(Shapes{Output: []int{1}}); err == nil || err.Error() != y+": 1 rows of labels for the 2 samples of "+x {
		t.Errorf("labels file of another length: got error %v", err)
	}
}

func FuzzCSV(f *testing.F) {
	f.Add("a,b,c\n1,2,x\n3,4,y\n")
	f.Add("3,2,a,b\n1,2,0\n3,4,1\n1,1,1\n")
	f.Add("1 2 3\n4 5 6\n")
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(t.TempDir(), "f.csv")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, out := range [][]int{{1}, {3}, nil} {
			s, _, err := CSV{Path: path}.Load(Shapes{Output: out})
			if err == nil {
				if err := s.Validate(); err != nil {
					t.Fatalf("%q: %v", text, err)
				}
			}
		}
	})
}
