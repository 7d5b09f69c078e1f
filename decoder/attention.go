package decoder

import (
	"math"

	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

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
