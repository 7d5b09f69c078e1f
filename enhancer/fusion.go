package enhancer

import (
	"math"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// BiMultiHeadAttention is GroundingDinoBiMultiHeadAttention: one set of
// image→text scores serves both directions, image queries attending to text
// and (transposed) text queries attending to the image.
type BiMultiHeadAttention struct {
	VisionProj       nn.Linear `gsam:"vision_proj"`
	TextProj         nn.Linear `gsam:"text_proj"`
	ValuesVisionProj nn.Linear `gsam:"values_vision_proj"`
	ValuesTextProj   nn.Linear `gsam:"values_text_proj"`
	OutVisionProj    nn.Linear `gsam:"out_vision_proj"`
	OutTextProj      nn.Linear `gsam:"out_text_proj"`
	Heads            int
}

// NewBiMultiHeadAttention allocates the block: embed_dim encoder_ffn_dim/2
// split over encoder_attention_heads/2 heads.
func NewBiMultiHeadAttention(cfg Config) BiMultiHeadAttention {
	d, e := cfg.DModel, cfg.EncoderFFNDim/2
	return BiMultiHeadAttention{
		VisionProj: nn.NewLinear(d, e, true), TextProj: nn.NewLinear(d, e, true),
		ValuesVisionProj: nn.NewLinear(d, e, true), ValuesTextProj: nn.NewLinear(d, e, true),
		OutVisionProj: nn.NewLinear(e, d, true), OutTextProj: nn.NewLinear(e, d, true),
		Heads: cfg.EncoderAttentionHeads / 2,
	}
}

// clampLogit is the reference's ±50000 clamp of the shifted scores.
const clampLogit = 50000

// Forward attends vision [B, Nv, d] and text [B, Nt, d] to each other.
// visionMask [B·Nv] and textMask [B·Nt] are true at real pixels/tokens (nil:
// all real). It returns the vision update [B, Nv, d], the vision attention
// probabilities [B·H, Nv, Nt], the text update [B, Nt, d] and the text
// attention probabilities [B·H, Nt, Nv].
func (m *BiMultiHeadAttention) Forward(vision, text *tensor.Dense, visionMask, textMask []bool) (visionOut, visionAttn, textOut, textAttn *tensor.Dense) {
	vs, ts := vision.Shape(), text.Shape()
	B, Nv, Nt := vs[0], vs[1], ts[1]
	E := m.VisionProj.Out()
	H := m.Heads
	hd := E / H

	q := nn.Data(m.VisionProj.Forward(vision))
	scale := float32(math.Pow(float64(hd), -0.5))
	for i := range q {
		q[i] *= scale
	}
	k := nn.Data(m.TextProj.Forward(text))
	vv := nn.Data(m.ValuesVisionProj.Forward(vision))
	tv := nn.Data(m.ValuesTextProj.Forward(text))

	// Scores [B·H, Nv, Nt], then the reference's stabilisation: subtract the
	// global max (over the whole batch) and clamp.
	sv := make([]float32, B*H*Nv*Nt)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			cpu.Sgemm(false, true, Nv, Nt, hd, 1, q[b*Nv*E+h*hd:], E, k[b*Nt*E+h*hd:], E, 0, sv[(b*H+h)*Nv*Nt:], Nt)
		}
	}
	gmax := float32(math.Inf(-1))
	for _, x := range sv {
		gmax = max(gmax, x)
	}
	for i, x := range sv {
		sv[i] = clamp(x - gmax)
	}

	// Text → image: transpose, subtract each row's max, clamp, mask image
	// padding with −Inf, softmax over Nv.
	st := make([]float32, B*H*Nt*Nv)
	for bh := 0; bh < B*H; bh++ {
		b := bh / H
		src, dst := sv[bh*Nv*Nt:(bh+1)*Nv*Nt], st[bh*Nt*Nv:(bh+1)*Nt*Nv]
		for i := 0; i < Nv; i++ {
			for j := 0; j < Nt; j++ {
				dst[j*Nv+i] = src[i*Nt+j]
			}
		}
		for j := 0; j < Nt; j++ {
			row := dst[j*Nv : (j+1)*Nv]
			rmax := float32(math.Inf(-1))
			for _, x := range row {
				rmax = max(rmax, x)
			}
			for i, x := range row {
				row[i] = clamp(x - rmax)
			}
			if visionMask != nil {
				for i, keep := range visionMask[b*Nv : (b+1)*Nv] {
					if !keep {
						row[i] = float32(math.Inf(-1))
					}
				}
			}
		}
	}
	nn.SoftmaxRows(st, Nv)

	// Image → text: mask text padding with −Inf, softmax over Nt.
	if textMask != nil {
		for bh := 0; bh < B*H; bh++ {
			b := bh / H
			tm := textMask[b*Nt : (b+1)*Nt]
			for i := 0; i < Nv; i++ {
				row := sv[(bh*Nv+i)*Nt : (bh*Nv+i+1)*Nt]
				for j, keep := range tm {
					if !keep {
						row[j] = float32(math.Inf(-1))
					}
				}
			}
		}
	}
	nn.SoftmaxRows(sv, Nt)

	vo := make([]float32, B*Nv*E)
	to := make([]float32, B*Nt*E)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			bh := b*H + h
			cpu.Sgemm(false, false, Nv, hd, Nt, 1, sv[bh*Nv*Nt:], Nt, tv[b*Nt*E+h*hd:], E, 0, vo[b*Nv*E+h*hd:], E)
			cpu.Sgemm(false, false, Nt, hd, Nv, 1, st[bh*Nt*Nv:], Nv, vv[b*Nv*E+h*hd:], E, 0, to[b*Nt*E+h*hd:], E)
		}
	}
	visionOut = m.OutVisionProj.Forward(nn.FromData(vo, B, Nv, E))
	textOut = m.OutTextProj.Forward(nn.FromData(to, B, Nt, E))
	return visionOut, nn.FromData(sv, B*H, Nv, Nt), textOut, nn.FromData(st, B*H, Nt, Nv)
}

