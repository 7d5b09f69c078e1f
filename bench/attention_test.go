package bench

import (
	"math"
	"testing"

	"github.com/gsam-go/gsam/backbone"
	"github.com/gsam-go/gsam/enhancer"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// attnCase is one scaled-dot-product attention shape: B independent batches
// (or windows) of H heads, Lq queries and Lk keys of width D.
type attnCase struct {
	name            string
	B, H, Lq, Lk, D int
	mask            func() *tensor.Dense // additive mask, or nil
}

// attnFLOPs counts the two matrix products (q·kᵀ and p·v); softmax and the
// mask add are not counted.
func (c attnCase) flops() float64 {
	return 4 * float64(c.B) * float64(c.H) * float64(c.Lq) * float64(c.Lk) * float64(c.D)
}

// Real shapes:
//
//   - BERT-base over Grounding DINO's 256-token text: 12 heads of 64, with
//     the sub-sentence (block-diagonal) mask the text backbone gets.
//   - Grounding DINO decoder self-attention: 900 queries, 8 heads of 32.
//   - Swin-T stage 1 at 800×1333: the 200×334 token map padded to 203×336 is
//     29×48 = 1392 windows of 7×7 = 49 tokens, 3 heads of 32; the shifted
//     block adds the relative position bias and the shift mask, given here as
//     one additive [1392, 3, 49, 49] mask (the backbone's own fused window
//     attention is unexported, so this is nn.Attention on batched windows).
//   - SAM ViT-B at 1024²: 64×64 = 4096 tokens, 12 heads of 64; global
//     attention, and 14×14 windows (padded to 70×70: 25 windows of 196).
//     Without the decomposed relative position terms: the sam package's
//     attention with them is unexported.
func attnCases() []attnCase {
	return []attnCase{
		{name: "bert_L256_h12_d64", B: 1, H: 12, Lq: 256, Lk: 256, D: 64, mask: subSentenceMask},
		{name: "decoder_self_Q900_h8_d32", B: 1, H: 8, Lq: 900, Lk: 900, D: 32},
		{name: "swin_w7_stage1_nW1392_h3_d32", B: swinWindows, H: 3, Lq: 49, Lk: 49, D: 32, mask: swinShiftedMask},
		{name: "sam_global_L4096_h12_d64", B: 1, H: 12, Lq: 4096, Lk: 4096, D: 64},
		{name: "sam_window14_nW25_h12_d64", B: 25, H: 12, Lq: 196, Lk: 196, D: 64},
	}
}

// BenchmarkAttention times nn.Attention (softmax(q·kᵀ·scale + mask)·v), the
// attention core under BERT, the decoder, SAM's mask decoder and the
// enhancer's text self-attention.
func BenchmarkAttention(b *testing.B) {
	for _, c := range attnCases() {
		b.Run(c.name, func(b *testing.B) {
			r := rng(1)
			q := randTensor(r, 1, c.B, c.H, c.Lq, c.D)
			k := randTensor(r, 1, c.B, c.H, c.Lk, c.D)
			v := randTensor(r, 1, c.B, c.H, c.Lk, c.D)
			var mask *tensor.Dense
			if c.mask != nil {
				mask = c.mask()
			}
			scale := float32(1 / math.Sqrt(float64(c.D)))
			for b.Loop() {
				nn.Attention(q, k, v, mask, scale)
			}
			report(b, c.flops(), 0)
		})
	}
}

// subSentenceMask is Grounding DINO's text self-attention mask for a
// 256-token caption of phrases of 8 tokens: each phrase attends only to
// itself, in BERT's additive form [1, 1, 256, 256].
func subSentenceMask() *tensor.Dense {
	const L, phrase = 256, 8
	keep := make([]bool, L*L)
	for i := 0; i < L; i++ {
		for j := 0; j < L; j++ {
			keep[i*L+j] = i/phrase == j/phrase
		}
	}
	m, err := backbone.BERTExtendedMask(keep, 1, L)
	if err != nil {
		panic(err)
	}
	return m
}

// Swin-T stage 1 at 800×1333: patch size 4 gives 200×334 tokens, padded to
// whole 7×7 windows.
const (
	swinWin, swinShift = 7, 3
	swinH, swinW       = 200, 334
	swinHp, swinWp     = (swinH + swinWin - 1) / swinWin * swinWin, (swinW + swinWin - 1) / swinWin * swinWin
	swinWindows        = (swinHp / swinWin) * (swinWp / swinWin)
)

// swinShiftedMask is the relative position bias of a 3-head Swin block
// (backbone.SwinSelfAttention.RelativePositionBias of a random table) plus
// the shifted-window mask (-100 between tokens from different regions of
// the rolled map), as one additive mask [nW, 3, 49, 49].
func swinShiftedMask() *tensor.Dense {
	const H, N = 3, swinWin * swinWin
	sa := backbone.SwinSelfAttention{
		RelativePositionBiasTable: nn.New((2*swinWin-1)*(2*swinWin-1), H),
		Heads:                     H,
	}
	weights.Randomize(&sa, 3)
	bias := sa.RelativePositionBias(swinWin) // [H, N, N]
	region := func(v, size int) int {
		switch {
		case v < size-swinWin:
			return 0
		case v < size-swinShift:
			return 1
		default:
			return 2
		}
	}
	nwx := swinWp / swinWin
	m := make([]float32, swinWindows*H*N*N)
	ids := make([]int, N)
	for w := 0; w < swinWindows; w++ {
		wy, wx := w/nwx, w%nwx
		for t := 0; t < N; t++ {
			ids[t] = region(wy*swinWin+t/swinWin, swinHp)*3 + region(wx*swinWin+t%swinWin, swinWp)
		}
		for h := 0; h < H; h++ {
			dst := m[(w*H+h)*N*N : (w*H+h+1)*N*N]
			copy(dst, bias[h*N*N:(h+1)*N*N])
			for i := 0; i < N; i++ {
				for j := 0; j < N; j++ {
					if ids[i] != ids[j] {
						dst[i*N+j] -= 100
					}
				}
			}
		}
	}
	return nn.FromData(m, swinWindows, H, N, N)
}

// BenchmarkMHABlock times a whole attention block with its four d×d
// projections: the Grounding DINO decoder's self-attention over 900 queries
// (enhancer.MultiheadAttention, d 256, 8 heads), random weights.
func BenchmarkMHABlock(b *testing.B) {
	b.Run("decoder_self_Q900_d256_h8", func(b *testing.B) {
		const Q, d, H = 900, 256, 8
		m := enhancer.NewMultiheadAttention(d, H)
		weights.Randomize(&m, 4)
		r := rng(4)
		qk := randTensor(r, 1, 1, Q, d)
		v := randTensor(r, 1, 1, Q, d)
		for b.Loop() {
			m.Forward(qk, qk, v, nil)
		}
		proj := 4 * 2 * float64(Q) * d * d
		report(b, proj+attnCase{B: 1, H: H, Lq: Q, Lk: Q, D: d / H}.flops(), 0)
	})
}
