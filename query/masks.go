package query

import (
	"fmt"
	"math"
)

// FlattenMask resizes a pixel mask [B, H, W] (true = real pixel, false =
// padding) to every level's (height, width) with nearest-neighbour
// sampling, as F.interpolate(mode="nearest") does in the reference, and
// concatenates the levels row-major: the mask_flatten [B, Σ h·w] that goes
// with the flattened features.
func FlattenMask(pixelMask []bool, batch, height, width int, shapes [][2]int) ([]bool, error) {
	if batch <= 0 || height <= 0 || width <= 0 || len(pixelMask) != batch*height*width {
		return nil, fmt.Errorf("query: pixel mask has %d values, want %d×%d×%d", len(pixelMask), batch, height, width)
	}
	seq, err := seqLen(shapes)
	if err != nil {
		return nil, err
	}
	out := make([]bool, 0, batch*seq)
	for b := 0; b < batch; b++ {
		img := pixelMask[b*height*width : (b+1)*height*width]
		for _, s := range shapes {
			h, w := s[0], s[1]
			for y := 0; y < h; y++ {
				sy := nearestIndex(y, height, h)
				for x := 0; x < w; x++ {
					out = append(out, img[sy*width+nearestIndex(x, width, w)])
				}
			}
		}
	}
	return out, nil
}

// nearestIndex is PyTorch's nearest_idx: the scale is a float32 ratio and
// the index is floored, with exact shortcuts for equal and doubled sizes.
func nearestIndex(dst, in, out int) int {
	switch {
	case in == out:
		return dst
	case out == 2*in:
		return dst >> 1
	}
	scale := float32(in) / float32(out)
	return min(int(math.Floor(float64(float32(dst)*scale))), in-1)
}

// ValidRatios is get_valid_ratio for every level: [B, L, 2] holding the
// (width, height) fraction of each level that is not padding, counted
// along the first column and the first row.
func ValidRatios(maskFlatten []bool, batch int, shapes [][2]int) ([]float32, error) {
	seq, err := seqLen(shapes)
	if err != nil {
		return nil, err
	}
	if len(maskFlatten) != batch*seq {
		return nil, fmt.Errorf("query: flattened mask has %d values, want %d×%d", len(maskFlatten), batch, seq)
	}
	L := len(shapes)
	out := make([]float32, batch*L*2)
	for b := 0; b < batch; b++ {
		start := b * seq
		for l, s := range shapes {
			h, w := s[0], s[1]
			m := maskFlatten[start : start+h*w]
			vh, vw := 0, 0
			for y := 0; y < h; y++ {
				if m[y*w] {
					vh++
				}
			}
			for x := 0; x < w; x++ {
				if m[x] {
					vw++
				}
			}
			out[(b*L+l)*2] = float32(vw) / float32(w)
			out[(b*L+l)*2+1] = float32(vh) / float32(h)
			start += h * w
		}
	}
	return out, nil
}

// LevelStartIndex is the offset of each level in the flattened sequence.
func LevelStartIndex(shapes [][2]int) []int {
	out := make([]int, len(shapes))
	n := 0
	for i, s := range shapes {
		out[i] = n
		n += s[0] * s[1]
	}
	return out
}

func seqLen(shapes [][2]int) (int, error) {
	if len(shapes) == 0 {
		return 0, fmt.Errorf("query: no spatial shapes")
	}
	n := 0
	for i, s := range shapes {
		if s[0] <= 0 || s[1] <= 0 {
			return 0, fmt.Errorf("query: level %d has spatial shape %v", i, s)
		}
		n += s[0] * s[1]
	}
	return n, nil
}