func clamp(x float32) float32 { return min(max(x, -clampLogit), clampLogit) }

// FusionLayer is GroundingDinoFusionLayer: pre-norm bi-attention whose
// updates enter through the layer-scale vectors vision_param and text_param.
type FusionLayer struct {
	LayerNormVision nn.LayerNorm         `gsam:"layer_norm_vision"`
	LayerNormText   nn.LayerNorm         `gsam:"layer_norm_text"`
	Attn            BiMultiHeadAttention `gsam:"attn"`
	VisionParam     *tensor.Dense        `gsam:"vision_param"`
	TextParam       *tensor.Dense        `gsam:"text_param"`
}

// NewFusionLayer allocates a fusion layer.
func NewFusionLayer(cfg Config) FusionLayer {
	d := cfg.DModel
	return FusionLayer{
		LayerNormVision: nn.NewLayerNorm(d, cfg.eps()),
		LayerNormText:   nn.NewLayerNorm(d, cfg.eps()),
		Attn:            NewBiMultiHeadAttention(cfg),
		VisionParam:     nn.New(d),
		TextParam:       nn.New(d),
	}
}

// Forward fuses vision [B, Nv, d] and text [B, Nt, d] (masks as in
// BiMultiHeadAttention.Forward) and returns the new vision and text features
// with the two attention probability tensors.
func (l *FusionLayer) Forward(vision, text *tensor.Dense, visionMask, textMask []bool) (visionOut, visionAttn, textOut, textAttn *tensor.Dense) {
	v := l.LayerNormVision.Forward(vision)
	t := l.LayerNormText.Forward(text)
	dv, va, dt, ta := l.Attn.Forward(v, t, visionMask, textMask)
	addScaled(nn.Data(v), nn.Data(dv), nn.Data(l.VisionParam))
	addScaled(nn.Data(t), nn.Data(dt), nn.Data(l.TextParam))
	return v, va, t, ta
}

// addScaled does x += gamma ⊙ delta row by row (gamma has one value per feature).
func addScaled(x, delta, gamma []float32) {
	d := len(gamma)
	for r := 0; r+d <= len(x); r += d {
		xr, dr := x[r:r+d], delta[r:r+d]
		for i, g := range gamma {
			xr[i] += g * dr[i]
		}
	}
}
