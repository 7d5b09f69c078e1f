package bench

import (
	"testing"

	"github.com/gsam-go/gsam/enhancer"
	"github.com/gsam-go/gsam/weights"
)

// BenchmarkBiAttention times enhancer.BiMultiHeadAttention, Grounding DINO's
// image↔text fusion attention, at the tiny model's shape: 22223 vision
// tokens and 9 text tokens of d 256, projected to 1024 (encoder_ffn_dim/2)
// over 4 heads, random weights.
//
// GFLOP/s is nominal: the operations of the reference's order of
// computation (three 22223×256×1024 vision projections, three small text
// ones, scores and both attention products). The Go code folds the vision
// projections into the text side and does far fewer operations, so this is
// "reference work per second", comparable with the PyTorch number.
func BenchmarkBiAttention(b *testing.B) {
	b.Run("Nv22223_Nt9_d256_e1024_h4", func(b *testing.B) {
		const Nv, Nt, d, e = gdinoS, 9, dModel, 1024
		m := enhancer.NewBiMultiHeadAttention(enhancer.Config{DModel: d, EncoderFFNDim: 2 * e, EncoderAttentionHeads: 8})
		weights.Randomize(&m, 6)
		r := rng(6)
		vision := randTensor(r, 1, 1, Nv, d)
		text := randTensor(r, 1, 1, Nt, d)
		for b.Loop() {
			m.Forward(vision, text, nil, nil)
		}
		report(b, biAttnNominalFLOPs(Nv, Nt, d, e), 0)
	})
}

func biAttnNominalFLOPs(Nv, Nt, d, e int) float64 {
	proj := 3 * 2 * float64(Nv+Nt) * float64(d) * float64(e)
	attn := 3 * 2 * float64(Nv) * float64(Nt) * float64(e)
	return proj + attn
}
