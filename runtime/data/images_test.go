package data

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeImage writes im to path as PNG or JPEG, by its extension, making
// the folders on the way.
func writeImage(t *testing.T, path string, im image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if strings.HasSuffix(path, ".jpg") {
		err = jpeg.Encode(f, im, &jpeg.Options{Quality: 100})
	} else {
		err = png.Encode(f, im)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// uniform returns a w×h image of one colour.
func uniform(w, h int, c color.Color) image.Image {
	im := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			im.Set(x, y, c)
		}
	}
	return im
}

func TestImageFolder(t *testing.T) {
	dir := t.TempDir()
	grey := image.NewGray(image.Rect(0, 0, 2, 2))
	copy(grey.Pix, []uint8{0, 51, 102, 255})
	writeImage(t, filepath.Join(dir, "b_dog", "1.png"), grey)
	writeImage(t, filepath.Join(dir, "b_dog", "deeper", "2.png"), uniform(4, 4, color.RGBA{255, 0, 0, 255}))
	writeImage(t, filepath.Join(dir, "a_cat", "x.PNG"), uniform(6, 2, color.NRGBA{0, 0, 255, 128}))
	os.WriteFile(filepath.Join(dir, "a_cat", "notes.txt"), []byte("not an image"), 0o644)
	os.WriteFile(filepath.Join(dir, "README"), []byte("not a class"), 0o644)
	os.MkdirAll(filepath.Join(dir, ".hidden"), 0o755)

	s, test, err := ImageFolder{Dir: dir}.Load(Shapes{Input: []int{2, 2, 1}, Output: []int{3}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if test != nil || s.N != 3 || !slices.Equal(s.Shape, []int{2, 2, 1}) || s.Classes != 3 ||
		!slices.Equal(s.Labels, []int32{0, 1, 1}) || !slices.Equal(s.ClassNames, []string{"a_cat", "b_dog"}) {
		t.Fatalf("got %+v", *s)
	}
	// A grey image of the input's size is read exactly, as MNIST's IDX
	// files are; a resized uniform image stays uniform.
	want := []float32{0.114, 0.114, 0.114, 0.114, 0, 0.2, 0.4, 1, 0.299, 0.299, 0.299, 0.299}
	for i, v := range s.X {
		if d := v - want[i]; d > 0.005 || d < -0.005 {
			t.Errorf("x[%d] = %v, want %v", i, v, want[i])
		}
	}
	if s.X[4] != 0 || s.X[5] != 0.2 || s.X[7] != 1 {
		t.Errorf("grey image read as %v, want [0 0.2 0.4 1] exactly", s.X[4:8])
	}

	// RGB, flat input: a square of 3 channels; binary output: 0 and 1.
	s, _, err = ImageFolder{Dir: dir}.Load(Shapes{Input: []int{12}, Output: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Shape, []int{2, 2, 3}) || !slices.Equal(s.Y, []float32{0, 1, 1}) || s.Labels != nil {
		t.Fatalf("RGB binary: got %+v", *s)
	}
	if got := s.X[:3]; got[0] > 0.01 || got[1] > 0.01 || got[2] < 0.99 {
		t.Errorf("half-transparent blue read as %v, want straight blue (0, 0, 1)", got)
	}
}

// TestImageResize checks that the filter is a real one: shrinking averages
// (a fine checkerboard turns grey, where sampling would keep black or
// white pixels) and enlarging interpolates.
func TestImageResize(t *testing.T) {
	dir := t.TempDir()
	im := image.NewGray(image.Rect(0, 0, 8, 8))
	for y := range 8 {
		for x := range 8 {
			if (x+y)%2 == 1 {
				im.Pix[y*8+x] = 255
			}
		}
	}
	writeImage(t, filepath.Join(dir, "c", "a.png"), im)
	s, _, err := ImageFolder{Dir: dir}.Load(Shapes{Input: []int{2, 2}, Output: []int{2}})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range s.X {
		if v < 0.4 || v > 0.6 {
			t.Errorf("8×8 checkerboard shrunk to 2×2: pixel %d is %v, want about 0.5", i, v)
		}
	}
	for y := range 8 {
		for x := range 8 {
			im.Pix[y*8+x] = 0
			if x >= 4 {
				im.Pix[y*8+x] = 255
			}
		}
	}
	writeImage(t, filepath.Join(dir, "c", "a.png"), im)
	// Enlarged, the edge between two blocks is interpolated.
	s, _, err = ImageFolder{Dir: dir}.Load(Shapes{Input: []int{16, 16}, Output: []int{2}})
	if err != nil {
		t.Fatal(err)
	}
	if row := s.X[:16]; row[0] != 0 || row[15] != 1 || !(row[7] > 0 && row[7] < 1) {
		t.Errorf("enlarged row %v: want 0 … a blend … 1", row)
	}
}

func TestImageFolderErrors(t *testing.T) {
	empty := t.TempDir()
	noImages := t.TempDir()
	os.MkdirAll(filepath.Join(noImages, "cat"), 0o755)
	os.WriteFile(filepath.Join(noImages, "cat", "a.txt"), nil, 0o644)
	bad := t.TempDir()
	writeImage(t, filepath.Join(bad, "cat", "a.png"), uniform(2, 2, color.White))
	os.MkdirAll(filepath.Join(bad, "dog"), 0o755)
	os.WriteFile(filepath.Join(bad, "dog", "b.jpg"), []byte("not a JPEG"), 0o644)
	many := t.TempDir()
	for _, c := range []string{"a", "b", "c"} {
		writeImage(t, filepath.Join(many, c, "1.png"), uniform(2, 2, color.White))
	}
	for _, tc := range []struct {
		name, dir string
		in, out   []int
		want      string
	}{
		{"empty folder", empty, []int{2, 2}, []int{2}, empty + ": no class sub-folders of images"},
		{"empty class", noImages, []int{2, 2}, []int{2}, filepath.Join(noImages, "cat") + ": an empty class folder: no images (.png, .jpg, .jpeg, .gif, .bmp)"},
		{"unreadable image", bad, []int{2, 2}, []int{2}, filepath.Join(bad, "dog", "b.jpg") + ": not a readable image: image: unknown format"},
		{"too many classes", many, []int{2, 2}, []int{2}, many + ": class sub-folders: 3 classes (a, b, c), but the model's output has 2"},
		{"binary", many, []int{2, 2}, []int{1}, many + ": class sub-folders: 3 classes (a, b, c), but the model's one output tells two apart"},
		{"not an image", many, []int{5}, []int{3}, many + ": the model's input [5] is not an image"},
		{"channels", many, []int{2, 2, 2}, []int{3}, many + ": the model's input [2,2,2] is not an image"},
		{"regression", many, []int{2, 2}, []int{2, 2}, many + ": class sub-folders: class labels need a classifier"},
	} {
		_, _, err := ImageFolder{Dir: tc.dir}.Load(Shapes{Input: tc.in, Output: tc.out})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want %q…", tc.name, err, tc.want)
		}
	}
}
