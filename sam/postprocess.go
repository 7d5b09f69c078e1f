package sam

import (
	"fmt"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// linearTaps gives the two source indices and weights of output index i when
// resizing n → m samples, as PyTorch's linear/bilinear interpolation with
// align_corners=False computes them (in float32, clamping below at 0).
func linearTaps(i, n, m int) (i0, i1 int, l0, l1 float32) {
	scale := float32(n) / float32(m)
	src := scale*(float32(i)+0.5) - 0.5
	if src < 0 {
		src = 0
	}
	i0 = int(src)
	i1 = i0
	if i0 < n-1 {
		i1 = i0 + 1
	}
	l1 = src - float32(i0)
	l0 = 1 - l1
	return
}

// interpolateBilinear resizes C planes of h×w to oh×ow like
// F.interpolate(mode="bilinear", align_corners=False, antialias=False).
func interpolateBilinear(src []float32, C, h, w, oh, ow int) []float32 {
	return interpolateBilinearRegion(src, C, h, w, oh, ow, oh, ow)
}

// interpolateBilinearRegion is the top-left rows×cols corner of
// interpolateBilinear(src, C, h, w, oh, ow), [C, rows, cols]. Each source
// row is interpolated horizontally once and shared by the output rows that
// read it; the arithmetic is PyTorch's, l0·(horizontal row i0) +
// l1·(horizontal row i1).
func interpolateBilinearRegion(src []float32, C, h, w, oh, ow, rows, cols int) []float32 {
	type tap struct {
		i0, i1 int
		l0, l1 float32
	}
	ys := make([]tap, rows)
	for i := range ys {
		a, b, l0, l1 := linearTaps(i, h, oh)
		ys[i] = tap{a, b, l0, l1}
	}
	xs := make([]tap, cols)
	for i := range xs {
		a, b, l0, l1 := linearTaps(i, w, ow)
		xs[i] = tap{a, b, l0, l1}
	}
	out := make([]float32, C*rows*cols)
	horiz := func(dst, row []float32) {
		for x, tx := range xs {
			dst[x] = tx.l0*row[tx.i0] + tx.l1*row[tx.i1]
		}
	}
	// Chunks of output rows, each with a two-row cache of horizontally
	// interpolated source rows (linearTaps gives i1 = i0 or i0+1).
	const rowsPer = 32
	nb := (rows + rowsPer - 1) / rowsPer
	cpu.ParallelFor(C*nb, func(lo, hi int) {
		buf := make([]float32, 2*cols)
		for u := lo; u < hi; u++ {
			c, y0 := u/nb, (u%nb)*rowsPer
			plane := src[c*h*w : (c+1)*h*w]
			// Rows i0 and i1 = i0 or i0+1 differ in parity: slot i&1.
			cache := [2]int{-1, -1}
			get := func(i int) []float32 {
				k := i & 1
				if cache[k] != i {
					cache[k] = i
					horiz(buf[k*cols:(k+1)*cols], plane[i*w:(i+1)*w])
				}
				return buf[k*cols : (k+1)*cols]
			}
			for y := y0; y < min(y0+rowsPer, rows); y++ {
				ty := ys[y]
				a, b := get(ty.i0), get(ty.i1)
				dst := out[(c*rows+y)*cols : (c*rows+y+1)*cols]
				a, b = a[:len(dst)], b[:len(dst)]
				l0, l1 := ty.l0, ty.l1
				for x := range dst {
					dst[x] = l0*a[x] + l1*b[x]
				}
			}
		}
	})
	return out
}

// Size is a height and width in pixels.
type Size struct{ Height, Width int }

// PostProcessMasks upsamples low-resolution mask logits [..., h, w] to the
// padded model input (pad×pad), crops the resized image's region
// (reshaped), and resizes that to the original image size, as the
// reference's post_process_masks. It returns the logits [..., H, W]; a pixel
// belongs to the mask where the logit is > 0 (see Binarize).
func PostProcessMasks(lowRes *tensor.Dense, pad int, reshaped, original Size) (*tensor.Dense, error) {
	s := nn.Shape(lowRes)
	if len(s) < 2 {
		return nil, fmt.Errorf("sam: masks must be [..., h, w], got %v", s)
	}
	if reshaped.Height <= 0 || reshaped.Width <= 0 || reshaped.Height > pad || reshaped.Width > pad {
		return nil, fmt.Errorf("sam: reshaped size %v outside the %d×%d input", reshaped, pad, pad)
	}
	if original.Height <= 0 || original.Width <= 0 {
		return nil, fmt.Errorf("sam: invalid original size %v", original)
	}
	h, w := s[len(s)-2], s[len(s)-1]
	C := nn.Numel(s[:len(s)-2]...)
	// Only the crop of the pad×pad upsampling is computed.
	crop := interpolateBilinearRegion(nn.Data(lowRes), C, h, w, pad, pad, reshaped.Height, reshaped.Width)
	out := interpolateBilinear(crop, C, reshaped.Height, reshaped.Width, original.Height, original.Width)
	os := append(s[:len(s)-2:len(s)-2], original.Height, original.Width)
	return nn.FromData(out, os...), nil
}

// Binarize thresholds logits at 0 (mask_threshold) into 0/1 bytes.
func Binarize(logits []float32) []uint8 {
	out := make([]uint8, len(logits))
	for i, v := range logits {
		if v > 0 {
			out[i] = 1
		}
	}
	return out
}
