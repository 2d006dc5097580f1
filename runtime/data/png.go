package data

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
)

// ImageShape returns the height and width of a grey image of the given
// per-sample shape: [h, w], [h, w, 1], or [n] for a square n = h·w.
func ImageShape(shape []int) (h, w int, err error) {
	switch {
	case len(shape) == 2, len(shape) == 3 && shape[2] == 1:
		return shape[0], shape[1], nil
	case len(shape) == 1:
		for s := 1; s*s <= shape[0]; s++ {
			if s*s == shape[0] {
				return s, s, nil
			}
		}
	}
	return 0, 0, fmt.Errorf("data: samples of shape %v are not grey images ([h,w], [h,w,1] or a square [h*h])", shape)
}

// Grid lays out the images of vals (each h·w values in [0, 1], row-major)
// in a grid of cols columns with a border of pad black pixels around each,
// as an 8-bit grey image: 0 is black, 1 white, and values outside [0, 1]
// are clipped.
func Grid(vals []float32, h, w, cols, pad int) *image.Gray {
	n := len(vals) / (h * w)
	rows := (n + cols - 1) / cols
	im := image.NewGray(image.Rect(0, 0, cols*(w+pad)+pad, rows*(h+pad)+pad))
	for k := range n {
		x0, y0 := pad+(k%cols)*(w+pad), pad+(k/cols)*(h+pad)
		for i := range h {
			for j := range w {
				v := min(max(vals[k*h*w+i*w+j], 0), 1)
				im.SetGray(x0+j, y0+i, color.Gray{Y: uint8(v*255 + 0.5)})
			}
		}
	}
	return im
}

// WritePNG writes im to path as a PNG file, atomically: through a
// temporary file that is renamed into place.
func WritePNG(path string, im image.Image) error {
	return writeAtomic(path, func(w io.Writer) error { return png.Encode(w, im) })
}
