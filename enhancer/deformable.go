package enhancer

import (
	"fmt"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// MultiscaleDeformableAttention is GroundingDinoMultiscaleDeformableAttention
// (Deformable DETR's MSDeformAttn): every query predicts, per head, level and
// point, a sampling offset around its reference point and an attention
// weight; the output is the weighted sum of the bilinearly sampled values.
type MultiscaleDeformableAttention struct {
	SamplingOffsets  nn.Linear `gsam:"sampling_offsets"`  // d → H·L·P·2
	AttentionWeights nn.Linear `gsam:"attention_weights"` // d → H·L·P
	ValueProj        nn.Linear `gsam:"value_proj"`
	OutputProj       nn.Linear `gsam:"output_proj"`

	Heads, Levels, Points int
}

// NewMultiscaleDeformableAttention allocates the module: the encoder uses
// encoder_attention_heads and encoder_n_points, the decoder
// decoder_attention_heads and decoder_n_points; levels is num_feature_levels.
func NewMultiscaleDeformableAttention(dModel, heads, levels, points int) MultiscaleDeformableAttention {
	return MultiscaleDeformableAttention{
		SamplingOffsets:  nn.NewLinear(dModel, heads*levels*points*2, true),
		AttentionWeights: nn.NewLinear(dModel, heads*levels*points, true),
		ValueProj:        nn.NewLinear(dModel, dModel, true),
		OutputProj:       nn.NewLinear(dModel, dModel, true),
		Heads:            heads, Levels: levels, Points: points,
	}
}

// Forward attends the queries hidden [B, Q, d] (plus posEmbed [B, Q, d] if
// not nil, for the offsets and weights only) to the flattened multi-scale
// maps encoderHidden [B, S, d].
//
// encoderMask [B·S], if not nil, is true at real positions and false at
// padding, whose values are zeroed (the reference's attention_mask, i.e. the
// flattened pixel mask). referencePoints is [B, Q, L, 2] (x, y) or
// [B, Q, L, 4] (cx, cy, w, h; offsets then scale with the box: w,h·0.5/P),
// normalised to [0, 1] and already multiplied by the valid ratios.
// spatialShapes[l] is (height, width) and levelStart[l] its first index in S.
//
// It returns the output [B, Q, d] and the softmaxed attention weights
// [B, Q, H, L, P].
func (m *MultiscaleDeformableAttention) Forward(hidden, posEmbed, encoderHidden *tensor.Dense, encoderMask []bool, referencePoints *tensor.Dense, spatialShapes [][2]int, levelStart []int) (out, attnWeights *tensor.Dense) {
	return m.forward(hidden, posEmbed, encoderHidden, encoderMask, referencePoints, spatialShapes, levelStart, nil)
}

// forward is Forward. With residual (B·Q·d values) not nil it adds the
// output to residual instead of returning it (out is nil): the encoder's
// residual stream is updated in place rather than through a new
// image-sized tensor. residual may be hidden's or encoderHidden's data:
// both are read before it is written. The attention weights are then
// scratch and not returned either (attnWeights is nil).
func (m *MultiscaleDeformableAttention) forward(hidden, posEmbed, encoderHidden *tensor.Dense, encoderMask []bool, referencePoints *tensor.Dense, spatialShapes [][2]int, levelStart []int, residual []float32) (out, attnWeights *tensor.Dense) {
	hs, es, rs := hidden.Shape(), encoderHidden.Shape(), referencePoints.Shape()
	B, Q, d := hs[0], hs[1], hs[2]
	S := es[1]
	H, L, P := m.Heads, m.Levels, m.Points
	if len(spatialShapes) != L || len(levelStart) != L {
		panic(fmt.Sprintf("enhancer: %d spatial shapes, %d level starts for %d levels", len(spatialShapes), len(levelStart), L))
	}
	total := 0
	for _, s := range spatialShapes {
		total += s[0] * s[1]
	}
	if total != S || es[0] != B || es[2] != d {
		panic(fmt.Sprintf("enhancer: encoder states %v do not match the spatial shapes %v (Σ=%d) and queries %v", es, spatialShapes, total, hs))
	}
	coords := rs[len(rs)-1]
	if len(rs) != 4 || rs[0] != B || rs[1] != Q || rs[2] != L || (coords != 2 && coords != 4) {
		panic(fmt.Sprintf("enhancer: reference points %v, want [%d %d %d 2|4]", rs, B, Q, L))
	}
	if encoderMask != nil && len(encoderMask) != B*S {
		panic(fmt.Sprintf("enhancer: encoder mask has %d values, want %d", len(encoderMask), B*S))
	}

	query := nn.Data(hidden)
	if posEmbed != nil {
		// hidden + pos over the cores (22223×256 values in the encoder;
		// serial, this left a core idle ~8 ms a layer).
		query = nn.Scratch(B * Q * d)
		cpu.Sum(query, nn.Data(hidden), nn.Data(posEmbed))
	}

	vd := nn.Scratch(B * S * d)
	m.ValueProj.ForwardSlice(vd, nn.Data(encoderHidden), B*S)
	for i, keep := range encoderMask {
		if !keep {
			clear(vd[i*d : (i+1)*d])
		}
	}

	// Offsets become sampling locations in place: [B, Q, H, L, P, 2].
	locs := nn.Scratch(B * Q * H * L * P * 2)
	m.SamplingOffsets.ForwardSlice(locs, query, B*Q)
	ref := nn.Data(referencePoints)
	if coords == 2 {
		// loc = ref + offset / (width, height) of the level: one DivAdd
		// over a query's H·L·P·2 values, whose divisors repeat every
		// L·P·2 and whose reference points are the query's own.
		n := L * P * 2
		div := make([]float32, n)
		for l := 0; l < L; l++ {
			for p := 0; p < P; p++ {
				div[(l*P+p)*2] = float32(spatialShapes[l][1])
				div[(l*P+p)*2+1] = float32(spatialShapes[l][0])
			}
		}
		parallelRows(B*Q, 512, func(lo, hi int) {
			var buf [64]float32 // the models' 4 levels × 4 points × 2
			add := buf[:0]
			if n > len(buf) {
				add = make([]float32, n)
			}
			add = add[:n]
			for bq := lo; bq < hi; bq++ {
				for l := 0; l < L; l++ {
					r := ref[(bq*L+l)*2:]
					for p := 0; p < P; p++ {
						add[(l*P+p)*2], add[(l*P+p)*2+1] = r[0], r[1]
					}
				}
				cpu.DivAdd(locs[bq*H*n:(bq+1)*H*n], div, add)
			}
		})
	} else {
		parallelRows(B*Q, 512, func(lo, hi int) {
			for bq := lo; bq < hi; bq++ {
				for h := 0; h < H; h++ {
					for l := 0; l < L; l++ {
						r := ref[(bq*L+l)*coords:]
						for p := 0; p < P; p++ {
							o := locs[((((bq*H+h)*L+l)*P)+p)*2:]
							o[0] = r[0] + o[0]/float32(P)*r[2]*0.5
							o[1] = r[1] + o[1]/float32(P)*r[3]*0.5
						}
					}
				}
			}
		})
	}

	weights := nn.Scratch(B * Q * H * L * P) // written whole; returned without a residual
	m.AttentionWeights.ForwardSlice(weights, query, B*Q)
	softmaxRows(weights, L*P)
	// Each buffer goes back to the pool as soon as it is spent, so the next
	// one can reuse it: fewer image-sized buffers are live at once.
	if posEmbed != nil {
		nn.PutScratch(query)
	}

	sampled := nn.Scratch(B * Q * d)
	cpu.MSDeformAttn(sampled, vd, spatialShapes, levelStart, locs, weights, B, S, H, d/H, Q, L, P)
	nn.PutScratch(vd)
	nn.PutScratch(locs)
	if residual == nil {
		out = m.OutputProj.Forward(nn.FromData(sampled, B, Q, d))
	} else {
		// The output projection accumulates straight into the residual.
		if m.OutputProj.Bias != nil {
			cpu.SgemmBias(false, true, B*Q, d, d, sampled, d, nn.Data(m.OutputProj.Weight), d, 1, nn.Data(m.OutputProj.Bias), residual, d)
		} else {
			cpu.Sgemm(false, true, B*Q, d, d, 1, sampled, d, nn.Data(m.OutputProj.Weight), d, 1, residual, d)
		}
	}
	nn.PutScratch(sampled)
	if residual != nil {
		nn.PutScratch(weights)
		return nil, nil
	}
	return out, nn.FromData(weights, B, Q, H, L, P)
}
