package data

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestImageShape(t *testing.T) {
	for _, c := range []struct {
		shape []int
		h, w  int
		ok    bool
	}{{[]int{784}, 28, 28, true}, {[]int{28, 28, 1}, 28, 28, true}, {[]int{4, 6}, 4, 6, true}, {[]int{10}, 0, 0, false}, {[]int{4, 4, 3}, 0, 0, false}} {
		h, w, err := ImageShape(c.shape)
		if (err == nil) != c.ok || h != c.h || w != c.w {
			t.Errorf("ImageShape(%v) = %d, %d, %v", c.shape, h, w, err)
		}
	}
}

func TestGridPNG(t *testing.T) {
	// Three 2×2 images in two columns with a border of 1: 7 wide, 7 high.
	vals := []float32{0, 1, 0.5, 2, -1, 0, 0, 0, 1, 1, 1, 1}
	im := Grid(vals, 2, 2, 2, 1)
	if b := im.Bounds(); b.Dx() != 7 || b.Dy() != 7 {
		t.Fatalf("grid is %v, want 7×7", b)
	}
	for _, c := range []struct{ x, y, v int }{{1, 1, 0}, {2, 1, 255}, {1, 2, 128}, {2, 2, 255}, {4, 1, 0}, {1, 4, 255}, {0, 0, 0}, {4, 4, 0}} {
		if got := im.GrayAt(c.x, c.y).Y; int(got) != c.v {
			t.Errorf("pixel (%d,%d) = %d, want %d", c.x, c.y, got, c.v)
		}
	}
	path := filepath.Join(t.TempDir(), "g.png")
	if err := WritePNG(path, im); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if back.Bounds() != im.Bounds() {
		t.Fatalf("decoded %v, wrote %v", back.Bounds(), im.Bounds())
	}
	if err := WritePNG(filepath.Join(t.TempDir(), "no", "dir.png"), im); err == nil {
		t.Fatal("WritePNG into a missing folder succeeded")
	}
}
