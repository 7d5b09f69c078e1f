package decoder

import (
	"math"

	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// MultiheadAttention is GroundingDinoMultiheadAttention: nn.MultiheadAttention
// with batch-first tensors and the checkpoint's key names query/key/value.
type MultiheadAttention struct {
	Query   nn.Linear `gsam:"query"`
	Key     nn.Linear `gsam:"key"`
	Value   nn.Linear `gsam:"value"`
	OutProj nn.Linear `gsam:"out_proj"`
	Heads   int
}

// NewMultiheadAttention allocates a d → d block with heads heads.
func NewMultiheadAttention(d, heads int) MultiheadAttention {
	return MultiheadAttention{
		Query: nn.NewLinear(d, d, true), Key: nn.NewLinear(d, d, true),
		Value: nn.NewLinear(d, d, true), OutProj: nn.NewLinear(d, d, true),
		Heads: heads,
	}
}

// Forward attends queries [B, Lq, d] to keys and values [B, Lk, d]; mask is
// additive [B|1, 1, Lq, Lk] or nil.
func (m *MultiheadAttention) Forward(queries, keys, values, mask *tensor.Dense) *tensor.Dense {
	q := nn.SplitHeads(m.Query.Forward(queries), m.Heads)
	k := nn.SplitHeads(m.Key.Forward(keys), m.Heads)
	v := nn.SplitHeads(m.Value.Forward(values), m.Heads)
	d := q.Shape()[3]
	o := nn.Attention(q, k, v, mask, float32(1/math.Sqrt(float64(d))))
	return m.OutProj.Forward(nn.MergeHeads(o))
}

// textAttentionMask is the decoder's additive text mask [B, 1, Q, T]: 0 on
// real tokens and float32's lowest value on padding, as the reference
// builds it (not -Inf, so a row without real tokens would still be finite).
func textAttentionMask(textMask []bool, B, Q, T int) *tensor.Dense {
	m := make([]float32, B*Q*T)
	low := float32(-math.MaxFloat32)
	for b := 0; b < B; b++ {
		row := m[b*Q*T : b*Q*T+T]
		for j, keep := range textMask[b*T : (b+1)*T] {
			if !keep {
				row[j] = low
			}
		}
		for q := 1; q < Q; q++ {
			copy(m[(b*Q+q)*T:(b*Q+q+1)*T], row)
		}
	}
	return nn.FromData(m, B, 1, Q, T)
}
