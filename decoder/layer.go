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
func (l *Layer) forward(h, pos, ref *tensor.Dense, m *memory) *tensor.Dense {
	h = l.selfAttention(h, pos)
	h = l.textCrossAttention(h, pos, m.text, m.textMask)
	cross, _ := l.EncoderAttn.Forward(h, pos, m.vision, m.visionMask, ref, m.shapes, m.levelStart)
	h = l.residualNorm(h, cross, &l.EncoderAttnLayerNorm)
	return l.ffn(h)
}

// selfAttention: queries and keys carry the position embedding, values not.
func (l *Layer) selfAttention(h, pos *tensor.Dense) *tensor.Dense {
	qk := nn.Add(h, pos)
	return l.residualNorm(h, l.SelfAttn.Attend(qk, qk, h, nil), &l.SelfAttnLayerNorm)
}

// textCrossAttention: the queries (with position) attend to the text tokens.
func (l *Layer) textCrossAttention(h, pos, text, mask *tensor.Dense) *tensor.Dense {
	return l.residualNorm(h, l.EncoderAttnText.Attend(nn.Add(h, pos), text, text, mask), &l.EncoderAttnTextLayerNorm)
}

func (l *Layer) ffn(h *tensor.Dense) *tensor.Dense {
	shape := nn.Shape(h)
	rows := nn.Numel(shape...) / l.FC1.In()
	mid := nn.Scratch(rows * l.FC1.Out()) // the wide hidden activation
	defer nn.PutScratch(mid)
	l.FC1.ForwardSlice(mid, nn.Data(h), rows)
	l.Act.Apply(mid)
	y := make([]float32, rows*l.FC2.Out())
	l.FC2.ForwardSlice(y, mid, rows)
	shape[len(shape)-1] = l.FC2.Out()
	return l.residualNorm(h, nn.FromData(y, shape...), &l.FinalLayerNorm)
}

// residualNorm returns norm(x + delta), reusing delta's storage.
func (l *Layer) residualNorm(x, delta *tensor.Dense, norm *nn.LayerNorm) *tensor.Dense {
	nn.AddInPlace(delta, x)
	norm.ForwardInPlace(nn.Data(delta))
	return delta
}
