package enhancer

import (
	"fmt"

	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// ReferencePoints is GroundingDinoEncoder.get_reference_points: every pixel
// centre of every level, normalised by that level's valid size, then scaled
// by each level's valid ratio, giving [B, S, L, 2] (x, y). validRatios is
// [B, L, 2] (valid width / w, valid height / h), as get_valid_ratio gives.
// The result is over an nn.Scratch buffer (hand it back with nn.Release
// once spent, or not).
func ReferencePoints(spatialShapes [][2]int, validRatios []float32, batch int) *tensor.Dense {
	L := len(spatialShapes)
	if len(validRatios) != batch*L*2 {
		panic(fmt.Sprintf("enhancer: %d valid ratios, want %d×%d×2", len(validRatios), batch, L))
	}
	S := 0
	for _, s := range spatialShapes {
		S += s[0] * s[1]
	}
	out := nn.Scratch(batch * S * L * 2) // every value is written below
	for b := 0; b < batch; b++ {
		vr := validRatios[b*L*2 : (b+1)*L*2]
		s := 0
		for l, hw := range spatialShapes {
			h, w := hw[0], hw[1]
			// float32 throughout, in the reference's order: (i+0.5) / (ratio·size).
			dy, dx := vr[2*l+1]*float32(h), vr[2*l]*float32(w)
			for i := 0; i < h; i++ {
				y := (float32(i) + 0.5) / dy
				for j := 0; j < w; j++ {
					x := (float32(j) + 0.5) / dx
					o := out[((b*S+s)*L)*2:]
					for k := 0; k < L; k++ {
						o[2*k] = x * vr[2*k]
						o[2*k+1] = y * vr[2*k+1]
					}
					s++
				}
			}
		}
	}
	return nn.FromData(out, batch, S, L, 2)
}
