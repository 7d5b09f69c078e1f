package enhancer

import (
	"math"

	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// TextEnhancerLayer is GroundingDinoTextEnhancerLayer: post-norm
// self-attention over the text (restricted to each sub-sentence) and an FFN.
type TextEnhancerLayer struct {
	SelfAttn        MultiheadAttention `gsam:"self_attn"`
	FC1             nn.Linear          `gsam:"fc1"`
	FC2             nn.Linear          `gsam:"fc2"`
	LayerNormBefore nn.LayerNorm       `gsam:"layer_norm_before"`
	LayerNormAfter  nn.LayerNorm       `gsam:"layer_norm_after"`
	Act             nn.Activation
}

// NewTextEnhancerLayer allocates a layer: encoder_attention_heads/2 heads and
// an FFN of encoder_ffn_dim/2.
func NewTextEnhancerLayer(cfg Config) TextEnhancerLayer {
	d, ffn := cfg.DModel, cfg.EncoderFFNDim/2
	return TextEnhancerLayer{
		SelfAttn:        NewMultiheadAttention(d, cfg.EncoderAttentionHeads/2),
		FC1:             nn.NewLinear(d, ffn, true),
		FC2:             nn.NewLinear(ffn, d, true),
		LayerNormBefore: nn.NewLayerNorm(d, cfg.eps()),
		LayerNormAfter:  nn.NewLayerNorm(d, cfg.eps()),
		Act:             cfg.act(),
	}
}

// Forward enhances text [B, T, d]. posEmbed [B, T, d] is added to queries
// and keys; selfAttention [B, T, T] is true where a token may attend. It
// returns the new text features and the attention probabilities [B, H, T, T].
func (l *TextEnhancerLayer) Forward(text, posEmbed *tensor.Dense, selfAttention []bool) (out, probs *tensor.Dense) {
	s := text.Shape()
	B, T, d := s[0], s[1], s[2]
	// (1 − mask)·finfo(float32).min, the reference's additive form: blocked
	// scores become the lowest float rather than −Inf.
	mask := make([]float32, B*T*T)
	for i, keep := range selfAttention {
		if !keep {
			mask[i] = -math.MaxFloat32
		}
	}
	qk := text
	if posEmbed != nil {
		qk = nn.Clone(text)
		nn.AddInPlace(qk, posEmbed)
	}
	attn, probs := l.SelfAttn.Forward(qk, qk, text, nn.FromData(mask, B, 1, T, T))
	h := nn.Data(attn)
	for i, v := range nn.Data(text) {
		h[i] += v
	}
	l.LayerNormBefore.ForwardInPlace(h)
	l.ffn(h, B*T, d)
	return nn.FromData(h, B, T, d), probs
}

// ffn applies h = LN(h + fc2(act(fc1(h)))) to rows×d values in place.
func (l *TextEnhancerLayer) ffn(h []float32, rows, d int) {
	feedForward(&l.FC1, &l.FC2, l.Act, h, rows, d)
	l.LayerNormAfter.ForwardInPlace(h)
}

// TextPositionEmbedding is the text enhancer's position embedding as
// transformers 5.17 computes it: get_sine_pos_embed(position_ids[..., None],
// num_pos_feats=d, exchange_xy=False) — sin at even and cos at odd features
// of pos·2π / 10000^(2⌊i/2⌋/d), in float32 — whose result is cast back to the
// dtype of the (int64) position ids. The cast truncates every value toward
// zero, so what reaches the attention is 1 for the cosine features of
// position 0 and 0 (±1 only where a float32 sin/cos is exactly ±1)
// elsewhere. The fixtures confirm this; the untruncated embedding does not
// match them. Returns [batch, T, d].
func TextPositionEmbedding(positionIDs []int64, batch, d int) *tensor.Dense {
	T := len(positionIDs) / batch
	dimT := make([]float32, d)
	for i := range dimT {
		e := float32(2*(i/2)) / float32(d)
		dimT[i] = float32(math.Pow(10000, float64(e)))
	}
	scale := float32(2 * math.Pi)
	out := make([]float32, batch*T*d)
	for n, id := range positionIDs {
		x := float32(id) * scale
		row := out[n*d : (n+1)*d]
		for i := 0; i+1 < d; i += 2 {
			row[i] = truncate(float32(math.Sin(float64(x / dimT[i]))))
			row[i+1] = truncate(float32(math.Cos(float64(x / dimT[i+1]))))
		}
	}
	return nn.FromData(out, batch, T, d)
}

// truncate is the float → int64 cast (toward zero).
func truncate(v float32) float32 { return float32(int64(v)) }
