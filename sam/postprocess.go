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
	type tap struct {
		i0, i1 int
		l0, l1 float32
	}
	ys := make([]tap, oh)
	for i := range ys {
		a, b, l0, l1 := linearTaps(i, h, oh)
		ys[i] = tap{a, b, l0, l1}
	}
	xs := make([]tap, ow)
	for i := range xs {
		a, b, l0, l1 := linearTaps(i, w, ow)
		xs[i] = tap{a, b, l0, l1}
	}
	out := make([]float32, C*oh*ow)
	cpu.ParallelFor(C*oh, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			c, y := r/oh, r%oh
			ty := ys[y]
			p0 := src[(c*h+ty.i0)*w : (c*h+ty.i0+1)*w]
			p1 := src[(c*h+ty.i1)*w : (c*h+ty.i1+1)*w]
			dst := out[r*ow : (r+1)*ow]
			for x, tx := range xs {
				dst[x] = ty.l0*(tx.l0*p0[tx.i0]+tx.l1*p0[tx.i1]) + ty.l1*(tx.l0*p1[tx.i0]+tx.l1*p1[tx.i1])
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
	up := interpolateBilinear(nn.Data(lowRes), C, h, w, pad, pad)
	crop := make([]float32, C*reshaped.Height*reshaped.Width)
	for c := 0; c < C; c++ {
		for y := 0; y < reshaped.Height; y++ {
			copy(crop[(c*reshaped.Height+y)*reshaped.Width:], up[(c*pad+y)*pad:(c*pad+y)*pad+reshaped.Width])
		}
	}
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
