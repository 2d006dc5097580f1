package data

import (
	"fmt"
	"image"
	_ "image/gif" // image formats of ImageFolder
	_ "image/jpeg"
	_ "image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	_ "golang.org/x/image/bmp"
	"golang.org/x/image/draw"
)

// ImageFolder is a folder of class sub-folders of images, as Keras's
// image_dataset_from_directory reads them: the classes are the
// sub-folders in sorted order, each image (.png, .jpg, .jpeg, .gif or
// .bmp, in sorted order, in the sub-folder or deeper) a sample of its
// class. Each is decoded, resized to the model's input with a bilinear
// filter (golang.org/x/image/draw's BiLinear, which widens when it shrinks,
// as tf.image.resize does with antialias) unless it has that size, converted to
// its channels (grey as 0.299 R + 0.587 G + 0.114 B, colours without
// alpha) and scaled to [0, 1], as MNIST's pixels are (Keras keeps 0 to 255
// and leaves the scaling to a Rescaling layer).
type ImageFolder struct{ Dir string }

func (d ImageFolder) String() string { return d.Dir }

// imageExts are the file name extensions ImageFolder reads.
var imageExts = []string{".png", ".jpg", ".jpeg", ".gif", ".bmp"}

// Load reads the images; they have no test split.
func (d ImageFolder) Load(s Shapes) (train, test *Set, err error) {
	classes, files, err := d.list()
	if err != nil {
		return nil, nil, err
	}
	h, w, c, err := imageGeometry(s.Input)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", d.Dir, err)
	}
	t, err := targetOf(1, s.Output, true)
	if err == nil {
		err = t.checkClasses(classes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: class sub-folders: %v", d.Dir, err)
	}
	n := 0
	for _, f := range files {
		n += len(f)
	}
	set := &Set{N: n, Shape: []int{h, w, c}, X: make([]float32, n*h*w*c)}
	labels := make([]int32, 0, n)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	i := 0
	for class, fs := range files {
		for _, path := range fs {
			if err := readImage(path, dst); err != nil {
				return nil, nil, err
			}
			pixels(set.X[i*h*w*c:(i+1)*h*w*c], dst, c)
			labels = append(labels, int32(class))
			i++
		}
	}
	if t.kind != noTargets {
		set.setClassTargets(t, labels, classes)
	}
	return set, nil, nil
}

// list returns the class sub-folders of d and the image files of each.
func (d ImageFolder) list() (classes []string, files [][]string, err error) {
	ents, err := os.ReadDir(d.Dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		var l []string
		dir := filepath.Join(d.Dir, e.Name())
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case path != dir && strings.HasPrefix(e.Name(), "."):
				if e.IsDir() {
					return filepath.SkipDir
				}
			case !e.IsDir() && isImageFile(path):
				l = append(l, path)
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		if len(l) == 0 {
			return nil, nil, fmt.Errorf("%s: an empty class folder: no images (%s)", dir, strings.Join(imageExts, ", "))
		}
		classes, files = append(classes, e.Name()), append(files, l)
	}
	if len(classes) == 0 {
		return nil, nil, fmt.Errorf("%s: no class sub-folders of images (%s/<class>/<image>.png) and no MNIST files (train-images-idx3-ubyte[.gz] and the others)", d.Dir, d.Dir)
	}
	return classes, files, nil
}

func isImageFile(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	for _, e := range imageExts {
		if ext == e {
			return true
		}
	}
	return false
}

// readImage decodes the image file path and draws it into dst, resized to
// its bounds with a bilinear filter when its size differs.
func readImage(path string, dst *image.RGBA) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	src, _, err := image.Decode(f)
	if err != nil {
		return fmt.Errorf("%s: not a readable image: %v", path, err)
	}
	if src.Bounds().Size() == dst.Bounds().Size() {
		draw.Draw(dst, dst.Bounds(), src, src.Bounds().Min, draw.Src)
	} else {
		draw.BiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	}
	return nil
}

// pixels writes the pixels of im into x in HWC order with c channels
// (1 grey, 3 RGB, 4 RGBA), each in [0, 1].
func pixels(x []float32, im *image.RGBA, c int) {
	for i := range len(im.Pix) / 4 {
		p := im.Pix[4*i : 4*i+4]
		r, g, b, a := float32(p[0]), float32(p[1]), float32(p[2]), float32(p[3])
		if a != 0 && a != 255 { // straight colours, not premultiplied
			r, g, b = r*255/a, g*255/a, b*255/a
		}
		switch c {
		case 1:
			if r != g || g != b {
				r = 0.299*r + 0.587*g + 0.114*b
			}
			x[i] = r / 255
		case 3, 4:
			x[c*i], x[c*i+1], x[c*i+2] = r/255, g/255, b/255
			if c == 4 {
				x[c*i+3] = a / 255
			}
		}
	}
}

// imageGeometry returns the height, width and channels of images of the
// input shape in: [h, w, c] with 1, 3 or 4 channels, [h, w] grey, or a flat
// [n] of a square grey image (or a square RGB one, when n is not a square).
func imageGeometry(in []int) (h, w, c int, err error) {
	switch {
	case in == nil:
		return 0, 0, 0, fmt.Errorf("images need the model's input shape to be resized to")
	case len(in) == 3 && (in[2] == 1 || in[2] == 3 || in[2] == 4):
		return in[0], in[1], in[2], nil
	case len(in) == 2:
		return in[0], in[1], 1, nil
	case len(in) == 1:
		for _, c := range []int{1, 3} {
			for s := 1; s*s*c <= in[0]; s++ {
				if s*s*c == in[0] {
					return s, s, c, nil
				}
			}
		}
	}
	return 0, 0, 0, fmt.Errorf("the model's input %s is not an image: want [h,w,c] with 1, 3 or 4 channels, [h,w], or a square [h·w]", shapeString(in))
}

// ReadImages reads the image files paths as ImageFolder reads its images,
// resized and converted to the input shape in, into one array of
// len(paths) samples.
func ReadImages(paths []string, in []int) ([]float32, error) {
	h, w, c, err := imageGeometry(in)
	if err != nil {
		return nil, err
	}
	x := make([]float32, len(paths)*h*w*c)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, path := range paths {
		if err := readImage(path, dst); err != nil {
			return nil, err
		}
		pixels(x[i*h*w*c:(i+1)*h*w*c], dst, c)
	}
	return x, nil
}

// IsImageFile reports whether path names an image file by its extension,
// one ImageFolder reads.
func IsImageFile(path string) bool { return isImageFile(path) }
