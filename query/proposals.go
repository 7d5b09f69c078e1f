package query

import (
	"math"

	"github.com/gsam-go/gsam/nn"
)

// proposals is generate_encoder_output_proposals without the projection:
// one box per flattened position, centred on the pixel and normalised by
// the level's unpadded size, 0.05·2^level wide and high, in logit space.
// Positions on padding or with any coordinate outside (0.01, 0.99) get +Inf
// and are reported in keep as false (their features are zeroed).
//
// padding is B×S with true on padded positions (the reference's
// ~mask_flatten). The arithmetic is float32 in the reference's order so
// that the selected set matches.
func proposals(padding []bool, batch int, shapes [][2]int) (logits []float32, keep []bool) {
	seq, _ := seqLen(shapes)
	logits = nn.Scratch(batch * seq * 4) // every value is written below
	keep = make([]bool, batch*seq)
	inf := float32(math.Inf(1))
	const lo, hi = float32(0.01), float32(0.99)
	for b := 0; b < batch; b++ {
		pos := b * seq
		for level, s := range shapes {
			h, w := s[0], s[1]
			m := padding[pos : pos+h*w]
			vh, vw := 0, 0
			for y := 0; y < h; y++ {
				if !m[y*w] {
					vh++
				}
			}
			for x := 0; x < w; x++ {
				if !m[x] {
					vw++
				}
			}
			wh := float32(0.05) * float32(math.Ldexp(1, level))
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					i := pos + y*w + x
					// (grid + 0.5) / valid size; a level with no valid
					// column divides by zero like the reference (Inf/NaN,
					// rejected below).
					p := [4]float32{(float32(x) + 0.5) / float32(vw), (float32(y) + 0.5) / float32(vh), wh, wh}
					ok := !m[y*w+x]
					for _, c := range p {
						if !(c > lo && c < hi) {
							ok = false
						}
					}
					keep[i] = ok
					out := logits[i*4 : i*4+4]
					for k, c := range p {
						if ok {
							out[k] = float32(math.Log(float64(c / (1 - c))))
						} else {
							out[k] = inf
						}
					}
				}
			}
			pos += h * w
		}
	}
	return logits, keep
}
