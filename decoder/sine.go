package decoder

import (
	"math"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
)

// sinePosEmbed is get_sine_pos_embed with exchange_xy: each of the n
// coordinates of pos [rows, n] becomes numPosFeats features, interleaved
// sin (even) / cos (odd) of coord·2π / 10000^(2⌊i/2⌋/numPosFeats), and the
// first two coordinates swap places: (x, y, w, h) → [y | x | w | h].
// The arithmetic follows the reference's float32 order.
func sinePosEmbed(pos []float32, n, numPosFeats int) []float32 {
	rows := len(pos) / n
	dimT := make([]float32, numPosFeats)
	for i := range dimT {
		e := float32(2*(i/2)) / float32(numPosFeats)
		dimT[i] = float32(math.Pow(10000, float64(e)))
	}
	const scale = float32(2 * math.Pi)
	width := n * numPosFeats
	out := nn.Scratch(rows * width) // every value is written below
	// Rows are independent: over the cores (900 queries × 4 coordinates ×
	// 128 sines or cosines per layer).
	cpu.ParallelFor(rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			for c := 0; c < n; c++ {
				slot := c
				if c < 2 && n >= 2 {
					slot = 1 - c
				}
				x := pos[r*n+c] * scale
				o := out[r*width+slot*numPosFeats : r*width+(slot+1)*numPosFeats]
				// Features 2j and 2j+1 share a frequency: sin and cos of
				// one angle, from one Sincos.
				for i := 0; i+1 < len(dimT); i += 2 {
					sn, cs := math.Sincos(float64(x / dimT[i]))
					o[i], o[i+1] = float32(sn), float32(cs)
				}
				if len(dimT)%2 == 1 {
					i := len(dimT) - 1
					o[i] = float32(math.Sin(float64(x / dimT[i])))
				}
			}
		}
	})
	return out
}

// logit is torch.special.logit with eps: the input is clamped to
// [eps, 1-eps] first.
func logit(x float32) float32 {
	const eps = float32(1e-5)
	x = min(max(x, eps), 1-eps)
	return float32(math.Log(float64(x / (1 - x))))
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }
