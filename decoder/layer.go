package decoder

import (
	"github.com/gsam-go/gsam/enhancer"
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// Layer is GroundingDinoDecoderLayer. Each sub-block is post-norm:
// x = LayerNorm(x + block(x)).
type Layer struct {
	SelfAttn                 enhancer.MultiheadAttention            `gsam:"self_attn"`
	SelfAttnLayerNorm        nn.LayerNorm                           `gsam:"self_attn_layer_norm"`
	EncoderAttnText          enhancer.MultiheadAttention            `gsam:"encoder_attn_text"`
	EncoderAttnTextLayerNorm nn.LayerNorm                           `gsam:"encoder_attn_text_layer_norm"`
	EncoderAttn              enhancer.MultiscaleDeformableAttention `gsam:"encoder_attn"`
	EncoderAttnLayerNorm     nn.LayerNorm                           `gsam:"encoder_attn_layer_norm"`
	FC1                      nn.Linear                              `gsam:"fc1"`
	FC2                      nn.Linear                              `gsam:"fc2"`
	FinalLayerNorm           nn.LayerNorm                           `gsam:"final_layer_norm"`
	Act                      nn.Activation
}

// NewLayer allocates one decoder layer.
func NewLayer(c Config) Layer {
	d, eps := c.DModel, c.LayerNormEps
	return Layer{
		SelfAttn:                 enhancer.NewMultiheadAttention(d, c.DecoderAttentionHeads),
		SelfAttnLayerNorm:        nn.NewLayerNorm(d, eps),
		EncoderAttnText:          enhancer.NewMultiheadAttention(d, c.DecoderAttentionHeads),
		EncoderAttnTextLayerNorm: nn.NewLayerNorm(d, eps),
		EncoderAttn:              enhancer.NewMultiscaleDeformableAttention(d, c.DecoderAttentionHeads, c.NumFeatureLevels, c.DecoderNPoints),
		EncoderAttnLayerNorm:     nn.NewLayerNorm(d, eps),
		FC1:                      nn.NewLinear(d, c.DecoderFFNDim, true),
		FC2:                      nn.NewLinear(c.DecoderFFNDim, d, true),
		FinalLayerNorm:           nn.NewLayerNorm(d, eps),
		Act:                      nn.Activation(c.ActivationFunction),
	}
}

// memory is what every layer attends to.
type memory struct {
	vision     *tensor.Dense // [B, S, d]
	visionMask []bool        // B×S, true on real pixels
	text       *tensor.Dense // [B, T, d]
	textMask   *tensor.Dense // additive [B, 1, Q, T]
	shapes     [][2]int
	levelStart []int
}

// forward runs the layer on queries h [B, Q, d] with their position
// embedding pos [B, Q, d] and reference boxes ref [B, Q, L, 4] (already
// scaled by the valid ratios).
// Each step returns a new tensor (nn.Scratch); the ones made here are
// handed back as soon as the next step has read them. The caller's h is not.
func (l *Layer) forward(h, pos, ref *tensor.Dense, m *memory) *tensor.Dense {
	h1 := l.selfAttention(h, pos)
	h2 := l.textCrossAttention(h1, pos, m.text, m.textMask)
	nn.Release(h1)
	cross, weights := l.EncoderAttn.Forward(h2, pos, m.vision, m.visionMask, ref, m.shapes, m.levelStart)
	nn.Release(weights)
	h3 := l.residualNorm(h2, cross, &l.EncoderAttnLayerNorm)
	nn.Release(h2)
	h4 := l.ffn(h3)
	nn.Release(h3)
	return h4
}

// selfAttention: queries and keys carry the position embedding, values not.
func (l *Layer) selfAttention(h, pos *tensor.Dense) *tensor.Dense {
	qk := nn.Add(h, pos)
	out := l.residualNorm(h, l.SelfAttn.Attend(qk, qk, h, nil), &l.SelfAttnLayerNorm)
	nn.Release(qk)
	return out
}

// textCrossAttention: the queries (with position) attend to the text tokens.
func (l *Layer) textCrossAttention(h, pos, text, mask *tensor.Dense) *tensor.Dense {
	q := nn.Add(h, pos)
	out := l.residualNorm(h, l.EncoderAttnText.Attend(q, text, text, mask), &l.EncoderAttnTextLayerNorm)
	nn.Release(q)
	return out
}

func (l *Layer) ffn(h *tensor.Dense) *tensor.Dense {
	shape := nn.Shape(h)
	rows := nn.Numel(shape...) / l.FC1.In()
	mid := nn.Scratch(rows * l.FC1.Out()) // the wide hidden layer, before its activation
	defer nn.PutScratch(mid)
	l.FC1.ForwardSlice(mid, nn.Data(h), rows)
	y := nn.Scratch(rows * l.FC2.Out()) // written whole
	// fc2 activates mid as it packs it.
	l.FC2.ForwardSliceAct(y, mid, rows, l.Act)
	shape[len(shape)-1] = l.FC2.Out()
	return l.residualNorm(h, nn.FromData(y, shape...), &l.FinalLayerNorm)
}

// residualNorm returns norm(x + delta), reusing delta's storage.
func (l *Layer) residualNorm(x, delta *tensor.Dense, norm *nn.LayerNorm) *tensor.Dense {
	nn.AddInPlace(delta, x)
	norm.ForwardInPlace(nn.Data(delta))
	return delta
}
