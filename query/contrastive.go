package query

import (
	"fmt"
	"math"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// ContrastiveEmbedding is GroundingDinoContrastiveEmbedding, the
// weight-free class head: the dot product of every query [B, N, d] with
// every text token [B, T, d], -Inf where textMask (B×T, true = real token)
// is false, padded with -Inf to maxTextLen columns: [B, N, maxTextLen].
// The decoder's class_embed is the same function.
func ContrastiveEmbedding(vision, text *tensor.Dense, textMask []bool, maxTextLen int) (*tensor.Dense, error) {
	vs, ts := vision.Shape(), text.Shape()
	if len(vs) != 3 || len(ts) != 3 || vs[0] != ts[0] || vs[2] != ts[2] {
		return nil, fmt.Errorf("query: contrastive embedding of vision %v and text %v: want [B, N, d] and [B, T, d]", vs, ts)
	}
	B, N, D, T := vs[0], vs[1], vs[2], ts[1]
	if T > maxTextLen {
		return nil, fmt.Errorf("query: %d text tokens exceed max_text_len %d", T, maxTextLen)
	}
	if len(textMask) != B*T {
		return nil, fmt.Errorf("query: text mask has %d values, want %d×%d", len(textMask), B, T)
	}
	M := maxTextLen
	out := nn.Scratch(B * N * M) // every value is written below
	v, t := nn.Data(vision), nn.Data(text)
	negInf := float32(math.Inf(-1))
	for b := 0; b < B; b++ {
		o := out[b*N*M : (b+1)*N*M]
		// Write the N×T products straight into the padded rows (ldc = M).
		cpu.Sgemm(false, true, N, T, D, 1, v[b*N*D:(b+1)*N*D], D, t[b*T*D:(b+1)*T*D], D, 0, o, M)
		mask := textMask[b*T : (b+1)*T]
		cpu.ParallelFor(N, func(lo, hi int) {
			for n := lo; n < hi; n++ {
				row := o[n*M : (n+1)*M]
				for j, keep := range mask {
					if !keep {
						row[j] = negInf
					}
				}
				for j := T; j < M; j++ {
					row[j] = negInf
				}
			}
		})
	}
	return nn.FromData(out, B, N, M), nil
}
