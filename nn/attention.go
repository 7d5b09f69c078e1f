package nn

import (
	"math"

	"github.com/gsam-go/gsam/cpu"
	"gorgonia.org/tensor"
)

// Attention computes softmax(q·kᵀ·scale + mask)·v per batch and head.
// q is [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv]. mask, if not nil,
// is additive with shape [Bm, Hm, Lq, Lk] where Bm ∈ {1, B}, Hm ∈ {1, H}
// (use -Inf or the dtype's lowest value to block). Returns [B, H, Lq, Dv]
// over a Scratch buffer (hand it back with Release once spent, or not).
func Attention(q, k, v, mask *tensor.Dense, scale float32) *tensor.Dense {
	qs, ks, vs := Shape(q), Shape(k), Shape(v)
	B, H, Lq, D := qs[0], qs[1], qs[2], qs[3]
	Lk, Dv := ks[2], vs[3]
	out := Scratch(B * H * Lq * Dv) // every block written below
	qd, kd, vd := Data(q), Data(k), Data(v)
	var md []float32
	var mB, mH int
	if mask != nil {
		ms := Shape(mask)
		md, mB, mH = Data(mask), ms[0], ms[1]
	}
	// (batch, head) pairs are independent: spread them over the cores,
	// each worker with its own score block.
	cpu.ParallelFor(B*H, func(lo, hi int) {
		scores := Scratch(Lq * Lk)
		defer PutScratch(scores)
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			cpu.Sgemm(false, true, Lq, Lk, D, scale, qd[bh*Lq*D:], D, kd[bh*Lk*D:], D, 0, scores, Lk)
			if md != nil {
				mb, mh := b, h
				if mB == 1 {
					mb = 0
				}
				if mH == 1 {
					mh = 0
				}
				m := md[(mb*mH+mh)*Lq*Lk : (mb*mH+mh+1)*Lq*Lk]
				for i := range scores {
					scores[i] += m[i]
				}
			}
			SoftmaxRows(scores, Lk)
			cpu.Sgemm(false, false, Lq, Dv, Lk, 1, scores, Lk, vd[bh*Lk*Dv:], Dv, 0, out[bh*Lq*Dv:], Dv)
		}
	})
	return FromData(out, B, H, Lq, Dv)
}

// BoolMask turns a keep-mask [B, 1|H, Lq, Lk] (true = attend) into the additive form.
func BoolMask(keep []bool, shape ...int) *tensor.Dense {
	m := make([]float32, len(keep))
	for i, k := range keep {
		if !k {
			m[i] = float32(math.Inf(-1))
		}
	}
	return FromData(m, shape...)
}

// SplitHeads reshapes [B, L, H*D] to [B, H, L, D].
func SplitHeads(x *tensor.Dense, heads int) *tensor.Dense {
	s := Shape(x)
	B, L, E := s[0], s[1], s[2]
	return Permute(Reshape(x, B, L, heads, E/heads), 0, 2, 1, 3)
}

// MergeHeads reshapes [B, H, L, D] to [B, L, H*D].
func MergeHeads(x *tensor.Dense) *tensor.Dense {
	s := Shape(x)
	B, H, L, D := s[0], s[1], s[2], s[3]
	return Reshape(Permute(x, 0, 2, 1, 3), B, L, H*D)
}

// MultiHeadAttention is the standard projection–attention–projection block
// with the key names most Hub checkpoints use.
type MultiHeadAttention struct {
	Q     Linear `gsam:"q_proj"`
	K     Linear `gsam:"k_proj"`
	V     Linear `gsam:"v_proj"`
	Out   Linear `gsam:"out_proj"`
	Heads int
}

// NewMultiHeadAttention allocates the block; internal is the projected width
// (SAM's decoder downsamples it).
func NewMultiHeadAttention(dim, internal, heads int) MultiHeadAttention {
	return MultiHeadAttention{
		Q: NewLinear(dim, internal, true), K: NewLinear(dim, internal, true),
		V: NewLinear(dim, internal, true), Out: NewLinear(internal, dim, true),
		Heads: heads,
	}
}

// Forward attends query [B, Lq, E] to key/value [B, Lk, E] with an optional additive mask.
func (m *MultiHeadAttention) Forward(query, key, value, mask *tensor.Dense) *tensor.Dense {
	q := SplitHeads(m.Q.Forward(query), m.Heads)
	k := SplitHeads(m.K.Forward(key), m.Heads)
	v := SplitHeads(m.V.Forward(value), m.Heads)
	d := q.Shape()[3]
	o := Attention(q, k, v, mask, float32(1/math.Sqrt(float64(d))))
	return m.Out.Forward(MergeHeads(o))
}
