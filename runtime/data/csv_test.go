package data

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeCSV(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "d.csv")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadCSV(t *testing.T) {
	s, err := ReadCSV(writeCSV(t, "x1, label, x2\n1.5, 0, 2\n-3, 2, 4e1\n"), 1, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.N != 2 || !slices.Equal(s.Shape, []int{2}) || s.Classes != 3 || !slices.Equal(s.X, []float32{1.5, 2, -3, 40}) || !slices.Equal(s.Labels, []int32{0, 2}) {
		t.Errorf("labelled CSV: got %+v", s)
	}

	s, err = ReadCSV(writeCSV(t, "1,2,3\n4,5,6\n"), -1, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.N != 2 || !slices.Equal(s.Shape, []int{3}) || s.Labels != nil || s.Y != nil || !slices.Equal(s.X, []float32{1, 2, 3, 4, 5, 6}) {
		t.Errorf("unlabelled CSV: got %+v", s)
	}
}

func TestReadCSVErrors(t *testing.T) {
	for _, tc := range []struct {
		text      string
		label     int
		hasHeader bool
		want      string
	}{
		{"a,b\n1,2\n3,x\n", -1, true, ":3: column 2: \"x\" is not a finite number"},
		{"1,2\n3\n", -1, false, ":2: wrong number of fields"},
		{"1,2\n3,-1\n", 1, false, ":2: column 2: label \"-1\""},
		{"1,2\n3,0.5\n", 1, false, ":2: column 2: label \"0.5\""},
		{"1,2\n3,NaN\n", -1, false, ":2: column 2"},
		{"1,2\n", 2, false, ":1: label column 2, but the line has only 2 columns"},
		{"a,b\n", -1, true, ": no samples"},
		{"1,\"2\n", -1, false, ":1:"},
	} {
		path := writeCSV(t, tc.text)
		_, err := ReadCSV(path, tc.label, tc.hasHeader)
		if err == nil || !strings.Contains(err.Error(), path+tc.want) {
			t.Errorf("%q: got error %v, want one containing %q", tc.text, err, path+tc.want)
		}
	}
}
