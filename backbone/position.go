package backbone

import (
	"math"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// SinePositionEmbedding is GroundingDinoSinePositionEmbedding: normalised
// cumulative sums of the mask along y and x, scaled to [0, 2π], through
// sines and cosines of geometrically spaced frequencies. The output has
// 2*Dim channels: Dim for y, then Dim for x.
type SinePositionEmbedding struct {
	Dim         int     // d_model / 2
	Temperature float64 // positional_embedding_temperature (20)
}

// equalRows reports whether a and b hold the same values.
func equalRows(a, b []float32) bool {
	for i, v := range a {
		if v != b[i] {
			return false
		}
	}
	return true
}

// Forward returns the embedding [B, 2*Dim, h, w] of mask [B, h, w] (1 =
// real pixel; nil = all real). Arithmetic follows the reference in float32.
func (p SinePositionEmbedding) Forward(mask []uint8, B, h, w int) *tensor.Dense {
	const eps, scale = float32(1e-6), float32(2 * math.Pi)
	D := p.Dim
	if mask == nil {
		mask = ones(B * h * w)
	}
	dimT := make([]float32, D)
	for i := range dimT {
		e := float32(2*(i/2)) / float32(D)
		dimT[i] = float32(math.Pow(p.Temperature, float64(e)))
	}
	out := nn.Scratch(B * 2 * D * h * w) // every value is written below
	yEmbed := make([]float32, h*w)
	xEmbed := make([]float32, h*w)
	hw := h * w
	for b := 0; b < B; b++ {
		m := mask[b*hw : (b+1)*hw]
		for x := 0; x < w; x++ {
			var s float32
			for y := 0; y < h; y++ {
				s += float32(m[y*w+x])
				yEmbed[y*w+x] = s
			}
		}
		for y := 0; y < h; y++ {
			var s float32
			for x := 0; x < w; x++ {
				s += float32(m[y*w+x])
				xEmbed[y*w+x] = s
			}
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := y*w + x
				yEmbed[i] = yEmbed[i] / (yEmbed[(h-1)*w+x] + eps) * scale
			}
		}
		for y := 0; y < h; y++ {
			last := xEmbed[y*w+w-1]
			for x := 0; x < w; x++ {
				i := y*w + x
				xEmbed[i] = xEmbed[i] / (last + eps) * scale
			}
		}
		// The same embedding value gives the same sine: along a row the
		// y values repeat (one per column profile of the mask), and rows
		// of x values repeat down the image, so most pixels copy a
		// neighbour's result instead of calling Sin or Cos (bit for bit the
		// same). Channels are independent: over the cores.
		base := out[b*2*D*hw:]
		cpu.ParallelFor(D, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				f := math.Sin
				if c%2 == 1 {
					f = math.Cos
				}
				ydst := base[c*hw : (c+1)*hw]
				xdst := base[(D+c)*hw : (D+c+1)*hw]
				for i, v := range yEmbed {
					if i > 0 && v == yEmbed[i-1] {
						ydst[i] = ydst[i-1]
						continue
					}
					ydst[i] = float32(f(float64(v / dimT[c])))
				}
				for y := 0; y < h; y++ {
					row := xEmbed[y*w : (y+1)*w]
					if y > 0 && equalRows(row, xEmbed[(y-1)*w:y*w]) {
						copy(xdst[y*w:(y+1)*w], xdst[(y-1)*w:y*w])
						continue
					}
					for x, v := range row {
						xdst[y*w+x] = float32(f(float64(v / dimT[c])))
					}
				}
			}
		})
	}
	return nn.FromData(out, B, 2*D, h, w)
}

func ones(n int) []uint8 {
	m := make([]uint8, n)
	for i := range m {
		m[i] = 1
	}
	return m
}

// InterpolateMask resizes mask [B, H, W] to [B, h, w] with PyTorch's
// nn.functional.interpolate(mode="nearest") indexing, as the reference does
// for every feature map. A nil mask means all pixels are real.
func InterpolateMask(mask []uint8, B, H, W, h, w int) []uint8 {
	out := make([]uint8, B*h*w)
	if mask == nil {
		for i := range out {
			out[i] = 1
		}
		return out
	}
	ys, xs := nearestIndex(H, h), nearestIndex(W, w)
	for b := 0; b < B; b++ {
		for y := 0; y < h; y++ {
			src := mask[(b*H+ys[y])*W:]
			dst := out[(b*h+y)*w : (b*h+y+1)*w]
			for x := range dst {
				if src[xs[x]] != 0 {
					dst[x] = 1
				}
			}
		}
	}
	return out
}

// nearestIndex is ATen's nearest_idx: identity and halving exactly,
// otherwise floor(i * (in/out)) in float32, clamped.
func nearestIndex(in, out int) []int {
	idx := make([]int, out)
	scale := float32(in) / float32(out)
	for i := range idx {
		switch {
		case out == in:
			idx[i] = i
		case out == 2*in:
			idx[i] = i >> 1
		default:
			idx[i] = min(int(float32(math.Floor(float64(float32(i)*scale)))), in-1)
		}
	}
	return idx
}
