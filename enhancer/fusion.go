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
//
// The projections of the (long) image sequence are folded into the (short)
// text side, which is the same linear algebra in another order:
//
//	scores_h = (x·Wq_hᵀ + bq_h)·s·K_hᵀ       = x·(s·K_h·Wq_h)ᵀ + s·K_h·bq_h
//	vision_out = Σ_h P_h·V_h·Wo_hᵀ + bo     = P_cat·[V_h·Wo_hᵀ]_h + bo
//	text_out_h = P'_h·(x·Wv_hᵀ + bv_h)      = (P'_h·x)·Wv_hᵀ + bv_h   (rows of P' sum to 1)
//
// so the image side costs O(Nv·H·Nt·d) instead of three Nv×d×embed_dim
// projections: for short captions the fusion layer becomes almost free.
func (m *BiMultiHeadAttention) Forward(vision, text *tensor.Dense, visionMask, textMask []bool) (visionOut, visionAttn, textOut, textAttn *tensor.Dense) {
	return m.forward(vision, text, visionMask, textMask, true, nil)
}

// forward is Forward; without wantProbs the two probability tensors come
// back nil and the vision probabilities are not copied out (with a long
// caption that copy is [B·H, Nv, Nt], as large as the scores), and the
// vision update is a getScratch buffer that the caller puts back. With a
// gamma (the fusion layer's vision_param, d values) and without wantProbs,
// vision += gamma ⊙ update instead, in place and with gamma folded into
// the output projection's columns, and visionOut comes back nil: no
// image-sized update buffer and no pass to add it.
func (m *BiMultiHeadAttention) forward(vision, text *tensor.Dense, visionMask, textMask []bool, wantProbs bool, gamma []float32) (visionOut, visionAttn, textOut, textAttn *tensor.Dense) {
	vs, ts := vision.Shape(), text.Shape()
	B, Nv, d, Nt := vs[0], vs[1], vs[2], ts[1]
	E := m.VisionProj.Out()
	H := m.Heads
	hd := E / H
	HT := H * Nt
	x := nn.Data(vision)
	k := nn.Data(m.TextProj.Forward(text))
	tv := nn.Data(m.ValuesTextProj.Forward(text))
	defer nn.PutScratch(k)
	defer nn.PutScratch(tv)
	wq, bq := nn.Data(m.VisionProj.Weight), nn.Data(m.VisionProj.Bias)
	wo := nn.Data(m.OutVisionProj.Weight)
	wv, bv := nn.Data(m.ValuesVisionProj.Weight), nn.Data(m.ValuesVisionProj.Bias)
	scale := float32(math.Pow(float64(hd), -0.5))

	// Scores of all heads side by side: sc[b] is [Nv, H·Nt]; st below is
	// their transpose. Both are scratch unless the caller keeps them.
	newBuf := func(n int) []float32 {
		if wantProbs {
			return make([]float32, n)
		}
		return nn.Scratch(n)
	}
	sc := newBuf(B * Nv * HT)
	mq := nn.Scratch(HT * d)
	defer nn.PutScratch(mq)
	cq := make([]float32, HT)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			kh := k[b*Nt*E+h*hd:]
			cpu.Sgemm(false, false, Nt, d, hd, scale, kh, E, wq[h*hd*d:], d, 0, mq[h*Nt*d:], d)
			for j := 0; j < Nt; j++ {
				var c float32
				for i, w := range bq[h*hd : (h+1)*hd] {
					c += kh[j*E+i] * w
				}
				cq[h*Nt+j] = c * scale
			}
		}
		cpu.SgemmBias(false, true, Nv, HT, d, x[b*Nv*d:], d, mq, d, 0, cq, sc[b*Nv*HT:(b+1)*Nv*HT], HT)
	}
	// The reference's stabilisation: subtract the global max (over the
	// whole batch) and clamp.
	rows := B * Nv
	// Blocks of 256 rows, each with its own maximum (a worker takes whole
	// blocks, so no two write the same slot).
	nBlk := (rows + 255) / 256
	blockMax := make([]float32, nBlk)
	parallelRows(nBlk, 1, func(b0, b1 int) {
		for blk := b0; blk < b1; blk++ {
			m := float32(math.Inf(-1))
			for _, v := range sc[blk*256*HT : min(blk*256+256, rows)*HT] {
				m = max(m, v)
			}
			blockMax[blk] = m
		}
	})
	gmax := float32(math.Inf(-1))
	for _, m := range blockMax {
		gmax = max(gmax, m)
	}
	parallelRows(rows, 256, func(lo, hi int) {
		seg := sc[lo*HT : hi*HT]
		for i, v := range seg {
			seg[i] = clamp(v - gmax)
		}
	})

	// Text → image [B·H, Nt, Nv]: transpose (in blocks of image rows),
	// subtract each row's max, clamp, mask image padding with −Inf, softmax
	// over Nv.
	st := newBuf(B * H * Nt * Nv)
	const tb = 64
	nb := (Nv + tb - 1) / tb
	parallelRows(B*nb, 1, func(lo, hi int) {
		for u := lo; u < hi; u++ {
			b, i0 := u/nb, (u%nb)*tb
			i1 := min(i0+tb, Nv)
			sb := sc[b*Nv*HT:]
			dst := st[b*HT*Nv:] // rows h·Nt + j
			for c := 0; c < HT; c++ {
				row := dst[c*Nv:]
				for i := i0; i < i1; i++ {
					row[i] = sb[i*HT+c]
				}
			}
		}
	})
	parallelRows(B*HT, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b := r / HT
			row := st[r*Nv : (r+1)*Nv]
			rmax := float32(math.Inf(-1))
			for _, v := range row {
				rmax = max(rmax, v)
			}
			for i, v := range row {
				row[i] = clamp(v - rmax)
			}
			if visionMask != nil {
				for i, keep := range visionMask[b*Nv : (b+1)*Nv] {
					if !keep {
						row[i] = float32(math.Inf(-1))
					}
				}
			}
		}
	})
	softmaxRows(st, Nv)

	// Image → text: mask text padding with −Inf, softmax over each head's Nt.
	if textMask != nil {
		parallelRows(rows, 256, func(lo, hi int) {
			for bi := lo; bi < hi; bi++ {
				tm := textMask[(bi/Nv)*Nt : (bi/Nv+1)*Nt]
				for r := bi * H; r < (bi+1)*H; r++ {
					row := sc[r*Nt : (r+1)*Nt]
					for j, keep := range tm {
						if !keep {
							row[j] = float32(math.Inf(-1))
						}
					}
				}
			}
		})
	}
	softmaxRows(sc, Nt)

	inPlace := gamma != nil && !wantProbs
	var vo []float32
	switch {
	case wantProbs:
		vo = make([]float32, B*Nv*d)
	case !inPlace:
		// Internal callers hand the image update back with putScratch once
		// it is added in (every value is written below).
		vo = nn.Scratch(B * Nv * d)
	}
	to := nn.Scratch(B * Nt * E) // every row filled with bv, then accumulated onto
	vt := nn.Scratch(HT * d)     // [V_h·Wo_hᵀ]_h
	px := nn.Scratch(HT * d)     // P'·x per head
	defer nn.PutScratch(vt)
	defer nn.PutScratch(px)
	bo := nn.Data(m.OutVisionProj.Bias)
	if inPlace {
		// gamma ⊙ (P·VWo + bo) = P·(VWo ⊙ gamma) + bo ⊙ gamma, column by column.
		g := make([]float32, d)
		for i := range g {
			g[i] = bo[i] * gamma[i]
		}
		bo = g
	}
	for b := 0; b < B; b++ {
		xb := x[b*Nv*d : (b+1)*Nv*d]
		// The text side first: it reads the image tokens, which the
		// in-place vision update below changes.
		cpu.Sgemm(false, false, HT, d, Nv, 1, st[b*HT*Nv:], Nv, xb, d, 0, px, d)
		for j := 0; j < Nt; j++ {
			copy(to[(b*Nt+j)*E:(b*Nt+j+1)*E], bv)
		}
		for h := 0; h < H; h++ {
			cpu.Sgemm(false, true, Nt, hd, d, 1, px[h*Nt*d:], d, wv[h*hd*d:], d, 1, to[b*Nt*E+h*hd:], E)
		}

		for h := 0; h < H; h++ {
			cpu.Sgemm(false, true, Nt, d, hd, 1, tv[b*Nt*E+h*hd:], E, wo[h*hd:], E, 0, vt[h*Nt*d:], d)
		}
		if inPlace {
			for r := 0; r < HT; r++ {
				row := vt[r*d : (r+1)*d]
				for i, g := range gamma {
					row[i] *= g
				}
			}
			cpu.SgemmBias(false, false, Nv, d, HT, sc[b*Nv*HT:], HT, vt, d, 1, bo, xb, d)
		} else {
			cpu.SgemmBias(false, false, Nv, d, HT, sc[b*Nv*HT:], HT, vt, d, 0, bo, vo[b*Nv*d:(b+1)*Nv*d], d)
		}
	}
	textOut = m.OutTextProj.Forward(nn.FromData(to, B, Nt, E))
	nn.PutScratch(to)
	if !wantProbs {
		nn.PutScratch(sc)
		nn.PutScratch(st)
		if inPlace {
			return nil, nil, textOut, nil
		}
		return nn.FromData(vo, B, Nv, d), nil, textOut, nil
	}

	// The vision probabilities in the reference's [B·H, Nv, Nt] layout.
	va := make([]float32, len(sc))
	parallelRows(rows, 256, func(lo, hi int) {
		for bi := lo; bi < hi; bi++ {
			b, i := bi/Nv, bi%Nv
			for h := 0; h < H; h++ {
				copy(va[((b*H+h)*Nv+i)*Nt:((b*H+h)*Nv+i+1)*Nt], sc[(bi*H+h)*Nt:(bi*H+h+1)*Nt])
			}
		}
	})
	return nn.FromData(vo, B, Nv, d), nn.FromData(va, B*H, Nv, Nt), textOut, nn.FromData(st, B*H, Nt, Nv)
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
	return l.forward(vision, text, visionMask, textMask, false, true)
}

// forward is Forward. inPlace normalises and updates vision in place (the
// residual is taken after the norm, so the input is not needed again);
// without wantProbs the probabilities come back nil.
func (l *FusionLayer) forward(vision, text *tensor.Dense, visionMask, textMask []bool, inPlace, wantProbs bool) (visionOut, visionAttn, textOut, textAttn *tensor.Dense) {
	v := vision
	if !inPlace {
		v = nn.Clone(vision)
	}
	layerNorm(&l.LayerNormVision, nn.Data(v))
	t := l.LayerNormText.Forward(text)
	// Without the probabilities the attention adds vision_param ⊙ its
	// update into v itself.
	dv, va, dt, ta := l.Attn.forward(v, t, visionMask, textMask, wantProbs, nn.Data(l.VisionParam))
	if wantProbs {
		addScaled(nn.Data(v), nn.Data(dv), nn.Data(l.VisionParam))
	}
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
