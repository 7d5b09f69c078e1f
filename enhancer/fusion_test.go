package enhancer

import (
	"math"
	"math/rand"
	"testing"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/parity"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// biAttentionReference is the bi-attention computed as the reference
// writes it (project the image, then attend); the folded Forward must agree.
func biAttentionReference(m *BiMultiHeadAttention, vision, text *tensor.Dense, visionMask, textMask []bool) (visionOut, visionAttn, textOut, textAttn *tensor.Dense) {
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

// TestBiAttentionFolded compares the folded bi-attention with the direct
// one where the fixtures cannot: embed_dim ≠ d_model, several heads, a
// padded batch on both sides and a long caption.
func TestBiAttentionFolded(t *testing.T) {
	cfg := Config{DModel: 24, EncoderFFNDim: 64, EncoderAttentionHeads: 8}
	m := NewBiMultiHeadAttention(cfg)
	weights.Randomize(&m, 3)
	for _, l := range []*nn.Linear{&m.VisionProj, &m.TextProj, &m.ValuesVisionProj, &m.ValuesTextProj, &m.OutVisionProj, &m.OutTextProj} {
		for i := range nn.Data(l.Weight) {
			nn.Data(l.Weight)[i] *= 20 // scores of order one
		}
		for i := range nn.Data(l.Bias) {
			nn.Data(l.Bias)[i] += 0.5
		}
	}
	r := rand.New(rand.NewSource(4))
	B, Nv, Nt := 2, 50, 37
	vision, text := randTensor(r, B, Nv, cfg.DModel), randTensor(r, B, Nt, cfg.DModel)
	vm, tm := make([]bool, B*Nv), make([]bool, B*Nt)
	for i := range vm {
		vm[i] = i < Nv || i%Nv < 30
	}
	for i := range tm {
		tm[i] = i < Nt || i%Nt < 11
	}
	got := make([]*tensor.Dense, 4)
	want := make([]*tensor.Dense, 4)
	got[0], got[1], got[2], got[3] = m.Forward(vision, text, vm, tm)
	want[0], want[1], want[2], want[3] = biAttentionReference(&m, vision, text, vm, tm)
	for i, name := range []string{"vision_out", "vision_attn", "text_out", "text_attn"} {
		res := parity.Compare(name, nn.Data(got[i]), nn.Shape(got[i]), nn.Data(want[i]), nn.Shape(want[i]), parity.Tolerance{Abs: 1e-5, Rel: 1e-4})
		if !res.OK() {
			t.Error(res.String())
		}
	}
	if nn.Data(want[1])[0] == nn.Data(want[1])[1] {
		t.Fatal("degenerate test: uniform attention")
	}
}
