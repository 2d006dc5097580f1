package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadText(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.txt")
	text := strings.Repeat("abcdefghij", 10) // 100 bytes: 90 train, 10 test
	os.WriteFile(path, []byte(text), 0o666)
	train, test, err := LoadText(path, 4, 128)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 86 || test.N != 6 {
		t.Fatalf("got %d train and %d test windows, want 86 and 6", train.N, test.N)
	}
	for _, s := range []*Set{train, test} {
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	// Window 3 is "defg", its targets "efgh".
	for k := range 4 {
		if got, want := train.X[3*4+k], float32(text[3+k]); got != want {
			t.Errorf("x[3][%d] = %v, want %v", k, got, want)
		}
		if got, want := train.Labels[3*4+k], int32(text[4+k]); got != want {
			t.Errorf("label[3][%d] = %v, want %v", k, got, want)
		}
	}
	dst := make([]float32, 2*4*128)
	GatherTargets(dst, train, []int{3, 0}, 4*128)
	if dst[0*128+'e'] != 1 || dst[3*128+'h'] != 1 || dst[4*128+'b'] != 1 || dst[4*128+'a'] != 0 {
		t.Error("GatherTargets did not one-hot every step")
	}
	os.WriteFile(path, []byte("abc\xc3\xa6"+text), 0o666)
	if _, _, err := LoadText(path, 4, 128); err == nil || !strings.Contains(err.Error(), "byte 3 is 0xc3") {
		t.Errorf("non-ASCII byte: got error %v", err)
	}
	os.WriteFile(path, []byte("abcdefghij"), 0o666)
	if _, _, err := LoadText(path, 4, 128); err == nil || !strings.Contains(err.Error(), "too few") {
		t.Errorf("short text: got error %v", err)
	}
	if _, _, err := LoadText(filepath.Join(dir, "missing.txt"), 4, 128); err == nil {
		t.Error("missing file accepted")
	}
}
