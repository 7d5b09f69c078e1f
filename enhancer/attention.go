package enhancer

import (
	"fmt"
	"math"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// MultiheadAttention is GroundingDinoMultiheadAttention, the
// nn.MultiheadAttention equivalent with the Hub keys query/key/value/out_proj
// (the text enhancer's self-attention, and the decoder's self- and text
// cross-attention).
type MultiheadAttention struct {
	Query   nn.Linear `gsam:"query"`
	Key     nn.Linear `gsam:"key"`
	Value   nn.Linear `gsam:"value"`
	OutProj nn.Linear `gsam:"out_proj"`
	Heads   int
}

// NewMultiheadAttention allocates the block for hidden size d.
func NewMultiheadAttention(d, heads int) MultiheadAttention {
	return MultiheadAttention{
		Query: nn.NewLinear(d, d, true), Key: nn.NewLinear(d, d, true),
		Value: nn.NewLinear(d, d, true), OutProj: nn.NewLinear(d, d, true),
		Heads: heads,
	}
}

// Forward attends queries [B, Lq, d] to keys/values [B, Lk, d]. mask, if not
// nil, is additive with shape [1|B, 1|H, Lq, Lk]. It returns the output
// [B, Lq, d] and the attention probabilities [B, H, Lq, Lk].
func (m *MultiheadAttention) Forward(queries, keys, values, mask *tensor.Dense) (out, probs *tensor.Dense) {
	return m.forward(queries, keys, values, mask, true)
}

// Attend is Forward without the probabilities: each (batch, head) block of
// scores lives in a pooled buffer only while it is used, instead of all
// B·H·Lq·Lk of them being kept (26 MB per decoder self-attention).
func (m *MultiheadAttention) Attend(queries, keys, values, mask *tensor.Dense) *tensor.Dense {
	out, _ := m.forward(queries, keys, values, mask, false)
	return out
}

func (m *MultiheadAttention) forward(queries, keys, values, mask *tensor.Dense, wantProbs bool) (out, probs *tensor.Dense) {
	qs, ks := queries.Shape(), keys.Shape()
	B, Lq, E := qs[0], qs[1], qs[2]
	Lk := ks[1]
	H := m.Heads
	hd := E / H
	// The projections and the merged heads are scratch, handed back at the end.
	q, k, v := project(&m.Query, queries), project(&m.Key, keys), project(&m.Value, values)
	defer nn.PutScratch(q)
	defer nn.PutScratch(k)
	defer nn.PutScratch(v)
	var md []float32
	var mB, mH int
	if mask != nil {
		s := mask.Shape()
		if len(s) != 4 || (s[0] != 1 && s[0] != B) || (s[1] != 1 && s[1] != H) || s[2] != Lq || s[3] != Lk {
			panic(fmt.Sprintf("enhancer: attention mask %v for B=%d H=%d Lq=%d Lk=%d", s, B, H, Lq, Lk))
		}
		md, mB, mH = nn.Data(mask), s[0], s[1]
	}
	var p []float32
	if wantProbs {
		p = make([]float32, B*H*Lq*Lk)
	}
	ctx := nn.Scratch(B * Lq * E)
	defer nn.PutScratch(ctx)
	inv := float32(math.Sqrt(float64(hd)))
	// (batch, head) pairs are independent: spread them over the cores.
	cpu.ParallelFor(B*H, func(lo, hi int) {
		var buf []float32
		if !wantProbs {
			buf = nn.Scratch(Lq * Lk)
			defer nn.PutScratch(buf)
		}
		for bh := lo; bh < hi; bh++ {
			b, h := bh/H, bh%H
			sc := buf
			if wantProbs {
				sc = p[bh*Lq*Lk : (bh+1)*Lq*Lk]
			}
			// Heads are read in place from [B, L, H·hd] through the row stride.
			cpu.Sgemm(false, true, Lq, Lk, hd, 1, q[b*Lq*E+h*hd:], E, k[b*Lk*E+h*hd:], E, 0, sc, Lk)
			cpu.DivScalar(sc, inv) // the reference divides by √hd after the product
			if md != nil {
				mb, mh := b%mB, h%mH
				cpu.Add(sc, md[(mb*mH+mh)*Lq*Lk:(mb*mH+mh+1)*Lq*Lk])
			}
			cpu.SoftmaxRows(sc, Lk)
			cpu.Sgemm(false, false, Lq, hd, Lk, 1, sc, Lk, v[b*Lk*E+h*hd:], E, 0, ctx[b*Lq*E+h*hd:], E)
		}
	})
	out = m.OutProj.Forward(nn.FromData(ctx, B, Lq, E))
	if !wantProbs {
		return out, nil
	}
	return out, nn.FromData(p, B, H, Lq, Lk)
}

// project returns l applied to x's rows in a scratch buffer (nn.Scratch):
// the caller hands it back with nn.PutScratch.
func project(l *nn.Linear, x *tensor.Dense) []float32 {
	rows := nn.Numel(nn.Shape(x)...) / l.In()
	y := nn.Scratch(rows * l.Out())
	l.ForwardSlice(y, nn.Data(x), rows)
	return y
}
